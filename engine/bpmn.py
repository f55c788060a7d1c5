"""Reading BPMN: safe XML parsing, SpiffWorkflow specs, and the domain data on each user task.

Definitions come from analysts' browsers, so the XML parser refuses DTDs (no external entities,
no entity expansion) and oversized documents before SpiffWorkflow sees them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import BpmnInvalid, ElementProblem, ScriptRejected
from engine.lint import Findings, structural_problems
from engine.modeler_compat import prepare, properties_of
from engine.scripting import check_source
from engine.timers import quote_timer_literals, use_engine_clock
from engine.vocab import TaskKind

MAX_BPMN_BYTES = 2 * 1024 * 1024
# SpiffWorkflow names internal specs "Start" and "End"; elements with these ids break the flow.
RESERVED_IDS = frozenset({"Start", "End"})
APPLICANT_LANE_PREFIX = "申请"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    type: str
    default: Any
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TaskMeta:
    """What the engine needs to know about one user task, beyond SpiffWorkflow's spec."""

    element_id: str
    name: str
    lane: str | None
    department: str | None
    """The lane or `department` property as written; resolved against departments on deploy."""
    applicant_lane: bool
    kind: str
    time_limit_days: int | None
    item_name: str | None
    legal_basis: str | None
    form: tuple[FormField, ...] = ()


@dataclass
class ParsedDefinition:
    key: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    tasks: dict[str, TaskMeta] = field(default_factory=dict)
    warnings: list[ElementProblem] = field(default_factory=list)
    """What deploys but deserves the analyst's attention (e.g. isExecutable="false" taken as executable)."""
    properties: dict[str, str] = field(default_factory=dict)
    """The process's own camunda:properties (e.g. promisedDays)."""


def parse_xml_safely(content: bytes | str, filename: str | None = None) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network, bounded size."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if len(data) > MAX_BPMN_BYTES:
        raise BpmnInvalid([ElementProblem(None, f"the file is larger than {MAX_BPMN_BYTES // 1024} KiB", filename)])
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise BpmnInvalid([ElementProblem(None, "DOCTYPE and ENTITY declarations are not allowed in BPMN files", filename)])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as err:
        raise BpmnInvalid([ElementProblem(None, f"not well-formed XML: {err}", filename)]) from None
    except ValueError as err:  # e.g. an encoding lxml cannot decode
        raise BpmnInvalid([ElementProblem(None, f"the file could not be read as XML: {err}", filename)]) from None
    # The byte check above misses a DTD in a UTF-16 document; the parsed tree does not.
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD is not None:
        raise BpmnInvalid([ElementProblem(None, "DOCTYPE and ENTITY declarations are not allowed in BPMN files", filename)])
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise BpmnInvalid([ElementProblem(None, "the root element must be bpmn:definitions", filename)])
    return root


def parse_definition(content: bytes | str, filename: str | None = None, *, lint: bool = True) -> ParsedDefinition:
    """Parse a BPMN document holding one executable process; raise `BpmnInvalid` naming elements.

    What real modelers save is prepared first (`engine.modeler_compat`), then the structural lint
    (`engine.lint`) reports every problem it finds at once, before SpiffWorkflow's own parse.
    `lint=False` skips the lint: for re-reading a version that is already deployed, so a rule
    added later never strands the cases running on it.
    """
    root = parse_xml_safely(content, filename)
    problems = _reserved_id_problems(root, filename)
    if problems:
        raise BpmnInvalid(problems)
    prepared = prepare(root, filename)
    quote_timer_literals(root)
    findings = structural_problems(root, prepared.origin, filename) if lint else Findings()
    warnings = prepared.warnings + findings.warnings
    # A problem the preparation already reported (an unconvertible ${...}) is not reported twice.
    reported = {p.element_id for p in prepared.problems}
    problems = _unique_problems(prepared.problems + [p for p in findings.errors if p.element_id not in reported])
    if problems:
        raise BpmnInvalid(problems, warnings)
    try:
        parsed = _parse_with_spiff(root, filename)
    except BpmnInvalid as err:
        raise BpmnInvalid(err.problems, warnings) from None
    parsed.warnings = warnings
    return parsed


