"""API of the enterprise services (extends /api/v1): projects, problem tickets, 依申请公开 figures, 双公示 feed.

Supervisors and administrators see everything; the window sees every project and ticket (it registers
them); a department sees the projects with a step for it and the tickets given to it.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, jsonify, request

from engine.deadlines import start_of_day
from engine.credit_feed import FIELDS, feed_items
from engine.disclosure import disclosure_stats, extend_reply_limit
from engine.errors import InvalidInput
from engine.models import CreditFeedItem
from engine.privacy import mask_phone
from engine.projects import (
    ProjectFilter, ProjectProgress, department_names, list_projects, overview, project_progress, register_project,
)
from engine.stats import Period
from engine.tickets import (
    CATEGORIES, TicketView, confirm_ticket, get_ticket, list_tickets, log_ticket, reply_ticket, ticket_stats, ticket_views,
)
from engine.types import MAX_ROW_ID
from engine.vocab import CaseStatus, DisclosureAnswer, ProjectKind, ProjectStage, TicketStatus
from web.api import authenticated, bp, iso, json_body
from web.exports import FORMATS, XLSX_MIME, Column, download, requested_format, table_response
from web.extensions import clock, db_session
from web.openapi import (
    BOOL, DATE, DATETIME, INT, STR, ApiDoc, Content, array, component, documented, enum, nullable, payload, record,
)

NUMBER = {"type": "number"}
STEP = component("ProjectStep", record(
    element_id=STR, name=STR, stage=enum(*ProjectStage), department=STR, planned_days=INT, planned_start=DATE,
    planned_due=DATE, state=enum("pending", "open", "done"), started_at=nullable(DATETIME),
    completed_at=nullable(DATETIME), behind=BOOL, days_late=INT, matter=nullable(STR),
    linked_case=nullable(record(id=INT, number=STR, status=enum(*CaseStatus)))))
PROJECT = component("Project", record(
    id=INT, case_id=INT, case_number=STR, name=STR, enterprise_name=STR, kind=enum(*ProjectKind), investment_yuan=INT,
    major=BOOL, stage=enum(*ProjectStage), contact_name=STR, contact_phone=nullable(STR), registered_at=DATETIME,
    steps_behind=INT, stalled=BOOL))
PROJECT_DETAIL = component("ProjectDetail", record(
    id=INT, case_id=INT, case_number=STR, name=STR, enterprise_name=STR, kind=enum(*ProjectKind), investment_yuan=INT,
    major=BOOL, stage=enum(*ProjectStage), contact_name=STR, contact_phone=nullable(STR), registered_at=DATETIME,
    steps_behind=INT, stalled=BOOL, steps=array(STEP)))
BUCKET = record(count=INT, major=INT, investment_yuan=INT)
OVERVIEW = record(
    total=INT, major=INT, investment_yuan=INT,
    by_stage=array({**BUCKET, "required": [*BUCKET["required"], "stage"],
                    "properties": {**BUCKET["properties"], "stage": enum(*ProjectStage)}}),
    by_kind=array({**BUCKET, "required": [*BUCKET["required"], "kind"],
                   "properties": {**BUCKET["properties"], "kind": enum(*ProjectKind)}}),
    steps_behind=INT, projects_behind=INT, behind_by_department=array(record(department=STR, steps=INT)),
    stalled=array(record(id=INT, name=STR, stage=enum(*ProjectStage), last_activity=DATETIME)))
TICKET = component("Ticket", record(
    id=INT, case_id=INT, case_number=STR, enterprise_name=STR, contact_name=STR, contact_phone=nullable(STR),
    problem=STR, category=enum(*CATEGORIES), department=STR, limit_days=INT, status=enum(*TicketStatus),
    logged_at=DATETIME, due_at=nullable(DATETIME), overdue=BOOL, escalated_at=nullable(DATETIME), reply=nullable(STR),
    replied_at=nullable(DATETIME), closed_at=nullable(DATETIME), on_time=nullable(BOOL), rounds=INT))
TICKET_STATS = record(department=STR, department_name=STR, logged=INT, open=INT, overdue=INT, escalated=INT, closed=INT,
                      closed_on_time=INT, on_time_rate=nullable(NUMBER))
DISCLOSURE = record(received=INT, answered=INT, on_time=INT, late=INT, extended=INT, open=INT, overdue_open=INT,
                    on_time_rate=nullable(NUMBER), by_answer=array(record(answer=enum(*DisclosureAnswer), count=INT)))
FEED_ITEM = record(id=INT, case_id=INT, decision=STR, decided_at=DATETIME, due_by=DATETIME, published_at=DATETIME,
                   late=BOOL, record={"type": "object"})


def _table_content(item: dict[str, Any]) -> Content:
    return Content({
        "application/json": array(item),
        "text/csv": {"type": "string", "description": "the same rows as CSV (UTF-8 with BOM)"},
        XLSX_MIME: {"type": "string", "format": "binary", "description": "the same rows as an Excel workbook"},
    })


FORMAT = {"format": enum(*FORMATS)}
FLAG = enum("0", "1")


# --- Projects -----------------------------------------------------------------------------------------------

def project_json(p: ProjectProgress, whole_phone: bool = False, steps: bool = False) -> dict[str, Any]:
    project = p.project
    out: dict[str, Any] = {
        "id": project.id, "case_id": project.case_id, "case_number": project.case.number, "name": project.name,
        "enterprise_name": project.enterprise_name, "kind": project.kind, "investment_yuan": project.investment_yuan,
        "major": project.major, "stage": p.stage, "contact_name": project.contact_name,
        # Lists never carry a whole phone number; the window, who calls the enterprise, sees it.
        "contact_phone": project.contact_phone if whole_phone else mask_phone(project.contact_phone),
        "registered_at": iso(project.registered_at), "steps_behind": len(p.behind_steps), "stalled": p.stalled,
    }
    if steps:
        names = {s.department_id: s.department.code for s in project.steps}
        out["steps"] = [{
            "element_id": s.element_id, "name": s.name, "stage": s.stage, "department": names[s.department_id],
            "planned_days": s.planned_days, "planned_start": s.planned_start.isoformat(),
            "planned_due": s.planned_due.isoformat(), "state": s.state, "started_at": iso(s.started_at),
            "completed_at": iso(s.completed_at), "behind": s.behind, "days_late": s.days_late, "matter": s.matter,
            "linked_case": None if s.linked_case_id is None else {
                "id": s.linked_case_id, "number": s.linked_case_number, "status": s.linked_case_status},
        } for s in p.steps]
    return out


def project_columns() -> list[Column]:
    return [Column("id", "ID", "int"), Column("name", "项目名称"), Column("enterprise_name", "企业"),
            Column("kind", "类型"), Column("investment_yuan", "总投资（元）", "int"), Column("major", "重大项目"),
            Column("stage", "当前阶段"), Column("steps_behind", "滞后环节", "int"), Column("stalled", "停滞"),
            Column("contact_name", "联系人"), Column("contact_phone", "联系电话"),
            Column("registered_at", "入驻时间", "datetime")]


def _may_see_phone() -> bool:
    return g.user.has_role("window", "admin")


@bp.get("/projects")
@authenticated
@documented({200: _table_content(PROJECT)}, query={
    "stage": enum(*ProjectStage), "kind": enum(*ProjectKind), "major": FLAG, "behind": FLAG, "stalled": FLAG, **FORMAT})
def projects() -> Any:
    """The project register: every project for leadership and the window, a department's own projects otherwise."""
    rows = [project_json(p) for p in list_projects(db_session(), g.user, clock().now(), ProjectFilter.parse(request.args))]
    return table_response(rows, project_columns(), "projects")


