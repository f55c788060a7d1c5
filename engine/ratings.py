"""好差评: the applicant rates a concluded case once, online or at the window.

A 差评 (level 1 or 2) opens a rectification (整改) for the responsible department with a clock
of 15 working days; the department records what it did, then the window calls the applicant back
(回访, due by the end of the same 15 working days) and closes it. Both tasks live outside the workflow (`workflow_task_id` is NULL): the flow
has ended by then. They share the inbox, clock and case file of workflow tasks, and are completed
here, not by `engine.tasks.complete_task`.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar_store import load_calendar
from engine.clock import Clock
from engine.calendar import WorkingCalendar
from engine.deadlines import new_clock, remaining_working_days, stop_clock, warning_policy
from engine.directory import WINDOW_DEPARTMENT, department_by_code
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import Case, Department, Rating, Task, User
from engine.notifications import notify, people_responsible_for, users_with_role
from engine.permissions import may_act_on_task, require
from engine.progress import find_case
from engine.runtime import lock_case, task_is_open
from engine.validation import checked_text
from engine.vocab import CaseStatus, ClockKind, Role, TaskKind, TaskState

LEVELS = range(1, 6)
BAD_LEVELS = (1, 2)
RECTIFICATION_DAYS = 15
FOLLOWUP_MIN_DAYS = 1
MAX_COMMENT = 1000
MAX_TEXT = 4000
RATED_STATUSES = (CaseStatus.COMPLETED, CaseStatus.REJECTED)


class RatingChannel(StrEnum):
    ONLINE = "online"
    """On the public progress page, with the case number and query code."""
    WINDOW = "window"
    """At the window, entered by the clerk."""


class AftercareKind(StrEnum):
    """Kinds of the task rows a 差评 opens (stored in `Task.kind` beside `TaskKind`)."""

    RECTIFICATION = "rectification"
    """差评整改: the responsible department rectifies, within 15 working days."""
    FOLLOWUP = "followup"
    """回访: the window calls the applicant back and closes the rectification."""


def is_bad(level: int) -> bool:
    return level in BAD_LEVELS


def rating_of(session: Session, case: Case) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.case_id == case.id))


def rate_online(session: Session, clock: Clock, number: str, code: str, level: object, comment: str | None) -> Rating:
    """The applicant rates on the public page; a wrong number or code is `NotFound`, as on that page."""
    case = find_case(session, number, code)
    if case is None:
        raise NotFound("no case matches this number and query code")
    return _rate(session, clock, case.id, level, comment, RatingChannel.ONLINE, None, None)


def rate_at_window(
    session: Session, clock: Clock, actor: User, case_id: int, level: object, comment: str | None,
    department_code: str | None = None,
) -> Rating:
    """The clerk enters the applicant's rating; for a 差评 they may name the department it is about."""
    require(actor.has_role(Role.WINDOW), "only window clerks enter ratings for applicants")
    return _rate(session, clock, case_id, level, comment, RatingChannel.WINDOW, actor, department_code)


def _rate(
    session: Session, clock: Clock, case_id: int, level: object, comment: str | None, channel: str, actor: User | None,
    department_code: str | None,
) -> Rating:
    case = lock_case(session, case_id)
    if case.status not in RATED_STATUSES:
        raise Conflict("a case is rated once it is concluded")
    if rating_of(session, case) is not None:
        raise Conflict("this case has already been rated")
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise InvalidInput("level must be a whole number from 1 (very dissatisfied) to 5 (very satisfied)")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"the comment is longer than {MAX_COMMENT} characters")
    if is_bad(level) and not comment:
        raise InvalidInput("a bad rating (差评) needs a comment saying what went wrong")
    department = _responsible_department(session, case, department_code) if is_bad(level) else None
    now = clock.now()
    rating = Rating(case_id=case.id, level=level, comment=comment, channel=channel, rated_at=now,
                    department_id=department.id if department else None)
    session.add(rating)
    session.flush()
    history.record(session, case, "rated", now, actor, level=level, comment=comment, channel=channel)
    if department is not None:
        rating.rectification_task_id = _open_rectification(session, case, department, comment, now, actor).id
    return rating


def _responsible_department(session: Session, case: Case, code: str | None) -> Department:
    """The department named (it must have reviewed the case), else the one whose review finished last."""
    reviews = list(session.scalars(select(Task).where(
        Task.case_id == case.id, Task.kind == TaskKind.REVIEW, Task.state == TaskState.COMPLETED,
    ).order_by(Task.completed_at.desc(), Task.id.desc())))
    if code:
        department = department_by_code(session, code)
        if not any(t.department_id == department.id for t in reviews):
            raise InvalidInput(f"{department.name} did not review this case")
        return department
    return reviews[0].department if reviews else department_by_code(session, WINDOW_DEPARTMENT)


def _open_task(session: Session, case: Case, kind: str, name: str, department: Department, now: datetime) -> Task:
    task = Task(case=case, workflow_task_id=None, element_id=kind, name=name, kind=kind, department=department,
                state=TaskState.OPEN, created_at=now)
    session.add(task)
    return task


