"""The domain lint: rules a flow must meet before the engine runs it, each naming the element.

Structural rules read the (prepared, see `engine.modeler_compat`) BPMN tree and run on every
parse, before SpiffWorkflow's own: element types the engine cannot run, exclusive gateways
without a condition or default on a branch, parallel splits without their join, timers without a
duration, time limits that are not positive whole numbers. Domain rules need the parsed flow and
the 一件事's promised limit (承诺时限): the departments' limits along the longest path must fit in it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from lxml import etree

from engine.errors import ElementProblem, ScriptRejected
from engine.modeler_compat import (
    CONDITIONAL_GATEWAYS, GATEWAYS, TIMER_TAGS, bpmn, local, properties_of,
)
from engine.scripting import check_source
from engine.vocab import TaskKind

if TYPE_CHECKING:
    from engine.bpmn import ParsedDefinition

KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,119}$")
FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "task", "userTask",
    "scriptTask", "manualTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask", "subProcess",
    "transaction", "adHocSubProcess", "callActivity",
}) | GATEWAYS
# Element types the engine cannot run, and why (the message is shown to the analyst).
UNSUPPORTED = {
    "complexGateway": "complex gateways are not supported; use exclusive, parallel or inclusive gateways",
    "manualTask": "manual tasks are not supported; make it a user task with a department",
    "serviceTask": "service tasks are not supported: nothing would perform them; use a user task or a script task",
    "sendTask": "send tasks are not supported: the engine exchanges no messages",
    "receiveTask": "receive tasks are not supported: no message would ever arrive",
    "businessRuleTask": "business rule (DMN) tasks are not supported; use an exclusive gateway with conditions",
    "transaction": "transaction sub-processes (with compensation) are not supported; use a plain sub-process",
    "adHocSubProcess": "ad-hoc sub-processes are not supported",
}
EVENT_DEFINITIONS = {
    "compensateEventDefinition": "compensation is not supported",
    "linkEventDefinition": "link events are not supported; draw the flow directly",
    "conditionalEventDefinition": "conditional events are not supported; use an exclusive gateway",
    "cancelEventDefinition": "cancel events (transactions) are not supported",
}
CATCH_ONLY_UNSUPPORTED = {
    "messageEventDefinition": "message events that wait for a message are not supported: no message would arrive",
    "signalEventDefinition": "signal events that wait for a signal are not supported: nothing would send it",
}
TIMER = "timerEventDefinition"


@dataclass
class Findings:
    errors: list[ElementProblem] = field(default_factory=list)
    warnings: list[ElementProblem] = field(default_factory=list)

    def error(self, element_id: str | None, message: str, filename: str | None) -> None:
        self.errors.append(ElementProblem(element_id, message, filename))

    def warn(self, element_id: str | None, message: str, filename: str | None) -> None:
        self.warnings.append(ElementProblem(element_id, message, filename, level="warning"))


@dataclass
class Node:
    id: str
    kind: str
    name: str
    element: etree._Element
    outgoing: list[str] = field(default_factory=list)   # flow ids
    incoming: list[str] = field(default_factory=list)


@dataclass
class Graph:
    """One process or sub-process: its flow nodes and the sequence flows between them."""

    scope: etree._Element
    nodes: dict[str, Node]
    flows: dict[str, etree._Element]


def structural_problems(root: etree._Element, origin: dict[str, str], filename: str | None = None) -> Findings:
    found = Findings()
    processes = root.findall(bpmn("process"))
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    for process in executable:
        key = process.get("id") or ""
        if not KEY_RE.match(key):
            found.error(key or None, (
                f"the process id '{key}' is the flow's key: use ASCII letters, digits and '_' "
                "(starting with a letter), e.g. wangba or dianli_guohu"), filename)
    for process in executable:
        for scope, graph in _graphs(process):
            _unsupported(graph, found, filename)
            _start_events(graph, scope is process, found, filename)
            _dangling_flows(graph, found, filename)
            _gateway_conditions(graph, found, filename)
            _timers(graph, found, filename)
            _task_properties(graph, found, filename)
            _parallel_joins(graph, origin, found, filename)
    return found


def _graphs(process: etree._Element) -> Iterable[tuple[etree._Element, Graph]]:
    scopes = [process, *process.iter(bpmn("subProcess"), bpmn("transaction"), bpmn("adHocSubProcess"))]
    for scope in scopes:
        nodes: dict[str, Node] = {}
        flows: dict[str, etree._Element] = {}
        for el in scope:
            kind = local(el)
            if kind in FLOW_NODES and el.get("id"):
                nodes[el.get("id")] = Node(el.get("id"), kind, (el.get("name") or "").strip(), el)
            elif kind == "sequenceFlow" and el.get("id"):
                flows[el.get("id")] = el
        for flow_id, flow in flows.items():
            if flow.get("sourceRef") in nodes:
                nodes[flow.get("sourceRef")].outgoing.append(flow_id)
            if flow.get("targetRef") in nodes:
                nodes[flow.get("targetRef")].incoming.append(flow_id)
        yield scope, Graph(scope, nodes, flows)


def _label(node: Node) -> str:
    return f"'{node.name}'" if node.name else node.id


def _unsupported(graph: Graph, found: Findings, filename: str | None) -> None:
    for node in graph.nodes.values():
        if node.kind in UNSUPPORTED:
            found.error(node.id, f"{_label(node)}: {UNSUPPORTED[node.kind]}", filename)
        if node.element.get("isForCompensation") == "true":
            found.error(node.id, f"{_label(node)}: compensation is not supported", filename)
        if node.kind == "task":
            found.warn(node.id, (
                f"{_label(node)} is a plain task: it completes at once without anyone acting. "
                "Make it a user task (wrench menu → User task) if a department must act on it"), filename)
        definitions = [child for child in node.element if local(child).endswith("EventDefinition")]
        if len(definitions) > 1:
            found.error(node.id, f"{_label(node)} has several event definitions; the engine runs one per event", filename)
        for definition in definitions:
            kind = local(definition)
            catching = node.kind in ("startEvent", "intermediateCatchEvent", "boundaryEvent")
            if kind in EVENT_DEFINITIONS:
                found.error(node.id, f"{_label(node)}: {EVENT_DEFINITIONS[kind]}", filename)
            elif catching and kind in CATCH_ONLY_UNSUPPORTED:
                found.error(node.id, f"{_label(node)}: {CATCH_ONLY_UNSUPPORTED[kind]}", filename)


def _start_events(graph: Graph, top_level: bool, found: Findings, filename: str | None) -> None:
    starts = [n for n in graph.nodes.values() if n.kind == "startEvent"]
    where = "the flow" if top_level else f"sub-process {graph.scope.get('id')}"
    if len(starts) != 1:
        element = graph.scope.get("id") if not starts else starts[1].id
        found.error(element, f"{where} needs exactly one start event, not {len(starts)}", filename)
        return
    if top_level and any(local(c).endswith("EventDefinition") for c in starts[0].element):
        found.error(starts[0].id, (
            "the start event must be a plain start event: a case starts when the window accepts the application"),
            filename)


def _dangling_flows(graph: Graph, found: Findings, filename: str | None) -> None:
    for flow_id, flow in graph.flows.items():
        for end in ("sourceRef", "targetRef"):
            if flow.get(end) not in graph.nodes:
                found.error(flow_id, f"sequence flow {flow_id} is not connected at its {end[:-3]} "
                                     f"('{flow.get(end) or ''}' is no element here); reconnect or delete it", filename)


def _gateway_conditions(graph: Graph, found: Findings, filename: str | None) -> None:
    for node in graph.nodes.values():
        leaving = node.outgoing
        if node.kind == "parallelGateway":
            for flow_id in leaving:
                if graph.flows[flow_id].find(bpmn("conditionExpression")) is not None:
                    found.warn(flow_id, f"the condition on flow {flow_id} is ignored: every branch of a parallel gateway runs", filename)
            continue
        if node.kind not in CONDITIONAL_GATEWAYS:
            continue
        default = node.element.get("default")
        if default and default not in leaving:
            found.error(node.id, f"gateway {_label(node)}'s default flow '{default}' does not leave it; choose one of its outgoing flows", filename)
        if len(leaving) < 2:
            continue
        for flow_id in leaving:
            flow = graph.flows[flow_id]
            condition = flow.find(bpmn("conditionExpression"))
            if flow_id == default:
                continue
            if condition is None:
                label = (flow.get("name") or "").strip()
                said = f" its label '{label}' is not an expression the engine can evaluate;" if label else ""
                found.error(flow_id, (
                    f"flow {flow_id} leaving gateway {_label(node)} has no condition;{said} write a condition "
                    "such as outcome == \"return\", or make it the gateway's default flow"), filename)
                continue
            try:
                check_source((condition.text or "").strip(), "eval")
            except ScriptRejected as err:
                found.error(flow_id, f"the condition on flow {flow_id} cannot be run: {err}", filename)
        if not default:
            found.warn(node.id, (
                f"gateway {_label(node)} has no default flow: when no condition holds, the case stops with an error"),
                filename)


def _timers(graph: Graph, found: Findings, filename: str | None) -> None:
    for node in graph.nodes.values():
        definition = node.element.find(bpmn(TIMER))
        if definition is None:
            continue
        days = properties_of(node.element).get("workingDays")
        if days is not None and not _positive_int(days):
            found.error(node.id, f"timer {_label(node)}: workingDays must be a positive whole number of working days, not '{days}'", filename)
        expressions = [(definition.findtext(bpmn(tag)) or "").strip() for tag in TIMER_TAGS]
        if not any(expressions):
            found.error(node.id, f"timer {_label(node)} has no duration: set its working days or a duration such as P5D", filename)
            continue
        for text in filter(None, expressions):
            try:
                check_source(text, "eval")
            except ScriptRejected as err:
                found.error(node.id, f"timer {_label(node)}: the expression '{text}' cannot be run: {err}", filename)


def _task_properties(graph: Graph, found: Findings, filename: str | None) -> None:
    for node in graph.nodes.values():
        if node.kind != "userTask":
            continue
        props = properties_of(node.element)
        limit = props.get("timeLimitDays")
        if limit not in (None, "") and not _positive_int(limit):
            found.error(node.id, f"{_label(node)}: timeLimitDays must be a positive whole number of working days, not '{limit}'", filename)
        kind = props.get("taskKind")
        if kind and kind not in TaskKind.__members__.values():
            found.error(node.id, f"{_label(node)}: unknown taskKind '{kind}'; use one of {', '.join(TaskKind)}", filename)


def _positive_int(raw: str) -> bool:
    raw = raw.strip()
    return raw.isdigit() and int(raw) > 0


def back_edges(graph: Graph) -> set[str]:
    """Flows that close a loop (found by depth-first search from the start events)."""
    starts = [n.id for n in graph.nodes.values() if n.kind == "startEvent"] or list(graph.nodes)[:1]
    state: dict[str, int] = {}
    back: set[str] = set()
    for start in starts:
        if start in state:
            continue
        stack: list[tuple[str, Iterable[str]]] = [(start, iter(graph.nodes[start].outgoing))]
        state[start] = 1
        while stack:
            node_id, flows = stack[-1]
            for flow_id in flows:
                target = graph.flows[flow_id].get("targetRef") or ""
                if target not in graph.nodes:
                    continue
                if state.get(target) == 1:
                    back.add(flow_id)
                elif target not in state:
                    state[target] = 1
                    stack.append((target, iter(graph.nodes[target].outgoing)))
                    break
            else:
                state[node_id] = 2
                stack.pop()
    return back


def _parallel_joins(graph: Graph, origin: dict[str, str], found: Findings, filename: str | None) -> None:
    """Each parallel split's branches must meet first in a parallel gateway (its join)."""
    back = back_edges(graph)
    forward = {n: [graph.flows[f].get("targetRef") or "" for f in graph.nodes[n].outgoing if f not in back]
               for n in graph.nodes}
    reach_cache: dict[str, frozenset[str]] = {}

    def reach(start: str) -> frozenset[str]:
        if start not in reach_cache:
            seen, todo = {start}, [start]
            while todo:
                for nxt in forward.get(todo.pop(), ()):
                    if nxt in graph.nodes and nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            reach_cache[start] = frozenset(seen)
        return reach_cache[start]

    for node in graph.nodes.values():
        branches = [t for t in forward[node.id] if t in graph.nodes]
        if node.kind != "parallelGateway" or len(branches) < 2:
            continue
        shown = origin.get(node.id, node.id)
        label = _label(graph.nodes[shown]) if shown in graph.nodes else shown
        common = frozenset.intersection(*(reach(b) for b in branches))
        if not common:
            found.error(shown, (
                f"parallel split {label} has no matching join: its {len(branches)} branches never meet again. "
                "Join them with a parallel gateway before the flow goes on"), filename)
            continue
        first = [c for c in common if not any(c != o and c in reach(o) for o in common)]
        meet = graph.nodes[first[0]] if len(first) == 1 else None
        if meet is not None and meet.kind == "parallelGateway":
            continue
        where = _label(meet) if meet is not None else " / ".join(sorted(first))
        found.error(shown, (
            f"the branches of parallel split {label} meet at {where}, which is not a parallel gateway: "
            "it would run once per branch. Join the branches with a parallel gateway"), filename)


