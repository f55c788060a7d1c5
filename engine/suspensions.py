"""补正, 特别程序 and 延期: stopping, restarting and extending clocks, each recorded in the case file."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar import WorkingCalendar
from engine.calendar_store import load_calendar
from engine.clock import Clock as TimeSource
from engine.deadlines import active_pauses, case_clocks, local_day, pause, policy_of, reschedule, resume, statutory_clock
from engine.errors import Conflict, InvalidInput
from engine.models import Case, Clock, ClockExtension, ClockPause, Task, User
from engine.permissions import belongs_to_department, may_act_on_task, require
from engine.runtime import get_task, lock_case, task_is_open
from engine.vocab import PauseKind, Role, SpecialProcedure

MAX_EXTENSION_DAYS = 30


def suspend(
    session: Session, case: Case, clock: Clock, kind: str, reason: str, now: datetime, actor: User | None,
    task: Task | None = None, procedure: str | None = None,
) -> ClockPause:
    """Pause a step's clock and the case's own clocks; the case clocks run again when no pause is left."""
    pause(clock, now)
    for case_clock in case_clocks(session, case):
        pause(case_clock, now)
    record = ClockPause(case_id=case.id, clock=clock, task_id=task.id if task else None, kind=kind, procedure=procedure,
                        reason=reason, started_at=now, started_by_id=actor.id if actor else None)
    session.add(record)
    session.flush()
    history.record(session, case, "clock_paused", now, actor, task, kind=kind, procedure=procedure, reason=reason,
                   element_id=clock.element_id)
    return record


def end_suspension(session: Session, record: ClockPause, now: datetime, actor: User | None, calendar: WorkingCalendar) -> int:
    """End one pause; return the working days it lasted (they extend the due dates)."""
    record.ended_at, record.ended_by_id = now, actor.id if actor else None
    record.working_days = calendar.working_days_between(local_day(record.started_at), local_day(now))
    session.flush()
    remaining = active_pauses(session, record.case_id)
    clock = record.clock
    if not any(p.clock_id == clock.id for p in remaining):
        resume(clock, now, calendar, policy_of(clock))
    if not remaining:
        for case_clock in case_clocks(session, clock.case):
            resume(case_clock, now, calendar, policy_of(case_clock))
    history.record(session, clock.case, "clock_resumed", now, actor, None, kind=record.kind, procedure=record.procedure,
                   working_days=record.working_days, element_id=clock.element_id, due_at=clock.due_at.isoformat())
    return record.working_days


def end_pauses_resumed_by(session: Session, task: Task, now: datetime, actor: User, calendar: WorkingCalendar) -> None:
    """The applicant resubmitted (the 补正 task is done): restart the clocks its return paused."""
    for record in session.scalars(select(ClockPause).where(ClockPause.resume_task_id == task.id, ClockPause.ended_at.is_(None))):
        end_suspension(session, record, now, actor, calendar)


def end_pauses_of_clock(session: Session, clock: Clock, now: datetime, actor: User, calendar: WorkingCalendar) -> None:
    for record in session.scalars(select(ClockPause).where(ClockPause.clock_id == clock.id, ClockPause.ended_at.is_(None))):
        end_suspension(session, record, now, actor, calendar)


def _open_task_with_clock(session: Session, actor: User, task_id: int) -> tuple[Case, Task, Clock]:
    task = get_task(session, task_id)
    case = lock_case(session, task.case_id)
    session.refresh(task)
    if not task_is_open(task):
        raise Conflict("this task is closed")
    if task.clock is None:
        raise InvalidInput(f"'{task.name}' has no time limit, so there is no clock to pause or extend")
    return case, task, task.clock


def pause_task(
    session: Session, time_source: TimeSource, actor: User, task_id: int, kind: str, reason: str,
    procedure: str | None = None,
) -> ClockPause:
    """Start 补正 or 特别程序 on an open task: its clock and the case's clocks stop."""
    case, task, clock = _open_task_with_clock(session, actor, task_id)
    require(may_act_on_task(actor, task), "only the task's department may pause its clock")
    if kind not in PauseKind.__members__.values():
        raise InvalidInput("kind must be supplement or special_procedure")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is required to pause a clock")
    if kind == PauseKind.SPECIAL_PROCEDURE and procedure not in SpecialProcedure.__members__.values():
        raise InvalidInput(f"a special procedure needs its type: one of {', '.join(SpecialProcedure)}")
    if any(p.clock_id == clock.id and p.kind == kind for p in active_pauses(session, case.id)):
        raise Conflict("this clock is already paused for that reason")
    return suspend(session, case, clock, kind, reason, time_source.now(), actor, task,
                   procedure if kind == PauseKind.SPECIAL_PROCEDURE else None)


