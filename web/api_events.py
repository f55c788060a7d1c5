"""The case-event feed for the provincial platform (extends /api/v1): GET /events?after=&limit=."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, request

from engine.errors import InvalidInput
from engine.platform_feed import MAX_LIMIT, PlatformEvent, PlatformEventType, platform_events
from engine.types import MAX_ROW_ID
from web.api import authenticated, bp, iso
from web.extensions import db_session
from web.openapi import DATETIME, INT, OBJECT, STR, array, component, documented, enum, nullable, record

PLATFORM_EVENT = component("PlatformEvent", record(
    id=INT, type=enum(*PlatformEventType), case_id=INT, case_number=STR, definition=STR, at=DATETIME,
    department=nullable(STR), details=OBJECT))


def platform_event_json(e: PlatformEvent) -> dict[str, Any]:
    return {"id": e.id, "type": e.type.value, "case_id": e.case_id, "case_number": e.case_number,
            "definition": e.definition, "at": iso(e.at), "department": e.department, "details": e.details}


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


@bp.get("/events")
@authenticated
@documented({200: record(events=array(PLATFORM_EVENT), next_cursor=INT)},
            query={"after": {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID, "default": 0},
                   "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}})
def events() -> Any:
    """Case events for the provincial platform (supervisors, administrators): 受理, 补正开始/结束,
    特别程序开始/结束, 办结, 评价.

    Start with `after=0`, then ask again with the answer's `next_cursor`. The feed never skips nor
    repeats an event: a page ends before an event that may still be committing, and the next call
    picks it up. An empty page with an unchanged cursor means the consumer has caught up.
    """
    after = _whole_number("after", 0, 0, MAX_ROW_ID)
    limit = _whole_number("limit", 100, 1, MAX_LIMIT)
    page = platform_events(db_session(), g.user, after, limit)
    return jsonify({"events": [platform_event_json(e) for e in page.events], "next_cursor": page.next_cursor})
