"""The JSON API (`/api/v1`): HTTP Basic with a user's credentials; errors as {"error": "..."}.

Each view declares its request and response schemas with `@documented` (web/openapi.py), from
which /api/v1/openapi.json is generated.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from flask import Blueprint, current_app, g, jsonify, make_response, request

from engine.calendar import WorkingCalendar
from engine.calendar_store import calendar_on_demand
from engine.cases import accept_case, get_case, refuse_application, tasks_of
from engine.deadlines import case_clocks, case_warning, clock_status
from engine.definitions import list_latest_definitions
from engine.directory import (
    DEPARTMENT_CODE_PATTERN, MAX_NAME, MIN_PASSWORD, USERNAME_PATTERN, create_department, create_user, list_departments,
)
from engine.errors import InvalidInput
from engine.history import events_of
from engine.models import ApiToken, Case, CaseEvent, Department, IdempotentRequest, ProcessDefinition, Task, User
from engine.permissions import may_administer, may_deploy_definitions, may_see_personal_data, require
from engine.operations import tasks_in_view
from engine.prediction import prediction_fields
from engine.privacy import mask_id_number, mask_phone
from engine.tasks import claim_task, complete_task, list_tasks
from engine.throttle import LOGIN_FAILURES
from engine.tokens import create_token, list_tokens, revoke_token
from engine.types import MAX_ROW_ID
from engine.versions import deploy_version
from engine.suspensions import clock_events
from engine.vocab import CaseStatus, Channel, Role, TaskState, WarningLevel
from web.auth import user_from_api_credentials
from web.extensions import clock, db_session
from web.throttling import check_throttle, note_failure
from web.openapi import (
    BOOL, DATETIME, INT, OBJECT, STR, Content, array, component, documented, enum, extended, nullable, openapi_document, payload, record,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., Any])


def authenticated(view: F) -> F:
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        # The throttle is consulted only when a password must really be checked (web/auth.py) or the
        # credentials failed: a caller with verified credentials pays no query for it.
        g.user = user_from_api_credentials()
        if g.user is None:
            if request.headers.get("Authorization"):
                note_failure(LOGIN_FAILURES)
                check_throttle(LOGIN_FAILURES)  # a throttled address hears 429, not 401
            # Failed attempts count towards the lockout even though the answer is an error.
            db_session().commit()
            response = jsonify({"error": "authentication required: HTTP Basic with a user's credentials, or a bearer token"})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Basic realm="yijianshi"'
            return response
        return view(**kwargs)

    wrapped.api_authenticated = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


def idempotent(view: F) -> F:
    """`Idempotency-Key`: a retried request gets the first answer and changes nothing twice."""

    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return view(**kwargs)
        if len(key) > 120:
            raise InvalidInput("Idempotency-Key must be at most 120 characters")
        endpoint = f"{request.method} {request.path}"
        earlier = db_session().get(IdempotentRequest, (g.user.id, key))
        if earlier is not None:
            if earlier.endpoint != endpoint:
                raise InvalidInput("this Idempotency-Key was used for another request")
            return current_app.response_class(earlier.body, status=earlier.status, mimetype="application/json")
        response = make_response(view(**kwargs))
        if response.status_code < 500:
            db_session().add(IdempotentRequest(user_id=g.user.id, key=key, endpoint=endpoint, status=response.status_code,
                                               body=response.get_data(as_text=True), created_at=clock().now()))
            db_session().flush()
        return response

    return wrapped  # type: ignore[return-value]


def json_body() -> dict[str, Any]:
    value = request.get_json(silent=True)
    if not isinstance(value, dict):
        raise InvalidInput("the request body must be a JSON object")
    refuse_nul(value)
    return value


def refuse_nul(value: Any) -> None:
    """No text in our database may hold U+0000 (PostgreSQL refuses it): say so instead of failing later."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput("text must not contain the NUL character (U+0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(key)
            refuse_nul(item)
    elif isinstance(value, list):
        for item in value:
            refuse_nul(item)


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def department_json(d: Department) -> dict[str, Any]:
    return {"code": d.code, "name": d.name}


def user_json(u: User) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "display_name": u.display_name, "roles": sorted(u.roles),
            "department": u.department.code if u.department else None}


def definition_json(d: ProcessDefinition) -> dict[str, Any]:
    catalog = {k: v for k, v in d.catalog.items() if k != "tasks"}
    return {"key": d.key, "version": d.version, "name": d.name, "sha256": d.sha256, "deployed_at": iso(d.deployed_at),
            "catalog": catalog}


def response_calendar() -> WorkingCalendar:
    """The calendar for this response's clock figures: read once per request, and only if a running
    clock needs it (a completed task's answer reads none)."""
    if "response_calendar" not in g:
        g.response_calendar = calendar_on_demand(db_session())
    return g.response_calendar


