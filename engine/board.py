"""The live board (督办台): every open department task with its warning level, and reassigning one.

Supervisors and administrators see every department; a department head or reviewer sees only
their own. Warning levels are computed in SQL from the stored due date and thresholds exactly as
`engine.deadlines.level_of` computes them, so the board filters, counts and sorts in the database.
Sorting by remaining working days is sorting by due date: the count of working days left only
grows with the due date.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from engine import history
from engine.calendar import WorkingCalendar
from engine.clock import Clock as TimeSource
from engine.deadlines import local_day
from engine.directory import department_by_code
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.models import Case, Clock, Department, ProcessDefinition, Task, User, UserRole
from engine.notifications import notify
from engine.permissions import belongs_to_department, require, sees_every_department
from engine.prediction import NO_PREDICTION, Prediction, StepHistory, StepKey, predict_cases
from engine.runtime import get_task, task_is_open
from engine.stats import Period
from engine.vocab import OPEN_TASK_STATES, WARNING_RANK, CaseStatus, Channel, ClockKind, Role, TaskState, WarningLevel

MAX_ROWS = 50_000  # an export's ceiling; the page shows one page of it
CONCLUDED = (CaseStatus.COMPLETED, CaseStatus.REJECTED)
DEPARTMENT_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD)


@dataclass(frozen=True)
class BoardFilter:
    """What the board shows: each field narrows it; `descending` puts the most time left first."""

    department: str | None = None
    definition: str | None = None
    assignee: str | None = None
    channel: str | None = None
    warnings: tuple[str, ...] = ()
    period: Period = field(default_factory=Period)
    descending: bool = False

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> BoardFilter:
        """From query-string values (`department`, `definition`, `assignee`, `channel`, `warning` —
        comma-separated levels —, `from`, `to`, `sort`); raises InvalidInput on a bad one."""
        warnings = tuple(w for w in (args.get("warning") or "").split(",") if w)
        unknown = [w for w in warnings if w not in WarningLevel.__members__.values()]
        if unknown:
            raise InvalidInput(f"warning must be among {', '.join(WarningLevel)}")
        channel = args.get("channel") or None
        if channel and channel not in Channel.__members__.values():
            raise InvalidInput(f"channel must be one of {', '.join(Channel)}")
        sort = args.get("sort") or "remaining"
        if sort not in ("remaining", "-remaining"):
            raise InvalidInput("sort must be remaining or -remaining")
        return cls(args.get("department") or None, args.get("definition") or None, args.get("assignee") or None,
                   channel, warnings, Period.parse(args.get("from"), args.get("to")), sort == "-remaining")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class BoardRow:
    task_id: int
    task_name: str
    state: str
    case_id: int
    case_number: str
    definition: str
    definition_name: str
    department: str
    department_name: str
    assignee: str | None
    assignee_name: str | None
    channel: str
    accepted_at: datetime
    due_at: datetime | None
    remaining_working_days: int | None
    warning: str
    paused: bool
    prediction: Prediction = NO_PREDICTION

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.task_id, "name": self.task_name, "state": self.state, "case_id": self.case_id,
            "case_number": self.case_number, "definition": self.definition, "definition_name": self.definition_name,
            "department": self.department, "department_name": self.department_name, "assignee": self.assignee,
            "channel": self.channel, "accepted_at": _iso(self.accepted_at), "due_at": _iso(self.due_at),
            "remaining_working_days": self.remaining_working_days, "warning": self.warning, "paused": self.paused,
            "predicted_completion": _iso(self.prediction.predicted_completion),
            "bottleneck_department": self.prediction.bottleneck_department,
            "misses_promise": self.prediction.misses_promise, "url": f"/cases/{self.case_id}",
        }


@dataclass(frozen=True)
class DepartmentLoad:
    """One block of the department view (部门色块): open tasks by warning level."""

    code: str
    name: str
    counts: dict[str, int]

    @property
    def open(self) -> int:
        return sum(self.counts.values())

    @property
    def at_risk(self) -> int:
        return self.counts[WarningLevel.NOTICE] + self.counts[WarningLevel.YELLOW]

    @property
    def overdue(self) -> int:
        return self.counts[WarningLevel.RED]

    @property
    def level(self) -> str:
        """The colour of the block: its worst level present."""
        return max((w for w, n in self.counts.items() if n), key=lambda w: WARNING_RANK[WarningLevel(w)],
                   default=WarningLevel.NORMAL)


def warning_level(now: datetime, k: Any = Clock) -> ColumnElement[str]:
    """`deadlines.level_of` in SQL, for a running clock (none: normal; paused: the level it had)."""
    return case(
        (k.id.is_(None), WarningLevel.NORMAL.value),
        (k.paused_since.is_not(None), k.level),
        (k.due_at < now, WarningLevel.RED.value),
        (k.yellow_at <= now, WarningLevel.YELLOW.value),
        (k.notice_at <= now, WarningLevel.NOTICE.value),
        else_=WarningLevel.NORMAL.value,
    )


def visible_department_ids(session: Session, actor: User, department: str | None = None) -> list[int]:
    """The departments whose board the actor may see, narrowed to `department` when given."""
    if sees_every_department(actor):
        if department:
            return [department_by_code(session, department).id]
        return list(session.scalars(select(Department.id).order_by(Department.id)))
    require(actor.has_role(*DEPARTMENT_ROLES) and actor.department_id is not None,
            "only supervisors and department staff see the board")
    if department and (actor.department is None or department != actor.department.code):
        raise PermissionDenied("you may only see your own department's board")
    return [actor.department_id]  # type: ignore[list-item]


def _open_tasks(session: Session, filters: BoardFilter, department_ids: Sequence[int]) -> Any:
    """The open tasks of `department_ids` (and of the assignee filtered on), as a materialized CTE.

    Naming every department lets both databases find open tasks through ix_tasks_department_state
    (department_id, state) instead of reading all tasks; MATERIALIZED keeps it that way: left to
    itself SQLite may start from the 一件事 and walk every case of it instead.
    """
    query = select(Task.id, Task.name, Task.state, Task.case_id, Task.department_id, Task.assignee_id, Task.clock_id).where(
        Task.department_id.in_(list(department_ids)), Task.state.in_(OPEN_TASK_STATES))
    if filters.assignee:
        user_id = session.scalar(select(User.id).where(User.username == filters.assignee))
        if user_id is None:
            raise NotFound(f"no user '{filters.assignee}'")
        query = query.where(Task.assignee_id == user_id)
    return query.cte("open_tasks").prefix_with("MATERIALIZED")


def _joined(tasks: Any, filters: BoardFilter, *columns: Any) -> Select[Any]:
    """`columns` of the open tasks with their case, 一件事 and clock, narrowed by the other filters."""
    query = (select(*columns).select_from(tasks).join(Case, Case.id == tasks.c.case_id)
             .join(ProcessDefinition, ProcessDefinition.id == Case.definition_id)
             .outerjoin(Clock, Clock.id == tasks.c.clock_id))
    if filters.definition:
        query = query.where(ProcessDefinition.key == filters.definition)
    if filters.channel:
        query = query.where(Case.channel == filters.channel)
    return query.where(*filters.period.where(Case.accepted_at))


def remaining_working_days(due_at: datetime | None, calendar: WorkingCalendar, today: date) -> int | None:
    """As `deadlines.remaining_working_days`: working days left after today; negative when overdue."""
    if due_at is None:
        return None
    due = local_day(due_at)
    return calendar.working_days_between(today, due) if due >= today else -calendar.working_days_between(due, today)


def board_rows(
    session: Session, actor: User, calendar: WorkingCalendar, now: datetime, filters: BoardFilter,
    limit: int = 100, offset: int = 0, durations: Mapping[StepKey, StepHistory] | None = None,
) -> tuple[list[BoardRow], int]:
    """One page of open tasks, most urgent first (or last), with their case's prediction; and the total."""
    department_ids = visible_department_ids(session, actor, filters.department)
    level = warning_level(now).label("warning")
    t = _open_tasks(session, filters, department_ids)
    query = _joined(
        t, filters, t.c.id, t.c.name, t.c.state, t.c.case_id, Case.number, ProcessDefinition.key, ProcessDefinition.name,
        t.c.department_id, t.c.assignee_id, Case.channel, Case.accepted_at, Clock.due_at, level,
        Clock.paused_since.is_not(None),
    )
    if filters.warnings:
        query = query.where(level.in_(filters.warnings))
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    due = Clock.due_at.desc() if filters.descending else Clock.due_at
    page = session.execute(query.order_by(Clock.due_at.is_(None), due, t.c.id).limit(min(limit, MAX_ROWS)).offset(offset)).all()
    departments = {d.id: d for d in session.scalars(select(Department))}
    assignees = {r[8] for r in page if r[8] is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(assignees)))} if assignees else {}
    predictions = predict_cases(session, {r[3] for r in page}, calendar, now, durations) if page else {}
    today = local_day(now)
    rows = []
    for (task_id, name, state, case_id, number, key, definition_name, department_id, assignee_id, channel, accepted_at,
         due_at, warning, paused) in page:
        department, user = departments[department_id], users.get(assignee_id)
        rows.append(BoardRow(
            task_id, name, state, case_id, number, key, definition_name, department.code, department.name,
            user.username if user else None, user.display_name if user else None, channel, accepted_at, due_at,
            remaining_working_days(due_at, calendar, today), warning, bool(paused),
            predictions.get(case_id, NO_PREDICTION)))
    return rows, total