@bp.post("/projects")
@authenticated
@documented({201: PROJECT_DETAIL}, payload(
    ["name", "enterprise_name", "kind", "investment_yuan", "contact_name"], name=STR, enterprise_name=STR,
    credit_code=STR, kind=enum(*ProjectKind), investment_yuan={"type": "integer", "minimum": 0, "maximum": 10**13},
    contact_name=STR, contact_phone=STR, planned_days={"type": "object", "additionalProperties": INT}))
def add_project() -> Any:
    """Register a project (the window): its flow starts and every step's planned working days are locked."""
    project = register_project(db_session(), clock(), g.user, json_body())
    progress = project_progress(db_session(), g.user, project.id, clock().now())
    return jsonify(project_json(progress, _may_see_phone(), steps=True)), 201


@bp.get("/projects/<int:project_id>")
@authenticated
@documented({200: PROJECT_DETAIL})
def show_project(project_id: int) -> Any:
    """A project with each step planned against actual."""
    progress = project_progress(db_session(), g.user, project_id, clock().now())
    return jsonify(project_json(progress, _may_see_phone(), steps=True))


@bp.get("/projects/overview")
@authenticated
@documented({200: OVERVIEW})
def projects_overview() -> Any:
    """Leadership's overview: counts and investment by stage and type, steps behind plan, stalled projects."""
    session = db_session()
    return jsonify(overview(session, g.user, clock().now()).to_dict(department_names(session)))


