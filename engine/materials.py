"""一套材料: the application's one set of files, shared by every department of the case, and the
result documents (电子证照) handed out with the results.

Files live in the database (`CaseMaterial.content`, loaded only when downloaded), each with its
SHA-256, so the case file (一事一档) is complete in one backup. A file is accepted by extension
*and* by its first bytes: a renamed executable or web page never becomes a "PDF" others open.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from engine import history
from engine.clock import Clock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import Case, CaseMaterial, Commitment, MissingMaterial, Task, User
from engine.permissions import may_view_case, require
from engine.vocab import CaseStatus, Role, TaskKind

MAX_SIZE = 10 * 1024 * 1024
MAX_NAME = 200


class MaterialKind(StrEnum):
    APPLICATION = "application"
    """Part of the application's one set of materials (一套材料), seen by every department of the case."""
    RESULT = "result"
    """A result document (电子证照, licence or decision) attached once the reviews are done."""


# Extension → the content type it is served with. Never the client's claim.
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "ofd": "application/ofd",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_PDF, _PNG, _JPEG = b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# OFD, DOCX and XLSX are ZIP containers; DOC and XLS are OLE2 compound files.
MAGIC = {"pdf": _PDF, "png": _PNG, "jpg": _JPEG, "jpeg": _JPEG, "ofd": _ZIP, "docx": _ZIP, "xlsx": _ZIP,
         "doc": _OLE, "xls": _OLE}
# Types a browser may show in place; the rest are always downloaded.
INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f\"<>|:*?]")


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    extension: str
    content_type: str
    content: bytes
    sha256: str


def checked_file(filename: str | None, content: bytes) -> CheckedFile:
    """The upload as it will be stored, or `InvalidInput` saying which rule it breaks."""
    name = clean_filename(filename)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in CONTENT_TYPES:
        raise InvalidInput(f"'{name}': only {', '.join(sorted(CONTENT_TYPES))} files are accepted")
    if not content:
        raise InvalidInput(f"'{name}' is empty")
    if len(content) > MAX_SIZE:
        raise InvalidInput(f"'{name}' is larger than {MAX_SIZE // (1024 * 1024)} MiB")
    if not content.startswith(MAGIC[extension]):
        raise InvalidInput(f"'{name}' is not a {extension} file: its content does not match its name")
    return CheckedFile(name, extension, CONTENT_TYPES[extension], content, hashlib.sha256(content).hexdigest())


def clean_filename(filename: str | None) -> str:
    """The last path component, without control or shell-special characters, at most 255 characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = _UNSAFE_CHARS.sub("", base).strip().lstrip(".")
    if not base:
        raise InvalidInput("a file name is required")
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = stem[: 254 - len(ext)] + dot + ext if dot else base[:255]
    return base


def may_handle_materials(user: User) -> bool:
    return user.has_role(Role.WINDOW, Role.ADMIN)


def may_read_materials(session: Session, user: User, case: Case) -> bool:
    """The applicant's files (ID cards, licences): who may view the case, except analysts — they see
    where open cases stand in their flow (migration), never the applicant's papers."""
    if user.has_role(Role.WINDOW, Role.SUPERVISOR, Role.ADMIN):
        return may_view_case(session, user, case)
    return user.department_id is not None and bool(session.scalar(
        select(Task.id).where(Task.case_id == case.id, Task.department_id == user.department_id).limit(1)))


def reviews_are_done(session: Session, case: Case) -> bool:
    """Every department's result is in: the flow has reached its delivery or decision notice (or ended)."""
    if case.status != CaseStatus.IN_PROGRESS:
        return True
    return bool(session.scalar(select(Task.id).where(
        Task.case_id == case.id, Task.kind.in_((TaskKind.DELIVERY, TaskKind.NOTICE))).limit(1)))