def department_loads(session: Session, actor: User, now: datetime, filters: BoardFilter) -> list[DepartmentLoad]:
    """Open tasks per department and warning level (all filters but department and warning apply)."""
    department_ids = visible_department_ids(session, actor, None if sees_every_department(actor) else filters.department)
    level = warning_level(now).label("warning")
    counts: dict[int, dict[str, int]] = {}
    unfiltered = replace(filters, department=None)
    t = _open_tasks(session, unfiltered, department_ids)
    for department_id, warning, n in session.execute(
        _joined(t, unfiltered, t.c.department_id, level, func.count()).group_by(t.c.department_id, level)
    ):
        counts.setdefault(department_id, dict.fromkeys(WarningLevel, 0))[WarningLevel(warning)] += n
    departments = session.scalars(select(Department).where(Department.id.in_(department_ids)).order_by(Department.code))
    return [DepartmentLoad(d.code, d.name, counts.get(d.id, dict.fromkeys(WarningLevel, 0))) for d in departments]


@dataclass(frozen=True)
class OpenCase:
    case_id: int
    number: str
    definition: str
    definition_name: str
    channel: str
    accepted_at: datetime
    promised_due_at: datetime | None
    remaining_working_days: int | None
    warning: str
    prediction: Prediction

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.case_id, "number": self.number, "definition": self.definition,
                "definition_name": self.definition_name, "channel": self.channel, "accepted_at": _iso(self.accepted_at),
                "promised_due_at": _iso(self.promised_due_at), "remaining_working_days": self.remaining_working_days,
                "warning": self.warning, "predicted_completion": _iso(self.prediction.predicted_completion),
                "bottleneck_department": self.prediction.bottleneck_department,
                "misses_promise": self.prediction.misses_promise, "url": f"/cases/{self.case_id}"}


