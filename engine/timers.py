"""BPMN timers on the engine's clock and calendar.

SpiffWorkflow's timer definitions read `datetime.now()` themselves; the engine swaps in subclasses
that ask the workflow's script engine for the time, so the injected clock (and a test's frozen
clock) decides when a timer fires. A timer with the property `workingDays` counts working days on
the office calendar instead of its ISO duration.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState as SpiffState

from engine.calendar import WorkingCalendar

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_ISO_LITERAL = re.compile(r"^(R\d*/)?(P[0-9YMWDTHS.,]+|\d{4}-\d{2}-\d{2}[0-9T:.+\-Z]*)(/P[0-9YMWDTHS.,]+)?$")
WORKING_DAYS_PROPERTY = "workingDays"


def quote_timer_literals(root: etree._Element) -> None:
    """Modelers write `P10D`; SpiffWorkflow evaluates timer text as Python, so quote bare ISO values."""
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for node in root.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (node.text or "").strip()
            if _ISO_LITERAL.match(text):
                node.text = f'"{text}"'


class _Clocked:
    """Reads the time from the workflow's script engine (see `scripting.WorkflowScriptEngine`)."""

    @staticmethod
    def now(my_task: Any) -> datetime:
        return my_task.workflow.script_engine.clock.now()

    @staticmethod
    def working_days(my_task: Any) -> int | None:
        raw = (my_task.task_spec.extensions or {}).get(WORKING_DAYS_PROPERTY)
        return int(raw) if raw not in (None, "") else None

    def due_by_calendar(self, my_task: Any, days: int) -> str:
        engine = my_task.workflow.script_engine
        calendar: WorkingCalendar = engine.calendar
        return calendar.due_at(engine.clock.now(), days).isoformat()


class ClockedDurationTimer(_Clocked, DurationTimerEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            days = self.working_days(my_task)
            if days is not None:
                event_value = self.due_by_calendar(my_task, days)
            else:
                expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
                duration = TimerEventDefinition.parse_iso_duration(expression)
                start = self.now(my_task)
                event_value = (start + TimerEventDefinition.get_timedelta_from_start(duration, start)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.get_datetime(event_value) <= self.now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedTimeDateTimer(_Clocked, TimeDateEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.parse_time_or_duration(event_value) <= self.now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


_REPLACEMENTS = {DurationTimerEventDefinition: ClockedDurationTimer, TimeDateEventDefinition: ClockedTimeDateTimer}


def use_engine_clock(task_specs: Any) -> None:
    """Swap each timer definition's class for its clocked twin (same attributes, new `has_fired`)."""
    for task_spec in task_specs:
        definition = getattr(task_spec, "event_definition", None)
        replacement = _REPLACEMENTS.get(type(definition))
        if replacement is not None:
            definition.__class__ = replacement


_specs_with_timers: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()


def _has_timers(workflow: BpmnWorkflow) -> bool:
    """Whether any process of the workflow's definition has a timer (decided once per parsed spec)."""
    spec = workflow.spec
    known = _specs_with_timers.get(spec)
    if known is None:
        specs = [spec, *workflow.subprocess_specs.values()]
        known = any(isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
                    for process in specs for task_spec in process.task_specs.values())
        _specs_with_timers[spec] = known
    return known


def next_timer_due(workflow: BpmnWorkflow) -> datetime | None:
    """The earliest due time among the workflow's waiting timers, for `cases.next_timer_at`."""
    if not _has_timers(workflow):
        return None  # most flows have none: no need to walk the task tree on every save
    due = []
    for task in workflow.get_tasks(state=SpiffState.WAITING):
        if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition):
            value = task._get_internal_data("event_value")
            if value:
                due.append(TimerEventDefinition.get_datetime(value))
    return min(due) if due else None
