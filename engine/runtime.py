"""Running a case's workflow inside one transaction: lock, load, advance, mirror task rows, save."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator
from uuid import UUID

from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, defer, joinedload, object_session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState as SpiffState

from engine import feed, history
from engine.bpmn import ParsedDefinition
from engine.calendar import WorkingCalendar
from engine.clock import Clock
from engine.deadlines import attach_task_clock, case_clocks, running_step_clocks, stop_clock
from engine.errors import Conflict, NotFound, ScriptRejected, WorkflowFailed
from engine.instances import STATE_FORMAT, HotWorkflow, dump_state, load_state, spec_cache, workflow_cache
from engine.scripting import restricted_script_engine
from engine.timers import next_timer_due
from engine.models import Case, Department, ProcessDefinition, Task, User
from engine.models import Clock as ClockRow
from engine.vocab import OPEN_TASK_STATES, CaseStatus, Outcome, TaskState
from engine.writeout import write_changes


# The definition comes with the case (its catalog is needed), but not its BPMN XML: the parsed spec
# is cached by content hash, and the XML is read only when a process parses it for the first time.
CASE_DEFINITION_WITHOUT_XML = joinedload(Case.definition).options(defer(ProcessDefinition.bpmn_xml))
_CASE_FOR_UPDATE = (
    select(Case).options(CASE_DEFINITION_WITHOUT_XML).with_for_update(of=Case).execution_options(populate_existing=True)
)
# Built once per process (hot path); the values are bound per call.
_LOCK_CASE = _CASE_FOR_UPDATE.where(Case.id == bindparam("case_id"))


def lock_case(session: Session, case_id: int) -> Case:
    """Load the case for update: a row lock on PostgreSQL; SQLite writers already hold the write lock."""
    return _locked(session, _LOCK_CASE, {"case_id": case_id}, f"no case {case_id}")


def _locked(session: Session, query: Any, params: dict[str, int], missing: str) -> Case:
    case = session.scalar(query, params)
    if case is None:
        raise NotFound(missing)
    history.note_case_locked(session, case.id)
    return case


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task


def task_is_open(task: Task) -> bool:
    return task.state in OPEN_TASK_STATES


def parsed_definition_of(case: Case) -> ParsedDefinition:
    return spec_cache.get(case.definition)


def open_workflow(case: Case, clock: Clock, calendar: WorkingCalendar) -> BpmnWorkflow:
    """The case's workflow: this process's copy from its last commit of the case if the row still holds
    exactly that (see `WorkflowCache`), else deserialized from the row."""
    hot = workflow_cache.take(case.id, case.version, case.definition_id, case.state)
    if hot is None:
        return load_state(case.state, case.state_format, parsed_definition_of(case), clock, calendar)
    hot.workflow.script_engine = restricted_script_engine(clock, calendar)
    return hot.workflow


def save_workflow(case: Case, workflow: BpmnWorkflow) -> None:
    case.state = dump_state(workflow)
    case.state_format = STATE_FORMAT
    case.next_timer_at = next_timer_due(workflow)
    session = object_session(case)
    if session is not None and workflow_cache.max_bytes > 0:
        # Offered to the cache when (and only if) this transaction commits; see `_keep_committed_workflows`.
        session.info.setdefault(_SAVED_KEY, {})[id(case)] = (case, workflow, case.state)


_SAVED_KEY = "yjs_saved_workflows"
_IDLE_SCRIPT_ENGINE = restricted_script_engine()


@event.listens_for(Session, "after_commit")
def _keep_committed_workflows(session: Session) -> None:
    """The workflows saved by the committed transaction become the cache's, with the version the
    flush gave their case. The committed rows hold exactly the text each entry keeps."""
    saved = session.info.pop(_SAVED_KEY, None)
    for case, workflow, state in (saved or {}).values():
        # The case's attributes as last flushed; after a commit the session may have expired them.
        values = inspect(case).dict
        version, case_id, definition_id = values.get("version"), values.get("id"), values.get("definition_id")
        if values.get("state") is not state or None in (version, case_id, definition_id):
            continue  # changed again after saving, or expired: cannot tell what the row holds
        # The request's clock and calendar (and through them its session) must not stay reachable.
        workflow.script_engine = _IDLE_SCRIPT_ENGINE
        workflow_cache.put(HotWorkflow(case_id, version, definition_id, state, workflow))


@event.listens_for(Session, "after_transaction_end")
def _drop_saved_workflows(session: Session, transaction: SessionTransaction) -> None:
    # A commit has taken them already (after_commit comes first); a rollback or close drops them.
    if transaction.parent is None:
        session.info.pop(_SAVED_KEY, None)


def ready_user_task(workflow: BpmnWorkflow, workflow_task_id: str) -> SpiffTask:
    task = workflow.get_task_from_id(UUID(workflow_task_id))
    if task is None or task.state != SpiffState.READY:
        raise Conflict("this task is no longer waiting; the case has moved on")
    return task


@contextmanager
def workflow_errors() -> Iterator[None]:
    """Turn SpiffWorkflow failures into `WorkflowFailed` naming the element."""
    try:
        yield
    except WorkflowException as err:
        task = getattr(err, "task", None)
        task_spec = getattr(err, "task_spec", None) or (task.task_spec if task is not None else None)
        element_id = getattr(task_spec, "bpmn_id", None) or getattr(task_spec, "name", None)
        raise WorkflowFailed(element_id, _explain(err)) from None
    except ScriptRejected as err:
        raise WorkflowFailed(None, f"script refused: {err}") from None


def _explain(err: Exception) -> str:
    message = str(err.args[0]) if err.args else type(err).__name__
    cause = getattr(err, "exception", None) or err.__cause__
    if isinstance(cause, ScriptRejected):
        return f"{message}: script refused: {cause}"
    if isinstance(cause, NameError):
        return f"{message}: {cause} (the data this condition needs is missing)"
    if cause is not None:
        return f"{message}: {type(cause).__name__}: {cause}"
    return message


def run_engine(workflow: BpmnWorkflow) -> None:
    with workflow_errors():
        workflow.do_engine_steps()


def run_due_timers(workflow: BpmnWorkflow) -> None:
    """Fire the timers that are due, then run what they made ready.

    `do_engine_steps` refreshes timers only after its steps, so a timer firing there would wait
    for the next action; refreshing first lets it act now.
    """
    with workflow_errors():
        workflow.refresh_timers()
        workflow.do_engine_steps()


def complete_workflow_task(workflow: BpmnWorkflow, task: SpiffTask, data: dict[str, Any]) -> None:
    with workflow_errors():
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()


def ready_task_ids(workflow: BpmnWorkflow) -> set[str]:
    """The ids of the ready user tasks, the set `get_tasks(state=READY, manual=True)` gives.

    Read from the task maps of the workflow and its subprocesses rather than by walking the tree:
    a tenth of the cost, on every action."""
    return {str(task.id) for flow in (workflow, *workflow.subprocesses.values()) for task in flow.tasks.values()
            if task.state == SpiffState.READY and task.task_spec.manual}


def sync_task_rows(
    session: Session, case: Case, workflow: BpmnWorkflow, now: datetime, calendar: WorkingCalendar,
    actor: User | None = None, open_row_ids: set[str] | None = None,
) -> list[Task]:
    """Mirror the workflow's ready user tasks into task rows; return the rows opened now.

    A row whose workflow task is no longer ready (withdrawn by a timer or an end event) is
    cancelled, so inboxes never show work the flow no longer wants.

    `open_row_ids`: the workflow task ids of the case's open rows, when the caller knows them — the
    ready tasks of the state it loaded (every save mirrors its ready tasks), less those it closed
    itself. Then the open rows are read only if one of them has to be cancelled: a parallel review
    that neither joins nor withdraws anything costs no query here, however many branches are open.
    """
    if open_row_ids is not None and ready_task_ids(workflow) == open_row_ids:
        return []  # the common parallel review: no row to open or cancel
    catalog = case.definition.catalog.get("tasks", {})
    # In tree order, so rows open in the order the flow lists its steps.
    ready = {str(t.id): t for t in workflow.get_tasks(state=SpiffState.READY, manual=True)}
    if open_row_ids is not None and open_row_ids <= ready.keys():
        open_rows: list[Task] = []
        known = open_row_ids
    else:
        open_rows = list(session.scalars(select(Task).where(
            Task.case_id == case.id, Task.state.in_(OPEN_TASK_STATES), Task.workflow_task_id.is_not(None))))
        known = {row.workflow_task_id for row in open_rows if row.workflow_task_id is not None}
    for row in open_rows:
        if row.workflow_task_id not in ready:
            row.state = TaskState.CANCELLED
            row.completed_at = now
            if row.clock is not None:
                stop_clock(row.clock, now)
            history.record(session, case, "task_cancelled", now, actor, row, name=row.name)
    new_tasks = [t for wid, t in ready.items() if wid not in known]
    if not new_tasks:
        return []
    # What this transaction changed so far goes out first: the running-clock lookups below must see,
    # e.g., the step clock stopped a moment ago. After that, nothing is flushed until every new row
    # has its clock, so the rows and clocks go out in batches, each row inserted with its clock_id
    # (not insert row, select, insert clock, update row, per row).
    write_changes(session)
    with session.no_autoflush:
        opened = _new_task_rows(session, case, catalog, new_tasks, now)
        running = running_step_clocks(session, case, {row.element_id for row in opened})
        clock_of_step: dict[str, ClockRow | None] = {}
        for row in opened:
            if row.element_id in clock_of_step:
                # Instances of one step (会签) share the clock the first one got, as the lookup would
                # find it had that clock been flushed.
                row.clock = clock_of_step[row.element_id]
            else:
                clock_of_step[row.element_id] = attach_task_clock(
                    session, case, row, now, calendar, running.get(row.element_id))
    session.flush()
    for row in opened:
        history.record(session, case, "task_opened", now, actor, row, name=row.name, department=row.department.code,
                       due_at=row.clock.due_at.isoformat() if row.clock else None)
    return opened


def _new_task_rows(
    session: Session, case: Case, catalog: dict[str, Any], new_tasks: list[SpiffTask], now: datetime,
) -> list[Task]:
    codes = {catalog[t.task_spec.bpmn_id]["department"] for t in new_tasks}
    departments = {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(codes)))}
    opened = []
    for spiff_task in new_tasks:
        meta = catalog[spiff_task.task_spec.bpmn_id]
        department = departments.get(meta["department"])
        if department is None:
            raise WorkflowFailed(spiff_task.task_spec.bpmn_id, f"department '{meta['department']}' no longer exists")
        signer = instance_signer(session, spiff_task)
        row = Task(
            case=case,
            workflow_task_id=str(spiff_task.id),
            element_id=spiff_task.task_spec.bpmn_id,
            name=meta["name"],
            kind=meta["kind"],
            department=department,
            state=TaskState.OPEN,
            time_limit_days=meta.get("time_limit_days"),
            created_at=now,
        )
        if isinstance(signer, Department):
            row.department = signer  # 联合会签 across departments: one instance per department
        elif signer is not None:
            # 会签 / 或签 / 依次审批: each instance belongs to the person it was created for.
            row.assignee, row.state, row.claimed_at = signer, TaskState.CLAIMED, now
            if signer.department is not None:
                row.department = signer.department
        session.add(row)
        opened.append(row)
    return opened


def multi_instance_of(spiff_task: SpiffTask) -> Any | None:
    """The multi-instance task spec a user task is an instance of, if any."""
    parent = spiff_task.parent
    spec = parent.task_spec if parent is not None else None
    return spec if spec is not None and getattr(spec, "task_spec", None) == spiff_task.task_spec.name else None


def instance_signer(session: Session, spiff_task: SpiffTask) -> User | Department | None:
    """Who a multi-instance task was created for: its element variable holds a username (that
    person signs) or a department code (any reviewer of that department signs)."""
    spec = multi_instance_of(spiff_task)
    variable = getattr(getattr(spec, "output_item", None), "bpmn_id", None)
    name = spiff_task.data.get(variable) if variable else None
    if not isinstance(name, str):
        return None
    user = session.scalar(select(User).where(User.username == name, User.active.is_(True)))
    return user or session.scalar(select(Department).where(Department.code == name))


def instance_counts(spiff_task: SpiffTask, approving: bool) -> dict[str, int]:
    """Counters a completion condition can use: `nr_instances`, `nr_completed`, `nr_approved`.

    They include the completion being made, so `nr_approved * 2 >= nr_instances` reads as "half agree".
    """
    spec = multi_instance_of(spiff_task)
    if spec is None:
        return {}
    siblings = [c for c in spiff_task.parent.children if c.task_spec is spiff_task.task_spec and c is not spiff_task]
    done = [c for c in siblings if c.state == SpiffState.COMPLETED]
    collection = getattr(getattr(spec, "data_output", None), "bpmn_id", None)
    total = len(spiff_task.parent.data.get(collection) or []) if collection else len(siblings) + 1
    return {
        "nr_instances": max(total, len(siblings) + 1),
        "nr_completed": len(done) + 1,
        "nr_approved": sum(1 for c in done if c.data.get("outcome") == Outcome.APPROVE) + int(approving),
    }


def conclude_if_finished(session: Session, case: Case, workflow: BpmnWorkflow, now: datetime, actor: User | None) -> None:
    """Close the case when its workflow has ended: completed, or rejected if any department refused."""
    if not workflow.completed or case.status != CaseStatus.IN_PROGRESS:
        return
    reviews = workflow.data.get("reviews") or _last_data(workflow).get("reviews") or {}
    refused = any(r.get("outcome") == Outcome.REJECT for r in reviews.values() if isinstance(r, dict))
    case.status = CaseStatus.REJECTED if refused else CaseStatus.COMPLETED
    case.completed_at = now
    for clock in case_clocks(session, case):
        stop_clock(clock, now)
    history.record(session, case, "case_concluded", now, actor, status=case.status)
    feed.push_results(session, case, now)


def _last_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    last = workflow.last_task
    return last.data if last is not None else {}