def open_cases(
    session: Session, actor: User, calendar: WorkingCalendar, now: datetime, filters: BoardFilter,
    predicted_late_only: bool = False, limit: int = 100, offset: int = 0,
    durations: Mapping[StepKey, StepHistory] | None = None,
) -> tuple[list[OpenCase], int]:
    """Open cases with an open task matching the filters, by their promised (承诺) due date, each with
    its predicted completion; `predicted_late_only` keeps those predicted to miss their promise."""
    department_ids = visible_department_ids(session, actor, filters.department)
    t = _open_tasks(session, filters, department_ids)
    matching = _joined(t, filters, t.c.case_id)
    if filters.warnings:
        matching = matching.where(warning_level(now).in_(filters.warnings))
    promised = aliased(Clock)
    query = (select(Case.id, Case.number, ProcessDefinition.key, ProcessDefinition.name, Case.channel, Case.accepted_at,
                    promised.due_at, warning_level(now, promised))
             .join(ProcessDefinition, ProcessDefinition.id == Case.definition_id)
             .outerjoin(promised, and_(promised.case_id == Case.id, promised.kind == ClockKind.PROMISED))
             .where(Case.id.in_(matching.distinct())))
    order = (promised.due_at.is_(None), promised.due_at.desc() if filters.descending else promised.due_at, Case.id)
    today = local_day(now)
    if predicted_late_only:
        candidates = session.execute(query.order_by(*order).limit(MAX_ROWS)).all()
        predictions = predict_cases(session, [r[0] for r in candidates], calendar, now, durations)
        late = [r for r in candidates if predictions.get(r[0], NO_PREDICTION).misses_promise]
        total, page = len(late), late[offset:offset + limit]
    else:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = session.execute(query.order_by(*order).limit(min(limit, MAX_ROWS)).offset(offset)).all()
        predictions = predict_cases(session, [r[0] for r in page], calendar, now, durations) if page else {}
    return [OpenCase(case_id, number, key, name, channel, accepted_at, due_at,
                     remaining_working_days(due_at, calendar, today), warning or WarningLevel.NORMAL.value,
                     predictions.get(case_id, NO_PREDICTION))
            for case_id, number, key, name, channel, accepted_at, due_at, warning in page], total


