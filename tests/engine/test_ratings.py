"""好差评: one rating per concluded case; a 差评 opens a 15-working-day rectification and a 回访."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import OFFICE_TZ
from engine.cases import tasks_of
from engine.deadlines import local_day
from engine.delivery import deliver
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.history import events_of
from engine.notifications import unread_count
from engine.ratings import close_follow_up, rate_at_window, rate_online, rectify
from engine.tasks import complete_task, list_tasks
from engine.vocab import TaskState
from tests.factories import make_case, make_definition, make_staff
from tests.window_data import open_task_of, review_all


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


@pytest.fixture
def delivered(session, clock, staff):
    case = make_case(session, clock, staff["window"])
    review_all(session, clock, staff, case)
    deliver(session, clock, staff["window"], case.id, "pickup")
    return case


def test_a_case_is_rated_once_after_it_concluded(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    with pytest.raises(Conflict, match="once it is concluded"):
        rate_online(session, clock, case.number, case.query_code, 5, "")
    review_all(session, clock, staff, case)
    deliver(session, clock, staff["window"], case.id, "ems", "EA123456789CN")
    rating = rate_online(session, clock, case.number, case.query_code.lower(), 5, " 很满意 ")
    assert (rating.level, rating.comment, rating.channel, rating.department_id) == (5, "很满意", "online", None)
    assert rating.rectification_task_id is None
    with pytest.raises(Conflict, match="already been rated"):
        rate_at_window(session, clock, staff["window"], case.id, 4, "")
    rated = [e for e in events_of(session, case) if e.action == "rated"][0]
    assert rated.actor_id is None and rated.details == {"level": 5, "comment": "很满意", "channel": "online"}


def test_a_wrong_code_rates_nothing(session, clock, staff, delivered) -> None:
    with pytest.raises(NotFound):
        rate_online(session, clock, delivered.number, "000000", 5, "")
    with pytest.raises(NotFound):
        rate_online(session, clock, "YJS-20990101-0001", delivered.query_code, 5, "")


@pytest.mark.parametrize("level", [0, 6, "5", True, None, 4.5])
def test_levels_are_one_to_five(session, clock, staff, delivered, level) -> None:
    with pytest.raises(InvalidInput, match="level"):
        rate_at_window(session, clock, staff["window"], delivered.id, level, "x")


def test_a_bad_rating_needs_a_comment_and_only_the_window_enters_ratings(session, clock, staff, delivered) -> None:
    with pytest.raises(InvalidInput, match="needs a comment"):
        rate_at_window(session, clock, staff["window"], delivered.id, 2, "  ")
    with pytest.raises(PermissionDenied):
        rate_at_window(session, clock, staff["alpha"], delivered.id, 5, "")
    with pytest.raises(InvalidInput, match="did not review"):
        rate_at_window(session, clock, staff["window"], delivered.id, 1, "太慢", department_code="window")


def test_a_bad_rating_opens_a_rectification_for_the_last_reviewing_department(session, clock, staff, delivered) -> None:
    rating = rate_online(session, clock, delivered.number, delivered.query_code, 1, "等了太久")
    task = next(t for t in tasks_of(session, delivered) if t.id == rating.rectification_task_id)
    assert "整改" in task.name and task.kind == "rectification" and task.workflow_task_id is None
    assert task.department.code == "gamma" and rating.department_id == task.department_id  # gamma decided last
    assert task.state == TaskState.OPEN and task.time_limit_days == 15
    assert local_day(task.clock.due_at) == date(2026, 12, 14)  # 15 working days from Mon 2026-11-23
    assert task in list_tasks(session, staff["gamma"], state="open")
    assert unread_count(session, staff["gamma"]) == 1


def test_rectification_then_follow_up_closes_the_bad_rating(session, clock, staff, delivered) -> None:
    rating = rate_at_window(session, clock, staff["window"], delivered.id, 2, "材料说明不清", department_code="alpha")
    task_id = rating.rectification_task_id
    with pytest.raises(PermissionDenied):
        rectify(session, clock, staff["beta"], task_id, "已整改")
    with pytest.raises(InvalidInput, match="measures"):
        rectify(session, clock, staff["alpha"], task_id, "")
    with pytest.raises(NotFound):
        close_follow_up(session, clock, staff["window"], task_id, "满意")  # not a 回访 task
    followup = rectify(session, clock, staff["alpha"], task_id, "已修订一次性告知清单并培训窗口")
    rectification = next(t for t in tasks_of(session, delivered) if t.id == task_id)
    assert rectification.state == TaskState.COMPLETED and rectification.clock.stopped_at == clock.now()
    assert rectification.opinion == "已修订一次性告知清单并培训窗口"
    assert followup.kind == "followup" and followup.department.code == "window" and "回访" in followup.name
    with pytest.raises(Conflict):
        rectify(session, clock, staff["alpha"], task_id, "again")
    with pytest.raises(PermissionDenied):
        close_follow_up(session, clock, staff["alpha"], followup.id, "满意")
    close_follow_up(session, clock, staff["window"], followup.id, "电话回访，申请人表示满意")
    assert rating.rectified_at == clock.now() and followup.state == TaskState.COMPLETED
    closed = [e for e in events_of(session, delivered) if e.action == "rectification_closed"][0]
    assert closed.details == {"measures": "已修订一次性告知清单并培训窗口", "result": "电话回访，申请人表示满意",
                              "department": "alpha"}
    with pytest.raises(Conflict):
        close_follow_up(session, clock, staff["window"], followup.id, "again")


def test_ad_hoc_tasks_are_never_touched_by_the_flow(session, clock, staff) -> None:
    """A rejected case is rated too; its rectification lives beside the ended workflow."""
    case = make_case(session, clock, staff["window"])
    review_all(session, clock, staff, case, {"alpha": "reject"})
    complete_task(session, clock, staff["window"], open_task_of(session, case, "notice_reject").id)
    rating = rate_online(session, clock, case.number, case.query_code, 1, "不认可")
    assert rating.department_id is not None
    assert open_task_of(session, case, "rectification").id == rating.rectification_task_id


def test_the_follow_up_call_is_due_when_the_rectification_was(session, clock, staff, delivered) -> None:
    rating = rate_online(session, clock, delivered.number, delivered.query_code, 1, "等了太久")  # Mon 2026-11-23
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=OFFICE_TZ))  # rectified on the 6th working day
    followup = rectify(session, clock, staff["gamma"], rating.rectification_task_id, "已整改")
    assert followup.time_limit_days == 9 and local_day(followup.clock.due_at) == date(2026, 12, 14)
    assert followup.clock.department.code == "window" and followup.clock.stopped_at is None
    close_follow_up(session, clock, staff["window"], followup.id, "申请人满意")
    assert followup.clock.stopped_at == clock.now()


def test_a_late_rectification_still_gives_the_window_a_working_day_to_call(session, clock, staff, delivered) -> None:
    rating = rate_online(session, clock, delivered.number, delivered.query_code, 2, "态度差")
    clock.set(datetime(2026, 12, 18, 16, 0, tzinfo=OFFICE_TZ))  # Friday, four working days after the due date
    followup = rectify(session, clock, staff["gamma"], rating.rectification_task_id, "已整改")
    assert followup.time_limit_days == 1 and local_day(followup.clock.due_at) == date(2026, 12, 21)
