"""Workflow instances: parsed specs cached per definition, instance state saved without the spec.

SpiffWorkflow's stock serializer embeds the whole process spec in every instance. Definitions are
stored once, so a case row holds only its task tree and data, and the spec is parsed once per
process and definition version.
"""
from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
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


@dataclass(frozen=True)
class HotWorkflow:
    """A workflow as it was after a committed action, with exactly the state text that was written."""

    case_id: int
    version: int
    definition_id: int
    state: str
    workflow: BpmnWorkflow


class WorkflowCache:
    """Deserialized workflows of recently used cases, per process, so an action deserializes only
    when another process (or a rollback, or anything but this process's last commit) changed the case.

    An entry is used only when the case row read under its lock has the same `version` and the very
    same `state` text the entry was serialized to. The version is the cheap check; comparing the text
    (a memcmp of what the row already returned) also covers what a counter cannot: ids and versions
    reused after a restore or a test's emptied tables. `take` removes the entry, so a workflow is never
    shared by two threads and one changed by a failed action never comes back; a commit puts it back.
    Bounded by an estimate of its memory (a loaded workflow takes ~3× its JSON), least recently used first.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, HotWorkflow] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _cost(entry: HotWorkflow) -> int:
        return 4 * len(entry.state)

    def take(self, case_id: int, version: int, definition_id: int, state: str) -> HotWorkflow | None:
        with self._lock:
            entry = self._entries.pop(case_id, None)
            if entry is not None:
                self._bytes -= self._cost(entry)
        if entry is None or entry.version != version or entry.definition_id != definition_id or entry.state != state:
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, entry: HotWorkflow) -> None:
        cost = self._cost(entry)
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(entry.case_id, None)
            if old is not None:
                self._bytes -= self._cost(old)
                if old.version > entry.version:
                    # A later commit of another thread got here first; keep the newer one.
                    entry, cost = old, self._cost(old)
            self._entries[entry.case_id] = entry
            self._bytes += cost
            while self._bytes > self.max_bytes:
                _case_id, evicted = self._entries.popitem(last=False)
                self._bytes -= self._cost(evicted)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes


workflow_cache = WorkflowCache(int(float(os.environ.get("YJS_WORKFLOW_CACHE_MB", "64")) * 2**20))
"""`YJS_WORKFLOW_CACHE_MB=0` turns the cache off."""
