"""Moving open cases to a newer version of their flow (SpiffWorkflow's `bpmn.util.diff`).

A case stays on the version it started on unless an analyst migrates it. A case can move when:

1. every task waiting in an inbox exists in the new version as a user task of the same department
   (its row, claim and clock are kept; its clock keeps the limit it started with — a new limit
   applies the next time the step opens, so nobody's deadline moves under them);
2. every step the case has already run, or is running, exists in the new version, and none of
   those already run leads somewhere else there (the path taken stays the path in the new version);
3. once moved and advanced, no waiting task is withdrawn, and the instance reloads on the new
   version (checked on the real instance before anything is saved).

BPMN timers still waiting keep their due time when their definition did not change.
The preview runs the same checks on a copy; the migration runs each case in its own transaction
(`migrate_open_cases`) and records `migrated` in the case's history.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState as SpiffState

from engine import history
from engine.bpmn import ParsedDefinition
from engine.calendar_store import load_calendar
from engine.clock import Clock
from engine.db import Database
from engine.definitions import definition_version
from engine.errors import EngineError, InvalidInput
from engine.instances import STATE_FORMAT, dump_state, load_state, spec_cache
from engine.models import Case, ProcessDefinition, Task, User
from engine.runtime import lock_case, open_workflow, run_engine, save_workflow, sync_task_rows
from engine.vocab import OPEN_TASK_STATES, CaseStatus

log = logging.getLogger(__name__)
_registry = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)
RAN = SpiffState.COMPLETED | SpiffState.STARTED | SpiffState.READY | SpiffState.WAITING | SpiffState.ERROR


@dataclass
class CaseMigration:
    case_id: int
    number: str
    blockers: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    status: str = "planned"
    """planned (preview), migrated, skipped (a blocker, or the case moved on) or failed."""

    @property
    def migratable(self) -> bool:
        return not self.blockers

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "number": self.number, "migratable": self.migratable,
                "status": self.status, "blockers": self.blockers, "changes": self.changes}


@dataclass
class MigrationPlan:
    key: str
    from_version: int
    to_version: int
    dry_run: bool
    cases: list[CaseMigration] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "from_version": self.from_version, "to_version": self.to_version, "dry_run": self.dry_run,
            "migratable": sum(c.migratable for c in self.cases), "blocked": sum(not c.migratable for c in self.cases),
            "migrated": sum(c.status == "migrated" for c in self.cases), "cases": [c.to_dict() for c in self.cases],
        }


def _versions(session: Session, key: str, from_version: int, to_version: int) -> tuple[ProcessDefinition, ProcessDefinition]:
    if from_version == to_version:
        raise InvalidInput("choose two different versions")
    return definition_version(session, key, from_version), definition_version(session, key, to_version)


def open_cases_on(session: Session, definition: ProcessDefinition) -> list[Case]:
    return list(session.scalars(select(Case).where(
        Case.definition_id == definition.id, Case.status == CaseStatus.IN_PROGRESS).order_by(Case.id)))


def preview_migration(session: Session, clock: Clock, key: str, from_version: int, to_version: int) -> MigrationPlan:
    """Which open cases of `from_version` can move to `to_version`, and what changes for each. Writes nothing."""
    source, target = _versions(session, key, from_version, to_version)
    plan = MigrationPlan(key, from_version, to_version, dry_run=True)
    calendar = load_calendar(session)
    for case in open_cases_on(session, source):
        result = CaseMigration(case.id, case.number)
        try:
            workflow = open_workflow(case, clock, calendar)
            _migrate_in_memory(session, case, workflow, target, result)
        except EngineError as err:
            result.blockers.append(err.message)
        plan.cases.append(result)
    return plan


def migrate_open_cases(db: Database, clock: Clock, actor_id: int | None, key: str, from_version: int,
                       to_version: int) -> MigrationPlan:
    """Migrate every open case that can move, each in its own transaction; the rest are reported."""
    with db.reader.begin() as session:
        source, target = _versions(session, key, from_version, to_version)
        source_id, target_id = source.id, target.id
        cases = [(c.id, c.number) for c in open_cases_on(session, source)]
    plan = MigrationPlan(key, from_version, to_version, dry_run=False)
    for case_id, number in cases:
        try:
            # A case with a blocker is only read (and its in-memory copy dropped), so committing is a no-op.
            with db.writer.begin() as session:
                actor = session.get(User, actor_id) if actor_id is not None else None
                result = migrate_case(session, clock, actor, case_id, source_id, target_id)
        except Exception as err:  # noqa: BLE001 - one case must not stop the others
            log.exception("migrating case %s failed", case_id)
            result = CaseMigration(case_id, number, blockers=[f"failed: {type(err).__name__}: {err}"], status="failed")
        plan.cases.append(result)
    return plan


def migrate_case(session: Session, clock: Clock, actor: User | None, case_id: int, source_id: int,
                 target_id: int) -> CaseMigration:
    """Move one case (locked) from version `source_id` to `target_id`, in the caller's transaction."""
    case = lock_case(session, case_id)
    result = CaseMigration(case.id, case.number)
    if case.definition_id != source_id or case.status != CaseStatus.IN_PROGRESS:
        result.blockers.append("the case is no longer open on this version")
        result.status = "skipped"
        return result
    target = session.get(ProcessDefinition, target_id)
    assert target is not None
    now, calendar = clock.now(), load_calendar(session)
    old_version = case.definition.version
    workflow = open_workflow(case, clock, calendar)
    _migrate_in_memory(session, case, workflow, target, result)
    if result.blockers:
        result.status = "skipped"
        return result
    case.definition = target
    save_workflow(case, workflow)
    sync_task_rows(session, case, workflow, now, calendar, actor)
    history.record(session, case, "migrated", now, actor, name=f"{target.key} v{old_version} → v{target.version}",
                   from_version=old_version, to_version=target.version, changes=result.changes)
    session.flush()
    result.status = "migrated"
    return result


