"""Workflow instances: parsed specs cached per definition, instance state saved without the spec.

SpiffWorkflow's stock serializer embeds the whole process spec in every instance. Definitions are
stored once, so a case row holds only its task tree and data, and the spec is parsed once per
process and definition version.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Callable
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG

from engine.bpmn import ParsedDefinition, parse_definition
from engine.calendar import WorkingCalendar
from engine.clock import Clock
from engine.models import ProcessDefinition
from engine.scripting import restricted_script_engine

STATE_FORMAT = 1
"""Version of the instance-state format stored in `cases.state_format`.

1: SpiffWorkflow 3.2 serializer output (its own version in `serializer_version`) without `spec`
   and `subprocess_specs`.
"""

# One migration per format change, applied in order on load: {from_version: function(dict) -> None}.
STATE_MIGRATIONS: dict[int, Callable[[dict[str, Any]], None]] = {}


class _SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Writes and reads a top-level workflow without its spec; the caller supplies the spec."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(
        self, dct: dict[str, Any], definition: ParsedDefinition | None = None, script_engine: Any = None
    ) -> BpmnWorkflow:
        if definition is None:
            raise ValueError("restoring an instance needs its parsed definition")
        workflow = self.target_class(
            definition.spec, definition.subprocess_specs, script_engine=script_engine or restricted_script_engine(),
            deserializing=True,
        )
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = _SpecFreeWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_serializer = _make_serializer()


class SpecCache:
    """Parsed definitions by content hash. A deployed version never changes, and keying by the hash
    (not the row id) stays right when ids are reused, e.g. after a restore."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: dict[str, ParsedDefinition] = {}

    def get(self, definition: ProcessDefinition) -> ParsedDefinition:
        parsed = self._parsed.get(definition.sha256)
        if parsed is None:
            # No lint: a rule added later must never stop running cases from loading.
            parsed = parse_definition(definition.bpmn_xml, f"{definition.key} v{definition.version}", lint=False)
            with self._lock:
                parsed = self._parsed.setdefault(definition.sha256, parsed)
        return parsed


spec_cache = SpecCache()


def new_workflow(parsed: ParsedDefinition, clock: Clock | None = None, calendar: WorkingCalendar | None = None) -> BpmnWorkflow:
    return BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=restricted_script_engine(clock, calendar))


def dump_state(workflow: BpmnWorkflow) -> str:
    dct = _serializer.to_dict(workflow)
    dct[_serializer.VERSION_KEY] = _serializer.VERSION
    return json.dumps(dct, cls=_serializer._encoder_cls, separators=(",", ":"), ensure_ascii=False)


def load_state(
    state: str, state_format: int, parsed: ParsedDefinition, clock: Clock | None = None,
    calendar: WorkingCalendar | None = None,
) -> BpmnWorkflow:
    dct = json.loads(state)
    for version in range(state_format, STATE_FORMAT):
        STATE_MIGRATIONS[version](dct)
    _serializer.migrate(dct)
    return _serializer.from_dict(dct, definition=parsed, script_engine=restricted_script_engine(clock, calendar))