def add_material(
    session: Session, clock: Clock, actor: User, case_id: int, filename: str | None, content: bytes,
    name: str | None = None, kind: str = MaterialKind.APPLICATION, supplies: int | None = None,
) -> CaseMaterial:
    """Store one file of the case; with `supplies`, it is the 容缺 material the applicant promised.

    Application materials are taken while the case is open; result documents once the reviews are done.
    """
    require(may_handle_materials(actor), "only window clerks upload materials")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if kind not in MaterialKind.__members__.values():
        raise InvalidInput(f"kind must be one of {', '.join(MaterialKind)}")
    upload = checked_file(filename, content)
    label = _label(name, upload.filename)
    missing = _missing_to_supply(session, case, supplies, kind)
    if kind == MaterialKind.APPLICATION and case.status != CaseStatus.IN_PROGRESS:
        raise Conflict("the case is concluded: application materials can no longer be added")
    if kind == MaterialKind.RESULT and not reviews_are_done(session, case):
        raise Conflict("result documents are attached once every department's result is in")
    now = clock.now()
    material = CaseMaterial(case_id=case.id, kind=kind, name=label, filename=upload.filename,
                            content_type=upload.content_type, size=len(upload.content), sha256=upload.sha256,
                            content=upload.content, uploaded_at=now, uploaded_by_id=actor.id)
    session.add(material)
    session.flush()
    history.record(session, case, "material_uploaded", now, actor, material_id=material.id, kind=kind, name=label,
                   filename=upload.filename, size=material.size, sha256=upload.sha256)
    if missing is not None:
        missing.supplied_at, missing.material_id = now, material.id
        history.record(session, case, "missing_material_supplied", now, actor, name=missing.name,
                       missing_id=missing.id, material_id=material.id)
    return material


def _label(name: str | None, filename: str) -> str:
    label = (name or "").strip() or filename.rsplit(".", 1)[0]
    if len(label) > MAX_NAME:
        raise InvalidInput(f"a material's name is at most {MAX_NAME} characters")
    return label


def _missing_to_supply(session: Session, case: Case, supplies: int | None, kind: str) -> MissingMaterial | None:
    if supplies is None:
        return None
    if kind != MaterialKind.APPLICATION:
        raise InvalidInput("only an application material can supply a missing one")
    missing = session.get(MissingMaterial, supplies, with_for_update={"of": MissingMaterial})
    if missing is None or missing.case_id != case.id:
        raise NotFound(f"case {case.number} has no missing material {supplies}")
    if missing.supplied_at is not None:
        raise Conflict(f"'{missing.name}' was already supplied")
    return missing


def get_material(session: Session, actor: User, case_id: int, material_id: int) -> CaseMaterial:
    """One file with its content, for whoever may view the case."""
    case = session.get(Case, case_id)
    material = session.scalar(select(CaseMaterial).options(undefer(CaseMaterial.content))
                              .where(CaseMaterial.id == material_id, CaseMaterial.case_id == case_id))
    if case is None or material is None:
        raise NotFound(f"no material {material_id} in case {case_id}")
    require(may_read_materials(session, actor, case), "you may not read this case's materials")
    return material


def materials_of(session: Session, case: Case, kind: str | None = None) -> list[CaseMaterial]:
    query = select(CaseMaterial).where(CaseMaterial.case_id == case.id)
    if kind is not None:
        query = query.where(CaseMaterial.kind == kind)
    return list(session.scalars(query.order_by(CaseMaterial.id)))


def missing_of(session: Session, case: Case, open_only: bool = False) -> list[MissingMaterial]:
    query = select(MissingMaterial).where(MissingMaterial.case_id == case.id)
    if open_only:
        query = query.where(MissingMaterial.supplied_at.is_(None))
    return list(session.scalars(query.order_by(MissingMaterial.id)))


def commitments_of(session: Session, case: Case) -> list[Commitment]:
    return list(session.scalars(select(Commitment).where(Commitment.case_id == case.id).order_by(Commitment.id)))


@dataclass(frozen=True)
class CaseDocuments:
    """What the case page shows of the application's paper: files, results, 容缺 items, 告知承诺."""

    materials: list[CaseMaterial]
    results: list[CaseMaterial]
    missing: list[MissingMaterial]
    commitments: list[Commitment]
    results_allowed: bool

    @property
    def open_missing(self) -> list[MissingMaterial]:
        return [m for m in self.missing if m.supplied_at is None]


def documents_of(session: Session, case: Case) -> CaseDocuments:
    every = materials_of(session, case)
    return CaseDocuments(
        materials=[m for m in every if m.kind == MaterialKind.APPLICATION],
        results=[m for m in every if m.kind == MaterialKind.RESULT],
        missing=missing_of(session, case), commitments=commitments_of(session, case),
        results_allowed=reviews_are_done(session, case),
    )
