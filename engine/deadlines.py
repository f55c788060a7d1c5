"""Clocks in working days: due dates, warning thresholds, pauses and extensions.

A clock's due date is derived from its start, its limit, the working days it was paused and the
days it was extended. The due date and the warning thresholds are stored on the clock so SQL can
sort and scan by them; every change of an input recomputes them here, in one place.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar import OFFICE_TZ, WorkingCalendar, to_office_time
from engine.models import Case, Clock, ClockPause, Department, Task, User
from engine.vocab import WARNING_RANK, ClockKind, TaskKind, WarningLevel

DEFAULT_INTAKE_DAYS = 5  # 行政许可法 art. 32: decide on acceptance within five working days
DEFAULT_POLICY = {"notice_days": 1, "yellow_ratio": 0.8}


@dataclass(frozen=True)
class Schedule:
    due_at: datetime
    notice_at: datetime
    yellow_at: datetime
    unconfirmed: bool


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=OFFICE_TZ).astimezone(timezone.utc)


def local_day(moment: datetime) -> date:
    return to_office_time(moment).date()


def warning_policy(case: Case, department: Department | None) -> dict[str, Any]:
    """Thresholds: the department's, else the 一件事's (catalog `warnings`), else the defaults."""
    policy = dict(DEFAULT_POLICY)
    policy.update(case.definition.catalog.get("warnings") or {})
    if department is not None and department.warning_policy:
        policy.update(department.warning_policy)
    return policy


def total_days(clock: Clock) -> int:
    return clock.limit_days + clock.paused_days + clock.extended_days


def schedule_for(clock: Clock, calendar: WorkingCalendar, policy: dict[str, Any]) -> Schedule:
    start = calendar.first_counting_day(clock.started_at)
    total = total_days(clock)
    due_day = calendar.add_working_days(start, total)
    yellow_day = calendar.add_working_days(start, max(1, math.ceil(float(policy["yellow_ratio"]) * total)))
    notice_day = calendar.add_working_days(start, max(1, total - int(policy["notice_days"])))
    unconfirmed = not all(calendar.year(y).confirmed for y in range(start.year, due_day.year + 1))
    return Schedule(calendar.end_of_day(due_day), start_of_day(notice_day), start_of_day(min(yellow_day, due_day)), unconfirmed)


def level_of(clock: Clock, now: datetime) -> WarningLevel:
    """The warning level the clock shows at `now`. A paused or stopped clock raises no warning."""
    if clock.stopped_at is not None or clock.paused_since is not None:
        return WarningLevel(clock.level) if clock.stopped_at is None else WarningLevel.NORMAL
    if now > clock.due_at:
        return WarningLevel.RED
    if now >= clock.yellow_at:
        return WarningLevel.YELLOW
    if now >= clock.notice_at:
        return WarningLevel.NOTICE
    return WarningLevel.NORMAL


def next_warning_at(clock: Clock) -> datetime | None:
    """When the recorded level can next rise; None when it cannot (stopped, paused, already red)."""
    if clock.stopped_at is not None or clock.paused_since is not None:
        return None
    level = WarningLevel(clock.level)
    if level == WarningLevel.NORMAL:
        return min(clock.notice_at, clock.yellow_at)
    if level == WarningLevel.NOTICE:
        return clock.yellow_at
    if level == WarningLevel.YELLOW:
        return clock.due_at
    return None


def remaining_working_days(clock: Clock, calendar: WorkingCalendar, now: datetime) -> int:
    """Working days left after today until the due date; negative when overdue."""
    today, due = local_day(now), local_day(clock.due_at)
    if due >= today:
        return calendar.working_days_between(today, due)
    return -calendar.working_days_between(due, today)


def reschedule(clock: Clock, calendar: WorkingCalendar, policy: dict[str, Any], now: datetime) -> None:
    """Recompute the stored due date and thresholds after any input changed.

    If the change gives more time, the recorded level drops to what the clock now shows, so a
    later rise is announced again; a rise is left for the scan to record (and announce) once.
    """
    schedule = schedule_for(clock, calendar, policy)
    clock.due_at, clock.notice_at, clock.yellow_at = schedule.due_at, schedule.notice_at, schedule.yellow_at
    clock.unconfirmed = schedule.unconfirmed
    if clock.paused_since is None and clock.stopped_at is None:
        showing = level_of(clock, now)
        if WARNING_RANK[showing] < WARNING_RANK[WarningLevel(clock.level)]:
            clock.level = showing
    clock.next_warning_at = next_warning_at(clock)


def new_clock(
    session: Session, case: Case, kind: str, limit_days: int, started_at: datetime, calendar: WorkingCalendar,
    policy: dict[str, Any], element_id: str | None = None, department: Department | None = None,
) -> Clock:
    clock = Clock(case=case, kind=kind, element_id=element_id, department=department, limit_days=limit_days,
                  started_at=started_at, paused_days=0, extended_days=0, level=WarningLevel.NORMAL)
    reschedule(clock, calendar, policy, started_at)
    session.add(clock)
    return clock


def start_case_clocks(session: Session, case: Case, calendar: WorkingCalendar) -> list[Clock]:
    """承诺时限 and 法定时限 from acceptance, where the 一件事's catalog gives them."""
    catalog = case.definition.catalog
    policy = warning_policy(case, None)
    clocks = []
    for kind, key in ((ClockKind.PROMISED, "promised_days"), (ClockKind.STATUTORY, "statutory_days")):
        if catalog.get(key):
            clocks.append(new_clock(session, case, kind, int(catalog[key]), case.accepted_at, calendar, policy))
    return clocks