def task_json(t: Task) -> dict[str, Any]:
    status = clock_status(t.clock, response_calendar(), clock().now()) if t.clock else None
    return {
        "id": t.id, "case_id": t.case_id, "element_id": t.element_id, "name": t.name, "kind": t.kind,
        "department": t.department.code, "state": t.state,
        "assignee": t.assignee.username if t.assignee else None,
        "created_at": iso(t.created_at), "claimed_at": iso(t.claimed_at), "completed_at": iso(t.completed_at),
        "outcome": t.outcome, "opinion": t.opinion, "time_limit_days": t.time_limit_days,
        "due_at": iso(status.due_at) if status else None,
        "remaining_working_days": status.remaining_working_days if status and not status.stopped else None,
        "warning": status.warning.value if status and t.state in ("open", "claimed") else WarningLevel.NORMAL.value,
        "paused": bool(status and status.paused),
        "due_date_unconfirmed": bool(status and status.unconfirmed),
    }


def event_json(e: CaseEvent) -> dict[str, Any]:
    return {"id": e.id, "action": e.action, "at": iso(e.at), "actor": e.actor.username if e.actor else None,
            "task_id": e.task_id, "details": e.details}


def case_json(c: Case) -> dict[str, Any]:
    session = db_session()
    clocks = {k.kind: k for k in case_clocks(session, c)}
    # The window contacts the applicant (and admins correct the record); everyone else sees them masked.
    whole = may_see_personal_data(g.user)
    return {
        "promised_due_at": iso(clocks["promised"].due_at) if "promised" in clocks else None,
        "statutory_due_at": iso(clocks["statutory"].due_at) if "statutory" in clocks else None,
        "warning": case_warning(session, c, clock().now()).value,
        "paused": any(k.paused_since is not None for k in clocks.values()),
        "clock_events": clock_events(session, c),
        "id": c.id, "number": c.number, "status": c.status, "channel": c.channel,
        "definition": {"key": c.definition.key, "version": c.definition.version, "name": c.definition.name},
        "applicant": {"name": c.applicant_name,
                      "id_number": c.applicant_id_number if whole else mask_id_number(c.applicant_id_number),
                      "phone": c.applicant_phone if whole else mask_phone(c.applicant_phone)},
        "accepted_at": iso(c.accepted_at), "completed_at": iso(c.completed_at), "data": c.data,
        "tasks": [task_json(t) for t in tasks_of(session, c)],
        "events": [event_json(e) for e in events_of(session, c)],
        **prediction_fields(session, c, clock().now()),
    }


# Schemas of the answers above, shared by the other api_* modules.
WARNING = enum(*WarningLevel)
DEPARTMENT = component("Department", record(code=STR, name=STR))
USER = component("User", record(id=INT, username=STR, display_name=STR, roles=array(enum(*Role)),
                                department=nullable(STR)))
PROBLEM = component("Problem", {"type": "object", "required": ["element_id", "message"],
                                "properties": {"element_id": nullable(STR), "message": STR, "file": STR}})
DEFINITION = component("Definition", record(key=STR, version=INT, name=STR, sha256=STR, deployed_at=DATETIME,
                                            catalog=OBJECT))
TASK = component("Task", record(
    id=INT, case_id=INT, element_id=STR, name=STR, kind=STR, department=STR, state=enum(*TaskState),
    assignee=nullable(STR), created_at=DATETIME, claimed_at=nullable(DATETIME), completed_at=nullable(DATETIME),
    outcome=nullable(STR), opinion=nullable(STR), time_limit_days=nullable(INT), due_at=nullable(DATETIME),
    remaining_working_days=nullable(INT), warning=WARNING, paused=BOOL, due_date_unconfirmed=BOOL,
))
EVENT = component("CaseEvent", record(id=INT, action=STR, at=DATETIME, actor=nullable(STR), task_id=nullable(INT),
                                     details=OBJECT))
CASE = component("Case", record(
    id=INT, number=STR, status=enum(*CaseStatus), channel=enum(*Channel),
    definition=record(key=STR, version=INT, name=STR),
    applicant=record(name=STR, id_number=nullable(STR), phone=nullable(STR)),
    accepted_at=DATETIME, completed_at=nullable(DATETIME), data=OBJECT,
    promised_due_at=nullable(DATETIME), statutory_due_at=nullable(DATETIME), warning=WARNING, paused=BOOL,
    clock_events=array(OBJECT), tasks=array(TASK), events=array(EVENT),
    predicted_completion=nullable(DATETIME), bottleneck_department=nullable(STR), misses_promise=BOOL,
))
TOKEN = record(id=INT, name=STR, user=STR, created_at=DATETIME, revoked_at=nullable(DATETIME))
BPMN_XML = Content({"application/xml": {"type": "string", "description": "a BPMN 2.0 document"}})
IDEMPOTENCY = {"Idempotency-Key": {"type": "string", "maxLength": 120,
                                   "description": "a retried request with the same key gets the first answer"}}
