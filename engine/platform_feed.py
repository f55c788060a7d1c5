"""The case-event feed for the provincial platform (省级一体化平台): our case file, in the platform's
vocabulary, paged by a cursor that never skips or repeats an event.

The cursor is a case-event id: a page holds the mapped events with `after < id <= next_cursor`.
Ids are handed out at INSERT, but transactions commit in their own order, so "every id above the
cursor" is not enough: an event with a lower id can become visible after a higher one was read,
and a naive reader moves its cursor past it for ever. So a page never ends beyond the
*settled horizon* (`settled_through`): the highest id below which every id is either visible or
can never commit. A page stops short of an id that may still commit; the consumer's next call
picks it up.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.orm import Session, aliased

from engine.errors import PermissionDenied
from engine.models import Case, CaseEvent, Department, ProcessDefinition, Task, User
from engine.permissions import sees_every_department
from engine.vocab import PauseKind

MAX_LIMIT = 1000


class PlatformEventType(StrEnum):
    """The platform's event vocabulary (its codes are the Chinese words)."""

    ACCEPTED = "受理"
    """The window accepted the application. A case starts at acceptance (申请 and 受理 at once):
    the event carries the channel the application came through."""
    SUPPLEMENT_STARTED = "补正开始"
    """A department returned the application for 补正; its clocks stopped."""
    SUPPLEMENT_ENDED = "补正结束"
    """The applicant resubmitted; the clocks run again."""
    SPECIAL_PROCEDURE_STARTED = "特别程序开始"
    """A 特别程序 (hearing, testing, expert review…) started; not counted in the time limit."""
    SPECIAL_PROCEDURE_ENDED = "特别程序结束"
    """The 特别程序 ended."""
    NOT_ACCEPTED = "不予受理"
    """The window did not accept the application: the event carries the channel and the reasons."""
    CONCLUDED = "办结"
    """The case concluded: `result` is completed (准予) or rejected (不予许可)."""
    RATED = "评价"
    """The applicant's rating (好差评), 1 to 5."""


# Our case-file actions that the platform hears about; the others stay in the case file only.
FEED_ACTIONS = ("accepted", "not_accepted", "clock_paused", "clock_resumed", "case_concluded", "rated")
_PAUSES = {
    ("clock_paused", PauseKind.SUPPLEMENT): PlatformEventType.SUPPLEMENT_STARTED,
    ("clock_resumed", PauseKind.SUPPLEMENT): PlatformEventType.SUPPLEMENT_ENDED,
    ("clock_paused", PauseKind.SPECIAL_PROCEDURE): PlatformEventType.SPECIAL_PROCEDURE_STARTED,
    ("clock_resumed", PauseKind.SPECIAL_PROCEDURE): PlatformEventType.SPECIAL_PROCEDURE_ENDED,
}


@dataclass(frozen=True)
class PlatformEvent:
    id: int
    type: PlatformEventType
    case_id: int
    case_number: str
    definition: str
    at: datetime
    department: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class FeedPage:
    events: list[PlatformEvent]
    next_cursor: int


def may_read_platform_feed(user: User) -> bool:
    return sees_every_department(user)


def platform_events(session: Session, actor: User, after: int, limit: int) -> FeedPage:
    """The platform's events after the cursor `after`, at most `limit`, and the cursor to ask with next."""
    if not may_read_platform_feed(actor):
        raise PermissionDenied("only supervisors and administrators read the platform's event feed")
    horizon = settled_through(session, after, _page_end(session, after, limit))
    rows = session.execute(
        select(CaseEvent, Case.number, ProcessDefinition.key, Department.code)
        .join(Case, Case.id == CaseEvent.case_id)
        .join(ProcessDefinition, ProcessDefinition.id == Case.definition_id)
        .outerjoin(Task, Task.id == CaseEvent.task_id)
        .outerjoin(Department, Department.id == Task.department_id)
        .where(CaseEvent.id > after, CaseEvent.id <= horizon, CaseEvent.action.in_(FEED_ACTIONS))
        .order_by(CaseEvent.id)
        .limit(limit)
    ).tuples().all()
    next_cursor = rows[-1][0].id if len(rows) == limit else horizon
    events = [_platform_event(*row) for row in rows]
    return FeedPage([e for e in events if e is not None], next_cursor)