# --- Tickets ------------------------------------------------------------------------------------------------

def ticket_json(v: TicketView, whole_phone: bool = False) -> dict[str, Any]:
    t = v.ticket
    return {
        "id": t.id, "case_id": t.case_id, "case_number": t.case.number, "enterprise_name": t.enterprise_name,
        "contact_name": t.contact_name, "contact_phone": t.contact_phone if whole_phone else mask_phone(t.contact_phone),
        "problem": t.problem, "category": t.category, "department": t.department.code, "limit_days": t.limit_days,
        "status": v.status, "logged_at": iso(t.logged_at), "due_at": iso(v.due_at), "overdue": v.overdue,
        "escalated_at": iso(t.escalated_at), "reply": v.reply, "replied_at": iso(v.replied_at),
        "closed_at": iso(v.closed_at), "on_time": v.on_time, "rounds": v.rounds,
    }


def ticket_columns() -> list[Column]:
    return [Column("id", "ID", "int"), Column("case_number", "编号"), Column("enterprise_name", "企业"),
            Column("problem", "问题"), Column("department", "责任部门"), Column("status", "状态"),
            Column("limit_days", "时限（工作日）", "int"), Column("due_at", "到期", "datetime"),
            Column("overdue", "逾期"), Column("reply", "反馈"), Column("closed_at", "销号时间", "datetime"),
            Column("on_time", "按期")]


@bp.get("/tickets")
@authenticated
@documented({200: _table_content(TICKET)}, query={"status": enum(*TicketStatus), "department": STR, **FORMAT})
def tickets() -> Any:
    """Problem tickets, newest first: all for oversight and the window, a department's own otherwise."""
    rows = [ticket_json(v, _may_see_phone()) for v in list_tickets(
        db_session(), g.user, clock().now(), request.args.get("status") or None, request.args.get("department") or None)]
    return table_response(rows, ticket_columns(), "tickets")


@bp.post("/tickets")
@authenticated
@documented({201: TICKET}, payload(
    ["enterprise_name", "contact_name", "problem", "department", "limit_days"], enterprise_name=STR, credit_code=STR,
    contact_name=STR, contact_phone=STR, problem=STR, category=enum(*CATEGORIES), department=STR,
    limit_days={"type": "integer", "minimum": 1, "maximum": 60}))
def add_ticket() -> Any:
    """挂号 and 交办: log an enterprise's problem for a department with a limit in working days (the window)."""
    ticket = log_ticket(db_session(), clock(), g.user, json_body())
    return jsonify(ticket_json(ticket_views(db_session(), [ticket], clock().now())[0], _may_see_phone())), 201


@bp.get("/tickets/<int:ticket_id>")
@authenticated
@documented({200: TICKET})
def show_ticket(ticket_id: int) -> Any:
    """One ticket with its status, due date and the department's reply."""
    ticket = get_ticket(db_session(), g.user, ticket_id)
    return jsonify(ticket_json(ticket_views(db_session(), [ticket], clock().now())[0], _may_see_phone()))


