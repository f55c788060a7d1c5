"""The reviewer's vocabulary beyond 通过: 转办, 委派, 退回, 撤回, 抄送, 加签/减签, batch 通过, phrases.

Each operation is a named service with its guards; each records itself in the case file.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState as SpiffState

from engine import history
from engine.calendar_store import load_calendar
from engine.clock import Clock
from engine.deadlines import policy_of, reschedule
from engine.directory import department_by_code, user_by_username
from engine.errors import Conflict, EngineError, InvalidInput, PermissionDenied
from engine.models import Case, CarbonCopy, CaseEvent, OpinionPhrase, Task, User
from engine.notifications import notify
from engine.permissions import belongs_to_department, may_act_on_task, require, sees_every_department
from engine.runtime import (
    get_task,
    lock_case,
    open_workflow,
    ready_user_task,
    save_workflow,
    sync_task_rows,
    task_is_open,
    workflow_errors,
)
from engine.tasks import complete_task
from engine.vocab import CaseStatus, Outcome, Role, TaskState

ACTING_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD)
DEFAULT_PHRASES = ("同意。", "材料齐全，符合法定条件，同意办理。", "材料不全，请按一次性告知补正。", "不符合法定条件，不予许可。")


def _reason(value: str | None, what: str = "a reason") -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{what} is required")
    return value[:2000]


def _active_colleague(session: Session, username: str | None) -> User:
    if not isinstance(username, str) or not username:
        raise InvalidInput("'to' must be a username")
    user = user_by_username(session, username)
    if not user.active or not user.has_role(*ACTING_ROLES, Role.WINDOW):
        raise InvalidInput(f"{username} cannot take over tasks")
    return user


def _open_task_for(session: Session, actor: User, task_id: int, lock: bool = True) -> Task:
    task = get_task(session, task_id)
    if lock:
        lock_case(session, task.case_id)
        session.refresh(task)
    if not task_is_open(task):
        raise Conflict("this task is already closed")
    require(may_act_on_task(actor, task), "this task belongs to another department")
    if task.assignee_id not in (None, actor.id) and not actor.has_role(Role.DEPARTMENT_HEAD):
        raise Conflict("this task is claimed by another reviewer")
    return task


def transfer_task(session: Session, clock: Clock, actor: User, task_id: int, to: str, reason: str) -> Task:
    """转办: hand the task to another reviewer. Only a department head may send it to another department."""
    task = _open_task_for(session, actor, task_id)
    target = _active_colleague(session, to)
    reason = _reason(reason)
    if target.id == actor.id:
        raise InvalidInput("you cannot transfer a task to yourself")
    if not belongs_to_department(target, task.department_id):
        require(actor.has_role(Role.DEPARTMENT_HEAD), "only a department head transfers a task to another department")
        task.department = target.department
    now = clock.now()
    task.assignee_id, task.state, task.claimed_at = target.id, TaskState.CLAIMED, now
    task.owner_id, task.delegation = None, None
    history.record(session, task.case, "task_transferred", now, actor, task, name=task.name, to=target.username, reason=reason)
    notify(session, [target], now, "transfer", f"转办 {task.case.number} {task.name}: {reason}", task.case, task)
    return task


def delegate_task(session: Session, clock: Clock, actor: User, task_id: int, to: str) -> Task:
    """委派: a colleague works the task, then it comes back to the delegator to confirm."""
    task = _open_task_for(session, actor, task_id)
    target = _active_colleague(session, to)
    if target.id == actor.id or not belongs_to_department(target, task.department_id):
        raise InvalidInput("delegate to another reviewer of the same department")
    if task.delegation == "pending":
        raise Conflict("this task is already delegated")
    now = clock.now()
    task.owner_id, task.delegation = actor.id, "pending"
    task.assignee_id, task.state, task.claimed_at = target.id, TaskState.CLAIMED, now
    history.record(session, task.case, "task_delegated", now, actor, task, name=task.name, to=target.username)
    notify(session, [target], now, "delegate", f"委派 {task.case.number} {task.name}", task.case, task)
    return task


def resolve_task(session: Session, clock: Clock, actor: User, task_id: int, opinion: str | None = None) -> Task:
    """The delegate is done: the task goes back to the delegator, who confirms by completing it."""
    task = get_task(session, task_id)
    lock_case(session, task.case_id)
    session.refresh(task)
    # Who asks is checked before the task's state, so others learn nothing of it (403, not 409).
    require(task.assignee_id == actor.id or may_act_on_task(actor, task), "only the delegate of a delegated task resolves it")
    if task.delegation != "pending" or task.assignee_id != actor.id:
        raise Conflict("only the delegate of a delegated task resolves it")
    now = clock.now()
    task.assignee_id, task.delegation = task.owner_id, "resolved"
    history.record(session, task.case, "task_resolved", now, actor, task, name=task.name, opinion=(opinion or "").strip() or None)
    if task.owner is not None:
        notify(session, [task.owner], now, "resolved", f"委派已办理，请确认 {task.case.number} {task.name}", task.case, task)
    return task


def return_to_step(session: Session, clock: Clock, actor: User, task_id: int, to_step: str, reason: str) -> Task:
    """退回: send the case back to a step it already passed; everything after that step is redone."""
    task = _open_task_for(session, actor, task_id)
    reason = _reason(reason)
    if task.workflow_task_id is None:
        raise InvalidInput("this task is outside the flow and cannot return the case")
    case = task.case
    now, calendar = clock.now(), load_calendar(session)
    workflow = open_workflow(case, clock, calendar)
    current = ready_user_task(workflow, task.workflow_task_id)
    target = _passed_step(current, to_step)
    with workflow_errors():
        workflow.reset_from_task_id(target.id)
        workflow.do_engine_steps()
    task.state, task.completed_at, task.completed_by_id = TaskState.CANCELLED, now, actor.id
    task.outcome, task.opinion = "returned", reason
    if task.clock is not None:
        task.clock.stopped_at = now
        task.clock.next_warning_at = None
    history.record(session, case, "task_returned", now, actor, task, name=task.name, to_step=to_step, reason=reason)
    _reopen_reset_row(session, case, target, now, calendar)
    sync_task_rows(session, case, workflow, now, calendar, actor)
    save_workflow(case, workflow)
    session.flush()
    return task


def _passed_step(current: Any, to_step: str) -> Any:
    if not isinstance(to_step, str) or not to_step:
        raise InvalidInput("to_step must name a step the case already passed")
    ancestor = current.parent
    while ancestor is not None:
        if getattr(ancestor.task_spec, "bpmn_id", None) == to_step and ancestor.state == SpiffState.COMPLETED and ancestor.task_spec.manual:
            return ancestor
        ancestor = ancestor.parent
    raise InvalidInput(f"'{to_step}' is not a step this task came through; return only to a step already passed")


def _reopen_reset_row(session: Session, case: Case, spiff_task: Any, now: datetime, calendar: Any) -> Task | None:
    """After a reset, the reset step's own row is open again (same workflow task), with its clock running."""
    row = session.scalar(select(Task).where(Task.workflow_task_id == str(spiff_task.id)))
    if row is None:
        return None
    row.state, row.completed_at, row.completed_by_id, row.outcome = TaskState.OPEN, None, None, None
    row.assignee_id = None
    if row.clock is not None:
        row.clock.stopped_at = None
        reschedule(row.clock, calendar, policy_of(row.clock), now)
    return row


