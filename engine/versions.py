"""Definition versions as analysts see them: validate before deploy, deploy a new version, list
the versions of a 一件事, and the difference between two versions, element by element.

Deploying from the designer keeps the 一件事's catalog data (承诺时限, 法定时限, description) of the
version it replaces; the process's own `promisedDays` / `statutoryDays` properties override it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn import ParsedDefinition, parse_definition, parse_xml_safely
from engine.clock import Clock
from engine.directory import WINDOW_DEPARTMENT
from engine.definitions import resolve_tasks, definition_version, deploy_definition, latest_definition
from engine.errors import BpmnInvalid, ElementProblem, InvalidInput, NotFound
from engine.lint import FLOW_NODES, limit_problems
from engine.modeler_compat import TIMER_TAGS, bpmn, camunda, local, properties_of
from engine.models import Case, ProcessDefinition, User
from engine.types import MAX_ROW_ID
from engine.vocab import CaseStatus, TaskKind

CATALOG_PROPERTIES = (("promisedDays", "promised_days"), ("statutoryDays", "statutory_days"))


@dataclass
class Validation:
    key: str | None
    errors: list[ElementProblem] = field(default_factory=list)
    warnings: list[ElementProblem] = field(default_factory=list)
    parsed: ParsedDefinition | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "valid": self.valid, "errors": [e.to_dict() for e in self.errors],
                "warnings": [w.to_dict() for w in self.warnings]}


def validate_definition(session: Session, xml: bytes | str, filename: str | None = None) -> Validation:
    """Everything a deploy would check, plus the domain lint; nothing is written."""
    if isinstance(xml, bytes):
        try:
            xml.decode("utf-8")
        except UnicodeDecodeError:
            return Validation(None, [ElementProblem(None, "the file is not UTF-8 text; save it as UTF-8", filename)])
    try:
        parsed = parse_definition(xml, filename)
    except BpmnInvalid as err:
        return Validation(None, list(err.problems), list(err.warnings))
    result = Validation(parsed.key, warnings=list(parsed.warnings), parsed=parsed)
    try:
        resolved = resolve_tasks(session, parsed, filename)
    except BpmnInvalid as err:
        result.errors.extend(err.problems)
        resolved = {}
    for element_id, task in resolved.items():
        if task["department"] == WINDOW_DEPARTMENT and task["kind"] == TaskKind.REVIEW:
            result.warnings.append(ElementProblem(element_id, (
                f"'{task['name']}' is the window's task but, with no task kind set, the engine takes it for a review "
                "(approve / refuse / return): set its task kind (delivery, notice, window …)"), filename, level="warning"))
    catalog = catalog_for(session, parsed, result, filename)
    findings = limit_problems(parsed, catalog.get("promised_days"), filename)
    result.errors.extend(findings.errors)
    result.warnings.extend(findings.warnings)
    return result


def catalog_for(session: Session, parsed: ParsedDefinition, result: Validation | None = None,
                filename: str | None = None) -> dict[str, Any]:
    """The catalog a new version of `parsed.key` gets: the latest version's, with the process's overrides."""
    latest = latest_definition(session, parsed.key, required=False)
    catalog = {k: v for k, v in (latest.catalog if latest else {}).items() if k != "tasks"}
    for prop, key in CATALOG_PROPERTIES:
        raw = (parsed.properties.get(prop) or "").strip()
        if not raw:
            continue
        if raw.isdigit() and int(raw) > 0:
            catalog[key] = int(raw)
        elif result is not None:
            result.errors.append(ElementProblem(parsed.key, f"{prop} must be a positive whole number of working days, not '{raw}'", filename))
    if parsed.name and parsed.name != parsed.key:
        catalog["name"] = parsed.name
    promised, statutory = catalog.get("promised_days"), catalog.get("statutory_days")
    if result is not None and promised and statutory and promised > statutory:
        result.warnings.append(ElementProblem(parsed.key, (
            f"the promised limit ({promised} working days, 承诺时限) is longer than the statutory one ({statutory}, 法定时限)"),
            filename, level="warning"))
    return catalog


def deploy_version(
    session: Session, clock: Clock, xml: bytes | str, actor: User | None, comment: str = "", filename: str | None = None,
) -> tuple[ProcessDefinition, bool, list[ElementProblem]]:
    """Validate, then deploy as a new version (unless identical to the latest); return the warnings too."""
    validation = validate_definition(session, xml, filename)
    if not validation.valid:
        raise BpmnInvalid(validation.errors, validation.warnings)
    assert validation.parsed is not None
    catalog = catalog_for(session, validation.parsed)
    definition, created = deploy_definition(session, clock, xml, actor, catalog=catalog, comment=comment.strip()[:2000],
                                            filename=filename)
    return definition, created, validation.warnings


# --- listing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    definition: ProcessDefinition
    author: str | None
    open_cases: int

    def to_dict(self) -> dict[str, Any]:
        d = self.definition
        return {"key": d.key, "version": d.version, "name": d.name, "deployed_at": d.deployed_at.isoformat(),
                "author": self.author, "comment": d.comment, "sha256": d.sha256, "open_cases": self.open_cases}


def versions_of(session: Session, key: str) -> list[VersionInfo]:
    """Every version of `key`, newest first, with who deployed it and how many cases are still open on it."""
    definitions = list(session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc())))
    if not definitions:
        raise NotFound(f"unknown definition '{key}'")
    authors = {u.id: u.display_name or u.username for u in session.scalars(
        select(User).where(User.id.in_({d.deployed_by_id for d in definitions if d.deployed_by_id})))}
    counts = dict(session.execute(
        select(Case.definition_id, func.count()).where(
            Case.definition_id.in_([d.id for d in definitions]), Case.status == CaseStatus.IN_PROGRESS)
        .group_by(Case.definition_id)).all())
    return [VersionInfo(d, authors.get(d.deployed_by_id) if d.deployed_by_id else None, counts.get(d.id, 0))
            for d in definitions]


def version_or_latest(session: Session, key: str, version: int | None) -> ProcessDefinition:
    if version is None:
        definition = latest_definition(session, key, required=False)
        if definition is None:
            raise NotFound(f"unknown definition '{key}'")
        return definition
    return definition_version(session, key, version)


# --- diff ----------------------------------------------------------------------------------------

# Fields compared per element, in the order they are shown.
FIELDS = ("type", "name", "department", "time_limit_days", "kind", "item_name", "legal_basis", "form",
          "source", "target", "condition", "default", "timer", "working_days", "attached_to")


def describe(definition: ProcessDefinition) -> dict[str, dict[str, Any]]:
    """The elements of a version as the analyst drew them, with the engine's reading of each user task."""
    root = parse_xml_safely(definition.bpmn_xml, f"{definition.key} v{definition.version}")
    tasks = definition.catalog.get("tasks", {})
    elements: dict[str, dict[str, Any]] = {}
    defaults = {el.get("default") for el in root.iter() if isinstance(el.tag, str) and el.get("default")}
    for process in root.findall(bpmn("process")):
        for el in process.iter():
            kind = local(el)
            element_id = el.get("id")
            if not element_id or (kind not in FLOW_NODES and kind != "sequenceFlow"):
                continue
            entry: dict[str, Any] = {"type": _type_of(el), "name": (el.get("name") or "").strip()}
            if kind == "sequenceFlow":
                entry.update(source=el.get("sourceRef"), target=el.get("targetRef"),
                             condition=(el.findtext(bpmn("conditionExpression")) or "").strip() or None,
                             default=element_id in defaults)
            if kind == "userTask":
                meta = tasks.get(element_id, {})
                entry.update(department=meta.get("department"), time_limit_days=meta.get("time_limit_days"),
                             kind=meta.get("kind"), item_name=meta.get("item_name"), legal_basis=meta.get("legal_basis"),
                             form=_form_of(el))
            timer = el.find(bpmn("timerEventDefinition"))
            if timer is not None:
                entry["timer"] = next(((timer.findtext(bpmn(t)) or "").strip() for t in TIMER_TAGS
                                       if (timer.findtext(bpmn(t)) or "").strip()), None)
                entry["working_days"] = properties_of(el).get("workingDays")
            if el.get("attachedToRef"):
                entry["attached_to"] = el.get("attachedToRef")
            elements[element_id] = entry
    return elements


