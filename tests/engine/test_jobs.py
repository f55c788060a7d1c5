"""Scheduled jobs: warning scans (recorded once), BPMN timers on the engine clock, the single-runner lease."""
from __future__ import annotations

import multiprocessing
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.calendar import OFFICE_TZ
from engine.cases import accept_case
from engine.db import Database, connect
from engine.definitions import deploy_definition
from engine.deadlines import local_day
from engine.clock import FrozenClock
from engine.calendar_store import add_day, load_calendar
from engine.deadlines import recompute_open_clocks
from engine.jobs import fire_due_timers, run_due_jobs, scan_warnings
from engine.suspensions import pause_task
from engine.lease import acquire_lease
from engine.models import Case, CaseEvent, Notification, Task, User
from engine.vocab import TaskState
from tests.factories import bpmn, make_staff, make_user


def at(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=OFFICE_TZ)


def seed(db: Database, clock, xml: bytes, catalog: dict | None = None) -> int:
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        make_user(s, clock, "alpha_head", ["department_head"], "alpha")
        deploy_definition(s, clock, xml, catalog=catalog)
        key = "timer_flow" if b"timer_flow" in xml else "one_review"
        return accept_case(s, clock, staff["window"], key, {"name": "张三"}, {}).id


def events(db: Database, case_id: int, action: str) -> list[CaseEvent]:
    with db.reader.begin() as s:
        return list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == action).order_by(CaseEvent.id)))


def test_each_level_change_is_recorded_once_and_notified(db: Database, clock) -> None:
    clock.set(at(2026, 11, 2))
    case_id = seed(db, clock, bpmn("one_review.bpmn").replace(b"LIMIT", b"5"), {"promised_days": 10})
    assert scan_warnings(db, clock) == 0
    clock.set(at(2026, 11, 6, 9))  # 4 of 5 working days: yellow
    assert scan_warnings(db, clock) == 1
    assert scan_warnings(db, clock) == 0  # a re-scan records nothing twice
    clock.set(at(2026, 11, 10, 9))  # overdue
    assert scan_warnings(db, clock) == 1
    clock.advance(hours=5)
    assert scan_warnings(db, clock) == 0
    levels = [e.details["level"] for e in events(db, case_id, "warning")]
    assert levels == ["yellow", "red"]
    with db.reader.begin() as s:
        people = {s.get(User, n.user_id).username for n in s.scalars(select(Notification).where(Notification.kind == "warning_red"))}
    assert people == {"alpha", "alpha_head", "supervisor"}


def test_a_task_can_be_red_while_its_case_is_not(db: Database, clock) -> None:
    clock.set(at(2026, 11, 2))
    case_id = seed(db, clock, bpmn("one_review.bpmn").replace(b"LIMIT", b"2"), {"promised_days": 20})
    clock.set(at(2026, 11, 5, 9))
    scan_warnings(db, clock)
    warned = [(e.details["clock"], e.details["level"]) for e in events(db, case_id, "warning")]
    assert warned == [("task", "red")]


def test_paused_clocks_raise_no_warning(db: Database, clock) -> None:
    clock.set(at(2026, 11, 2))
    case_id = seed(db, clock, bpmn("one_review.bpmn").replace(b"LIMIT", b"2"))
    with db.writer.begin() as s:
        task = s.scalar(select(Task).where(Task.element_id == "review_alpha"))
        reviewer = s.scalar(select(User).where(User.username == "alpha"))
        pause_task(s, clock, reviewer, task.id, "special_procedure", "专家评审", "expert_review")
    clock.set(at(2026, 11, 20))
    assert scan_warnings(db, clock) == 0
    assert events(db, case_id, "warning") == []