def _parse_with_spiff(root: etree._Element, filename: str | None) -> ParsedDefinition:
    parser = CamundaParser()
    try:
        parser.add_bpmn_xml(root, filename)
        process_ids = parser.get_process_ids()
        if not process_ids:
            raise BpmnInvalid([ElementProblem(None, "the file has no process to run", filename)])
        key = _top_level_process(parser, process_ids)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as err:
        raise BpmnInvalid([ElementProblem(err.id or None, _describe_validation(err), filename)]) from None
    except SpiffWorkflowException as err:
        raise BpmnInvalid([ElementProblem(None, _clean(str(err)), filename)]) from None
    except (KeyError, AttributeError, TypeError, ValueError, IndexError, NotImplementedError) as err:
        # SpiffWorkflow assumes well-formed BPMN; a broken file must still get an answer, not a 500.
        raise BpmnInvalid([ElementProblem(None, f"the file could not be read as a BPMN flow: {type(err).__name__}: {_clean(str(err))}", filename)]) from None
    process_node = root.find(f".//{{{BPMN_NS}}}process[@id='{key}']")
    name = (process_node.get("name") if process_node is not None else None) or key
    parsed = ParsedDefinition(key=key, name=name, spec=spec, subprocess_specs=subprocess_specs,
                              properties=properties_of(process_node) if process_node is not None else {})
    problems = list(_code_problems(spec, subprocess_specs, filename))
    if problems:
        raise BpmnInvalid(problems)
    _event_properties(root, spec, subprocess_specs)
    use_engine_clock(_all_task_specs(spec, subprocess_specs))
    problems = []
    for task_spec in _all_task_specs(spec, subprocess_specs):
        if isinstance(task_spec, UserTaskMixin):
            try:
                meta = _task_meta(task_spec, filename)
            except BpmnInvalid as err:
                problems.extend(err.problems)
                continue
            parsed.tasks[meta.element_id] = meta
    if problems:
        raise BpmnInvalid(problems)
    return parsed


def _event_properties(root: etree._Element, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> None:
    """SpiffWorkflow's Camunda event parsers drop `camunda:properties`; timers read `workingDays` from them."""
    events = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.tag.endswith("Event") and el.get("id")}
    for task_spec in _all_task_specs(spec, subprocess_specs):
        element = events.get(getattr(task_spec, "bpmn_id", None))
        if element is not None and not getattr(task_spec, "extensions", None):
            task_spec.extensions = properties_of(element)


def _unique_problems(problems: list[ElementProblem]) -> list[ElementProblem]:
    seen: set[tuple[str | None, str]] = set()
    out = []
    for p in problems:
        if (p.element_id, p.message) not in seen:
            seen.add((p.element_id, p.message))
            out.append(p)
    return out


def _reserved_id_problems(root: etree._Element, filename: str | None) -> list[ElementProblem]:
    return [
        ElementProblem(el.get("id"), f"the id '{el.get('id')}' is reserved by the engine; rename the element", filename)
        for el in root.iter()
        if isinstance(el.tag, str) and el.get("id") in RESERVED_IDS
    ]


def _top_level_process(parser: CamundaParser, process_ids: list[str]) -> str:
    """The process no other process calls: the 一件事 itself."""
    called = set(parser.get_process_dependencies())
    candidates = [pid for pid in process_ids if pid not in called]
    if len(candidates) != 1:
        raise BpmnInvalid([ElementProblem(pid, "a definition file must hold exactly one top-level executable process") for pid in candidates or process_ids])
    return candidates[0]


def _all_task_specs(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]):
    yield from spec.task_specs.values()
    for sub in subprocess_specs.values():
        yield from sub.task_specs.values()