@dataclass(frozen=True)
class ConcludedCase:
    case_id: int
    number: str
    definition_name: str
    status: str
    completed_at: datetime | None


def latest_concluded(session: Session, actor: User, limit: int = 10) -> list[ConcludedCase]:
    """The latest concluded cases the actor may see (newest first by number), to open their case file."""
    department_ids = visible_department_ids(session, actor)
    query = (select(Case.id, Case.number, ProcessDefinition.name, Case.status, Case.completed_at)
             .join(ProcessDefinition, ProcessDefinition.id == Case.definition_id)
             .where(Case.status.in_(CONCLUDED)).order_by(Case.id.desc()).limit(limit))
    if not sees_every_department(actor):
        query = query.where(exists().where(Task.case_id == Case.id, Task.department_id.in_(department_ids)))
    return [ConcludedCase(*row) for row in session.execute(query)]


# --- Reassigning ------------------------------------------------------------------------------------

def may_reassign(actor: User, task: Task) -> bool:
    """Supervisors and administrators anywhere; a department head within their department."""
    return sees_every_department(actor) or (actor.has_role(Role.DEPARTMENT_HEAD) and belongs_to_department(actor, task.department_id))


def reassign_candidates(session: Session, department_ids: Sequence[int]) -> dict[int, list[User]]:
    """Active reviewers and heads of each department, by department id: whom a task may go to."""
    users = session.scalars(
        select(User).where(User.active.is_(True), User.department_id.in_(list(department_ids)), exists().where(
            UserRole.user_id == User.id, UserRole.role.in_(DEPARTMENT_ROLES))).order_by(User.username))
    candidates: dict[int, list[User]] = {}
    for user in users:
        candidates.setdefault(user.department_id, []).append(user)  # type: ignore[arg-type]
    return candidates


def reassign_task(session: Session, clock: TimeSource, actor: User, task_id: int, to_username: str) -> Task:
    """转办: give an open task to another reviewer (or the head) of the same department.

    The task becomes claimed by them; the case file records who moved it from whom.
    """
    task = get_task(session, task_id)
    require(may_reassign(actor, task), "only supervisors or the department's head reassign its tasks")
    if not task_is_open(task):
        raise Conflict("this task is already closed")
    target = session.scalar(select(User).where(User.username == (to_username or "").strip()))
    if target is None or not target.active:
        raise InvalidInput(f"no active user '{to_username}'")
    if not (target.has_role(*DEPARTMENT_ROLES) and belongs_to_department(target, task.department_id)):
        raise InvalidInput(f"{target.display_name} is not a reviewer of {task.department.name}")
    if task.assignee_id == target.id:
        raise Conflict(f"this task is already assigned to {target.display_name}")
    now = clock.now()
    before = task.assignee.username if task.assignee else None
    task.assignee_id, task.state, task.claimed_at = target.id, TaskState.CLAIMED, now
    session.flush()
    session.refresh(task, ["assignee"])
    history.record(session, task.case, "task_reassigned", now, actor, task, name=task.name, before=before,
                   after=target.username)
    notify(session, [target], now, "reassigned", f"转办 {task.case.number} {task.name}", task.case, task)
    return task