# --- domain rules (need the parsed flow) ------------------------------------------------------


def limit_problems(parsed: ParsedDefinition, promised_days: int | None, filename: str | None = None) -> Findings:
    """Department time limits against the promised limit; department tasks without a limit."""
    found = Findings()
    for meta in parsed.tasks.values():
        if meta.kind == TaskKind.REVIEW and meta.time_limit_days is None:
            found.warn(meta.element_id, (
                f"'{meta.name}' has no time limit (timeLimitDays): this department step gets no clock"), filename)
    if not promised_days:
        return found
    days, path = critical_path(parsed)
    for meta in parsed.tasks.values():
        if meta.time_limit_days and meta.time_limit_days > promised_days:
            found.error(meta.element_id, (
                f"'{meta.name}' has a time limit of {meta.time_limit_days} working days, more than the "
                f"一件事's promised {promised_days} (承诺时限)"), filename)
    if days > promised_days and not found.errors:
        steps = " → ".join(f"{parsed.tasks[e].name} {parsed.tasks[e].time_limit_days}" for e in path)
        longest = max(path, key=lambda e: parsed.tasks[e].time_limit_days or 0)
        found.error(longest, (
            f"the longest path takes {days} working days ({steps}), more than the 一件事's promised "
            f"{promised_days} (承诺时限); shorten the steps on it"), filename)
    return found


