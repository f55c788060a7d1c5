"""流程预测: a dry run of a flow with sample data, in memory — no case, no rows.

The workflow runs with the restricted script engine on a frozen clock. Time moves as if each
department used its whole time limit: the ready task that falls due first is completed on its due
day at the close of office hours (with its form's defaults, and outcome `approve` unless the
request says otherwise), and the tasks that opens start counting from that day, so the due dates
of steps in a row add up exactly as their limits do. Parallel departments overlap, a join waits
for the slowest, and the end is the latest the 一件事 could finish without 补正 or extensions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState as SpiffState

from engine.bpmn import ParsedDefinition
from engine.calendar import OFFICE_CUTOFF, OFFICE_TZ, WorkingCalendar, to_office_time
from engine.calendar_store import load_calendar
from engine.clock import Clock, FrozenClock
from engine.definitions import resolve_tasks
from engine.errors import BpmnInvalid, InvalidInput
from engine.forms import form_values
from engine.instances import new_workflow, spec_cache
from engine.runtime import complete_workflow_task, run_due_timers, run_engine
from engine.timers import next_timer_due
from engine.versions import catalog_for, validate_definition, version_or_latest
from engine.vocab import Outcome, TaskKind

MAX_STEPS = 200


@dataclass
class SimulatedTask:
    element_id: str
    name: str
    department: str
    kind: str
    time_limit_days: int | None
    opened_at: datetime
    due_at: datetime
    outcome: str | None = None
    wave: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "name": self.name, "department": self.department, "kind": self.kind,
                "time_limit_days": self.time_limit_days, "opened_at": self.opened_at.isoformat(),
                "due_at": self.due_at.isoformat(), "outcome": self.outcome, "wave": self.wave}


@dataclass
class Simulation:
    key: str
    started_at: datetime
    path: list[str] = field(default_factory=list)
    tasks: list[SimulatedTask] = field(default_factory=list)
    finished: bool = False
    ended_at: datetime | None = None
    promised_days: int | None = None
    promised_due_at: datetime | None = None

    def parallel(self) -> list[dict[str, Any]]:
        """Tasks that were open at the same time, by department: one entry per wave of openings."""
        waves: dict[int, dict[str, Any]] = {}
        for task in self.tasks:
            wave = waves.setdefault(task.wave, {"wave": task.wave, "opened_at": task.opened_at.isoformat(),
                                                "departments": {}})
            wave["departments"].setdefault(task.department, []).append(
                {"element_id": task.element_id, "name": task.name, "due_at": task.due_at.isoformat(),
                 "time_limit_days": task.time_limit_days})
        return [waves[k] for k in sorted(waves)]

    def late(self) -> list[str]:
        """Tasks that would fall due after the promised limit (承诺时限)."""
        if self.promised_due_at is None:
            return []
        return [t.element_id for t in self.tasks if t.due_at > self.promised_due_at]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "started_at": self.started_at.isoformat(), "finished": self.finished,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None, "path": self.path,
            "tasks": [t.to_dict() for t in self.tasks], "parallel": self.parallel(),
            "promised_days": self.promised_days,
            "promised_due_at": self.promised_due_at.isoformat() if self.promised_due_at else None,
            "late": self.late(),
        }


def simulate_flow(
    session: Session, clock: Clock, key: str, version: int | None = None, xml: bytes | str | None = None,
    data: dict[str, Any] | None = None, outcomes: dict[str, Any] | None = None,
) -> Simulation:
    """Simulate a deployed version of `key` (the latest by default), or a draft's XML before deploying it."""
    if xml is not None:
        validation = validate_definition(session, xml)
        if not validation.valid:
            raise BpmnInvalid(validation.errors, validation.warnings)
        parsed = validation.parsed
        assert parsed is not None
        if parsed.key != key:
            raise InvalidInput(f"the draft's process id is '{parsed.key}', not '{key}'")
        departments = {k: v["department"] for k, v in resolve_tasks(session, parsed, None).items()}
        promised = catalog_for(session, parsed).get("promised_days")
    else:
        definition = version_or_latest(session, key, version)
        parsed = spec_cache.get(definition)
        departments = {k: v["department"] for k, v in definition.catalog.get("tasks", {}).items()}
        promised = definition.catalog.get("promised_days")
    return simulate(parsed, departments, load_calendar(session), clock.now(), data, outcomes, promised)


