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

from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session, SessionTransaction

from engine.models import Case, CaseEvent, Task, User

_LAST_HASH_KEY = "yjs_last_event_hash"
_LOCKED_KEY = "yjs_locked_cases"


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
    if case_id not in session.info.get(_LOCKED_KEY, ()):
        session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
    return session.scalar(last_hash_query(case_id))


def last_hash_query(case_id: Any) -> Select[tuple[str | None]]:
    """The hash of the case's latest event. Read it only while holding the case row's lock: on
    PostgreSQL a statement sees what was committed when it started, so only a read made after the
    lock was granted sees the event of the transaction that held it before."""
    return select(CaseEvent.hash).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc()).limit(1)


def note_case_locked(session: Session, case_id: int) -> None:
    """The caller holds the case row's lock for the rest of the transaction (`engine.runtime.lock_case`),
    so reading the last hash need not take it again."""
    session.info.setdefault(_LOCKED_KEY, set()).add(case_id)


def remember_last_hash(session: Session, case_id: int, last_hash: str | None) -> None:
    """The last hash, read by the caller under the case lock in one statement with what it needed anyway.

    What this transaction recorded itself stays authoritative (the read may have run without autoflush)."""
    session.info.setdefault(_LAST_HASH_KEY, {}).setdefault(case_id, last_hash)


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
def _forget_remembered_hashes(session: Session, transaction: SessionTransaction) -> None:
    # Also at the end of a savepoint: a rolled-back savepoint may have held the remembered event,
    # and it releases the row locks taken inside it. Not at the end of a flush's inner transaction
    # (nested False, with a parent): a flush keeps what it wrote, or fails the whole transaction.
    if transaction.nested or transaction.parent is None:
        session.info.pop(_LAST_HASH_KEY, None)
        session.info.pop(_LOCKED_KEY, None)