def withdraw_task(session: Session, clock: Clock, actor: User, task_id: int) -> Task:
    """撤回: take back one's own completion while the next step has not started."""
    task = get_task(session, task_id)
    case = lock_case(session, task.case_id)
    session.refresh(task)
    # Who asks is checked before the task's state, so others learn nothing of it (403, not 409).
    require(task.completed_by_id == actor.id or may_act_on_task(actor, task), "only the person who completed a task withdraws it")
    if task.state != TaskState.COMPLETED or task.completed_by_id != actor.id:
        raise Conflict("only the person who completed a task withdraws it")
    if case.status != CaseStatus.IN_PROGRESS or task.workflow_task_id is None:
        raise Conflict("the case has concluded; nothing can be withdrawn")
    if task.outcome == Outcome.RETURN:
        raise Conflict("a return for 补正 cannot be withdrawn; resume the clock and review again")
    now, calendar = clock.now(), load_calendar(session)
    workflow = open_workflow(case, clock, calendar)
    spiff_task = workflow.get_task_from_id(UUID(task.workflow_task_id))
    if spiff_task is None or spiff_task.state != SpiffState.COMPLETED:
        raise Conflict("this completion can no longer be withdrawn")
    _ensure_nothing_started_after(session, case, task, spiff_task)
    with workflow_errors():
        workflow.reset_from_task_id(spiff_task.id)
        workflow.do_engine_steps()
    _reopen_reset_row(session, case, spiff_task, now, calendar)
    task.assignee_id, task.state, task.claimed_at = actor.id, TaskState.CLAIMED, now
    history.record(session, case, "task_withdrawn", now, actor, task, name=task.name)
    sync_task_rows(session, case, workflow, now, calendar, actor)
    save_workflow(case, workflow)
    session.flush()
    return task