def simulate(
    parsed: ParsedDefinition,
    departments: dict[str, str],
    calendar: WorkingCalendar,
    now: datetime,
    data: dict[str, Any] | None = None,
    outcomes: dict[str, Any] | None = None,
    promised_days: int | None = None,
) -> Simulation:
    """Run `parsed` to its end (or until nothing can move) and report the path, tasks and due dates.

    `departments` maps each user task's element id to its department code (as deploy resolves it);
    `data` is the application (the intake form); `outcomes` gives a review task's outcome, or a list
    used one per visit (e.g. ["return", "approve"] for one 补正 round), approve when not given.
    """
    data, plan = _checked(data, outcomes)
    clock = FrozenClock(now)
    workflow = new_workflow(parsed, clock, calendar)
    result = Simulation(parsed.key, now, promised_days=promised_days)
    if promised_days:
        result.promised_due_at = calendar.due_at(now, promised_days)
    seen: set[Any] = set()
    open_tasks: dict[Any, SimulatedTask] = {}
    run_engine(workflow)
    _record_path(workflow, seen, result)
    wave = 0
    for _step in range(MAX_STEPS):
        ready = workflow.get_tasks(state=SpiffState.READY, manual=True)
        new = [t for t in ready if t.id not in open_tasks]
        if new:
            wave += 1
        for task in new:
            meta = parsed.tasks[task.task_spec.bpmn_id]
            opened = clock.now()
            limit = meta.time_limit_days
            open_tasks[task.id] = SimulatedTask(
                meta.element_id, meta.name, departments.get(meta.element_id, meta.department or "?"), str(meta.kind),
                limit, opened, calendar.due_at(opened, limit) if limit else opened, wave=wave)
        if not ready:
            due = next_timer_due(workflow)
            if due is None or workflow.completed:
                break
            clock.set(max(due, clock.now()))
            run_due_timers(workflow)
            _record_path(workflow, seen, result)
            continue
        task = min(ready, key=lambda t: (_handover(open_tasks[t.id]), open_tasks[t.id].opened_at))
        simulated = open_tasks.pop(task.id)
        clock.set(max(_handover(simulated), clock.now()))
        run_due_timers(workflow)  # a timer due before this task finishes fires first
        if task.state != SpiffState.READY:
            _record_path(workflow, seen, result)
            continue
        meta = parsed.tasks[simulated.element_id]
        values = form_values(meta, data if meta.kind == TaskKind.INTAKE else {})
        if meta.kind == TaskKind.REVIEW:
            simulated.outcome = _next_outcome(plan, simulated.element_id)
            reviews = dict(task.data.get("reviews") or {})
            reviews[simulated.element_id] = {"outcome": simulated.outcome, "opinion": "流程预测",
                                             "department": simulated.department}
            values.update(outcome=simulated.outcome, opinion="流程预测", reviews=reviews)
        complete_workflow_task(workflow, task, values)
        result.tasks.append(simulated)
        _record_path(workflow, seen, result)
    else:
        raise InvalidInput(f"the flow did not finish within {MAX_STEPS} steps; check the outcomes for a loop that never ends")
    result.finished = workflow.completed
    result.ended_at = clock.now()
    return result


def _handover(task: SimulatedTask) -> datetime:
    """When a step that uses its whole limit is done: its due day, at the close of office hours."""
    if task.time_limit_days is None:
        return task.opened_at
    day = to_office_time(task.due_at).date()
    return datetime.combine(day, OFFICE_CUTOFF, tzinfo=OFFICE_TZ).astimezone(timezone.utc)


def _checked(data: Any, outcomes: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput("data must be an object")
    if outcomes is None:
        outcomes = {}
    if not isinstance(outcomes, dict):
        raise InvalidInput("outcomes must be an object: {element id: outcome or [outcomes]}")
    plan: dict[str, list[str]] = {}
    for element_id, value in outcomes.items():
        values = value if isinstance(value, list) else [value]
        for outcome in values:
            if outcome not in Outcome.__members__.values():
                raise InvalidInput(f"outcome for {element_id} must be one of {', '.join(Outcome)}")
        plan[str(element_id)] = list(values)
    return data, plan


def _next_outcome(plan: dict[str, list[str]], element_id: str) -> str:
    queue = plan.get(element_id)
    return queue.pop(0) if queue else Outcome.APPROVE.value


def _record_path(workflow: Any, seen: set[Any], result: Simulation) -> None:
    """Append the BPMN elements completed since the last call (internal specs have no bpmn_id)."""
    for task in workflow.get_tasks(state=SpiffState.COMPLETED):
        if task.id in seen:
            continue
        seen.add(task.id)
        element_id = getattr(task.task_spec, "bpmn_id", None)
        if element_id:
            result.path.append(element_id)