def critical_path(parsed: ParsedDefinition) -> tuple[int, list[str]]:
    """The most working days any path from start to end can take (loops taken once, 补正 not counted).

    Parallel branches overlap, so the longest path is what the applicant waits at most.
    """
    spec = parsed.spec

    def weight(task_spec: Any) -> int:
        meta = parsed.tasks.get(getattr(task_spec, "bpmn_id", None) or "")
        if meta is None or meta.kind == TaskKind.SUPPLEMENT:
            return 0
        return meta.time_limit_days or 0

    state: dict[str, int] = {}
    order: list[Any] = []
    back: set[tuple[str, str]] = set()
    stack: list[tuple[Any, Iterable[Any]]] = [(spec.start, iter(spec.start.outputs))]
    state[spec.start.name] = 1
    while stack:
        current, outputs = stack[-1]
        for nxt in outputs:
            if state.get(nxt.name) == 1:
                back.add((current.name, nxt.name))
            elif nxt.name not in state:
                state[nxt.name] = 1
                stack.append((nxt, iter(nxt.outputs)))
                break
        else:
            state[current.name] = 2
            order.append(current)
            stack.pop()
    best: dict[str, tuple[int, list[str]]] = {}
    for task_spec in order:  # children before parents (post-order)
        tails = [best[o.name] for o in task_spec.outputs if (task_spec.name, o.name) not in back and o.name in best]
        days, path = max(tails, key=lambda t: t[0]) if tails else (0, [])
        w = weight(task_spec)
        best[task_spec.name] = (days + w, ([task_spec.bpmn_id] if w else []) + path)
    return best.get(spec.start.name, (0, []))