def resume_task(session: Session, time_source: TimeSource, actor: User, task_id: int) -> Clock:
    """End the pauses of a task's clock: 特别程序 by its department, 补正 also at the window."""
    case, task, clock = _open_task_with_clock(session, actor, task_id)
    pauses = [p for p in active_pauses(session, case.id) if p.clock_id == clock.id]
    if not pauses:
        raise Conflict("this task's clock is not paused")
    allowed = [p for p in pauses if may_act_on_task(actor, task) or (p.kind == PauseKind.SUPPLEMENT and actor.has_role(Role.WINDOW))]
    require(bool(allowed), "only the task's department (or the window, for 补正) may resume its clock")
    calendar = load_calendar(session)
    for record in allowed:
        end_suspension(session, record, time_source.now(), actor, calendar)
    return clock


def extend_task(session: Session, time_source: TimeSource, actor: User, task_id: int, working_days: int, reason: str) -> Clock:
    """延期 (art. 42): the department head approves extra working days, with a reason."""
    case, task, clock = _open_task_with_clock(session, actor, task_id)
    require(actor.has_role(Role.DEPARTMENT_HEAD) and belongs_to_department(actor, task.department_id),
            "an extension needs the approval of the task department's head")
    if not isinstance(working_days, int) or isinstance(working_days, bool) or not 1 <= working_days <= MAX_EXTENSION_DAYS:
        raise InvalidInput(f"working_days must be a whole number from 1 to {MAX_EXTENSION_DAYS}")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is required for an extension")
    now, calendar = time_source.now(), load_calendar(session)
    statutory = _check_extension_rule(session, case, working_days, now)
    for target in [clock, *case_clocks(session, case)]:
        target.extended_days += working_days
        reschedule(target, calendar, policy_of(target), now)
        session.add(ClockExtension(case_id=case.id, clock=target, task_id=task.id, working_days=working_days,
                                   reason=reason, approved_by_id=actor.id, at=now))
    history.record(session, case, "clock_extended", now, actor, task, working_days=working_days, reason=reason,
                   due_at=clock.due_at.isoformat())
    if statutory is not None:  # the rule's flows must tell the applicant of the new reply date (告知)
        history.record(session, case, "applicant_informed", now, actor, task, about="reply_extended",
                       working_days=working_days, due_at=statutory.due_at.isoformat())
    return clock


def _check_extension_rule(session: Session, case: Case, working_days: int, now: datetime) -> Clock | None:
    """A flow whose catalog declares `extension: {max_days, times}` (依申请公开, 《政府信息公开条例》 art. 33)
    allows only that many extensions of its statutory limit, each of at most `max_days`, approved before
    the limit runs out — whichever page or endpoint asks for them. Returns the statutory clock it guards."""
    rule = case.definition.catalog.get("extension")
    if not rule:
        return None
    statutory = statutory_clock(session, case)
    if statutory is None:
        raise InvalidInput("this case has no statutory limit to extend")
    times, max_days = int(rule.get("times", 1)), int(rule.get("max_days", MAX_EXTENSION_DAYS))
    granted = session.scalar(select(func.count(ClockExtension.id)).where(ClockExtension.clock_id == statutory.id)) or 0
    if granted >= times:
        raise Conflict("the reply limit may be extended only once" if times == 1
                       else f"the reply limit may be extended only {times} times")
    if working_days > max_days:
        raise InvalidInput(f"working_days must be a whole number from 1 to {max_days}")
    if now > statutory.due_at:
        raise Conflict("the reply limit has already run out; an extension must be approved before it does")
    return statutory


def clock_events(session: Session, case: Case) -> list[dict]:
    """Pauses, resumes and extensions of a case, oldest first, for the API and the case page."""
    events: list[dict] = []
    for p in session.scalars(select(ClockPause).where(ClockPause.case_id == case.id).order_by(ClockPause.id)):
        events.append({"type": "pause", "kind": p.kind, "procedure": p.procedure, "reason": p.reason,
                       "element_id": p.clock.element_id, "at": p.started_at.isoformat()})
        if p.ended_at is not None:
            events.append({"type": "resume", "kind": p.kind, "procedure": p.procedure, "working_days": p.working_days,
                           "element_id": p.clock.element_id, "at": p.ended_at.isoformat()})
    for e in session.scalars(select(ClockExtension).join(Clock).where(ClockExtension.case_id == case.id, Clock.element_id.is_not(None)).order_by(ClockExtension.id)):
        events.append({"type": "extension", "working_days": e.working_days, "reason": e.reason,
                       "element_id": e.clock.element_id, "at": e.at.isoformat()})
    return sorted(events, key=lambda e: e["at"])
