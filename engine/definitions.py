"""Deploying 一件事 definitions: validate, resolve departments, version by content."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn import ParsedDefinition, parse_definition
from engine.clock import Clock
from engine.directory import WINDOW_DEPARTMENT
from engine.errors import BpmnInvalid, ElementProblem, InvalidInput, NotFound
from engine.models import Department, ProcessDefinition, User


def deploy_definition(
    session: Session,
    clock: Clock,
    xml: bytes | str,
    actor: User | None = None,
    catalog: dict[str, Any] | None = None,
    comment: str = "",
    filename: str | None = None,
) -> tuple[ProcessDefinition, bool]:
    """Deploy `xml`; return the definition and whether a new version was created.

    Deploying content identical to the latest version of the key returns that version.
    """
    parsed = parse_definition(xml, filename)
    try:
        text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    except UnicodeDecodeError:
        raise BpmnInvalid([ElementProblem(None, "the file is not UTF-8 text; save it as UTF-8", filename)]) from None
    task_catalog = resolve_tasks(session, parsed, filename)
    full_catalog = {**(catalog or {}), "tasks": task_catalog}
    digest = content_digest(text, catalog)
    latest = latest_definition(session, parsed.key, required=False)
    if latest is not None and latest.sha256 == digest:
        return latest, False
    definition = ProcessDefinition(
        key=parsed.key,
        version=(latest.version + 1) if latest else 1,
        name=(catalog or {}).get("name") or parsed.name,
        bpmn_xml=text,
        sha256=digest,
        catalog=full_catalog,
        deployed_at=clock.now(),
        deployed_by_id=actor.id if actor else None,
        comment=comment,
    )
    session.add(definition)
    session.flush()
    return definition, True


def content_digest(text: str, catalog: dict[str, Any] | None) -> str:
    h = hashlib.sha256(text.encode("utf-8"))
    if catalog:
        h.update(json.dumps(catalog, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


def resolve_tasks(session: Session, parsed: ParsedDefinition, filename: str | None) -> dict[str, dict[str, Any]]:
    """Map every user task to a department code; unknown lanes fail the deploy, naming the task."""
    departments = list(session.scalars(select(Department)))
    by_name = {d.name: d.code for d in departments} | {d.code: d.code for d in departments}
    problems: list[ElementProblem] = []
    resolved: dict[str, dict[str, Any]] = {}
    for meta in parsed.tasks.values():
        if meta.applicant_lane:
            code = WINDOW_DEPARTMENT
        elif meta.department is None:
            problems.append(ElementProblem(meta.element_id, f"user task '{meta.name}' is in no lane and has no department property", filename))
            continue
        else:
            code = by_name.get(meta.department.strip())
            if code is None:
                problems.append(ElementProblem(
                    meta.element_id,
                    f"user task '{meta.name}': lane or department '{meta.department}' matches no department "
                    "(use a department's name or code)",
                    filename,
                ))
                continue
        resolved[meta.element_id] = {
            "name": meta.name,
            "department": code,
            "kind": str(meta.kind),
            "time_limit_days": meta.time_limit_days,
            "item_name": meta.item_name,
            "legal_basis": meta.legal_basis,
        }
    if problems:
        raise BpmnInvalid(problems)
    return resolved


def latest_definition(session: Session, key: str, required: bool = True) -> ProcessDefinition | None:
    definition = session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc()).limit(1)
    )
    if definition is None and required:
        raise InvalidInput(f"unknown definition '{key}'")
    return definition


def definition_version(session: Session, key: str, version: int) -> ProcessDefinition:
    definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == version))
    if definition is None:
        raise NotFound(f"definition '{key}' has no version {version}")
    return definition


def list_latest_definitions(session: Session) -> list[ProcessDefinition]:
    newest = (
        select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
        .group_by(ProcessDefinition.key)
        .subquery()
    )
    return list(session.scalars(
        select(ProcessDefinition)
        .join(newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.version))
        .order_by(ProcessDefinition.key)
    ))
