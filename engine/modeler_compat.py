"""What real modelers save, made runnable before SpiffWorkflow parses it.

Camunda Modeler and plain bpmn-js write things SpiffWorkflow refuses or misreads. Each rewrite
below changes only the parsed tree, never the stored XML, so the diagram an analyst drew is the
one every case shows:

- `isExecutable="false"` (bpmn-js's default for a new diagram): treated as executable, with a
  warning naming the process.
- `${...}` / `#{...}` conditions and timer expressions: the simple forms become Python
  (`engine.expressions`); anything else is an error on the flow or event.
- A flow leaving a gateway with only a label: the label is the condition when it reads as one.
- `camunda:candidateGroups` on a user task in no lane: the task's department.
- A timer with only the `workingDays` property gets the matching duration (the parser wants one).
- A task or event with several outgoing flows and no gateway: BPMN runs them all in parallel
  (an "uncontrolled" split); SpiffWorkflow refuses it, so a parallel gateway is inserted right
  after the element and recorded in `origin`, so problems found later name the element drawn.
  Several flows of which some carry conditions (BPMN's conditional flows) are refused instead:
  an exclusive gateway says the same thing unambiguously.

Flows drawn straight back into a task (the 补正 loop) need no rewrite: SpiffWorkflow treats
several incoming flows on a task as an exclusive merge.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from engine.errors import ElementProblem
from engine.expressions import NotConvertible, condition_from_label, el_to_python, is_el

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"})
CONDITIONAL_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})
TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


def bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def camunda(tag: str) -> str:
    return f"{{{CAMUNDA_NS}}}{tag}"


def local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


@dataclass
class Prepared:
    problems: list[ElementProblem] = field(default_factory=list)
    warnings: list[ElementProblem] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)
    """Inserted element id → the id of the element it stands for."""

    def error(self, element_id: str | None, message: str, filename: str | None) -> None:
        self.problems.append(ElementProblem(element_id, message, filename))

    def warn(self, element_id: str | None, message: str, filename: str | None) -> None:
        self.warnings.append(ElementProblem(element_id, message, filename, level="warning"))


def prepare(root: etree._Element, filename: str | None = None) -> Prepared:
    prepared = Prepared()
    _executable(root, prepared, filename)
    for scope in _scopes(root):
        _candidate_groups(root, scope, prepared, filename)
        _conditions(scope, prepared, filename)
        _timers(scope, prepared, filename)
        _implicit_forks(root, scope, prepared, filename)
    return prepared


def properties_of(element: etree._Element) -> dict[str, str]:
    """The element's own `camunda:properties` (not its children's)."""
    out: dict[str, str] = {}
    extensions = element.find(bpmn("extensionElements"))
    if extensions is None:
        return out
    for props in extensions.findall(camunda("properties")):
        for prop in props.findall(camunda("property")):
            if prop.get("name"):
                out[prop.get("name")] = prop.get("value") or ""
    return out


def set_property(element: etree._Element, name: str, value: str) -> None:
    extensions = element.find(bpmn("extensionElements"))
    if extensions is None:
        extensions = etree.Element(bpmn("extensionElements"))
        element.insert(_after_documentation(element), extensions)
    props = extensions.find(camunda("properties"))
    if props is None:
        props = etree.SubElement(extensions, camunda("properties"))
    etree.SubElement(props, camunda("property"), name=name, value=value)


def _after_documentation(element: etree._Element) -> int:
    return sum(1 for child in element if local(child) == "documentation")


def _scopes(root: etree._Element) -> list[etree._Element]:
    """Every process and (embedded) sub-process: the containers whose children flows connect."""
    scopes = []
    for process in root.findall(bpmn("process")):
        scopes.append(process)
        scopes.extend(el for el in process.iter(bpmn("subProcess"), bpmn("transaction"), bpmn("adHocSubProcess")))
    return scopes


def _executable(root: etree._Element, prepared: Prepared, filename: str | None) -> None:
    processes = root.findall(bpmn("process"))
    if not processes or any(p.get("isExecutable") == "true" for p in processes):
        return
    for process in processes:
        process.set("isExecutable", "true")
        prepared.warn(process.get("id"), (
            f"process '{process.get('id')}' is marked isExecutable=\"false\" (bpmn-js saves new diagrams so); "
            "it is deployed as executable"), filename)


def lanes_of(root: etree._Element) -> dict[str, str]:
    """Flow node id → the name of the lane holding it."""
    out: dict[str, str] = {}
    for ref in root.iter(bpmn("flowNodeRef")):
        lane = ref.getparent()
        if ref.text and lane is not None:
            out[ref.text.strip()] = (lane.get("name") or "").strip()
    return out


def _candidate_groups(root: etree._Element, scope: etree._Element, prepared: Prepared, filename: str | None) -> None:
    lanes = lanes_of(root)
    for task in scope.findall(bpmn("userTask")):
        groups = (task.get(camunda("candidateGroups")) or "").strip()
        if not groups or lanes.get(task.get("id") or "") or "department" in properties_of(task):
            continue
        if "," in groups:
            prepared.error(task.get("id"), (
                f"camunda:candidateGroups lists several groups ('{groups}'); "
                "a task goes to exactly one department"), filename)
            continue
        set_property(task, "department", groups)


def _conditions(scope: etree._Element, prepared: Prepared, filename: str | None) -> None:
    nodes = {el.get("id"): el for el in scope if isinstance(el.tag, str)}
    for flow in scope.findall(bpmn("sequenceFlow")):
        flow_id = flow.get("id")
        condition = flow.find(bpmn("conditionExpression"))
        if condition is not None:
            language = (condition.get("language") or "").strip().lower()
            if language and language not in ("python", "juel", "el"):
                prepared.error(flow_id, (
                    f"conditions in '{condition.get('language')}' are not supported; "
                    "write a Python or ${...} expression over form data"), filename)
                continue
            if condition.get(camunda("resource")):
                prepared.error(flow_id, "conditions loaded from a resource are not supported; write the expression", filename)
                continue
            text = (condition.text or "").strip()
            if not text:
                flow.remove(condition)  # an emptied condition field: no condition at all
            elif is_el(text):
                try:
                    condition.text = el_to_python(text)
                except NotConvertible as err:
                    prepared.error(flow_id, f"the condition {text} cannot be run: {err}", filename)
            continue
        source = nodes.get(flow.get("sourceRef"))
        label = (flow.get("name") or "").strip()
        if source is None or local(source) not in CONDITIONAL_GATEWAYS or source.get("default") == flow_id or not label:
            continue
        python = condition_from_label(label)
        if python is not None:
            expression = etree.SubElement(flow, bpmn("conditionExpression"))
            expression.set(XSI_TYPE, "bpmn:tFormalExpression")
            expression.text = python
            prepared.warn(flow_id, f"flow '{flow_id}' has no condition; its label '{label}' is used as the condition", filename)


def _timers(scope: etree._Element, prepared: Prepared, filename: str | None) -> None:
    for event in scope:
        if not isinstance(event.tag, str):
            continue
        definition = event.find(bpmn("timerEventDefinition"))
        if definition is None:
            continue
        for tag in TIMER_TAGS:
            node = definition.find(bpmn(tag))
            text = (node.text or "").strip() if node is not None else ""
            if node is not None and is_el(text):
                try:
                    node.text = el_to_python(text)
                except NotConvertible as err:
                    prepared.error(event.get("id"), f"the timer expression {text} cannot be run: {err}", filename)
        has_expression = any((definition.findtext(bpmn(tag)) or "").strip() for tag in TIMER_TAGS)
        days = properties_of(event).get("workingDays", "").strip()
        if not has_expression and days.isdigit() and int(days) > 0:
            for tag in TIMER_TAGS:  # drop empty expression elements the modeler left behind
                for empty in definition.findall(bpmn(tag)):
                    definition.remove(empty)
            duration = etree.SubElement(definition, bpmn("timeDuration"))
            duration.text = f'"P{int(days)}D"'


def _implicit_forks(root: etree._Element, scope: etree._Element, prepared: Prepared, filename: str | None) -> None:
    flows = scope.findall(bpmn("sequenceFlow"))
    outgoing: dict[str, list[etree._Element]] = {}
    for flow in flows:
        outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    nodes = {el.get("id"): el for el in scope if isinstance(el.tag, str)}
    lanes = {ref.text.strip(): ref.getparent() for ref in root.iter(bpmn("flowNodeRef")) if ref.text}
    for source_id, leaving in outgoing.items():
        source = nodes.get(source_id)
        if source is None or len(leaving) < 2 or local(source) in GATEWAYS:
            continue
        if any(f.find(bpmn("conditionExpression")) is not None for f in leaving) or source.get("default"):
            prepared.error(source_id, (
                f"'{source.get('name') or source_id}' has {len(leaving)} outgoing flows, some with conditions; "
                "put an exclusive gateway after it to choose between them"), filename)
            continue
        gateway_id = _unique(f"{source_id}_fork", ids)
        link_id = _unique(f"{source_id}_to_fork", ids)
        gateway = etree.SubElement(scope, bpmn("parallelGateway"), id=gateway_id)
        etree.SubElement(gateway, bpmn("incoming")).text = link_id
        for flow in leaving:
            flow.set("sourceRef", gateway_id)
            etree.SubElement(gateway, bpmn("outgoing")).text = flow.get("id")
        for ref in source.findall(bpmn("outgoing")):
            source.remove(ref)
        etree.SubElement(source, bpmn("outgoing")).text = link_id
        etree.SubElement(scope, bpmn("sequenceFlow"), id=link_id, sourceRef=source_id, targetRef=gateway_id)
        if source_id in lanes:
            etree.SubElement(lanes[source_id], bpmn("flowNodeRef")).text = gateway_id
        prepared.origin[gateway_id] = prepared.origin[link_id] = source_id
        prepared.warn(source_id, (
            f"'{source.get('name') or source_id}' has {len(leaving)} outgoing flows and no gateway: "
            "they run in parallel, as BPMN defines (a parallel gateway is added after it)"), filename)


def _unique(wanted: str, ids: set[str]) -> str:
    candidate, n = wanted, 1
    while candidate in ids:
        n += 1
        candidate = f"{wanted}_{n}"
    ids.add(candidate)
    return candidate