def _ensure_nothing_started_after(session: Session, case: Case, task: Task, spiff_task: Any) -> None:
    """The steps opened by this completion must be untouched and must follow from it alone.

    A step opened past a parallel join also depends on the other branches, so withdrawing one
    branch's completion there would let the join fire twice: refuse it.
    """
    completed_event = session.scalar(select(CaseEvent.id).where(
        CaseEvent.task_id == task.id, CaseEvent.action == "task_completed").order_by(CaseEvent.id.desc()).limit(1))
    opened_after = select(CaseEvent.task_id).where(
        CaseEvent.case_id == case.id, CaseEvent.action == "task_opened", CaseEvent.id > (completed_event or 0))
    later = list(session.scalars(select(Task).where(Task.id.in_(opened_after), Task.state != TaskState.CANCELLED)))
    subtree = {str(t.id) for t in spiff_task if t is not spiff_task}
    for row in later:
        if row.state == TaskState.COMPLETED or row.assignee_id is not None:
            raise Conflict("the next step has already started; the completion cannot be withdrawn")
        if row.workflow_task_id not in subtree:
            raise Conflict("the flow has moved past a join with other departments; the completion cannot be withdrawn")


def copy_task(session: Session, clock: Clock, actor: User, task_id: int, users: list[str] | None = None,
              departments: list[str] | None = None) -> list[CarbonCopy]:
    """抄送: show a task to people or departments for information."""
    task = get_task(session, task_id)
    require(may_act_on_task(actor, task) or sees_every_department(actor), "only the task's department copies it")
    if not users and not departments:
        raise InvalidInput("name users or departments to copy")
    now = clock.now()
    copies = [CarbonCopy(task_id=task.id, user_id=user_by_username(session, u).id, created_by_id=actor.id, created_at=now)
              for u in users or []]
    copies += [CarbonCopy(task_id=task.id, department_id=department_by_code(session, d).id, created_by_id=actor.id,
                          created_at=now) for d in departments or []]
    session.add_all(copies)
    history.record(session, task.case, "task_copied", now, actor, task, name=task.name, users=users or [],
                   departments=departments or [])
    notify(session, [user_by_username(session, u) for u in users or []], now, "cc", f"抄送 {task.case.number} {task.name}",
           task.case, task)
    return copies


def add_signer(session: Session, clock: Clock, actor: User, task_id: int, to: str, position: str) -> Task:
    """加签: ask another reviewer (of any department) for an opinion before or after one's own decision."""
    task = _open_task_for(session, actor, task_id)
    if position not in ("before", "after"):
        raise InvalidInput("position must be 'before' or 'after'")
    signer = _active_colleague(session, to)
    if signer.id == actor.id or signer.department_id is None:
        raise InvalidInput("add another reviewer as a signer")
    now = clock.now()
    row = Task(case_id=task.case_id, workflow_task_id=None, element_id=task.element_id, name=f"加签意见：{task.name}",
               kind="cosign", department_id=signer.department_id, assignee_id=signer.id, state=TaskState.CLAIMED,
               created_at=now, claimed_at=now, parent_id=task.id, signer_position=position)
    session.add(row)
    session.flush()
    history.record(session, task.case, "signer_added", now, actor, task, name=task.name, signer=signer.username, position=position)
    notify(session, [signer], now, "cosign", f"加签 {task.case.number} {task.name}", task.case, row)
    return row


def remove_signer(session: Session, clock: Clock, actor: User, task_id: int, user: str) -> Task:
    """减签: withdraw an added signer who has not given an opinion yet."""
    task = _open_task_for(session, actor, task_id)
    signer = user_by_username(session, user) if isinstance(user, str) else None
    row = session.scalar(select(Task).where(Task.parent_id == task.id, Task.assignee_id == (signer.id if signer else -1),
                                            Task.state == TaskState.CLAIMED))
    if row is None:
        raise Conflict("that reviewer has no pending opinion on this task")
    now = clock.now()
    row.state, row.completed_at = TaskState.CANCELLED, now
    history.record(session, task.case, "signer_removed", now, actor, task, name=task.name, signer=user)
    return row


def pending_signers(session: Session, task: Task, position: str) -> list[Task]:
    return list(session.scalars(select(Task).where(
        Task.parent_id == task.id, Task.signer_position == position, Task.state == TaskState.CLAIMED)))


