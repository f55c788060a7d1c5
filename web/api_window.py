"""API for the window and the applicant (extends /api/v1): materials, delivery, ratings and their
rectification, the public progress query, 告知承诺 checks and the 审管联动 feed."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, request

from engine.cases import get_case
from engine.delivery import deliver
from engine.errors import InvalidInput, NotFound
from engine.feed import department_names, feed_for, mark_feed_read
from engine.intake import check_commitment, commitment_checks
from engine.materials import add_material, documents_of, get_material
from engine.models import CaseMaterial, Commitment, MissingMaterial, Rating, SupervisionFeedItem
from engine.progress import Progress, find_case, progress_of
from engine.ratings import close_follow_up, rate_at_window, rate_online, rectify
from engine.throttle import PROGRESS_MISSES
from engine.types import MAX_ROW_ID
from web.api import TASK, authenticated, bp, iso, json_body, task_json
from web.extensions import clock, db_session
from web.notices import material_response
from web.openapi import (
    BOOL, DATE, DATETIME, INT, OBJECT, OK, STR, Content, array, component, documented, enum, nullable, payload, record,
)
from web.public import NOT_FOUND_MESSAGE, STEP_LABELS
from web.throttling import check_throttle, note_failure

LEVEL = {"type": "integer", "minimum": 1, "maximum": 5}
MATERIAL = component("Material", record(
    id=INT, kind=enum("application", "result"), name=STR, filename=STR, content_type=STR, size=INT, sha256=STR,
    uploaded_at=DATETIME, url=STR))
MISSING = record(id=INT, name=STR, promised_date=DATE, supplied_at=nullable(DATETIME), material_id=nullable(INT))
COMMITMENT = component("Commitment", record(
    id=INT, case_id=INT, case_number=nullable(STR), material=STR, text=STR, department=STR, check_due_at=DATETIME,
    checked_at=nullable(DATETIME), check_result=nullable(STR)))
RATING = component("Rating", record(
    id=INT, case_id=INT, level=LEVEL, comment=STR, channel=STR, rated_at=DATETIME, rectification_task_id=nullable(INT),
    rectified_at=nullable(DATETIME)))
PROGRESS_STEP = record(department=STR, name=STR, status=STR, status_text=STR, at=nullable(DATETIME))
PROGRESS = record(
    number=STR, matter=STR, status=STR, status_text=STR,
    applicant=record(name=STR, phone=nullable(STR), id_number=nullable(STR)),
    accepted_at=DATETIME, completed_at=nullable(DATETIME), steps=array(PROGRESS_STEP),
    missing_materials=array(record(name=STR, promised_date=DATE)),
    delivery=record(method=nullable(STR), tracking_number=nullable(STR)),
    rating=nullable(INT), may_rate=BOOL, reasons=array(STR),
)
FEED_ITEM = record(id=INT, case_id=INT, department=STR, result=STR, summary=OBJECT, created_at=DATETIME, read=BOOL)
FILE = Content({"application/octet-stream": {"type": "string", "format": "binary"}})


def material_json(m: CaseMaterial) -> dict[str, Any]:
    return {"id": m.id, "kind": m.kind, "name": m.name, "filename": m.filename, "content_type": m.content_type,
            "size": m.size, "sha256": m.sha256, "uploaded_at": iso(m.uploaded_at),
            "url": f"/api/v1/cases/{m.case_id}/materials/{m.id}"}


def missing_json(m: MissingMaterial) -> dict[str, Any]:
    return {"id": m.id, "name": m.name, "promised_date": m.promised_date.isoformat(), "supplied_at": iso(m.supplied_at),
            "material_id": m.material_id}


def commitment_json(c: Commitment, case_number: str | None = None) -> dict[str, Any]:
    return {"id": c.id, "case_id": c.case_id, "case_number": case_number, "material": c.material, "text": c.text,
            "department": c.department.code, "check_due_at": iso(c.check_due_at), "checked_at": iso(c.checked_at),
            "check_result": c.check_result}


def rating_json(r: Rating) -> dict[str, Any]:
    return {"id": r.id, "case_id": r.case_id, "level": r.level, "comment": r.comment, "channel": r.channel,
            "rated_at": iso(r.rated_at), "rectification_task_id": r.rectification_task_id,
            "rectified_at": iso(r.rectified_at)}


def progress_json(p: Progress) -> dict[str, Any]:
    return {
        "number": p.number, "matter": p.matter, "status": p.status.value, "status_text": str(STEP_LABELS[p.status]),
        "applicant": {"name": p.applicant_name, "phone": p.applicant_phone, "id_number": p.applicant_id_number},
        "accepted_at": iso(p.accepted_at), "completed_at": iso(p.completed_at),
        "steps": [{"department": s.department, "name": s.name, "status": s.status.value,
                   "status_text": str(STEP_LABELS[s.status]), "at": iso(s.at)} for s in p.steps],
        "missing_materials": [{"name": name, "promised_date": day.isoformat()} for name, day in p.missing],
        "delivery": {"method": p.delivery_method, "tracking_number": p.tracking_number},
        "rating": p.rating, "may_rate": p.may_rate, "reasons": p.reasons,
    }


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    return value or ""


def _optional_int(value: str | None, key: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{key} must be a whole number") from None


@bp.post("/cases/<int:case_id>/materials")
@authenticated
@documented({201: record(materials=array(MATERIAL))}, Content({"multipart/form-data": {
    "type": "object", "required": ["file"],
    "properties": {"file": array({"type": "string", "format": "binary"}, minItems=1), "name": STR,
                   "kind": enum("application", "result"), "supplies": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}},
}}))
def upload_materials(case_id: int) -> Any:
    """multipart/form-data: `file` (one or more), optional `name`, `kind` (application|result), `supplies`."""
    files = [f for f in request.files.getlist("file") if f.filename]
    if not files:
        raise InvalidInput("send the file(s) as multipart/form-data in the field 'file'")
    supplies = _optional_int(request.form.get("supplies"), "supplies")
    if len(files) > 1 and (supplies is not None or request.form.get("name")):
        raise InvalidInput("name and supplies apply to a single file")
    kind = request.form.get("kind") or "application"
    stored = [add_material(db_session(), clock(), g.user, case_id, f.filename, f.read(), request.form.get("name"), kind,
                           supplies) for f in files]
    return jsonify({"materials": [material_json(m) for m in stored]}), 201


@bp.get("/cases/<int:case_id>/materials")
@authenticated
@documented({200: record(materials=array(MATERIAL), results=array(MATERIAL), missing_materials=array(MISSING),
                         commitments=array(COMMITMENT))})
def list_materials(case_id: int) -> Any:
    """A case's documents: application materials, results, 容缺 materials still owed, 告知承诺."""
    docs = documents_of(db_session(), get_case(db_session(), g.user, case_id))
    return jsonify({"materials": [material_json(m) for m in docs.materials],
                    "results": [material_json(m) for m in docs.results],
                    "missing_materials": [missing_json(m) for m in docs.missing],
                    "commitments": [commitment_json(c) for c in docs.commitments]})