PAGE = {"limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200},
        "offset": {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID, "default": 0}}


@bp.before_request
def _refuse_nul_in_url() -> None:
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.args.items(multi=True)):
        raise InvalidInput("the URL must not contain the NUL character (%00)")


@bp.get("/openapi.json")
@documented({200: {"type": "object", "required": ["openapi", "paths"]}})
def openapi() -> Any:
    """This description of the API (OpenAPI 3.1), generated from the code; people read it at /api/docs."""
    return jsonify(openapi_document(current_app))


@bp.get("/departments")
@authenticated
@documented({200: array(DEPARTMENT)})
def departments() -> Any:
    """The departments."""
    return jsonify([department_json(d) for d in list_departments(db_session())])


@bp.post("/departments")
@authenticated
@documented({201: DEPARTMENT}, payload(["code", "name"], code={"type": "string", "pattern": DEPARTMENT_CODE_PATTERN},
                                       name={"type": "string", "minLength": 1, "maxLength": MAX_NAME}))
def add_department() -> Any:
    """Add a department (administrators)."""
    require(may_administer(g.user), "only administrators manage departments")
    body = json_body()
    department = create_department(db_session(), clock(), _text(body, "code"), _text(body, "name"))
    return jsonify(department_json(department)), 201


@bp.post("/users")
@authenticated
@documented({201: USER}, payload(
    ["username", "password", "roles"], username={"type": "string", "pattern": USERNAME_PATTERN},
    password={"type": "string", "minLength": MIN_PASSWORD}, roles=array(enum(*Role), minItems=1),
    department=nullable(STR), display_name={"type": "string", "maxLength": MAX_NAME}))
def add_user() -> Any:
    """Add a user with roles and, for the window and reviewers, a department (administrators)."""
    require(may_administer(g.user), "only administrators manage users")
    body = json_body()
    roles = body.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidInput("roles must be a list of role names")
    department = body.get("department")
    if department is not None and not isinstance(department, str):
        raise InvalidInput("department must be a department code")
    user = create_user(db_session(), clock(), _text(body, "username"), _text(body, "password"), roles, department,
                       body.get("display_name") if isinstance(body.get("display_name"), str) else None)
    return jsonify(user_json(user)), 201


@bp.get("/definitions")
@authenticated
@documented({200: array(DEFINITION)})
def definitions() -> Any:
    """The latest version of every deployed 一件事."""
    return jsonify([definition_json(d) for d in list_latest_definitions(db_session())])


@bp.post("/definitions")
@authenticated
@documented({200: record(key=STR, version=INT, created=BOOL, warnings=array(PROBLEM)),
             201: record(key=STR, version=INT, created=BOOL, warnings=array(PROBLEM))},
            BPMN_XML, query={"comment": STR})
def deploy() -> Any:
    """Deploy a BPMN definition (analysts, administrators).

    201 with the new version; 200 when the same document is already the latest version; 422 with
    `errors: [{element_id, message}]` when it does not validate.
    """
    require(may_deploy_definitions(g.user), "only analysts and administrators deploy definitions")
    definition, created, warnings = deploy_version(db_session(), clock(), request.get_data(), g.user,
                                                   comment=request.args.get("comment", ""))
    return jsonify({"key": definition.key, "version": definition.version, "created": created,
                    "warnings": [w.to_dict() for w in warnings]}), 201 if created else 200


@bp.post("/cases")
@authenticated
@idempotent
@documented(
    {201: record(id=INT, number=STR, status=STR, query_code=STR)},
    payload(["definition", "applicant"], definition=STR, channel=enum(*Channel), assisted=BOOL, data=OBJECT,
         applicant=payload(["name"], name=STR, id_number=STR, phone=STR),
         missing_materials=array(payload(["name", "promised_date"], name=STR, promised_date={"type": "string", "format": "date"})),
         commitments=array(payload(["material", "text"], material=STR, text=STR))),
    headers=IDEMPOTENCY,
)
def start_case() -> Any:
    """Accept an application (受理) at the window: the case starts and its departments' tasks open."""
    body = json_body()
    definition = body.get("definition")
    if not isinstance(definition, str):
        raise InvalidInput("definition (a definition key) is required")
    case = accept_case(db_session(), clock(), g.user, definition, body.get("applicant"), body.get("data") or {},
                       body.get("channel") or Channel.WINDOW, missing_materials=body.get("missing_materials"),
                       commitments=body.get("commitments"), assisted=body.get("assisted", False))
    return jsonify({"id": case.id, "number": case.number, "status": case.status, "query_code": case.query_code}), 201


