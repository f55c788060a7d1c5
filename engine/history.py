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

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from engine.models import Case, CaseEvent, Task, User

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
    """Append one event to the case's history. Events are never updated or deleted.

    The case row holds the chain's head (`Case.last_event_hash`), so every event also changes the case
    row and bumps its version: a reader that saw the version it then locked saw every event before it
    (see `engine.tasks.complete_task`)."""
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
    event_row.prev_hash = _chain_head(session, case)
    event_row.hash = event_hash(event_row)
    case.last_event_hash = event_row.hash
    session.add(event_row)
    return event_row


def _chain_head(session: Session, case: Case) -> str | None:
    """The hash to chain onto, read from the case row under its lock, so concurrent appends to one
    case line up instead of forking the chain. A case locked in this transaction holds it already:
    its row was read after the lock was granted, and each event recorded since updated it."""
    if case.id not in session.info.get(_LOCKED_KEY, ()):
        # Lock and re-read the head (the query autoflushes the caller's changes first).
        head, version = session.execute(
            select(Case.last_event_hash, Case.version).where(Case.id == case.id).with_for_update()).one()
        note_case_locked(session, case.id)
        set_committed_value(case, "last_event_hash", head)
        if not inspect(case).modified:
            # Nothing of the case was changed on what this object read earlier, so recording the event
            # may write the row as it now is; pending changes keep their version check instead.
            set_committed_value(case, "version", version)
    return case.last_event_hash


def note_case_locked(session: Session, case_id: int) -> None:
    """The caller holds the case row's lock for the rest of the transaction (`engine.runtime.lock_case`),
    and the case object was read after the lock was granted."""
    session.info.setdefault(_LOCKED_KEY, set()).add(case_id)


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
        session.info.pop(_LOCKED_KEY, None)