@bp.get("/cases/<int:case_id>/materials/<int:material_id>")
@authenticated
@documented({200: FILE})
def download_material(case_id: int, material_id: int) -> Any:
    """One material's file, with the content type checked at upload."""
    return material_response(get_material(db_session(), g.user, case_id, material_id))


@bp.post("/cases/<int:case_id>/delivery")
@authenticated
@documented({200: record(id=INT, number=STR, status=STR, delivery_method=STR, tracking_number=nullable(STR), visits=INT)},
            payload(["method"], method=enum("pickup", "ems"), tracking_number=STR, address=STR))
def delivery(case_id: int) -> Any:
    """一窗出件: hand out the results (window), once every department's result is in; the case concludes."""
    body = json_body()
    case = deliver(db_session(), clock(), g.user, case_id, _text(body, "method"), _text(body, "tracking_number") or None,
                   _text(body, "address") or None)
    return jsonify({"id": case.id, "number": case.number, "status": case.status, "delivery_method": case.delivery_method,
                    "tracking_number": case.tracking_number, "visits": case.visits})


@bp.post("/cases/<int:case_id>/rating")
@authenticated
@documented({201: RATING}, payload(["level"], level=LEVEL, comment=STR, department=STR))
def rate_case(case_id: int) -> Any:
    """好差评 given at the window once the case concluded; a 差评 (1–2) needs a comment and opens a rectification."""
    body = json_body()
    rating = rate_at_window(db_session(), clock(), g.user, case_id, body.get("level"), _text(body, "comment"),
                            _text(body, "department") or None)
    return jsonify(rating_json(rating)), 201