@bp.post("/cases/not-accepted")
@authenticated
@idempotent
@documented(
    {201: record(id=INT, number=STR, status=STR, query_code=STR)},
    payload(["definition", "applicant", "reasons"], definition=STR, channel=enum(*Channel), data=OBJECT,
         applicant=payload(["name"], name=STR, id_number=STR, phone=STR), reasons=array(STR)),
    headers=IDEMPOTENCY,
)
def refuse_case() -> Any:
    """Do not accept an application (不予受理): it is numbered and filed with the reasons, and the
    不予受理决定书 is printable at `/cases/<id>/notices/not-accepted`; no department task opens."""
    body = json_body()
    definition = body.get("definition")
    if not isinstance(definition, str):
        raise InvalidInput("definition (a definition key) is required")
    case = refuse_application(db_session(), clock(), g.user, definition, body.get("applicant"), body.get("reasons"),
                              body.get("data") or {}, body.get("channel") or Channel.WINDOW)
    return jsonify({"id": case.id, "number": case.number, "status": case.status, "query_code": case.query_code}), 201


@bp.get("/cases/<int:case_id>")
@authenticated
@documented({200: CASE})
def show_case(case_id: int) -> Any:
    """The case file (一事一档): data, tasks, clocks and history.

    The applicant's phone and ID number are whole for the window and administrators, masked for others.
    """
    return jsonify(case_json(get_case(db_session(), g.user, case_id)))


@bp.get("/tasks")
@authenticated
@documented({200: array(TASK)}, query={
    **PAGE, "view": enum("todo", "done", "started", "cc"), "department": STR, "state": enum(*TaskState)})
def tasks() -> Any:
    """Tasks: the inbox (reviewers see their own department's), or one view: 待办 / 已办 / 我发起的 / 抄送我的."""
    limit = request.args.get("limit", 200, type=int)
    offset = request.args.get("offset", 0, type=int)
    if not 1 <= limit <= 1000 or not 0 <= offset <= MAX_ROW_ID:
        raise InvalidInput("limit must be 1–1000 and offset non-negative")
    view = request.args.get("view")
    if view:
        found = tasks_in_view(db_session(), g.user, view, limit)
    else:
        found = list_tasks(db_session(), g.user, request.args.get("department") or None, request.args.get("state") or None,
                           limit, offset)
    return jsonify([task_json(t) for t in found])


@bp.post("/tasks/<int:task_id>/claim")
@authenticated
@documented({200: TASK})
def claim(task_id: int) -> Any:
    """Claim a task of one's department (认领)."""
    return jsonify(task_json(claim_task(db_session(), clock(), g.user, task_id)))


@bp.post("/tasks/<int:task_id>/complete")
@authenticated
@idempotent
@documented({200: TASK}, payload(outcome=enum("approve", "reject", "return"), opinion=STR, data=OBJECT),
            request_required=False, headers=IDEMPOTENCY)
def complete(task_id: int) -> Any:
    """Complete a task; a review takes an outcome, and a refusal or a return needs a reason in `opinion`."""
    body = json_body() if request.get_data() else {}
    data = body.get("data") or {}
    outcome, opinion = body.get("outcome"), body.get("opinion")
    if outcome is not None and not isinstance(outcome, str) or opinion is not None and not isinstance(opinion, str):
        raise InvalidInput("outcome and opinion must be strings")
    if not isinstance(data, dict):
        raise InvalidInput("data must be an object")
    task = complete_task(db_session(), clock(), g.user, task_id, outcome, opinion, data)
    return jsonify(task_json(task))


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise InvalidInput(f"{key} is required and must be a string")
    return value


def token_json(t: ApiToken) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "user": t.user.username, "created_at": iso(t.created_at),
            "revoked_at": iso(t.revoked_at)}


@bp.get("/tokens")
@authenticated
@documented({200: array(TOKEN)})
def tokens() -> Any:
    """API tokens (administrators); only their SHA-256 is stored."""
    return jsonify([token_json(t) for t in list_tokens(db_session(), g.user)])


@bp.post("/tokens")
@authenticated
@documented({201: extended(TOKEN, token=STR)},
            payload(["user", "name"], user=STR, name=STR))
def issue_token() -> Any:
    """Issue a bearer token acting as `user` (administrators); the token is shown once."""
    body = json_body()
    token, plain = create_token(db_session(), clock(), g.user, _text(body, "user"), _text(body, "name"))
    return jsonify({**token_json(token), "token": plain}), 201


@bp.delete("/tokens/<int:token_id>")
@authenticated
@documented({200: TOKEN})
def revoke(token_id: int) -> Any:
    """Revoke a token (administrators)."""
    return jsonify(token_json(revoke_token(db_session(), clock(), g.user, token_id)))
