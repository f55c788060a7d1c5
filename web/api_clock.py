"""API for the statutory clock (extends /api/v1): calendar, pauses, extensions, 催办 and 督办单."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import g, jsonify, request

from engine.calendar_store import load_calendar, replace_year, year_view
from engine.deadlines import recompute_open_clocks
from engine.errors import InvalidInput
from engine.models import SupervisionOrder
from engine.notifications import mark_read, notifications_for
from engine.permissions import may_administer, require
from engine.supervision import issue_order, orders_for, reply_to_order, urge_task
from engine.suspensions import MAX_EXTENSION_DAYS, extend_task, pause_task, resume_task
from engine.runtime import get_task
from engine.types import MAX_ROW_ID
from engine.vocab import OrderStatus, PauseKind, SpecialProcedure
from web.api import TASK, authenticated, bp, iso, json_body, task_json
from web.extensions import clock, db_session
from web.openapi import BOOL, DATE, DATETIME, INT, OK, STR, array, component, documented, enum, extended, nullable, payload, record

YEAR = record(year=INT, confirmed=BOOL, holidays=array(DATE), workdays=array(DATE))
ORDER = component("SupervisionOrder", record(
    id=INT, case_id=INT, case_number=STR, department=STR, text=STR, issued_at=DATETIME, reply_within_days=INT,
    reply_due_at=DATETIME, status=enum(*OrderStatus), reply_text=nullable(STR), replied_at=nullable(DATETIME),
    escalated_at=nullable(DATETIME)))
NOTIFICATION = record(id=INT, kind=STR, message=STR, case_id=nullable(INT), task_id=nullable(INT), created_at=DATETIME,
                      read=BOOL)
IDS = payload(ids=array({"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}))


def _dates(body: dict[str, Any], key: str) -> list[date]:
    values = body.get(key, [])
    if not isinstance(values, list):
        raise InvalidInput(f"{key} must be a list of dates (YYYY-MM-DD)")
    try:
        return [date.fromisoformat(v) for v in values]
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} must be a list of dates (YYYY-MM-DD)") from None


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise InvalidInput("year must be between 2000 and 2100")
    return year


@bp.get("/calendar/<int:year>")
@authenticated
@documented({200: YEAR})
def calendar_year(year: int) -> Any:
    """A year of the working calendar: holidays, 调休 workdays, and whether the schedule is confirmed."""
    view = year_view(db_session(), _year(year))
    return jsonify({"year": view.year, "confirmed": view.confirmed,
                    "holidays": [d.isoformat() for d in view.holidays], "workdays": [d.isoformat() for d in view.workdays]})


@bp.put("/calendar/<int:year>")
@authenticated
@documented({200: extended(YEAR, source=STR, recomputed=INT)},
            payload(holidays=array(DATE), workdays=array(DATE), confirmed=BOOL))
def replace_calendar_year(year: int) -> Any:
    """Replace a year's holidays and 调休 workdays (administrators); open due dates are recomputed."""
    require(may_administer(g.user), "only administrators change the calendar")
    body = json_body()
    confirmed = body.get("confirmed", True)
    if not isinstance(confirmed, bool):
        raise InvalidInput("confirmed must be true or false")
    session = db_session()
    replace_year(session, clock(), g.user, _year(year), _dates(body, "holidays"), _dates(body, "workdays"), confirmed)
    recomputed = recompute_open_clocks(session, load_calendar(session), clock().now(), g.user, f"calendar {year} changed")
    view = year_view(session, year)
    return jsonify({**view.to_dict(), "recomputed": recomputed})


