"""Loading `processes/`: departments, the 一件事 catalogue, and every BPMN file, deployed at start-up."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.definitions import content_digest, deploy_definition
from engine.directory import create_department
from engine.errors import InvalidInput
from engine.models import Department, ProcessDefinition

PROCESSES_DIR = Path(__file__).resolve().parent.parent / "processes"


@dataclass(frozen=True)
class DeployReport:
    key: str
    version: int
    created: bool


def ensure_departments(session: Session, clock: Clock, processes_dir: Path = PROCESSES_DIR) -> list[Department]:
    """Create the departments `departments.json` lists that do not exist yet."""
    wanted = json.loads((processes_dir / "departments.json").read_text(encoding="utf-8"))
    existing = set(session.scalars(select(Department.code)))
    return [create_department(session, clock, d["code"], d["name"]) for d in wanted if d["code"] not in existing]


def load_catalog(processes_dir: Path = PROCESSES_DIR) -> dict[str, dict]:
    path = processes_dir / "catalog.json"
    if not path.exists():
        return {}
    return {entry["key"]: entry for entry in json.loads(path.read_text(encoding="utf-8"))}


def deploy_processes(session: Session, clock: Clock, processes_dir: Path = PROCESSES_DIR) -> list[DeployReport]:
    """Deploy every `<process id>.bpmn`; a file whose content did not change keeps its current version."""
    catalog = load_catalog(processes_dir)
    reports = []
    for path in sorted(processes_dir.glob("*.bpmn")):
        # A file already deployed in this exact form stays put, even when analysts have deployed
        # newer versions from the designer since: start-up must not undo their work.
        digest = content_digest(path.read_text(encoding="utf-8"), catalog.get(path.stem))
        known = session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.key == path.stem, ProcessDefinition.sha256 == digest))
        if known is not None:
            reports.append(DeployReport(known.key, known.version, False))
            continue
        definition, created = deploy_definition(
            session, clock, path.read_bytes(), catalog=catalog.get(path.stem),
            comment=f"deployed from processes/{path.name}", filename=path.name,
        )
        if definition.key != path.stem:
            raise InvalidInput(f"processes/{path.name} holds process '{definition.key}'; name the file {definition.key}.bpmn")
        reports.append(DeployReport(definition.key, definition.version, created))
    return reports


def deployed_count(session: Session) -> int:
    return len(list(session.scalars(select(ProcessDefinition.id))))
