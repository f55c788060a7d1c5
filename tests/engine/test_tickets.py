"""企业问题闭环: a ticket from 挂号 to 销号, with an overdue round escalated to supervision."""
from __future__ import annotations

import pytest

from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.history import events_of
from engine.models import SupervisionOrder, User
from engine.supervision import reply_to_order
from engine.tickets import (
    confirm_ticket, escalate_ticket, get_ticket, list_tickets, log_ticket, overdue_ticket_ids, reply_ticket, ticket_stats,
    ticket_views,
)
from engine.vocab import TicketStatus
from tests.factories import make_demo_site


@pytest.fixture
def demo(session, clock) -> dict[str, User]:
    return make_demo_site(session, clock)


def new_ticket(session, clock, demo, **overrides):
    fields = {"enterprise_name": "示例制造有限公司", "contact_name": "李总", "contact_phone": "13900139000",
              "problem": "厂区道路施工占道许可迟迟未批", "category": "approval", "department": "urban", "limit_days": 3,
              **overrides}
    return log_ticket(session, clock, demo["window"], fields)


def status_of(session, clock, ticket):
    return ticket_views(session, [ticket], clock.now())[0]


def test_a_ticket_from_logging_to_closure_with_an_escalation(session, clock, demo) -> None:
    ticket = new_ticket(session, clock, demo)
    view = status_of(session, clock, ticket)
    assert view.status == TicketStatus.ASSIGNED and view.due_at is not None and not view.overdue
    # 交办: the 落实 step is in the urban department's inbox with the ticket's own limit.
    assert [t.ticket.id for t in list_tickets(session, demo["urban"], clock.now())] == [ticket.id]
    assert list_tickets(session, demo["fire"], clock.now()) == []
    # Four working days later nothing has happened: the round is overdue and escalates to supervision once.
    clock.advance(days=6)
    assert overdue_ticket_ids(session, clock.now()) == [ticket.id]
    order = escalate_ticket(session, ticket, clock.now())
    assert overdue_ticket_ids(session, clock.now()) == []
    view = status_of(session, clock, ticket)
    assert view.status == TicketStatus.ESCALATED and view.overdue
    assert order.department.code == "urban" and session.get(SupervisionOrder, order.id).status == "open"
    reply_to_order(session, clock, demo["urban"], order.id, "已督促经办人，今日办结")
    # 反馈, then the enterprise is not satisfied: a second round.
    reply_ticket(session, clock, demo["urban"], ticket.id, "已核发占道许可")
    assert status_of(session, clock, ticket).status == TicketStatus.REPLIED
    confirm_ticket(session, clock, demo["window"], ticket.id, False, "许可期限太短，仍影响施工")
    view = status_of(session, clock, ticket)
    assert view.status == TicketStatus.ASSIGNED and view.rounds == 2 and not view.overdue
    reply_ticket(session, clock, demo["urban"], ticket.id, "已延长占道期限至竣工")
    confirm_ticket(session, clock, demo["window"], ticket.id, True, "满意")
    view = status_of(session, clock, ticket)
    assert view.status == TicketStatus.CLOSED and view.closed_at is not None
    assert view.on_time is False  # the first round was late
    actions = [e.action for e in events_of(session, ticket.case)]
    assert actions.count("ticket_assigned") == 2 and "ticket_escalated" in actions and "case_concluded" in actions
    [row] = ticket_stats(session, demo["supervisor"], clock.now())
    assert (row.department.code, row.logged, row.closed, row.escalated, row.on_time_rate) == ("urban", 1, 1, 1, 0.0)


def test_a_ticket_answered_in_time_counts_as_closed_on_time(session, clock, demo) -> None:
    ticket = new_ticket(session, clock, demo, department="market")
    clock.advance(days=1)
    reply_ticket(session, clock, demo["market"], ticket.id, "已办理")
    confirm_ticket(session, clock, demo["window"], ticket.id, True, "满意")
    [row] = ticket_stats(session, demo["supervisor"], clock.now())
    assert row.on_time_rate == 1.0 and row.open == 0
    # A department sees only its own figures.
    assert ticket_stats(session, demo["urban"], clock.now()) == []


def test_only_the_assigned_department_replies_and_only_once(session, clock, demo) -> None:
    ticket = new_ticket(session, clock, demo)
    with pytest.raises(NotFound):
        reply_ticket(session, clock, demo["fire"], ticket.id, "不是我们")
    with pytest.raises(Conflict):
        confirm_ticket(session, clock, demo["window"], ticket.id, True, "满意")
    reply_ticket(session, clock, demo["urban"], ticket.id, "已办理")
    with pytest.raises(Conflict):
        reply_ticket(session, clock, demo["urban"], ticket.id, "再答一次")
    with pytest.raises(NotFound):
        get_ticket(session, demo["fire"], ticket.id)


@pytest.mark.parametrize("bad", [
    {"limit_days": 0}, {"limit_days": "3"}, {"department": "nowhere"}, {"problem": ""}, {"category": "x"},
    {"enterprise_name": None},
])
def test_bad_tickets_are_refused(session, clock, demo, bad) -> None:
    with pytest.raises((InvalidInput, NotFound)):
        new_ticket(session, clock, demo, **bad)


def test_only_staff_serving_enterprises_log_tickets(session, clock, demo) -> None:
    for outsider in ("supervisor", "analyst"):
        with pytest.raises(PermissionDenied):
            log_ticket(session, clock, demo[outsider], {})


def test_department_staff_serving_enterprises_log_problems_too(session, clock, demo) -> None:
    """包联: the cadre of a department who visits the enterprise logs what it raised; others may not."""
    fields = {"enterprise_name": "示例制造有限公司", "contact_name": "李总", "problem": "用电报装排队时间过长",
              "department": "development", "limit_days": 5}
    ticket = log_ticket(session, clock, demo["fire"], fields)
    assert ticket.logged_by_id == demo["fire"].id and ticket.department.code == "development"
    assert status_of(session, clock, ticket).status == TicketStatus.ASSIGNED
