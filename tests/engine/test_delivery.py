"""一窗出件: only the window, only once every result is in, pickup or EMS with a tracking number."""
from __future__ import annotations

import pytest

from engine.cases import accept_case, tasks_of
from engine.delivery import cases_awaiting_delivery, deliver
from engine.errors import Conflict, InvalidInput, PermissionDenied
from engine.history import events_of
from engine.vocab import CaseStatus, TaskState
from tests.factories import make_case, make_definition, make_staff, make_user
from tests.window_data import review_all


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


def test_delivery_waits_for_every_department(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    with pytest.raises(Conflict, match="every department's result"):
        deliver(session, clock, staff["window"], case.id, "pickup")
    review_all(session, clock, staff, case)
    assert [t.case_id for t in cases_awaiting_delivery(session)] == [case.id]


def test_ems_mail_with_its_tracking_number_concludes_the_case(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    review_all(session, clock, staff, case)
    deliver(session, clock, staff["window"], case.id, "ems", " EA123456789CN ", "示例区示例路1号")
    assert case.status == CaseStatus.COMPLETED and case.completed_at == clock.now()
    assert (case.delivery_method, case.tracking_number, case.visits) == ("ems", "EA123456789CN", 1)
    delivery = [t for t in tasks_of(session, case) if t.kind == "delivery"][0]
    assert delivery.state == TaskState.COMPLETED and delivery.completed_by_id == staff["window"].id
    actions = [e.action for e in events_of(session, case) if e.action != "result_pushed"]  # 审管联动 follows, once hooked
    assert actions[-3:] == ["delivered", "task_completed", "case_concluded"]
    delivered = [e for e in events_of(session, case) if e.action == "delivered"][0]
    assert delivered.details == {"method": "ems", "tracking_number": "EA123456789CN", "address": "示例区示例路1号"}
    assert cases_awaiting_delivery(session) == []
    with pytest.raises(Conflict, match="already concluded"):
        deliver(session, clock, staff["window"], case.id, "pickup")


@pytest.mark.parametrize("method, tracking, message", [
    ("ems", None, "needs its tracking number"),
    ("ems", "12", "6–40"),
    ("pickup", "EA123456789CN", "only for EMS"),
    ("drone", None, "method must be one of"),
])
def test_delivery_input_rules(session, clock, staff, method, tracking, message) -> None:
    case = make_case(session, clock, staff["window"])
    review_all(session, clock, staff, case)
    with pytest.raises(InvalidInput, match=message):
        deliver(session, clock, staff["window"], case.id, method, tracking)
    assert case.status == CaseStatus.IN_PROGRESS


def test_only_window_clerks_hand_out(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    review_all(session, clock, staff, case)
    for user in (staff["alpha"], staff["supervisor"], staff["admin"]):
        with pytest.raises(PermissionDenied):
            deliver(session, clock, user, case.id, "pickup")


def test_pickup_counts_a_visit_for_an_online_case_only(session, clock, staff) -> None:
    online = accept_case(session, clock, staff["window"], "parallel_three", {"name": "李四"}, channel="online")
    at_window = make_case(session, clock, staff["window"])
    assert (online.visits, at_window.visits) == (0, 1)
    for case in (online, at_window):
        review_all(session, clock, staff, case)
        deliver(session, clock, staff["window"], case.id, "pickup")
    assert (online.visits, at_window.visits) == (1, 1)
    assert online.delivery_method == "pickup" and online.tracking_number is None


def test_a_refused_case_has_nothing_to_deliver(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    review_all(session, clock, staff, case, {"beta": "reject"})
    with pytest.raises(Conflict, match="nothing is waiting"):
        deliver(session, clock, staff["window"], case.id, "pickup")


def test_a_second_window_clerk_cannot_take_a_claimed_delivery(session, clock, staff) -> None:
    from engine.tasks import claim_task

    other = make_user(session, clock, "window2", ["window"], "window")
    case = make_case(session, clock, staff["window"])
    review_all(session, clock, staff, case)
    delivery = [t for t in tasks_of(session, case) if t.kind == "delivery"][0]
    claim_task(session, clock, staff["window"], delivery.id)
    with pytest.raises(Conflict, match="claimed"):
        deliver(session, clock, other, case.id, "pickup")
    assert case.delivery_method is None