def test_calendar_change_recomputes_open_due_dates_and_records_them(db: Database, clock) -> None:
    clock.set(at(2026, 11, 2))
    case_id = seed(db, clock, bpmn("one_review.bpmn").replace(b"LIMIT", b"5"))
    with db.writer.begin() as s:
        add_day(s, clock, None, date(2026, 11, 4), "holiday", "区级停电检修闭馆")
        assert recompute_open_clocks(s, load_calendar(s), clock.now(), None, "local closure") == 1
        task = s.scalar(select(Task).where(Task.element_id == "review_alpha"))
        assert local_day(task.clock.due_at) == date(2026, 11, 10)
    (event,) = events(db, case_id, "due_recomputed")
    assert event.details["before"].startswith("2026-11-09") and event.details["after"].startswith("2026-11-10")


@pytest.mark.parametrize("cancel", ["false", "true"])
def test_boundary_timer_fires_on_the_engine_clock(db: Database, clock, cancel: str) -> None:
    clock.set(at(2026, 11, 2))
    xml = bpmn("timer.bpmn").replace(b"CANCEL", cancel.encode()).replace(b"WORKING_DAYS", b"")
    case_id = seed(db, clock, xml)
    with db.reader.begin() as s:
        next_timer = s.get(Case, case_id).next_timer_at
    assert next_timer == at(2026, 11, 12)  # unquoted P10D from acceptance: ten calendar days
    clock.set(at(2026, 11, 11))
    assert fire_due_timers(db, clock) == 0
    clock.set(at(2026, 11, 12, 11))
    assert fire_due_timers(db, clock) == 1
    with db.reader.begin() as s:
        tasks = {t.element_id: t.state for t in s.scalars(select(Task).where(Task.case_id == case_id))}
    assert tasks["supervise"] == TaskState.OPEN
    # Non-interrupting: the review goes on; interrupting: it is withdrawn.
    assert tasks["review_alpha"] == (TaskState.CANCELLED if cancel == "true" else TaskState.OPEN)
    assert len(events(db, case_id, "timer_fired")) == 1
    assert fire_due_timers(db, clock) == 0


def test_timer_in_working_days_uses_the_calendar(db: Database, clock) -> None:
    clock.set(at(2026, 9, 29))
    xml = bpmn("timer.bpmn").replace(b"CANCEL", b"true").replace(
        b"WORKING_DAYS", b'<camunda:property name="workingDays" value="3"/>')
    case_id = seed(db, clock, xml)
    with db.reader.begin() as s:
        # Sep 30, Oct 8, Oct 9 are the three working days after Sep 29: end of Oct 9.
        assert local_day(s.get(Case, case_id).next_timer_at) == date(2026, 10, 9)


def _contend(url: str, holder: str, moment: str, queue) -> None:  # type: ignore[no-untyped-def]
    db = connect(url)
    try:
        run = run_due_jobs(db, FrozenClock(datetime.fromisoformat(moment)), holder)
        queue.put((holder, run.ran, run.warnings))
    finally:
        db.dispose()


def test_two_processes_share_one_scheduler(db: Database, clock, database_url: str) -> None:
    clock.set(at(2026, 11, 2))
    case_id = seed(db, clock, bpmn("one_review.bpmn").replace(b"LIMIT", b"1"))
    moment = at(2026, 11, 5).isoformat()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_contend, args=(database_url, f"host-{i}", moment, queue)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    results = sorted(queue.get(timeout=5) for _ in workers)
    assert sum(ran for _, ran, _ in results) == 1
    assert len(events(db, case_id, "warning")) == 1


def test_the_lease_passes_on_when_it_expires(db: Database, clock) -> None:
    with db.writer.begin() as s:
        assert acquire_lease(s, "scheduler", "a", clock.now(), timedelta(minutes=3))
        assert not acquire_lease(s, "scheduler", "b", clock.now(), timedelta(minutes=3))
        assert acquire_lease(s, "scheduler", "a", clock.now(), timedelta(minutes=3))  # renewal
        assert acquire_lease(s, "scheduler", "b", clock.now() + timedelta(minutes=4), timedelta(minutes=3))