def _migrate_in_memory(session: Session, case: Case, workflow: BpmnWorkflow, target: ProcessDefinition,
                       result: CaseMigration) -> None:
    """Check the rules on `workflow` and, if they hold, move it to `target`'s spec (in memory only)."""
    parsed = spec_cache.get(target)
    rows = list(session.scalars(select(Task).where(Task.case_id == case.id, Task.state.in_(OPEN_TASK_STATES))))
    _check_waiting_tasks(rows, target, result)
    if result.blockers:
        return
    spec_diff = SpecDiff(_registry, workflow.spec, parsed.spec)
    top_diff = WorkflowDiff(workflow, spec_diff)
    _check_path(workflow, spec_diff, top_diff, target, result)
    sub_diffs = {}
    for sp_id, sub in workflow.subprocesses.items():
        new_sub_spec = parsed.subprocess_specs.get(sub.spec.name)
        if new_sub_spec is None:
            result.blockers.append(f"the running sub-process '{sub.spec.name}' is not in version {target.version}")
            continue
        sub_spec_diff = SpecDiff(_registry, sub.spec, new_sub_spec)
        sub_diffs[sp_id] = (WorkflowDiff(sub, sub_spec_diff), new_sub_spec)
        _check_path(sub, sub_spec_diff, sub_diffs[sp_id][0], target, result)
    if result.blockers:
        return
    timers = _waiting_timers(workflow, spec_diff)
    migrate_workflow(top_diff, workflow, parsed.spec)
    for sp_id, (diff, new_sub_spec) in sub_diffs.items():
        migrate_workflow(diff, workflow.subprocesses[sp_id], new_sub_spec)
    workflow.subprocess_specs = parsed.subprocess_specs
    for task_id, internal in timers.items():
        task = workflow.get_task_from_id(task_id)
        if task is not None:
            task.internal_data.update(internal)
    run_engine(workflow)
    _check_result(workflow, rows, parsed, target, result)


def _check_waiting_tasks(rows: list[Task], target: ProcessDefinition, result: CaseMigration) -> None:
    tasks = target.catalog.get("tasks", {})
    for row in rows:
        meta = tasks.get(row.element_id)
        if meta is None:
            result.blockers.append(f"the waiting task '{row.name}' ({row.element_id}) is not in version {target.version}")
        elif meta["department"] != row.department.code:
            result.blockers.append(
                f"the waiting task '{row.name}' moves from {row.department.code} to {meta['department']} in "
                f"version {target.version}; finish it first")
        else:
            if meta.get("time_limit_days") != row.time_limit_days:
                result.changes.append(
                    f"'{row.name}': time limit {row.time_limit_days or '—'} → {meta.get('time_limit_days') or '—'} working "
                    "days from the next time it opens; the running clock keeps its limit")
            if meta.get("name") != row.name:
                result.changes.append(f"'{row.name}' is named '{meta.get('name')}' from the next time it opens")


def _check_path(workflow: Any, spec_diff: SpecDiff, diff: WorkflowDiff, target: ProcessDefinition,
                result: CaseMigration) -> None:
    for task in diff.removed:
        if task.has_state(RAN):
            name = getattr(task.task_spec, "bpmn_name", None) or getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
            result.blockers.append(f"the step '{name}' has already run or is running, and is not in version {target.version}")
    for task in workflow.get_tasks(state=SpiffState.COMPLETED, skip_subprocesses=True):
        new = spec_diff.alignment.get(task.task_spec)
        if new is not None and [o.name for o in task.task_spec.outputs] != [o.name for o in new.outputs]:
            name = getattr(task.task_spec, "bpmn_name", None) or getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
            message = (f"the step '{name}' has already run, and version {target.version} changes where it leads "
                       "(e.g. a department added to a parallel review that has started)")
            if message not in result.blockers:
                result.blockers.append(message)


def _waiting_timers(workflow: BpmnWorkflow, spec_diff: SpecDiff) -> dict[Any, dict[str, Any]]:
    """Internal data (due time) of waiting timers whose definition is unchanged, to restore after the reset."""
    kept = {}
    for task in workflow.get_tasks(state=SpiffState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and task.task_spec not in spec_diff.changed:
            kept[task.id] = dict(task.internal_data)
    return kept


def _check_result(workflow: BpmnWorkflow, rows: list[Task], parsed: ParsedDefinition, target: ProcessDefinition,
                  result: CaseMigration) -> None:
    ready = {str(t.id): t for t in workflow.get_tasks(state=SpiffState.READY, manual=True)}
    for row in rows:
        if row.workflow_task_id not in ready:
            result.blockers.append(f"the waiting task '{row.name}' would be withdrawn in version {target.version}")
    known = {row.workflow_task_id for row in rows}
    catalog = target.catalog.get("tasks", {})
    for task_id, task in ready.items():
        if task_id not in known:
            meta = catalog.get(task.task_spec.bpmn_id, {})
            result.changes.append(f"opens '{meta.get('name', task.task_spec.bpmn_id)}' ({meta.get('department', '?')})")
    try:
        load_state(dump_state(workflow), STATE_FORMAT, parsed)
    except Exception as err:  # noqa: BLE001 - any failure to reload means the case must stay
        result.blockers.append(f"the case would not reload on version {target.version}: {type(err).__name__}: {err}")
