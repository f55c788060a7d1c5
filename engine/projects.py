"""企业全生命周期服务: an enterprise's project from 招商引资 to 清算退出, run as a case of `qiye_xiangmu`.

The flow (processes/qiye_xiangmu.bpmn) has one sub-process per stage; its user tasks are the
departments' steps, with the engine's clocks, warnings and supervision. What the flow does not hold
is the plan: when a project enters the platform each step's working days are copied and its planned
dates computed (锁定每一个环节的办理时间), so later changes to the flow never move a project's plan.
The actual dates are the case's task rows; a step is behind plan when it finished (or is still
open) after its planned due date.

A step may stand for a 一件事 (its `matter` property names that flow, e.g. 临时占路 while building):
when the flow reaches it, a case of that 一件事 is accepted for the enterprise and linked to the step,
the departments reviewing that case see the project, and the step's actual dates are the case's.
When the case concludes the step completes with its outcome and the project moves on — right away
where this module is doing the work, otherwise within a minute by the scheduler (`follow_project`,
called from `engine.jobs`), since completing a case's tasks is another module's business.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from engine import history
from engine.calendar import WorkingCalendar
from engine.calendar_store import load_calendar
from engine.cases import accept_case
from engine.clock import Clock
from engine.deadlines import local_day, stop_clock
from engine.definitions import latest_definition
from engine.errors import InvalidInput, NotFound
from engine.instances import spec_cache
from engine.models import Case, Department, Project, ProjectStep, Task, User
from engine.permissions import may_accept_cases, require, sees_every_department
from engine.runtime import (
    complete_workflow_task, conclude_if_finished, lock_case, open_workflow, ready_user_task, save_workflow,
    sync_task_rows,
)
from engine.validation import checked_text
from engine.vocab import OPEN_TASK_STATES, CaseStatus, Channel, Outcome, ProjectKind, ProjectStage, Role, TaskState

PROJECT_FLOW = "qiye_xiangmu"
MAJOR_PROJECT_YUAN = 5_000_000  # 重大项目: a total investment of five million yuan or more
STALLED_AFTER_WORKING_DAYS = 20  # no step finished for this long: the project is stalled
MAX_PLANNED_DAYS = 250
MAX_INVESTMENT_YUAN = 10**13
STAGES: tuple[ProjectStage, ...] = tuple(s for s in ProjectStage if s != ProjectStage.DONE)
# How a linked 一件事 case's conclusion becomes its step's outcome; a cancelled case settles nothing.
OUTCOME_OF_CASE = {CaseStatus.COMPLETED: Outcome.APPROVE, CaseStatus.REJECTED: Outcome.REJECT}
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")


@dataclass(frozen=True)
class PlannedStep:
    stage: ProjectStage
    element_id: str
    name: str
    department: str
    days: int
    after: tuple[str, ...]
    """The steps of the same stage that must finish first (through the stage's gateways)."""
    matter: str | None = None
    """The 一件事 the step stands for (the user task's `matter` property), accepted when the flow reaches it."""


def plan_template(session: Session) -> list[PlannedStep]:
    """The steps of the deployed project flow, stage by stage, with their default working days."""
    definition = latest_definition(session, PROJECT_FLOW)
    assert definition is not None
    parsed = spec_cache.get(definition)
    catalog = definition.catalog.get("tasks", {})
    steps: list[PlannedStep] = []
    for stage in STAGES:
        sub = parsed.subprocess_specs.get(f"stage_{stage}")
        if sub is None:
            raise InvalidInput(f"the project flow has no sub-process stage_{stage}")
        for name, spec in sub.task_specs.items():
            if name in catalog:
                meta = catalog[name]
                matter = (spec.extensions or {}).get("matter") or None
                if matter is not None and (matter == PROJECT_FLOW or latest_definition(session, matter, False) is None):
                    raise InvalidInput(f"project step '{name}' names the 一件事 '{matter}', which is not deployed; "
                                       "deploy it or correct the step's matter property")
                steps.append(PlannedStep(stage, name, meta["name"], meta["department"],
                                         int(meta.get("time_limit_days") or 1), _user_tasks_before(spec, catalog),
                                         matter))
    return steps


def _user_tasks_before(spec: Any, catalog: dict[str, Any]) -> tuple[str, ...]:
    """The nearest user tasks upstream of `spec`, looking through gateways and events."""
    found: list[str] = []
    stack, seen = list(spec.inputs), set()
    while stack:
        inp = stack.pop()
        if inp.name in seen:
            continue
        seen.add(inp.name)
        if inp.name in catalog:
            found.append(inp.name)
        else:
            stack.extend(inp.inputs)
    return tuple(sorted(found))


def lock_plan(template: list[PlannedStep], start: date, calendar: WorkingCalendar,
              days: dict[str, int]) -> list[tuple[PlannedStep, int, date, date]]:
    """Each step's (days, planned start, planned due): a stage starts when the previous one is planned to end,
    a step when the steps before it in its stage are planned to end."""
    planned: list[tuple[PlannedStep, int, date, date]] = []
    stage_start = start
    for stage in STAGES:
        due_of: dict[str, date] = {}
        for step in (s for s in template if s.stage == stage):
            step_days = days.get(step.element_id, step.days)
            begin = max((due_of[a] for a in step.after if a in due_of), default=stage_start)
            due = calendar.add_working_days(begin, step_days)
            due_of[step.element_id] = due
            planned.append((step, step_days, begin, due))
        stage_start = max(due_of.values(), default=stage_start)
    return planned


def register_project(session: Session, clock: Clock, actor: User, fields: dict[str, Any]) -> Project:
    """A project enters the platform: its case starts and every step's plan is locked."""
    require(may_accept_cases(actor), "only the window (enterprise service staff) registers projects")
    clean = _valid_project(fields)
    template = plan_template(session)
    days = _valid_days(fields.get("planned_days"), {s.element_id for s in template})
    applicant = {"name": clean["enterprise_name"], "phone": clean["contact_phone"] or None}
    if clean["credit_code"]:
        applicant["id_number"] = clean["credit_code"]
    case = accept_case(session, clock, actor, PROJECT_FLOW, applicant,
                       {"project_name": clean["name"], "investment_wan": clean["investment_yuan"] // 10_000})
    now, calendar = clock.now(), load_calendar(session)
    project = Project(case=case, registered_at=now, registered_by_id=actor.id,
                      major=clean["investment_yuan"] >= MAJOR_PROJECT_YUAN, **clean)
    departments = {d.code: d for d in session.scalars(select(Department))}
    for position, (step, step_days, begin, due) in enumerate(
            lock_plan(template, calendar.first_counting_day(now), calendar, days)):
        project.steps.append(ProjectStep(position=position, stage=step.stage, element_id=step.element_id, name=step.name,
                                         department=departments[step.department], planned_days=step_days,
                                         planned_start=begin, planned_due=due, matter=step.matter))
    session.add(project)
    session.flush()
    history.record(session, case, "project_registered", now, actor, project_id=project.id, major=project.major,
                   plan=[{"element_id": s.element_id, "days": s.planned_days, "due": s.planned_due.isoformat()}
                         for s in project.steps])
    _follow(session, clock, project)  # a flow that starts with a 一件事 step opens its case at once
    return project


def _valid_project(fields: Any) -> dict[str, Any]:
    if not isinstance(fields, dict):
        raise InvalidInput("a project must be an object")
    out: dict[str, Any] = {}
    for key, limit, required in (("name", 200, True), ("enterprise_name", 200, True), ("contact_name", 80, True),
                                 ("contact_phone", 40, False), ("credit_code", 40, False)):
        out[key] = checked_text(fields.get(key), key, limit, required)
    if out["credit_code"] and not CREDIT_CODE.match(out["credit_code"]):
        raise InvalidInput("credit_code must be an 18-character 统一社会信用代码")
    out["credit_code"] = out["credit_code"] or None
    out["contact_phone"] = out["contact_phone"] or None
    if fields.get("kind") not in ProjectKind.__members__.values():
        raise InvalidInput(f"kind must be one of {', '.join(ProjectKind)}")
    out["kind"] = fields["kind"]
    amount = fields.get("investment_yuan")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_INVESTMENT_YUAN:
        raise InvalidInput("investment_yuan must be a whole number of yuan from 0 to 10^13")
    out["investment_yuan"] = amount
    return out


def _valid_days(value: Any, known: set[str]) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("planned_days must map step ids to working days")
    for key, days in value.items():
        if key not in known:
            raise InvalidInput(f"planned_days names an unknown step '{key}'")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_PLANNED_DAYS:
            raise InvalidInput(f"planned_days[{key}] must be a whole number of working days from 1 to {MAX_PLANNED_DAYS}")
    return dict(value)


# --- Steps that stand for a 一件事: opening its case, settling the step when the case concludes --------------------

def projects_to_follow(session: Session) -> list[int]:
    """Projects with a 一件事 step whose task is open and whose case is still to accept, or has concluded."""
    reached = (select(ProjectStep.project_id)
               .join(Project, Project.id == ProjectStep.project_id)
               .join(Task, and_(Task.case_id == Project.case_id, Task.element_id == ProjectStep.element_id))
               .where(ProjectStep.matter.is_not(None), Task.state.in_(OPEN_TASK_STATES)))
    linked = aliased(Case)
    to_open = reached.where(ProjectStep.linked_case_id.is_(None))
    to_settle = (reached.join(linked, linked.id == ProjectStep.linked_case_id)
                 .where(linked.status.in_(list(OUTCOME_OF_CASE))))
    return sorted(set(session.scalars(to_open)) | set(session.scalars(to_settle)))


def follow_project(session: Session, clock: Clock, project_id: int) -> int:
    """Open the 一件事 case of each step the project's flow has reached, and complete each step whose
    case has concluded; returns how many steps changed. Safe to repeat: what is done is not redone."""
    project = session.get(Project, project_id)
    if project is None:
        return 0
    # The project case's lock, as completing one of its tasks takes: a department finishing the step
    # before this one, or a second runner, waits here and then sees what this transaction did.
    lock_case(session, project.case_id)  # reloads the case row too (populate_existing)
    return _follow(session, clock, project)


def _follow(session: Session, clock: Clock, project: Project) -> int:
    changed = 0
    # Settling a step advances the flow, which may reach the next 一件事 step: go round until quiet.
    for _round in range(len(project.steps) + 1):
        done = _settle_concluded_steps(session, clock, project) + _open_reached_steps(session, clock, project)
        if not done:
            break
        changed += done
    return changed


def _open_step_tasks(session: Session, project: Project) -> dict[str, Task]:
    return {t.element_id: t for t in session.scalars(select(Task).where(
        Task.case_id == project.case_id, Task.state.in_(OPEN_TASK_STATES)))}


def _open_reached_steps(session: Session, clock: Clock, project: Project) -> int:
    waiting = [s for s in project.steps if s.matter and s.linked_case_id is None]
    if not waiting or project.case.status != CaseStatus.IN_PROGRESS:
        return 0
    tasks = _open_step_tasks(session, project)
    opened = 0
    for step in (s for s in waiting if s.element_id in tasks):
        case = accept_for_project(session, clock, project, step)
        step.linked_case = case
        session.flush()
        history.record(session, project.case, "project_case_linked", clock.now(), None, tasks[step.element_id],
                       step=step.element_id, matter=step.matter, case_id=case.id, case_number=case.number)
        opened += 1
    return opened


def accept_for_project(session: Session, clock: Clock, project: Project, step: ProjectStep) -> Case:
    """The step's 一件事, accepted at the window for the project's enterprise by the clerk who registered the
    project, filled in by that clerk (帮办代办): the enterprise applies once, when the project needs it."""
    clerk = session.get(User, project.registered_by_id) if project.registered_by_id is not None else None
    if clerk is None or not clerk.active or not may_accept_cases(clerk):
        raise InvalidInput(f"project {project.id}: the clerk who registered it can no longer accept cases, so the "
                           f"一件事 of step '{step.element_id}' cannot be opened; register it at the window")
    applicant = {"name": project.enterprise_name, "phone": project.contact_phone}
    if project.credit_code:
        applicant["id_number"] = project.credit_code
    data = {"project_id": project.id, "project_name": project.name, "contact_name": project.contact_name}
    assert step.matter is not None
    return accept_case(session, clock, clerk, step.matter, applicant, data, channel=Channel.WINDOW, assisted=True)


def _settle_concluded_steps(session: Session, clock: Clock, project: Project) -> int:
    concluded = [s for s in project.steps if s.linked_case is not None and s.linked_case.status in OUTCOME_OF_CASE]
    if not concluded:
        return 0
    tasks = _open_step_tasks(session, project)
    settled = 0
    for step in (s for s in concluded if s.element_id in tasks):
        _complete_step_task(session, clock, project, tasks[step.element_id], step)
        settled += 1
    return settled


def _complete_step_task(session: Session, clock: Clock, project: Project, task: Task, step: ProjectStep) -> None:
    """The step's task completes with the linked case's outcome, as if its department had decided it.

    Done here rather than through `engine.tasks.complete_task`: that takes a reviewer of the department
    acting by hand, while here nobody acts — the decision is the linked case's, already on file.
    """
    linked = step.linked_case
    assert linked is not None and task.workflow_task_id is not None
    case, now, calendar = project.case, clock.now(), load_calendar(session)
    outcome = OUTCOME_OF_CASE[CaseStatus(linked.status)]
    opinion = f"一件事 {linked.number} {'办结' if outcome == Outcome.APPROVE else '不予许可'}"
    workflow = open_workflow(case, clock, calendar)
    spiff_task = ready_user_task(workflow, task.workflow_task_id)
    # The same data a reviewer's decision leaves, so the flow's conditions read it alike.
    reviews = dict(spiff_task.data.get("reviews") or {})
    reviews[task.element_id] = {"outcome": outcome, "opinion": opinion, "department": task.department.code}
    complete_workflow_task(workflow, spiff_task, {"outcome": outcome, "opinion": opinion, "reviews": reviews})
    task.state, task.completed_at, task.outcome, task.opinion = TaskState.COMPLETED, now, outcome, opinion
    if task.clock is not None:
        stop_clock(task.clock, now)
    history.record(session, case, "task_completed", now, None, task, name=task.name, outcome=outcome, opinion=opinion,
                   linked_case=linked.number)
    sync_task_rows(session, case, workflow, now, calendar)
    conclude_if_finished(session, case, workflow, now, None)
    save_workflow(case, workflow)
    session.flush()


# --- Reading: who sees which project, and each project's progress against its plan -----------------------------

def project_step_of_case(session: Session, case: Case) -> ProjectStep | None:
    """The project step a 一件事 case was opened for, if any (the case file links back to its project)."""
    return session.scalar(select(ProjectStep).where(ProjectStep.linked_case_id == case.id))


def sees_every_project(user: User) -> bool:
    """Leadership and oversight see every project; so does the window that registers them."""
    return sees_every_department(user) or user.has_role(Role.WINDOW)


def visible_projects(actor: User) -> Select[tuple[int]]:
    """Ids of the projects the actor may see: all, or those with a step for their department or whose
    linked 一件事 case their department reviews (主动服务)."""
    query = select(Project.id)
    if sees_every_project(actor):
        return query
    if actor.department_id is None:
        return query.where(Project.id.is_(None))
    reviews_linked_case = (select(ProjectStep.id).join(Task, Task.case_id == ProjectStep.linked_case_id)
                           .where(ProjectStep.project_id == Project.id, Task.department_id == actor.department_id))
    return query.where(or_(exists().where(ProjectStep.project_id == Project.id,
                                          ProjectStep.department_id == actor.department_id),
                           exists(reviews_linked_case)))


@dataclass
class StepProgress:
    id: int
    position: int
    stage: str
    element_id: str
    name: str
    department_id: int
    planned_days: int
    planned_start: date
    planned_due: date
    started_at: datetime | None = None
    completed_at: datetime | None = None
    open_task_id: int | None = None
    behind: bool = False
    days_late: int = 0
    matter: str | None = None
    linked_case_id: int | None = None
    linked_case_number: str | None = None
    linked_case_status: str | None = None
    linked_accepted_at: datetime | None = None
    linked_completed_at: datetime | None = None

    @property
    def state(self) -> str:
        if self.open_task_id is not None:
            return "open"
        return "done" if self.completed_at is not None else "pending"


@dataclass
class ProjectProgress:
    project: Project
    steps: list[StepProgress] = field(default_factory=list)
    stage: str = ProjectStage.INVESTMENT
    last_activity: datetime | None = None
    stalled: bool = False

    @property
    def behind_steps(self) -> list[StepProgress]:
        return [s for s in self.steps if s.behind]


def progress_of(session: Session, project_ids: Select[tuple[int]], now: datetime,
                calendar: WorkingCalendar) -> list[ProjectProgress]:
    """Plan against actual for every project in `project_ids`, in three queries whatever their number."""
    # Only the case's number and status: its workflow state and definition (XML) would dominate the cost.
    case_columns = joinedload(Project.case).load_only(Case.id, Case.number, Case.status, Case.completed_at)
    projects = {p.id: ProjectProgress(p) for p in session.scalars(
        select(Project).options(case_columns.lazyload(Case.definition))
        .where(Project.id.in_(project_ids)).order_by(Project.id.desc()))}
    if not projects:
        return []
    by_element: dict[tuple[int, str], StepProgress] = {}
    linked = aliased(Case)
    for row in session.execute(select(
            ProjectStep.project_id, ProjectStep.id, ProjectStep.position, ProjectStep.stage, ProjectStep.element_id,
            ProjectStep.name, ProjectStep.department_id, ProjectStep.planned_days, ProjectStep.planned_start,
            ProjectStep.planned_due, ProjectStep.matter, ProjectStep.linked_case_id, linked.number, linked.status,
            linked.accepted_at, linked.completed_at)
            .outerjoin(linked, linked.id == ProjectStep.linked_case_id)
            .where(ProjectStep.project_id.in_(project_ids)).order_by(ProjectStep.position)):
        step = StepProgress(*row[1:10], matter=row.matter, linked_case_id=row.linked_case_id,
                            linked_case_number=row.number, linked_case_status=row.status,
                            linked_accepted_at=row.accepted_at, linked_completed_at=row.completed_at)
        projects[row.project_id].steps.append(step)
        by_element[(row.project_id, row.element_id)] = step
    case_to_project = {p.project.case_id: pid for pid, p in projects.items()}
    tasks = session.execute(
        select(Task.case_id, Task.element_id, Task.id, Task.state, Task.created_at, Task.completed_at)
        .join(Project, Project.case_id == Task.case_id).where(Project.id.in_(project_ids)).order_by(Task.id))
    for case_id, element_id, task_id, state, created_at, completed_at in tasks:
        pid = case_to_project[case_id]
        step = by_element.get((pid, element_id))
        progress = projects[pid]
        if completed_at is not None and state == TaskState.COMPLETED:
            progress.last_activity = max(progress.last_activity or completed_at, completed_at)
        if step is None:
            continue
        step.started_at = step.started_at or created_at
        if state in (TaskState.OPEN, TaskState.CLAIMED):
            step.open_task_id = task_id
        elif state == TaskState.COMPLETED:
            step.completed_at = completed_at
    today = local_day(now)
    for progress in projects.values():
        _judge(progress, today, calendar)
    return list(projects.values())


def _judge(progress: ProjectProgress, today: date, calendar: WorkingCalendar) -> None:
    for step in progress.steps:
        if step.open_task_id is not None:
            step.completed_at = None  # a step done once and now open again (returned) is not done
        if step.linked_case_id is not None:
            # The work of a 一件事 step is its case: the plan is held against the case's own dates, not
            # the minute the scheduler took to notice the conclusion.
            step.started_at = step.linked_accepted_at
            if step.completed_at is not None and step.linked_completed_at is not None:
                step.completed_at = step.linked_completed_at
        finished = local_day(step.completed_at) if step.completed_at else None
        reference = finished or today
        step.behind = reference > step.planned_due
        step.days_late = calendar.working_days_between(step.planned_due, reference) if step.behind else 0
    concluded = progress.project.case.status != CaseStatus.IN_PROGRESS
    current = next((s for s in progress.steps if s.state != "done"), None)
    progress.stage = ProjectStage.DONE if concluded or current is None else current.stage
    last = progress.last_activity or progress.project.registered_at
    progress.stalled = not concluded and calendar.working_days_between(local_day(last), today) >= STALLED_AFTER_WORKING_DAYS


def get_project(session: Session, actor: User, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None or session.scalar(visible_projects(actor).where(Project.id == project_id)) is None:
        # A project the actor may not see is answered like a missing one: its existence is not disclosed.
        raise NotFound(f"no project {project_id}")
    return project


def project_progress(session: Session, actor: User, project_id: int, now: datetime) -> ProjectProgress:
    get_project(session, actor, project_id)
    return progress_of(session, select(Project.id).where(Project.id == project_id), now, load_calendar(session))[0]


@dataclass(frozen=True)
class ProjectFilter:
    stage: str | None = None
    kind: str | None = None
    major: bool | None = None
    behind: bool = False
    stalled: bool = False

    @classmethod
    def parse(cls, args: Any) -> ProjectFilter:
        stage, kind = args.get("stage") or None, args.get("kind") or None
        if stage is not None and stage not in ProjectStage.__members__.values():
            raise InvalidInput(f"stage must be one of {', '.join(ProjectStage)}")
        if kind is not None and kind not in ProjectKind.__members__.values():
            raise InvalidInput(f"kind must be one of {', '.join(ProjectKind)}")
        major = args.get("major") or None
        if major not in (None, "0", "1"):
            raise InvalidInput("major must be 0 or 1")
        flags = {}
        for name in ("behind", "stalled"):
            if (args.get(name) or "0") not in ("0", "1"):
                raise InvalidInput(f"{name} must be 0 or 1")
            flags[name] = args.get(name) == "1"
        return cls(stage, kind, None if major is None else major == "1", **flags)

    def keeps(self, p: ProjectProgress) -> bool:
        return ((self.stage is None or p.stage == self.stage) and (self.kind is None or p.project.kind == self.kind)
                and (self.major is None or p.project.major == self.major)
                and (not self.behind or bool(p.behind_steps)) and (not self.stalled or p.stalled))


def list_projects(session: Session, actor: User, now: datetime, filters: ProjectFilter = ProjectFilter()) -> list[ProjectProgress]:
    """The project register the actor may see, newest first."""
    rows = progress_of(session, visible_projects(actor), now, load_calendar(session))
    return [p for p in rows if filters.keeps(p)]


def upcoming_for_department(progress: list[ProjectProgress], department_id: int) -> list[tuple[ProjectProgress, StepProgress]]:
    """主动服务: the department's steps not started yet, earliest planned first, so it prepares before they arrive."""
    pending = [(p, s) for p in progress for s in p.steps if s.department_id == department_id and s.state == "pending"
               and p.stage != ProjectStage.DONE]
    return sorted(pending, key=lambda ps: (ps[1].planned_start, ps[0].project.id))


@dataclass
class Overview:
    total: int = 0
    major: int = 0
    investment_yuan: int = 0
    by_stage: dict[str, dict[str, int]] = field(default_factory=dict)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    steps_behind: int = 0
    projects_behind: int = 0
    behind_by_department: dict[int, int] = field(default_factory=dict)
    stalled: list[ProjectProgress] = field(default_factory=list)

    def to_dict(self, department_names: dict[int, str]) -> dict[str, Any]:
        return {
            "total": self.total, "major": self.major, "investment_yuan": self.investment_yuan,
            "by_stage": [{"stage": s, **self.by_stage[s]} for s in self.by_stage],
            "by_kind": [{"kind": k, **self.by_kind[k]} for k in self.by_kind],
            "steps_behind": self.steps_behind, "projects_behind": self.projects_behind,
            "behind_by_department": [{"department": department_names.get(d, str(d)), "steps": n}
                                     for d, n in sorted(self.behind_by_department.items(), key=lambda kv: -kv[1])],
            "stalled": [{"id": p.project.id, "name": p.project.name, "stage": p.stage,
                         "last_activity": (p.last_activity or p.project.registered_at).isoformat()} for p in self.stalled],
        }


def overview(session: Session, actor: User, now: datetime) -> Overview:
    """Leadership's view: counts and investment by stage and type, steps behind plan, stalled projects."""
    out = Overview(by_stage={s: {"count": 0, "major": 0, "investment_yuan": 0} for s in ProjectStage},
                   by_kind={k: {"count": 0, "major": 0, "investment_yuan": 0} for k in ProjectKind})
    behind_by_department: dict[int, int] = defaultdict(int)
    for p in list_projects(session, actor, now):
        project = p.project
        out.total += 1
        out.major += project.major
        out.investment_yuan += project.investment_yuan
        for bucket in (out.by_stage[p.stage], out.by_kind[project.kind]):
            bucket["count"] += 1
            bucket["major"] += project.major
            bucket["investment_yuan"] += project.investment_yuan
        behind = p.behind_steps
        out.steps_behind += len(behind)
        out.projects_behind += bool(behind)
        for step in behind:
            behind_by_department[step.department_id] += 1
        if p.stalled:
            out.stalled.append(p)
    out.behind_by_department = dict(behind_by_department)
    out.stalled.sort(key=lambda p: p.last_activity or p.project.registered_at)
    return out


def department_names(session: Session) -> dict[int, str]:
    return {d.id: d.name for d in session.scalars(select(Department))}