def give_opinion(session: Session, clock: Clock, actor: User, task_id: int, opinion: str, agree: bool = True) -> Task:
    """An added signer's opinion. The last 'after' signer releases the decision that was waiting for them."""
    row = get_task(session, task_id)
    if row.kind != "cosign" or row.state != TaskState.CLAIMED:
        raise Conflict("there is no pending opinion here")
    if row.assignee_id != actor.id:
        raise PermissionDenied("only the added signer gives this opinion")
    parent = get_task(session, row.parent_id)
    lock_case(session, parent.case_id)
    if row.signer_position == "after" and parent.held_completion is None:
        raise Conflict("an opinion after the reviewer comes once the reviewer has decided")
    now = clock.now()
    row.state, row.completed_at, row.completed_by_id = TaskState.COMPLETED, now, actor.id
    row.outcome, row.opinion = (Outcome.APPROVE if agree else "disagree"), _reason(opinion, "an opinion")
    history.record(session, parent.case, "signer_opinion", now, actor, parent, name=parent.name, opinion=row.opinion,
                   agree=agree, position=row.signer_position)
    held = parent.held_completion
    if held is not None and not pending_signers(session, parent, "after"):
        decider = session.get(User, held["by"])
        parent.held_completion = None
        complete_task(session, clock, decider, parent.id, held.get("outcome"), held.get("opinion"), held.get("data") or {},
                      signers_done=True)
    return row


def batch_approve(session: Session, clock: Clock, actor: User, task_ids: list[int], opinion: str) -> dict[int, str]:
    """Batch 通过 of routine tasks: each in its own savepoint, so one refusal does not undo the others."""
    # Only the departments' staff approve; anyone else would only learn, id by id, which tasks exist.
    require(actor.has_role(*ACTING_ROLES, Role.WINDOW), "only a department's staff approve its tasks")
    opinion = _reason(opinion, "an opinion")
    if not task_ids or len(task_ids) > 200:
        raise InvalidInput("give between 1 and 200 task ids")
    results: dict[int, str] = {}
    for task_id in task_ids:
        try:
            with session.begin_nested():
                complete_task(session, clock, actor, task_id, Outcome.APPROVE, opinion)
            results[task_id] = "approved"
        except EngineError as err:
            results[task_id] = err.message
    return results


def phrases_for(session: Session, user: User) -> list[str]:
    """Reusable opinions: the user's own first, then the shared ones (seeded with common wording)."""
    rows = list(session.scalars(select(OpinionPhrase).where(or_(OpinionPhrase.user_id == user.id,
                                                                 OpinionPhrase.user_id.is_(None))).order_by(
        OpinionPhrase.user_id.is_(None), OpinionPhrase.id)))
    return [r.text for r in rows] or list(DEFAULT_PHRASES)


def save_phrase(session: Session, user: User, text: str) -> OpinionPhrase:
    phrase = OpinionPhrase(user_id=user.id, text=_reason(text, "a phrase")[:500])
    session.add(phrase)
    return phrase


def tasks_in_view(session: Session, actor: User, view: str, limit: int = 200) -> list[Task]:
    """待办 / 已办 / 我发起的 / 抄送我的."""
    if view == "done":
        query = select(Task).where(Task.completed_by_id == actor.id).order_by(Task.completed_at.desc())
    elif view == "started":
        query = select(Task).join(Case).where(or_(Case.created_by_id == actor.id, Task.owner_id == actor.id)).order_by(Task.id.desc())
    elif view == "cc":
        copied = select(CarbonCopy.task_id).where(or_(
            CarbonCopy.user_id == actor.id, CarbonCopy.department_id == actor.department_id))
        query = select(Task).where(Task.id.in_(copied)).order_by(Task.id.desc())
    elif view == "todo":
        query = select(Task).where(Task.state.in_((TaskState.OPEN, TaskState.CLAIMED)), or_(
            Task.assignee_id == actor.id,
            (Task.department_id == actor.department_id) & Task.assignee_id.is_(None) & Task.workflow_task_id.is_not(None)),
        ).order_by(Task.id)
    else:
        raise InvalidInput("view must be todo, done, started or cc")
    return list(session.scalars(query.limit(limit)))


def colleagues_of(session: Session, task: Task) -> list[User]:
    """Who a task can be transferred or delegated to in its department."""
    query = select(User).where(User.department_id == task.department_id, User.active.is_(True)).order_by(User.username)
    return [u for u in session.scalars(query) if u.has_role(*ACTING_ROLES)]


def passed_steps(session: Session, task: Task) -> list[tuple[str, str]]:
    """(element id, name) of the steps this case completed before, for 退回 to a chosen step."""
    rows = session.scalars(select(Task).where(Task.case_id == task.case_id, Task.state == TaskState.COMPLETED,
                                              Task.workflow_task_id.is_not(None), Task.element_id != task.element_id).order_by(Task.id))
    steps: dict[str, str] = {}
    for row in rows:
        steps.setdefault(row.element_id, row.name)
    return list(steps.items())


def signers_of(session: Session, task: Task) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.parent_id == task.id).order_by(Task.id)))