@bp.post("/tasks/<int:task_id>/rectify")
@authenticated
@documented({200: record(followup=TASK)}, payload(["measures"], measures=STR))
def rectify_task(task_id: int) -> Any:
    """The 差评's department states its rectification; the window's 回访 opens."""
    followup = rectify(db_session(), clock(), g.user, task_id, _text(json_body(), "measures"))
    return jsonify({"followup": task_json(followup)})


@bp.post("/tasks/<int:task_id>/follow-up")
@authenticated
@documented({200: RATING}, payload(["result"], result=STR))
def follow_up(task_id: int) -> Any:
    """The window's 回访 after a rectification closes the 差评."""
    rating = close_follow_up(db_session(), clock(), g.user, task_id, _text(json_body(), "result"))
    return jsonify(rating_json(rating))


@bp.get("/progress")
@documented({200: PROGRESS}, query={"number": STR, "code": STR}, required_query=("number", "code"))
def progress() -> Any:
    """No login: the case number and its query code are the credential; a miss is one answer for all."""
    check_throttle(PROGRESS_MISSES)
    case = find_case(db_session(), request.args.get("number"), request.args.get("code"))
    if case is None:
        note_failure(PROGRESS_MISSES)
        raise NotFound(NOT_FOUND_MESSAGE)
    return jsonify(progress_json(progress_of(db_session(), case)))


@bp.post("/progress/rating")
@documented({201: record(level=LEVEL, rated_at=DATETIME)},
            payload(["number", "code", "level"], number=STR, code=STR, level=LEVEL, comment=STR))
def progress_rating() -> Any:
    """The applicant's own rating, with the number and query code instead of a login."""
    body = json_body()
    check_throttle(PROGRESS_MISSES)
    try:
        rating = rate_online(db_session(), clock(), _text(body, "number"), _text(body, "code"), body.get("level"),
                             _text(body, "comment"))
    except NotFound:
        note_failure(PROGRESS_MISSES)
        raise
    return jsonify({"level": rating.level, "rated_at": iso(rating.rated_at)}), 201


@bp.get("/commitments")
@authenticated
@documented({200: array(COMMITMENT)}, query={"all": enum("1")})
def commitments() -> Any:
    """告知承诺 checks due from the supervising department; `all=1` includes those done."""
    rows = commitment_checks(db_session(), g.user, include_done=request.args.get("all") == "1")
    return jsonify([commitment_json(c, case.number) for c, case in rows])


@bp.post("/commitments/<int:commitment_id>/check")
@authenticated
@documented({200: COMMITMENT}, payload(["result"], result=STR))
def check(commitment_id: int) -> Any:
    """Record the check (核查) of a 告知承诺."""
    commitment = check_commitment(db_session(), clock(), g.user, commitment_id, _text(json_body(), "result"))
    return jsonify(commitment_json(commitment))


def feed_json(item: SupervisionFeedItem, departments: dict[int, Any]) -> dict[str, Any]:
    return {"id": item.id, "case_id": item.case_id, "department": departments[item.department_id].code,
            "result": item.result, "summary": item.summary, "created_at": iso(item.created_at), "read": item.read_at is not None}


@bp.get("/feed")
@authenticated
@documented({200: array(FEED_ITEM)}, query={"unread": enum("1")})
def feed() -> Any:
    """审管联动: approval results for the supervising department (supervisors see all)."""
    departments = department_names(db_session())
    items = feed_for(db_session(), g.user, unread_only=request.args.get("unread") == "1")
    return jsonify([feed_json(i, departments) for i in items])


@bp.post("/feed/read")
@authenticated
@documented({200: OK}, payload(ids=array({"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID})), request_required=False)
def read_feed() -> Any:
    """Mark feed items read: those in `ids`, or all of them."""
    body = request.get_json(silent=True) or {}
    ids = body.get("ids") if isinstance(body, dict) else None
    if ids is not None and not (isinstance(ids, list) and all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_ROW_ID for i in ids)):
        raise InvalidInput("ids must be a list of feed item ids")
    mark_feed_read(db_session(), g.user, clock().now(), ids)
    return jsonify({"ok": True})