def _text_field(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    return value or ""


@bp.post("/tasks/<int:task_id>/pause")
@authenticated
@documented({200: TASK}, payload(["kind", "reason"], kind=enum(*PauseKind), reason=STR, procedure=enum(*SpecialProcedure)))
def pause(task_id: int) -> Any:
    """Stop a task's clock for 补正 or a 特别程序 (the task's department); the case's clocks stop too."""
    body = json_body()
    procedure = body.get("procedure") if isinstance(body.get("procedure"), str) else None
    pause_task(db_session(), clock(), g.user, task_id, _text_field(body, "kind"), _text_field(body, "reason"), procedure)
    return jsonify(task_json(get_task(db_session(), task_id)))


@bp.post("/tasks/<int:task_id>/resume")
@authenticated
@documented({200: TASK})
def resume(task_id: int) -> Any:
    """Restart a paused clock: the paused working days extend the due dates (the window may end a 补正)."""
    resume_task(db_session(), clock(), g.user, task_id)
    return jsonify(task_json(get_task(db_session(), task_id)))


@bp.post("/tasks/<int:task_id>/extend")
@authenticated
@documented({200: TASK}, payload(["working_days", "reason"], working_days={"type": "integer", "minimum": 1,
                                                                         "maximum": MAX_EXTENSION_DAYS}, reason=STR))
def extend(task_id: int) -> Any:
    """延期: more working days for a task, approved by the department's head."""
    body = json_body()
    extend_task(db_session(), clock(), g.user, task_id, body.get("working_days"), _text_field(body, "reason"))
    return jsonify(task_json(get_task(db_session(), task_id)))


@bp.post("/tasks/<int:task_id>/urge")
@authenticated
@documented({201: OK}, payload(["message"], message=STR))
def urge(task_id: int) -> Any:
    """催办: remind the task's department (supervisors)."""
    urge_task(db_session(), clock(), g.user, task_id, _text_field(json_body(), "message"))
    return jsonify({"ok": True}), 201


def order_json(o: SupervisionOrder) -> dict[str, Any]:
    return {"id": o.id, "case_id": o.case_id, "case_number": o.case.number, "department": o.department.code,
            "text": o.text, "issued_at": iso(o.issued_at), "reply_within_days": o.reply_within_days,
            "reply_due_at": iso(o.reply_due_at), "status": o.status, "reply_text": o.reply_text,
            "replied_at": iso(o.replied_at), "escalated_at": iso(o.escalated_at)}


@bp.post("/supervision-orders")
@authenticated
@documented({201: ORDER}, payload(["case_id", "department", "reply_within_days", "text"],
                                  case_id={"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}, department=STR,
                                  reply_within_days={"type": "integer", "minimum": 1, "maximum": 30}, text=STR))
def create_order() -> Any:
    """督办单 to a department about a case, to be answered (回告) within some working days (supervisors)."""
    body = json_body()
    case_id = body.get("case_id")
    if isinstance(case_id, bool) or not isinstance(case_id, int) or not 0 <= case_id <= MAX_ROW_ID:
        raise InvalidInput("case_id must be a case id")
    order = issue_order(db_session(), clock(), g.user, case_id, _text_field(body, "department"),
                        body.get("reply_within_days"), _text_field(body, "text"))
    return jsonify(order_json(order)), 201


@bp.get("/supervision-orders")
@authenticated
@documented({200: array(ORDER)}, query={"case_id": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}})
def list_orders() -> Any:
    """督办单: all of them for supervisors, a department's own for the department."""
    case_id = request.args.get("case_id", type=int)
    if case_id is not None and not 0 <= case_id <= MAX_ROW_ID:
        raise InvalidInput("case_id must be a case id")
    return jsonify([order_json(o) for o in orders_for(db_session(), g.user, case_id)])


@bp.post("/supervision-orders/<int:order_id>/reply")
@authenticated
@documented({200: ORDER}, payload(["text"], text=STR))
def reply_order(order_id: int) -> Any:
    """回告: the ordered department's answer to a 督办单."""
    order = reply_to_order(db_session(), clock(), g.user, order_id, _text_field(json_body(), "text"))
    return jsonify(order_json(order))


@bp.get("/notifications")
@authenticated
@documented({200: array(NOTIFICATION)}, query={"unread": enum("1")})
def notifications() -> Any:
    """One's notifications, newest first; `unread=1` keeps the unread ones."""
    unread = request.args.get("unread") == "1"
    return jsonify([{"id": n.id, "kind": n.kind, "message": n.message, "case_id": n.case_id, "task_id": n.task_id,
                     "created_at": iso(n.created_at), "read": n.read_at is not None}
                    for n in notifications_for(db_session(), g.user, unread)])


@bp.post("/notifications/read")
@authenticated
@documented({200: OK}, IDS, request_required=False)
def read_notifications() -> Any:
    """Mark notifications read: those in `ids`, or all of them."""
    body = request.get_json(silent=True) or {}
    ids = body.get("ids") if isinstance(body, dict) else None
    if ids is not None and not (isinstance(ids, list) and all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_ROW_ID for i in ids)):
        raise InvalidInput("ids must be a list of notification ids")
    mark_read(db_session(), g.user, clock().now(), ids)
    return jsonify({"ok": True})