@bp.post("/tickets/<int:ticket_id>/<any(reply, confirm):op>")
@authenticated
@documented({200: TICKET}, per_value={
    "reply": ApiDoc({200: TICKET}, payload(["reply"], reply=STR)),
    "confirm": ApiDoc({200: TICKET}, payload(["solved", "comment"], solved=BOOL, comment=STR)),
})
def ticket_operation(ticket_id: int, op: str) -> Any:
    """反馈 (reply: the department) or 销号 / back for another round (confirm: the window, for the enterprise)."""
    body, session = json_body(), db_session()
    if op == "reply":
        reply = body.get("reply")
        ticket = reply_ticket(session, clock(), g.user, ticket_id, reply if isinstance(reply, str) else "")
    else:
        solved, comment = body.get("solved"), body.get("comment")
        if not isinstance(solved, bool):
            raise InvalidInput("solved must be true or false")
        ticket = confirm_ticket(session, clock(), g.user, ticket_id, solved, comment if isinstance(comment, str) else "")
    return jsonify(ticket_json(ticket_views(session, [ticket], clock().now())[0], _may_see_phone()))


@bp.get("/tickets/stats")
@authenticated
@documented({200: array(TICKET_STATS)})
def tickets_stats() -> Any:
    """Tickets per department: logged, open, overdue, escalated, closed, and the on-time closure rate."""
    return jsonify([row.to_dict() for row in ticket_stats(db_session(), g.user, clock().now())])


# --- 依申请公开 and 双公示 ----------------------------------------------------------------------------------------

@bp.get("/stats/disclosure")
@authenticated
@documented({200: DISCLOSURE}, query={"from": DATE, "to": DATE})
def stats_disclosure() -> Any:
    """依申请公开: requests received in the period, answered, on time, extended, by answer type."""
    period = Period.parse(request.args.get("from"), request.args.get("to"))
    start = start_of_day(period.start) if period.start else None
    end = start_of_day(period.end + timedelta(days=1)) if period.end else None
    return jsonify(disclosure_stats(db_session(), clock(), g.user, start, end).to_dict())


@bp.post("/disclosure/tasks/<int:task_id>/extend")
@authenticated
@documented({200: record(statutory_due_at=DATETIME, extended_days=INT)},
            payload(["working_days", "reason"], working_days={"type": "integer", "minimum": 1, "maximum": 20}, reason=STR))
def extend_disclosure(task_id: int) -> Any:
    """延长答复期限 (条例 art. 33): once, at most 20 working days, by the disclosure office's head."""
    body = json_body()
    reason = body.get("reason")
    statutory = extend_reply_limit(db_session(), clock(), g.user, task_id, body.get("working_days"),  # type: ignore[arg-type]
                                   reason if isinstance(reason, str) else "")
    return jsonify({"statutory_due_at": iso(statutory.due_at), "extended_days": statutory.extended_days})


def feed_json(item: CreditFeedItem) -> dict[str, Any]:
    return {"id": item.id, "case_id": item.case_id, "decision": item.decision, "decided_at": iso(item.decided_at),
            "due_by": iso(item.due_by), "published_at": iso(item.published_at), "late": item.published_at > item.due_by,
            "record": item.record}


@bp.get("/credit-feed")
@authenticated
@documented({200: _table_content(FEED_ITEM)}, query={
    "after": {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID, "default": 0},
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 500}, **FORMAT})
def credit_feed() -> Any:
    """双公示: 行政许可 decisions for the credit-information platform, oldest first; ask again with `after` = the last id."""
    after = request.args.get("after", 0, type=int)
    limit = request.args.get("limit", 500, type=int)
    if not 0 <= after <= MAX_ROW_ID or not 1 <= limit <= 1000:
        raise InvalidInput("after must be a non-negative id and limit 1–1000")
    items = feed_items(db_session(), g.user, after, limit)
    fmt = requested_format(request.args.get("format"))
    if fmt:
        columns = [Column(name, name) for name in FIELDS]
        return download(fmt, "credit-feed", columns, [i.record for i in items], "双公示", header="key")
    return jsonify([feed_json(i) for i in items])