def _page_end(session: Session, after: int, limit: int) -> int:
    """The id this page would end at if no id were in flight: its `limit`-th feed event, else the newest event."""
    ids = session.scalars(select(CaseEvent.id).where(CaseEvent.id > after, CaseEvent.action.in_(FEED_ACTIONS))
                          .order_by(CaseEvent.id).limit(limit)).all()
    if len(ids) == limit:
        return ids[-1]
    return max(after, session.scalar(select(func.max(CaseEvent.id))) or 0)


def settled_through(session: Session, after: int, end: int) -> int:
    """The highest id h <= `end` such that every id in (after, h] is visible to the next statement or
    will never commit.

    A missing id (a gap) is either rolled back for good or held by a transaction still open. Every
    id below `end` was handed out before `end` (the sequence has CACHE 1: one counter, in order),
    and `end` is committed, so each gap's transaction had inserted before this call began.

    - PostgreSQL: every INSERT takes ROW EXCLUSIVE on the table and keeps it until its
      transaction ends. If no other session holds it now, every gap's transaction has ended, and
      the next statement (READ COMMITTED: a fresh snapshot) sees whatever they committed. If some
      session holds it, we cannot tell whose the gaps are, so the page ends before the first gap.
      That wait lasts as long as the open writes, which are short; readers never block writers.
    - SQLite: one write transaction at a time (BEGIN IMMEDIATE), and a new row takes max(id) + 1,
      so ids are handed out in commit order and a rolled-back id is handed out again: a gap seen by
      a reader can never fill, and there is nothing to wait for.
    """
    if end <= after:
        return after
    present = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.id > after, CaseEvent.id <= end))
    if present == end - after or not _inserts_in_flight(session):
        return end
    return _first_gap(session, after, end) - 1


def _inserts_in_flight(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    return bool(session.scalar(text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'case_events'::regclass"
        " AND mode = 'RowExclusiveLock' AND granted AND pid <> pg_backend_pid())"
    )))


def _first_gap(session: Session, after: int, end: int) -> int:
    if not session.scalar(select(exists().where(CaseEvent.id == after + 1))):
        return after + 1
    following = aliased(CaseEvent)
    last_of_run = session.scalar(
        select(func.min(CaseEvent.id))
        .where(CaseEvent.id > after, CaseEvent.id < end, ~exists().where(following.id == CaseEvent.id + 1))
    )
    return last_of_run + 1 if last_of_run is not None else end + 1


def _platform_event(row: CaseEvent, number: str, definition: str, department: str | None) -> PlatformEvent | None:
    details = row.details or {}
    if row.action == "accepted":
        kind, shown = PlatformEventType.ACCEPTED, {"channel": details.get("channel"), "version": details.get("version")}
    elif row.action == "not_accepted":
        kind, shown = PlatformEventType.NOT_ACCEPTED, {"channel": details.get("channel"), "reasons": details.get("reasons")}
    elif row.action == "case_concluded":
        kind, shown = PlatformEventType.CONCLUDED, {"result": details.get("status")}
    elif row.action == "rated":
        kind, shown = PlatformEventType.RATED, {"level": details.get("level"), "comment": details.get("comment"),
                                                "channel": details.get("channel")}
    else:
        mapped = _PAUSES.get((row.action, details.get("kind")))
        if mapped is None:
            return None
        kind = mapped
        shown = {"step": details.get("element_id"), "procedure": details.get("procedure")}
        if row.action == "clock_paused":
            shown["reason"] = details.get("reason")
        else:
            shown["working_days"] = details.get("working_days")
    return PlatformEvent(row.id, kind, row.case_id, number, definition, row.at, department, shown)

