"""Department tasks: inboxes, claiming, and completing with an outcome (通过 / 不予许可 / 退回补正)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Exists, Select, bindparam, exists, select, update
from sqlalchemy.orm import Session, aliased, lazyload

from engine import history
from engine.calendar import WorkingCalendar
from engine.calendar_store import calendar_on_demand
from engine.clock import Clock
from engine.deadlines import stop_clock
from engine.directory import department_by_code
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.forms import field_permissions, form_values
from engine.models import Case, ClockPause, Project, ProjectStep, Task, User
from engine.models import Clock as ClockRow
from engine.permissions import may_act_on_task, require, sees_every_department
from engine.runtime import (
    CASE_DEFINITION_WITHOUT_XML,
    complete_workflow_task,
    conclude_if_finished,
    get_task,
    instance_counts,
    lock_case,
    multi_instance_of,
    open_workflow,
    parsed_definition_of,
    ready_task_ids,
    ready_user_task,
    save_workflow,
    sync_task_rows,
    task_is_open,
)
from engine.suspensions import end_pauses_of_clock, end_pauses_resumed_by, suspend
from engine.vocab import OPEN_TASK_STATES, OUTCOMES_NEEDING_REASON, Outcome, PauseKind, TaskKind, TaskState
from engine.writeout import write_changes

MAX_OPINION = 4000


def claimed_by_someone_else(task: Task, user: User) -> bool:
    return task.assignee_id is not None and task.assignee_id != user.id


def claim_task(session: Session, clock: Clock, actor: User, task_id: int) -> Task:
    """认领: the task becomes the actor's; others in the department can no longer act on it."""
    task = get_task(session, task_id)
    require(may_act_on_task(actor, task), "this task belongs to another department")
    # Lock order as in complete_task (case row first, then the task): the other order deadlocks on PostgreSQL.
    lock_case(session, task.case_id)
    now = clock.now()
    # A conditional update, so two reviewers claiming at once cannot both win.
    claimed = session.execute(
        update(Task)
        .where(Task.id == task_id, Task.state == TaskState.OPEN)
        .values(state=TaskState.CLAIMED, assignee_id=actor.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(task)
    if not claimed:
        if task.state == TaskState.CLAIMED and task.assignee_id == actor.id:
            return task
        raise Conflict(_why_not_open(task))
    history.record(session, task.case, "task_claimed", now, actor, task, name=task.name)
    return task


def unclaim_task(session: Session, clock: Clock, actor: User, task_id: int) -> Task:
    """取消认领: give the task back to the department's inbox."""
    task = get_task(session, task_id)
    require(may_act_on_task(actor, task), "this task belongs to another department")
    lock_case(session, task.case_id)
    session.refresh(task)
    if task.state != TaskState.CLAIMED or task.assignee_id != actor.id:
        raise Conflict("only the reviewer who claimed this task can give it back")
    task.state, task.assignee_id, task.claimed_at = TaskState.OPEN, None, None
    history.record(session, task.case, "task_unclaimed", clock.now(), actor, task, name=task.name)
    return task


def complete_task(
    session: Session,
    clock: Clock,
    actor: User,
    task_id: int,
    outcome: str | None = None,
    opinion: str | None = None,
    data: dict[str, Any] | None = None,
    signers_done: bool = False,
) -> Task:
    """Complete a task and advance the case, in the caller's one transaction.

    The case row is locked first, so two reviewers finishing sibling parallel tasks are applied one
    after the other and the join fires exactly once; the second completion of one task is a conflict.
    """
    case, task, before_waiting, after_waiting = _task_and_locked_case(session, task_id)
    require(may_act_on_task(actor, task), "this task belongs to another department")
    if not task_is_open(task):
        raise Conflict(_why_not_open(task))
    if claimed_by_someone_else(task, actor):
        raise Conflict(f"this task is claimed by {task.assignee.display_name if task.assignee else 'another reviewer'}")
    if task.delegation == "pending":
        raise Conflict("this task is delegated; the delegate must resolve it first")
    if task.workflow_task_id is None:
        raise InvalidInput(f"'{task.name}' is not a step of the flow; use its own action")
    outcome, opinion = _checked_outcome(task, outcome, opinion)
    if before_waiting:
        raise Conflict("the reviewers added before you have not given their opinion yet")
    if not signers_done and after_waiting:
        return _hold_for_signers(session, clock, actor, task, outcome, opinion, data)
    now, calendar = clock.now(), calendar_on_demand(session)
    workflow = open_workflow(case, clock, calendar)
    spiff_task = ready_user_task(workflow, task.workflow_task_id)
    if (spiff_task.task_spec.extensions or {}).get("matter") and _stands_for_a_case(session, case, task):
        # A registered project's step standing for a 一件事 is decided by that case (engine.projects), not by hand.
        raise Conflict(f"'{task.name}' completes by itself when its 一件事 case concludes; act on that case")
    open_row_ids = ready_task_ids(workflow) - {task.workflow_task_id}
    parsed = parsed_definition_of(case)
    values = form_values(parsed.tasks[task.element_id], data or {}, field_permissions(parsed.spec, task.element_id))
    if task.kind == TaskKind.REVIEW:
        reviews = dict(spiff_task.data.get("reviews") or {})
        # Instances of a 会签 share an element id, so each signer's review gets its own key.
        key = f"{task.element_id}:{_signer_of(task)}" if multi_instance_of(spiff_task) else task.element_id
        reviews[key] = {"outcome": outcome, "opinion": opinion, "department": task.department.code}
        values.update(outcome=outcome, opinion=opinion, reviews=reviews)
        values.update(instance_counts(spiff_task, outcome == Outcome.APPROVE))
    elif opinion:
        values["opinion"] = opinion
    complete_workflow_task(workflow, spiff_task, values)
    task.state, task.completed_at, task.completed_by_id = TaskState.COMPLETED, now, actor.id
    task.assignee_id = task.assignee_id or actor.id
    task.outcome, task.opinion = outcome, opinion
    history.record(session, case, "task_completed", now, actor, task, name=task.name, outcome=outcome, opinion=opinion)
    supplement_pause = _settle_task_clock(session, case, task, outcome, opinion, now, actor, calendar)
    opened = sync_task_rows(session, case, workflow, now, calendar, actor, open_row_ids)
    if supplement_pause is not None:
        # The applicant's resubmission at the window (completing this 补正 task) restarts the clock.
        supplement_pause.resume_task_id = next((t.id for t in opened if t.kind == TaskKind.SUPPLEMENT), None)
    conclude_if_finished(session, case, workflow, now, actor)
    save_workflow(case, workflow)
    write_changes(session)
    return task


def _signer_of(task: Task) -> str:
    return task.assignee.username if task.assignee else task.department.code


def _signers_waiting(position: str) -> Exists:
    """Whether a signer added `position` ("before" / "after") the task being loaded still owes an opinion."""
    signer = aliased(Task)
    return exists().where(signer.parent_id == Task.id, signer.signer_position == position,
                          signer.state == TaskState.CLAIMED)


# Built once: constructing them (aliases of entities with eager relationships) costs more than running them.
# The assignee is needed only to name who holds a claim or signs a 会签: loaded if that happens.
_TASK_TO_COMPLETE = (
    select(Task, _signers_waiting("before"), _signers_waiting("after"))
    .where(Task.id == bindparam("task_id"))
    .options(lazyload(Task.assignee))
    .execution_options(populate_existing=True)
)
_CASE_AS_SEEN = aliased(Case)
_TASK_AND_CASE_FOR_UPDATE = (
    select(Task, Case, select(_CASE_AS_SEEN.version).where(_CASE_AS_SEEN.id == Task.case_id).scalar_subquery(),
           _signers_waiting("before"), _signers_waiting("after"))
    .join(Case, Case.id == Task.case_id)
    .where(Task.id == bindparam("task_id"))
    .options(lazyload(Task.assignee), CASE_DEFINITION_WITHOUT_XML)
    .with_for_update(of=Case)
    .execution_options(populate_existing=True)
)


def _task_and_locked_case(session: Session, task_id: int) -> tuple[Case, Task, bool, bool]:
    """The task, its case locked, and whether signers added before / after it (加签) still owe an
    opinion — in one statement when that is safe, which is nearly always.

    The case row is locked first, as everywhere, so two reviewers finishing sibling tasks are applied
    one after the other. On PostgreSQL a statement reads what was committed when it started; only the
    locked row is re-read if it had to wait. So the statement also reads the case's version as its
    start saw it: every change to a case's tasks records a history event, and every event changes the
    case row (`Case.last_event_hash`), so the same version means nothing changed since, and a newer one
    means the task is read again, now that the lock is held. (SQLite: a writer holds the database's
    write lock from its first statement, so the versions always agree.)
    """
    row = session.execute(_TASK_AND_CASE_FOR_UPDATE, {"task_id": task_id}).one_or_none()
    if row is None:
        raise NotFound(f"no task {task_id}")
    task, case, version_as_seen, before_waiting, after_waiting = row
    history.note_case_locked(session, case.id)
    if version_as_seen != case.version:
        task, before_waiting, after_waiting = session.execute(_TASK_TO_COMPLETE, {"task_id": task_id}).one()
    return case, task, bool(before_waiting), bool(after_waiting)


def _hold_for_signers(
    session: Session, clock: Clock, actor: User, task: Task, outcome: str | None, opinion: str | None,
    data: dict[str, Any] | None,
) -> Task:
    """加签 after oneself: the decision waits until every added signer has given an opinion."""
    task.held_completion = {"outcome": outcome, "opinion": opinion, "data": data or {}, "by": actor.id}
    task.assignee_id = task.assignee_id or actor.id
    task.state = TaskState.CLAIMED
    history.record(session, task.case, "completion_held", clock.now(), actor, task, name=task.name, outcome=outcome,
                   opinion=opinion)
    return task


def _settle_task_clock(
    session: Session, case: Case, task: Task, outcome: str | None, opinion: str | None, now: datetime, actor: User,
    calendar: WorkingCalendar,
) -> ClockPause | None:
    """A return for 补正 pauses the step's clock; any other completion stops it.

    Completing a 补正 task is the applicant's resubmission: it restarts the clocks it was waiting for.
    """
    if task.kind == TaskKind.SUPPLEMENT:
        end_pauses_resumed_by(session, task, now, actor, calendar)
        case.visits += 1  # the applicant came back to the window with the materials
    if task.clock is None:
        return None
    if outcome == Outcome.RETURN:
        return suspend(session, case, task.clock, PauseKind.SUPPLEMENT, opinion or "", now, actor, task)
    if task.clock.paused_since is not None or task.clock.stopped_at is not None:
        # A running clock has no open pause (pausing a running clock sets paused_since), so only
        # a paused or stopped one needs its pauses looked up.
        end_pauses_of_clock(session, task.clock, now, actor, calendar)
    stop_clock(task.clock, now)
    return None


def _checked_outcome(task: Task, outcome: str | None, opinion: str | None) -> tuple[str | None, str | None]:
    opinion = (opinion or "").strip() or None
    if opinion and len(opinion) > MAX_OPINION:
        raise InvalidInput(f"the opinion is longer than {MAX_OPINION} characters")
    if task.kind != TaskKind.REVIEW:
        if outcome:
            raise InvalidInput(f"'{task.name}' is not a review task and takes no outcome")
        return None, opinion
    if outcome not in Outcome.__members__.values():
        raise InvalidInput("outcome must be one of approve, reject, return")
    if outcome in OUTCOMES_NEEDING_REASON and not opinion:
        raise InvalidInput("a reason is required to refuse (不予许可) or return for supplement (退回补正)")
    if not opinion:
        raise InvalidInput("an opinion (审批意见) is required; pick a phrase or write one")
    return outcome, opinion


def _stands_for_a_case(session: Session, case: Case, task: Task) -> bool:
    """Whether the task is a step of a registered project that a 一件事 case decides (queried only for
    the few steps whose BPMN names a `matter`)."""
    return session.scalar(select(ProjectStep.id).join(Project, Project.id == ProjectStep.project_id).where(
        Project.case_id == case.id, ProjectStep.element_id == task.element_id, ProjectStep.matter.is_not(None))) is not None


def _why_not_open(task: Task) -> str:
    if task.state == TaskState.COMPLETED:
        return "this task has already been completed"
    if task.state == TaskState.CANCELLED:
        return "this task was withdrawn by the flow"
    return "this task is claimed by another reviewer"


def inbox_query(actor: User, department: str | None = None, state: str | None = None) -> Select[tuple[Task]]:
    """Tasks the actor may see: their department's, or any department's for oversight roles."""
    query = select(Task)
    if not sees_every_department(actor):
        if actor.department is None:
            raise PermissionDenied("you have no department")
        if department and department != actor.department.code:
            raise PermissionDenied("you may only see your own department's tasks")
        query = query.where(Task.department_id == actor.department_id)
    if state:
        if state == "open":
            query = query.where(Task.state.in_(OPEN_TASK_STATES))
        elif state in TaskState.__members__.values():
            query = query.where(Task.state == state)
        else:
            raise InvalidInput(f"state must be one of {', '.join(TaskState)}")
    return query


def list_tasks(
    session: Session, actor: User, department: str | None = None, state: str | None = None, limit: int = 200, offset: int = 0
) -> list[Task]:
    query = inbox_query(actor, department, state)
    if department and sees_every_department(actor):
        query = query.where(Task.department_id == department_by_code(session, department).id)
    # Most urgent first: by due date, tasks without a time limit last.
    query = query.outerjoin(ClockRow, ClockRow.id == Task.clock_id).order_by(
        ClockRow.due_at.is_(None), ClockRow.due_at, Task.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def list_done_by(session: Session, actor: User, limit: int = 200) -> list[Task]:
    """已办: tasks the actor completed, newest first."""
    return list(session.scalars(
        select(Task).where(Task.completed_by_id == actor.id).order_by(Task.completed_at.desc()).limit(limit)
    ))