def _type_of(el: etree._Element) -> str:
    kind = local(el)
    definition = next((local(c) for c in el if local(c).endswith("EventDefinition")), None)
    return f"{kind}:{definition.removesuffix('EventDefinition')}" if definition else kind


def _form_of(el: etree._Element) -> list[str]:
    fields = el.findall(f"{bpmn('extensionElements')}/{camunda('formData')}/{camunda('formField')}")
    return [f"{f.get('id')}:{f.get('type') or 'string'}={f.get('defaultValue') or ''}"
            + (f" ({f.get('label')})" if f.get("label") else "") for f in fields]


def diff_versions(session: Session, key: str, from_version: int, to_version: int) -> dict[str, Any]:
    """Elements added, removed and changed (field by field) from one version to another."""
    old = definition_version(session, key, from_version)
    new = definition_version(session, key, to_version)
    return diff_definitions(old, new)


def diff_definitions(old: ProcessDefinition, new: ProcessDefinition) -> dict[str, Any]:
    before, after = describe(old), describe(new)
    added = [{"element_id": i, **_summary(after[i])} for i in after if i not in before]
    removed = [{"element_id": i, **_summary(before[i])} for i in before if i not in after]
    changed = []
    for element_id in (i for i in after if i in before):
        changes = [{"field": f, "from": before[element_id].get(f), "to": after[element_id].get(f)}
                   for f in FIELDS if before[element_id].get(f) != after[element_id].get(f)]
        if changes:
            changed.append({"element_id": element_id, **_summary(after[element_id]), "changes": changes})
    catalog = [{"field": k, "from": old.catalog.get(k), "to": new.catalog.get(k)}
               for k in sorted((set(old.catalog) | set(new.catalog)) - {"tasks"})
               if old.catalog.get(k) != new.catalog.get(k)]
    return {"key": new.key, "from": old.version, "to": new.version, "added": added, "removed": removed,
            "changed": changed, "catalog": catalog}


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    return {"type": entry["type"], "name": entry["name"]}


def require_versions(from_version: Any, to_version: Any) -> tuple[int, int]:
    """Parse the two version numbers of a diff or migration request."""
    try:
        a, b = int(from_version), int(to_version)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput("from and to must be version numbers") from None
    if a < 1 or b < 1:
        raise InvalidInput("versions start at 1")
    if a > MAX_ROW_ID or b > MAX_ROW_ID:
        raise InvalidInput("no definition has that many versions")
    return a, b