def _open_rectification(session: Session, case: Case, department: Department, comment: str, now: datetime,
                        actor: User | None) -> Task:
    task = _open_task(session, case, AftercareKind.RECTIFICATION, f"差评整改（{department.name}）", department, now)
    task.time_limit_days = RECTIFICATION_DAYS
    task.clock = new_clock(session, case, ClockKind.TASK, RECTIFICATION_DAYS, now, load_calendar(session),
                           warning_policy(case, department), element_id=AftercareKind.RECTIFICATION, department=department)
    session.flush()
    history.record(session, case, "task_opened", now, actor, task, name=task.name, department=department.code,
                   due_at=task.clock.due_at.isoformat())
    notify(session, people_responsible_for(session, department.id, None), now, "rectification",
           f"差评整改 {case.number}: {comment}", case, task)
    return task


def _aftercare_task(session: Session, actor: User, task_id: int, kind: str) -> tuple[Case, Task]:
    case_id = session.scalar(select(Task.case_id).where(Task.id == task_id, Task.kind == kind))
    if case_id is None:
        raise NotFound(f"no {kind} task {task_id}")
    case = lock_case(session, case_id)
    task = session.scalar(select(Task).where(Task.id == task_id).execution_options(populate_existing=True))
    assert task is not None
    require(may_act_on_task(actor, task), "this task belongs to another department")
    if not task_is_open(task):
        raise Conflict("this task has already been completed")
    if task.assignee_id is not None and task.assignee_id != actor.id:
        raise Conflict("this task is claimed by another person")
    return case, task


def _finish(session: Session, case: Case, task: Task, actor: User, now: datetime, text: str) -> None:
    task.state, task.completed_at, task.completed_by_id = TaskState.COMPLETED, now, actor.id
    task.assignee_id = task.assignee_id or actor.id
    task.opinion = text
    if task.clock is not None:
        stop_clock(task.clock, now)
    history.record(session, case, "task_completed", now, actor, task, name=task.name, opinion=text)


def rectify(session: Session, clock: Clock, actor: User, task_id: int, measures: str | None) -> Task:
    """The department records its rectification (整改措施); the window's 回访 opens. Returns the 回访 task."""
    case, task = _aftercare_task(session, actor, task_id, AftercareKind.RECTIFICATION)
    measures = checked_text(measures, "what was done (measures)", MAX_TEXT)
    now = clock.now()
    _finish(session, case, task, actor, now, measures)
    window = department_by_code(session, WINDOW_DEPARTMENT)
    followup = _open_task(session, case, AftercareKind.FOLLOWUP, "回访（差评整改）", window, now)
    calendar = load_calendar(session)
    followup.time_limit_days = _follow_up_days(task, calendar, now)
    followup.clock = new_clock(session, case, ClockKind.TASK, followup.time_limit_days, now, calendar,
                               warning_policy(case, window), element_id=AftercareKind.FOLLOWUP, department=window)
    session.flush()
    history.record(session, case, "task_opened", now, actor, followup, name=followup.name, department=window.code,
                   due_at=followup.clock.due_at.isoformat())
    notify(session, users_with_role(session, Role.WINDOW, window.id), now, "followup",
           f"差评回访 {case.number}: {task.department.name} 已整改", case, followup)
    return followup


def _follow_up_days(rectification: Task, calendar: WorkingCalendar, now: datetime) -> int:
    """整改 and its feedback to the applicant share the 15 working days: the 回访 is due when the
    rectification was (with its extensions), and never sooner than the next working day."""
    assert rectification.clock is not None
    return max(FOLLOWUP_MIN_DAYS, remaining_working_days(rectification.clock, calendar, now))


def close_follow_up(session: Session, clock: Clock, actor: User, task_id: int, result: str | None) -> Rating:
    """回访: the window records the applicant's answer; the rectification is closed (销号)."""
    case, task = _aftercare_task(session, actor, task_id, AftercareKind.FOLLOWUP)
    result = checked_text(result, "the follow-up's result", MAX_TEXT)
    rating = rating_of(session, case)
    if rating is None or rating.rectification_task_id is None:
        raise Conflict("this case has no rectification to close")
    now = clock.now()
    _finish(session, case, task, actor, now, result)
    rating.rectified_at = now
    rectification = session.get(Task, rating.rectification_task_id)
    assert rectification is not None
    history.record(session, case, "rectification_closed", now, actor, task, measures=rectification.opinion, result=result,
                   department=rectification.department.code)
    return rating


def aftercare_task(session: Session, actor: User, task_id: int) -> Task:
    """A rectification or 回访 task, for its department (and oversight) to look at."""
    task = session.get(Task, task_id)
    if task is None or task.kind not in AftercareKind.__members__.values():
        raise NotFound(f"no rectification or follow-up task {task_id}")
    require(may_act_on_task(actor, task) or actor.has_role(Role.SUPERVISOR, Role.ADMIN),
            "this task belongs to another department")
    return task


def open_aftercare(session: Session, actor: User) -> list[Task]:
    """Open rectifications and 回访 of the actor's department (every department's for oversight)."""
    query = select(Task).where(Task.kind.in_(list(AftercareKind)), Task.state.in_((TaskState.OPEN, TaskState.CLAIMED)))
    if not actor.has_role(Role.SUPERVISOR, Role.ADMIN):
        if actor.department_id is None:
            return []
        query = query.where(Task.department_id == actor.department_id)
    return list(session.scalars(query.order_by(Task.created_at, Task.id)))
