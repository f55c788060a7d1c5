"""The case file (一事一档): an append-only history of who did what, when, with which opinion."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Case, CaseEvent, Task, User


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
    event = CaseEvent(
        case_id=case.id,
        task_id=task.id if task is not None else None,
        actor_id=actor.id if actor is not None else None,
        action=action,
        at=at,
        details=details,
    )
    session.add(event)
    return event


def events_of(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
