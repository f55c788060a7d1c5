"""催办 and 督办单: recorded on the case, notified, replied to, escalated when unanswered."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine.calendar import OFFICE_TZ
from engine.deadlines import local_day
from engine.errors import Conflict, InvalidInput, PermissionDenied
from engine.history import events_of
from engine.jobs import escalate_overdue_orders
from engine.models import Notification, SupervisionOrder
from engine.notifications import mark_read, notifications_for, unread_count
from engine.supervision import issue_order, reply_to_order, urge_task
from engine.vocab import OrderStatus
from tests.factories import make_case, make_definition, make_staff, make_user


@pytest.fixture
def world(session, clock):
    clock.set(datetime(2026, 9, 29, 10, tzinfo=OFFICE_TZ))
    staff = make_staff(session, clock)
    staff["head"] = make_user(session, clock, "alpha_head", ["department_head"], "alpha")
    make_definition(session, clock)
    case = make_case(session, clock, staff["window"])
    return staff, case


def test_urge_reaches_the_department_and_is_in_the_case_file(session, clock, world) -> None:
    staff, case = world
    task = next(t for t in case.tasks if t.element_id == "review_alpha")
    with pytest.raises(PermissionDenied):
        urge_task(session, clock, staff["alpha"], task.id, "请加快")
    with pytest.raises(InvalidInput):
        urge_task(session, clock, staff["supervisor"], task.id, "  ")
    urge_task(session, clock, staff["supervisor"], task.id, "请于今日办结")
    assert [e.details["message"] for e in events_of(session, case) if e.action == "urged"] == ["请于今日办结"]
    assert unread_count(session, staff["alpha"]) == 1 and unread_count(session, staff["head"]) == 1
    assert unread_count(session, staff["beta"]) == 0
    mark_read(session, staff["alpha"], clock.now())
    assert unread_count(session, staff["alpha"]) == 0 and len(notifications_for(session, staff["alpha"])) == 1


def test_order_reply_deadline_counts_working_days(session, clock, world) -> None:
    staff, case = world
    order = issue_order(session, clock, staff["supervisor"], case.id, "alpha", 2, "说明超期原因")
    assert local_day(order.reply_due_at) == date(2026, 10, 8)  # Sep 30, then Oct 8 after National Day
    with pytest.raises(PermissionDenied):
        reply_to_order(session, clock, staff["beta"], order.id, "不是我们")
    reply_to_order(session, clock, staff["alpha"], order.id, "已补充人手，明日办结")
    assert order.status == OrderStatus.REPLIED
    with pytest.raises(Conflict):
        reply_to_order(session, clock, staff["alpha"], order.id, "again")
    actions = [e.action for e in events_of(session, case)]
    assert "supervision_order" in actions and "order_replied" in actions


def test_order_validation(session, clock, world) -> None:
    staff, case = world
    with pytest.raises(InvalidInput, match="reply_within_days"):
        issue_order(session, clock, staff["supervisor"], case.id, "alpha", 0, "x")
    with pytest.raises(PermissionDenied):
        issue_order(session, clock, staff["alpha"], case.id, "alpha", 2, "x")


def test_an_unanswered_order_escalates_once(db, clock) -> None:
    clock.set(datetime(2026, 9, 29, 10, tzinfo=OFFICE_TZ))
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        make_definition(s, clock)
        case = make_case(s, clock, staff["window"])
        order_id = issue_order(s, clock, staff["supervisor"], case.id, "alpha", 1, "说明情况").id
    clock.set(datetime(2026, 10, 1, 10, tzinfo=OFFICE_TZ))
    assert escalate_overdue_orders(db, clock) == 1
    assert escalate_overdue_orders(db, clock) == 0
    with db.reader.begin() as s:
        assert s.get(SupervisionOrder, order_id).status == OrderStatus.ESCALATED
        kinds = [n.kind for n in s.scalars(select(Notification).where(Notification.kind == "order_escalated"))]
        assert kinds == ["order_escalated"]  # the supervisor; alpha has no head here
