"""审管联动: when a case concludes, its approval results go to the supervising department's feed, so
the department that supervises the licensed activity knows of it without asking.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import history
from engine.errors import InvalidInput
from engine.intake import supervising_department
from engine.models import Case, Department, SupervisionFeedItem, Task, User
from engine.permissions import sees_every_department
from engine.privacy import mask_name
from engine.progress import current_reviews
from engine.vocab import CaseStatus, TaskState


def push_results(session: Session, case: Case, now: datetime) -> SupervisionFeedItem | None:
    """One feed item per concluded case for its supervising department; calling again returns that item."""
    if case.status not in (CaseStatus.COMPLETED, CaseStatus.REJECTED):
        return None
    pushed = session.scalar(select(SupervisionFeedItem).where(SupervisionFeedItem.case_id == case.id))
    if pushed is not None:
        return pushed
    try:
        department = supervising_department(session, case.definition)
    except InvalidInput:
        return None  # a flow with no reviewing department has no result to supervise
    item = SupervisionFeedItem(case_id=case.id, department_id=department.id, result=case.status,
                               summary=_summary(session, case), created_at=now)
    session.add(item)
    session.flush()
    history.record(session, case, "result_pushed", now, None, department=department.code, result=case.status)
    return item


def _summary(session: Session, case: Case) -> dict[str, Any]:
    tasks = list(session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)))
    reviews = [t for rows in current_reviews(tasks).values() for t in rows if t.state == TaskState.COMPLETED]
    return {
        "number": case.number,
        "matter": case.definition.name,
        "definition": case.definition.key,
        "applicant": mask_name(case.applicant_name),
        "accepted_at": case.accepted_at.isoformat(),
        "completed_at": case.completed_at.isoformat() if case.completed_at else None,
        "reviews": [{"department": t.department.code, "department_name": t.department.name, "item": t.name,
                     "outcome": t.outcome} for t in reviews],
    }


def feed_for(session: Session, actor: User, unread_only: bool = False, limit: int = 200) -> list[SupervisionFeedItem]:
    """The actor's department's items, newest first; oversight roles see every department's."""
    query = select(SupervisionFeedItem)
    if not sees_every_department(actor):
        if actor.department_id is None:
            return []
        query = query.where(SupervisionFeedItem.department_id == actor.department_id)
    if unread_only:
        query = query.where(SupervisionFeedItem.read_at.is_(None))
    return list(session.scalars(query.order_by(SupervisionFeedItem.id.desc()).limit(limit)))


def mark_feed_read(session: Session, actor: User, now: datetime, ids: Iterable[int] | None = None) -> None:
    """Mark the department's own items read (all, or those listed); others' items are left alone."""
    if actor.department_id is None:
        return
    stmt = update(SupervisionFeedItem).where(SupervisionFeedItem.department_id == actor.department_id,
                                             SupervisionFeedItem.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(SupervisionFeedItem.id.in_(list(ids)))
    session.execute(stmt.values(read_at=now).execution_options(synchronize_session=False))


def department_names(session: Session) -> dict[int, Department]:
    return {d.id: d for d in session.scalars(select(Department))}
