"""Due dates in working days across the 2026 holidays, with 补正 and 特别程序 pauses and extensions.

Every expected date below was worked out by hand from the State Council's 2026 schedule:
New Year Jan 1–3 off, Sun Jan 4 worked; Spring Festival Feb 15–23 off, Sat Feb 14 and Sat Feb 28
worked; Mid-Autumn Fri Sep 25 off; National Day Oct 1–7 off, Sun Sep 20 and Sat Oct 10 worked.
A limit counts from the day after acceptance; acceptance after 17:30 or on a day off counts from
the next working day; a pause adds the working days in (pause day, resume day].
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import OFFICE_TZ
from engine.cases import accept_case
from engine.definitions import deploy_definition
from engine.deadlines import case_clocks, clock_status, local_day
from engine.calendar_store import load_calendar
from engine.errors import Conflict, InvalidInput, PermissionDenied
from engine.history import events_of
from engine.models import Task
from engine.suspensions import clock_events, extend_task, pause_task, resume_task
from engine.tasks import complete_task
from engine.vocab import TaskState, WarningLevel
from tests.factories import bpmn, make_staff, make_user


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=OFFICE_TZ)


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    users["head"] = make_user(session, clock, "alpha_head", ["department_head"], "alpha")
    return users


def start_review(session, clock, staff, accepted: datetime, limit: int, catalog: dict | None = None) -> Task:
    deploy_definition(session, clock, bpmn("one_review.bpmn").replace(b"LIMIT", str(limit).encode()), catalog=catalog)
    clock.set(accepted)
    case = accept_case(session, clock, staff["window"], "one_review", {"name": "张三"}, {})
    return next(t for t in case.tasks if t.element_id == "review_alpha")


def due_day(task: Task) -> date:
    return local_day(task.clock.due_at)


PLAIN = [
    # (accepted, limit, due) — no pauses
    (at(2026, 2, 12), 1, date(2026, 2, 13)),
    (at(2026, 2, 12), 2, date(2026, 2, 14)),   # the make-up Saturday counts
    (at(2026, 2, 12), 3, date(2026, 2, 24)),   # then the Spring Festival
    (at(2026, 2, 12), 5, date(2026, 2, 26)),
    (at(2026, 2, 12), 10, date(2026, 3, 4)),
    (at(2026, 2, 13), 1, date(2026, 2, 14)),
    (at(2026, 2, 13, 18, 0), 1, date(2026, 2, 24)),  # after 17:30: counts from Sat Feb 14
    (at(2026, 2, 14), 1, date(2026, 2, 24)),   # accepted on the make-up Saturday
    (at(2026, 2, 15), 1, date(2026, 2, 25)),   # accepted on a holiday: counts from Feb 24
    (at(2026, 2, 18), 5, date(2026, 3, 2)),
    (at(2026, 2, 27), 1, date(2026, 2, 28)),
    (at(2026, 2, 27, 17, 30), 1, date(2026, 2, 28)),  # 17:30 itself is still office hours
    (at(2026, 2, 27, 17, 31), 1, date(2026, 3, 2)),
    (at(2026, 2, 28), 2, date(2026, 3, 3)),
    (at(2026, 2, 10), 20, date(2026, 3, 16)),
    (at(2026, 9, 18), 1, date(2026, 9, 20)),   # the make-up Sunday before National Day
    (at(2026, 9, 18), 2, date(2026, 9, 21)),
    (at(2026, 9, 24), 1, date(2026, 9, 28)),   # Mid-Autumn Friday off
    (at(2026, 9, 29), 2, date(2026, 10, 8)),
    (at(2026, 9, 30), 1, date(2026, 10, 8)),
    (at(2026, 9, 30, 18, 0), 1, date(2026, 10, 9)),
    (at(2026, 10, 3), 3, date(2026, 10, 12)),  # accepted in the holiday, the make-up Sat Oct 10 counts
    (at(2026, 10, 9), 1, date(2026, 10, 10)),
    (at(2026, 9, 28), 5, date(2026, 10, 10)),
    (at(2026, 9, 21), 10, date(2026, 10, 12)),
    (at(2025, 12, 31), 1, date(2026, 1, 4)),   # New Year: Sun Jan 4 is worked
    (at(2025, 12, 31), 2, date(2026, 1, 5)),
    (at(2026, 11, 2), 5, date(2026, 11, 9)),
]


@pytest.mark.parametrize(("accepted", "limit", "expected"), PLAIN)
def test_due_dates_match_the_hand_worked_table(session, clock, staff, accepted, limit, expected) -> None:
    task = start_review(session, clock, staff, accepted, limit)
    assert due_day(task) == expected
    assert task.clock.due_at == datetime.combine(expected, datetime.max.time(), OFFICE_TZ)


PAUSED = [
    # (accepted, limit, [(pause, resume)], extension days, due)
    (at(2026, 11, 2), 5, [(at(2026, 11, 3), at(2026, 11, 5, 15))], 0, date(2026, 11, 11)),
    (at(2026, 11, 2), 5, [(at(2026, 11, 6), at(2026, 11, 9))], 0, date(2026, 11, 10)),
    (at(2026, 9, 28), 5, [(at(2026, 9, 29), at(2026, 10, 8))], 0, date(2026, 10, 13)),  # across National Day
    (at(2026, 2, 10), 5, [(at(2026, 2, 13), at(2026, 2, 24))], 0, date(2026, 2, 26)),   # across Spring Festival
    (at(2026, 11, 2), 5, [], 3, date(2026, 11, 12)),
    (at(2026, 11, 2), 5, [(at(2026, 11, 3), at(2026, 11, 5, 15))], 2, date(2026, 11, 13)),
    (at(2026, 11, 2), 5, [(at(2026, 11, 3, 9), at(2026, 11, 3, 16))], 0, date(2026, 11, 9)),  # same-day pause costs nothing
]


@pytest.mark.parametrize(("accepted", "limit", "pauses", "extension", "expected"), PAUSED)
def test_special_procedure_pauses_and_extensions(session, clock, staff, accepted, limit, pauses, extension, expected) -> None:
    task = start_review(session, clock, staff, accepted, limit)
    for paused, resumed in pauses:
        clock.set(paused)
        pause_task(session, clock, staff["alpha"], task.id, "special_procedure", "现场踏勘", "site_survey")
        assert clock_status(task.clock, load_calendar(session), clock.now()).paused
        clock.set(resumed)
        resume_task(session, clock, staff["alpha"], task.id)
    if extension:
        extend_task(session, clock, staff["head"], task.id, extension, "需要补充专家论证")
    assert due_day(task) == expected


def test_supplement_through_the_flow_pauses_until_the_window_resubmits(session, clock, staff) -> None:
    first = start_review(session, clock, staff, at(2026, 11, 2), 5)
    clock.set(at(2026, 11, 4, 11))
    complete_task(session, clock, staff["alpha"], first.id, "return", "缺少场地平面图")
    assert first.clock.paused_since is not None and first.clock.stopped_at is None
    supplement = next(t for t in first.case.tasks if t.element_id == "supplement_alpha")
    clock.set(at(2026, 11, 10, 9))
    complete_task(session, clock, staff["window"], supplement.id)
    again = next(t for t in first.case.tasks if t.element_id == "review_alpha" and t.state == TaskState.OPEN)
    assert again.clock is first.clock  # the department's limit is not restarted by 补正
    assert due_day(again) == date(2026, 11, 13)  # 5 days + Nov 5, 6, 9, 10 paused
    actions = [e.action for e in events_of(session, first.case)]
    assert actions.count("clock_paused") == 1 and actions.count("clock_resumed") == 1
    kinds = [(e["type"], e["kind"]) for e in clock_events(session, first.case)]
    assert kinds == [("pause", "supplement"), ("resume", "supplement")]


def test_case_clocks_pause_with_their_steps_and_stop_at_conclusion(session, clock, staff) -> None:
    task = start_review(session, clock, staff, at(2026, 11, 2), 5, catalog={"promised_days": 8, "statutory_days": 20})
    promised, statutory = case_clocks(session, task.case)
    assert (promised.kind, local_day(promised.due_at)) == ("promised", date(2026, 11, 12))
    assert (statutory.kind, local_day(statutory.due_at)) == ("statutory", date(2026, 11, 30))
    clock.set(at(2026, 11, 3))
    pause_task(session, clock, staff["alpha"], task.id, "special_procedure", "组织听证", "hearing")
    assert promised.paused_since is not None
    clock.set(at(2026, 11, 5))
    resume_task(session, clock, staff["alpha"], task.id)
    assert local_day(promised.due_at) == date(2026, 11, 16)  # + Nov 4, 5
    complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")
    assert promised.stopped_at is not None and task.clock.stopped_at is not None


def test_a_year_without_a_confirmed_schedule_is_flagged(session, clock, staff) -> None:
    task = start_review(session, clock, staff, at(2026, 12, 28), 5)
    assert due_day(task) == date(2027, 1, 5)  # Jan 1 2027 is a statutory holiday even unconfirmed
    assert task.clock.unconfirmed is True
    assert start_review(session, clock, staff, at(2026, 11, 2), 3).clock.unconfirmed is False


class TestGuards:
    def test_pausing_needs_a_reason_and_a_procedure_type(self, session, clock, staff) -> None:
        task = start_review(session, clock, staff, at(2026, 11, 2), 5)
        with pytest.raises(InvalidInput, match="reason"):
            pause_task(session, clock, staff["alpha"], task.id, "special_procedure", " ", "hearing")
        with pytest.raises(InvalidInput, match="needs its type"):
            pause_task(session, clock, staff["alpha"], task.id, "special_procedure", "听证", None)
        with pytest.raises(InvalidInput, match="kind must be"):
            pause_task(session, clock, staff["alpha"], task.id, "lunch", "午休")

    def test_only_the_department_pauses_and_a_paused_clock_cannot_pause_twice(self, session, clock, staff) -> None:
        task = start_review(session, clock, staff, at(2026, 11, 2), 5)
        with pytest.raises(PermissionDenied):
            pause_task(session, clock, staff["beta"], task.id, "special_procedure", "听证", "hearing")
        pause_task(session, clock, staff["alpha"], task.id, "special_procedure", "听证", "hearing")
        with pytest.raises(Conflict, match="already paused"):
            pause_task(session, clock, staff["alpha"], task.id, "special_procedure", "听证", "hearing")

    def test_resume_needs_a_pause_and_the_window_may_end_only_a_supplement(self, session, clock, staff) -> None:
        task = start_review(session, clock, staff, at(2026, 11, 2), 5)
        with pytest.raises(Conflict, match="not paused"):
            resume_task(session, clock, staff["alpha"], task.id)
        pause_task(session, clock, staff["alpha"], task.id, "special_procedure", "检测", "testing")
        with pytest.raises(PermissionDenied):
            resume_task(session, clock, staff["window"], task.id)
        resume_task(session, clock, staff["alpha"], task.id)
        pause_task(session, clock, staff["alpha"], task.id, "supplement", "缺营业执照")
        resume_task(session, clock, staff["window"], task.id)
        assert task.clock.paused_since is None

    def test_extension_needs_the_department_head(self, session, clock, staff) -> None:
        task = start_review(session, clock, staff, at(2026, 11, 2), 5)
        with pytest.raises(PermissionDenied, match="head"):
            extend_task(session, clock, staff["alpha"], task.id, 3, "复杂")
        with pytest.raises(InvalidInput, match="working_days"):
            extend_task(session, clock, staff["head"], task.id, 0, "复杂")
        with pytest.raises(InvalidInput, match="reason"):
            extend_task(session, clock, staff["head"], task.id, 3, "")


def test_remaining_days_and_levels_are_derived_at_each_moment(session, clock, staff) -> None:
    task = start_review(session, clock, staff, at(2026, 11, 2), 5)  # due Mon Nov 9; yellow from day 4 (Nov 6)
    calendar = load_calendar(session)
    expectations = [
        (at(2026, 11, 2, 11), 5, WarningLevel.NORMAL),
        (at(2026, 11, 5, 9), 2, WarningLevel.NORMAL),
        (at(2026, 11, 6, 9), 1, WarningLevel.YELLOW),   # 4 of 5 days: 80% used
        (at(2026, 11, 9, 9), 0, WarningLevel.YELLOW),   # due today
        (at(2026, 11, 10, 9), -1, WarningLevel.RED),
    ]
    for moment, remaining, level in expectations:
        status = clock_status(task.clock, calendar, moment)
        assert (status.remaining_working_days, status.warning) == (remaining, level), moment
