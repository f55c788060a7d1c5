"""The case file (一事一档): an append-only history of who did what, when, with which opinion.

Each event carries the hash of the case's previous event and a hash of its own content, so a
changed or deleted row breaks the chain where it happened (`verify_chain`). The ORM refuses to
update or delete events at all (`_refuse_event_changes`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from engine.models import Case, CaseEvent, Task, User

_LAST_HASH_KEY = "yjs_last_event_hash"


def record(
    session: Session,
    case: Case,
    action: str,
    at: datetime,
    actor: User | None = None,
    task: Task | None = None,
    **details: Any,
) -> CaseEvent:
    """Append one event to the case's history. Events are never updated or deleted."""
    if task is not None and task.id is None:
        session.flush()
    event_row = CaseEvent(
        case_id=case.id,
        task_id=task.id if task is not None else None,
        actor_id=actor.id if actor is not None else None,
        action=action,
        at=at,
        details=json.loads(json.dumps(details, ensure_ascii=False, default=str)),
    )
    event_row.prev_hash = _last_hash(session, case.id)
    event_row.hash = event_hash(event_row)
    session.info.setdefault(_LAST_HASH_KEY, {})[case.id] = event_row.hash
    session.add(event_row)
    return event_row


def _last_hash(session: Session, case_id: int) -> str | None:
    """The hash to chain onto. Within a transaction it is remembered; the first read locks the
    case row so concurrent appends to one case line up instead of forking the chain."""
    remembered = session.info.setdefault(_LAST_HASH_KEY, {})
    if case_id in remembered:
        return remembered[case_id]
    session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
    return session.scalar(select(CaseEvent.hash).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc()).limit(1))


def event_hash(row: CaseEvent) -> str:
    content = json.dumps(
        [row.prev_hash, row.case_id, row.task_id, row.actor_id, row.action, row.at.isoformat(), row.details],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def events_of(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))


@dataclass(frozen=True)
class BrokenLink:
    case_number: str
    event_id: int
    reason: str


def verify_chain(session: Session) -> tuple[int, BrokenLink | None]:
    """Check every case's chain; return how many events were checked and the first broken link."""
    checked = 0
    for case in session.scalars(select(Case).order_by(Case.id)):
        previous: str | None = None
        for row in events_of(session, case):
            checked += 1
            if row.prev_hash != previous:
                return checked, BrokenLink(case.number, row.id, "does not follow the previous event (one was removed or reordered)")
            if row.hash != event_hash(row):
                return checked, BrokenLink(case.number, row.id, "its content was changed after it was recorded")
            previous = row.hash
    return checked, None


@event.listens_for(Session, "before_flush")
def _refuse_event_changes(session: Session, _context: Any, _instances: Any) -> None:
    for row in list(session.dirty) + list(session.deleted):
        if isinstance(row, CaseEvent) and (row in session.deleted or session.is_modified(row)):
            raise RuntimeError("the case history is append-only: events are never updated or deleted")


@event.listens_for(Session, "after_transaction_end")
def _forget_remembered_hashes(session: Session, _transaction: Any) -> None:
    # Also at the end of a savepoint: a rolled-back savepoint may have held the remembered event.
    session.info.pop(_LAST_HASH_KEY, None)
