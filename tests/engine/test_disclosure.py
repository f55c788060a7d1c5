"""依申请公开: the six steps, the 20-working-day reply limit, its one extension, and the statistics."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.cases import accept_case
from engine.deadlines import statutory_clock
from engine.disclosure import disclosure_stats, extend_reply_limit
from engine.errors import Conflict, InvalidInput, PermissionDenied
from engine.history import events_of
from engine.models import Case, Task, User
from engine.suspensions import extend_task
from engine.tasks import complete_task
from engine.vocab import TaskState
from tests.factories import make_demo_site


@pytest.fixture
def demo(session, clock) -> dict[str, User]:
    return make_demo_site(session, clock)


def request(session, clock, demo) -> Case:
    return accept_case(session, clock, demo["window"], "yishenqing_gongkai", {"name": "赵六"},
                       {"requested_info": "2025年区财政预算执行情况"})


def open_task(session, case: Case) -> Task:
    return session.scalar(select(Task).where(Task.case_id == case.id, Task.state == TaskState.OPEN))


def work(session, clock, demo, case: Case, until: str, data: dict | None = None) -> Task:
    """Complete the open steps in order until `until` is the open one."""
    while (task := open_task(session, case)).element_id != until:
        complete_task(session, clock, demo[task.department.code], task.id, "approve", "同意",
                      (data or {}) if task.element_id == "audit" else {})
    return task


def test_six_steps_with_an_extension_approved_by_the_head(session, clock, demo) -> None:
    case = request(session, clock, demo)
    statutory = statutory_clock(session, case)
    assert statutory.limit_days == 20
    before = statutory.due_at
    handle = work(session, clock, demo, case, "handle", {"disclosure_type": "partial"})
    with pytest.raises(PermissionDenied):
        extend_reply_limit(session, clock, demo["govoffice"], handle.id, 15, "涉及第三方，需征求意见")
    with pytest.raises(InvalidInput):
        extend_reply_limit(session, clock, demo["govoffice_head"], handle.id, 21, "超过二十个工作日")
    extend_reply_limit(session, clock, demo["govoffice_head"], handle.id, 15, "涉及第三方，需征求意见")
    assert statutory.extended_days == 15 and statutory.due_at > before
    with pytest.raises(Conflict):
        extend_reply_limit(session, clock, demo["govoffice_head"], handle.id, 5, "再延一次")
    clock.advance(days=35)  # beyond the original 20 working days, within the extended 35
    work(session, clock, demo, case, "archive")
    complete_task(session, clock, demo["govoffice"], open_task(session, case).id, "approve", "归档")
    assert case.status == "completed"
    stats = disclosure_stats(session, clock, demo["supervisor"])
    assert (stats.received, stats.answered, stats.on_time, stats.late, stats.extended) == (1, 1, 1, 0, 1)
    assert stats.by_answer["partial"] == 1

    assert {"clock_extended", "applicant_informed"} <= {e.action for e in events_of(session, case)}


def test_a_late_reply_and_open_requests_are_counted(session, clock, demo) -> None:
    late = request(session, clock, demo)
    request(session, clock, demo)
    clock.advance(days=40)
    work(session, clock, demo, late, "archive", {"disclosure_type": "not_exist"})
    stats = disclosure_stats(session, clock, demo["govoffice"])
    assert (stats.received, stats.answered, stats.late, stats.open, stats.overdue_open) == (2, 1, 1, 1, 1)
    assert stats.by_answer["not_exist"] == 1 and stats.to_dict()["on_time_rate"] == 0.0
    with pytest.raises(PermissionDenied):
        disclosure_stats(session, clock, demo["fire"])


def test_no_extension_after_the_limit_ran_out(session, clock, demo) -> None:
    case = request(session, clock, demo)
    handle = work(session, clock, demo, case, "handle")
    clock.advance(days=40)
    with pytest.raises(Conflict):
        extend_reply_limit(session, clock, demo["govoffice_head"], handle.id, 10, "太晚了")


def test_the_generic_extension_follows_the_disclosure_rule_too(session, clock, demo) -> None:
    """POST /tasks/<id>/extend (engine.suspensions.extend_task) cannot get round the once-only, 20-day rule."""
    case = request(session, clock, demo)
    handle = work(session, clock, demo, case, "handle")
    with pytest.raises(InvalidInput, match="from 1 to 20"):
        extend_task(session, clock, demo["govoffice_head"], handle.id, 25, "超过二十个工作日")
    extend_task(session, clock, demo["govoffice_head"], handle.id, 10, "涉及第三方")
    with pytest.raises(Conflict, match="only once"):
        extend_task(session, clock, demo["govoffice_head"], handle.id, 5, "再延一次")
    other = request(session, clock, demo)
    late = work(session, clock, demo, other, "handle")
    clock.advance(days=40)  # past the 20 working days
    with pytest.raises(Conflict, match="already run out"):
        extend_task(session, clock, demo["govoffice_head"], late.id, 5, "来不及了")