def _code_problems(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec], filename: str | None):
    """Check every script and condition against the restricted engine before anything runs."""
    for task_spec in _all_task_specs(spec, subprocess_specs):
        element_id = getattr(task_spec, "bpmn_id", None) or task_spec.name
        sources = [(getattr(task_spec, "script", None), "exec")]
        for condition, _target in getattr(task_spec, "cond_task_specs", ()):
            if condition is not None:
                sources.append((condition.args[0], "eval"))
        for source, mode in sources:
            if isinstance(source, str) and source.strip():
                try:
                    check_source(source.strip(), mode)
                except ScriptRejected as err:
                    yield ElementProblem(element_id, f"script or condition refused: {err}", filename)


def _describe_validation(err: ValidationException) -> str:
    return _clean(str(err).split("\n")[0])


def _clean(message: str) -> str:
    """SpiffWorkflow's messages, without the XML dumps some of them carry."""
    message = re.sub(r"""[(,]?\s*b?['"]<.*""", "", message, flags=re.S).strip(" .(")
    return (message[:300] + "…") if len(message) > 300 else message or "the parser refused the file"


def _task_meta(task_spec: Any, filename: str | None) -> TaskMeta:
    props: dict[str, str] = task_spec.extensions or {}
    element_id = task_spec.bpmn_id
    lane = task_spec.lane
    applicant_lane = bool(lane and lane.startswith(APPLICANT_LANE_PREFIX))
    department = props.get("department") or (None if applicant_lane else lane)
    kind = props.get("taskKind") or _default_kind(task_spec, department, applicant_lane)
    if kind not in TaskKind.__members__.values():
        raise BpmnInvalid([ElementProblem(element_id, f"unknown taskKind '{kind}'; use one of {', '.join(TaskKind)}", filename)])
    return TaskMeta(
        element_id=element_id,
        name=task_spec.bpmn_name or element_id,
        lane=lane,
        department=department,
        applicant_lane=applicant_lane,
        kind=kind,
        time_limit_days=_time_limit(props.get("timeLimitDays"), element_id, filename),
        item_name=props.get("itemName"),
        legal_basis=props.get("legalBasis"),
        form=_form_fields(task_spec),
    )


def _default_kind(task_spec: Any, department: str | None, applicant_lane: bool) -> str:
    if applicant_lane:
        return TaskKind.SUPPLEMENT
    if department is None:
        return TaskKind.WINDOW
    if any(isinstance(_through_control(i), StartEvent) for i in task_spec.inputs):
        return TaskKind.INTAKE
    return TaskKind.REVIEW


def _through_control(spec: Any) -> Any:
    # A start event reaches its first task through SpiffWorkflow's internal split/join specs.
    while spec is not None and not getattr(spec, "bpmn_id", None) and spec.inputs:
        spec = spec.inputs[0]
    return spec


def _time_limit(raw: str | None, element_id: str, filename: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if days <= 0:
        raise BpmnInvalid([ElementProblem(element_id, f"timeLimitDays must be a positive whole number of working days, not '{raw}'", filename)])
    return days


def _form_fields(task_spec: Any) -> tuple[FormField, ...]:
    form = getattr(task_spec, "form", None)
    if form is None:
        return ()
    fields = []
    for f in form.fields:
        options = tuple((o.id, o.name) for o in getattr(f, "options", []) or [])
        fields.append(FormField(id=f.id, label=f.label or f.id, type=f.type or "string",
                                default=coerce_field(f.type, f.default_value), options=options))
    return tuple(fields)


def coerce_field(field_type: str | None, value: Any) -> Any:
    """Turn a form value (from XML or an HTML form) into the Python value the flow sees."""
    if value is None:
        return None
    if field_type == "long":
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        return int(value) if value != "" else None
    if field_type == "boolean":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "on", "yes", "是")
    return value