def case_clocks(session: Session, case: Case) -> list[Clock]:
    return list(session.scalars(select(Clock).where(Clock.case_id == case.id, Clock.element_id.is_(None)).order_by(Clock.id)))


def statutory_clock(session: Session, case: Case) -> Clock | None:
    """The case's 法定时限, where its 一件事 has one."""
    return next((c for c in case_clocks(session, case) if c.kind == ClockKind.STATUTORY), None)


def running_step_clocks(session: Session, case: Case, element_ids: set[str]) -> dict[str, Clock]:
    """The case's step clocks still running for these steps, by step, in one query."""
    clocks: dict[str, Clock] = {}
    for clock in session.scalars(select(Clock).where(
            Clock.case_id == case.id, Clock.element_id.in_(element_ids), Clock.stopped_at.is_(None)).order_by(Clock.id)):
        clocks.setdefault(clock.element_id, clock)  # type: ignore[arg-type]
    return clocks


def attach_task_clock(
    session: Session, case: Case, task: Task, now: datetime, calendar: WorkingCalendar, running: Clock | None,
) -> Clock | None:
    """Give a new task row its step clock (环节时限); `running` is the step's clock still running, if any
    (`running_step_clocks`).

    A step that comes back after 补正 keeps the clock it started with (paused while the applicant
    supplied materials), so returning a case never restarts a department's limit.
    """
    if running is not None:
        task.clock = running
        return running
    limit = task.time_limit_days or (DEFAULT_INTAKE_DAYS if task.kind == TaskKind.INTAKE else None)
    if not limit:
        return None
    task.clock = new_clock(session, case, ClockKind.TASK, limit, now, calendar, warning_policy(case, task.department),
                           task.element_id, task.department)
    return task.clock


def stop_clock(clock: Clock, now: datetime) -> None:
    clock.stopped_at = now
    clock.next_warning_at = None


def pause(clock: Clock, now: datetime) -> None:
    if clock.paused_since is None and clock.stopped_at is None:
        clock.paused_since = now
        clock.next_warning_at = None


def resume(clock: Clock, now: datetime, calendar: WorkingCalendar, policy: dict[str, Any]) -> int:
    """Restart a paused clock; the working days it was paused extend its due date. Returns them."""
    if clock.paused_since is None:
        return 0
    days = calendar.working_days_between(local_day(clock.paused_since), local_day(now))
    clock.paused_days += days
    clock.paused_since = None
    reschedule(clock, calendar, policy, now)
    return days


def policy_of(clock: Clock) -> dict[str, Any]:
    return warning_policy(clock.case, clock.department)


def recompute_open_clocks(session: Session, calendar: WorkingCalendar, now: datetime, actor: User | None, reason: str) -> int:
    """After a calendar change: recompute every open clock and record each changed due date in its case."""
    changed = 0
    for clock in session.scalars(select(Clock).where(Clock.stopped_at.is_(None)).order_by(Clock.id)):
        before = clock.due_at
        reschedule(clock, calendar, policy_of(clock), now)
        if clock.due_at != before:
            changed += 1
            history.record(session, clock.case, "due_recomputed", now, actor, clock=clock.kind, element_id=clock.element_id,
                           before=before.isoformat(), after=clock.due_at.isoformat(), reason=reason)
    return changed


def active_pauses(session: Session, case_id: int) -> list[ClockPause]:
    return list(session.scalars(select(ClockPause).where(ClockPause.case_id == case_id, ClockPause.ended_at.is_(None))))


@dataclass(frozen=True)
class ClockStatus:
    """What a person (or the API) sees of a clock at a moment: derived, never stored stale."""

    kind: str
    limit_days: int
    due_at: datetime
    remaining_working_days: int | None
    warning: WarningLevel
    paused: bool
    stopped: bool
    unconfirmed: bool
    paused_days: int
    extended_days: int


def clock_status(clock: Clock, calendar: WorkingCalendar, now: datetime) -> ClockStatus:
    return ClockStatus(
        kind=clock.kind, limit_days=clock.limit_days, due_at=clock.due_at,
        # Only a running clock has days left; a stopped one needs no calendar at all.
        remaining_working_days=remaining_working_days(clock, calendar, now) if clock.stopped_at is None else None,
        warning=level_of(clock, now) if clock.stopped_at is None else WarningLevel.NORMAL,
        paused=clock.paused_since is not None, stopped=clock.stopped_at is not None, unconfirmed=clock.unconfirmed,
        paused_days=clock.paused_days, extended_days=clock.extended_days,
    )


def case_warning(session: Session, case: Case, now: datetime) -> WarningLevel:
    """The case's own level: the worse of its promised and statutory clocks (a task can be red alone)."""
    levels = [level_of(c, now) for c in case_clocks(session, case) if c.stopped_at is None]
    return max(levels, key=lambda level: WARNING_RANK[level], default=WarningLevel.NORMAL)
