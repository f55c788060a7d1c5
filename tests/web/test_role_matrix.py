"""Issue 8: every role × every route of the app, allowed or forbidden.

`POLICY` declares, for each (endpoint, method) of the URL map, the roles a district service centre
gives it. The first test fails when a route has no declared policy; the second walks each route
once per role (one test per route, so the objects its URL names are built once):

- forbidden roles get 403 (404 where the route hides what the caller may not see), never a success;
- allowed roles get 200 for a page (or the declared answer) and never 401/403 — a 4xx for the state
  of the object (409 already done, 422 bad input) is fine for an action;
- anonymous callers of a signed-in page are sent to /login, of the API get 401.

Roles: the window clerk, a reviewer of alpha and one of beta, alpha's department head, a
supervisor, an analyst and an administrator. The case the task and material URLs name is one of
alpha's alone, so "beta's reviewer may not see it" is what the matrix asserts.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.calendar import OFFICE_TZ
from engine.catalog import deploy_processes, ensure_departments
from engine.cases import accept_case, refuse_application
from engine.clock import FrozenClock
from engine.db import Database
from engine.definitions import deploy_definition
from engine.directory import create_department
from engine.materials import add_material
from engine.models import Task, User
from engine.operations import add_signer, delegate_task
from engine.projects import register_project
from engine.ratings import rate_at_window, rectify
from engine.supervision import issue_order
from engine.suspensions import pause_task
from engine.tasks import complete_task
from engine.tickets import log_ticket, reply_ticket
from engine.tokens import create_token
from engine.vocab import OPEN_TASK_STATES
from tests.factories import PASSWORD, bpmn, empty_tables, make_user
from tests.web.conftest import basic
from tests.window_data import PDF

ANONYMOUS = "anonymous"
USERNAMES = {
    "window": "window", "reviewer": "alpha", "other_reviewer": "beta", "head": "alpha_head",
    "supervisor": "supervisor", "analyst": "analyst", "admin": "admin",
}
ROLES = tuple(USERNAMES)
SIGNED_IN = frozenset(ROLES)
EVERYONE = SIGNED_IN | {ANONYMOUS}
OVERSIGHT = frozenset({"supervisor", "admin"})
ANALYSTS = frozenset({"analyst", "admin"})
ADMIN = frozenset({"admin"})
WINDOW = frozenset({"window"})
INTAKE = frozenset({"window", "admin"})
ALPHA = frozenset({"reviewer", "head"})  # the department whose task, order, commitment and ticket the URLs name
# Who may read alpha's case: the window, alpha, oversight, and analysts (the migration preview links open cases).
CASE_READERS = frozenset({"window", "reviewer", "head", "supervisor", "admin", "analyst"})
# An applicant's files: the analysts' need (where a case stands in its flow) stops short of them.
MATERIAL_READERS = CASE_READERS - {"analyst"}
DEPARTMENT_STAFF = frozenset({"window", "reviewer", "other_reviewer", "head"})
DESK = frozenset({"supervisor", "admin", "reviewer", "other_reviewer", "head"})  # the supervisor desk: own department
ALPHA_FIGURES = OVERSIGHT | ALPHA  # figures asked for with department=alpha
ENTERPRISE = frozenset({"supervisor", "admin", "window", "reviewer", "other_reviewer", "head"})
TICKET_LOGGERS = INTAKE | {"reviewer", "other_reviewer", "head"}  # the window and department staff (包联干部)

ONE_REVIEW = bpmn("one_review.bpmn").replace(b"LIMIT", b"5")
APPLICANT = {"name": "张三", "id_number": "110101199003070011", "phone": "13800138000"}


@dataclass(frozen=True)
class Rule:
    """Who may call one (endpoint, method), and how the matrix calls it.

    `values` overrides URL variables (by name) with a key of the fixture's ids or a literal;
    `json`/`form`/`data` build the request body from the ids; `ok` is the set of answers allowed
    roles must get (default: 200 for GET, anything but 401/403/404/5xx otherwise); `hides` lets
    forbidden roles get 404 where the engine does not disclose that the object exists; `setup`
    prepares the objects a route needs beyond the common ones.
    """

    allowed: frozenset[str]
    query: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    json: Callable[[dict[str, Any]], Any] | None = None
    form: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    data: bytes | None = None
    ok: frozenset[int] | None = None
    hides: bool = False
    setup: Callable[[Session, FrozenClock, dict[str, Any]], None] | None = None
    fresh: bool | None = None
    """Rebuild the objects after an allowed call succeeded; by default when `ok` is declared (the next
    allowed caller must get that answer too), else the next caller may meet a 409 for the state."""
    xfail: str | None = None

    @property
    def rebuilds(self) -> bool:
        return self.ok is not None if self.fresh is None else self.fresh


def _pause_for_supplement(s: Session, clock: FrozenClock, ids: dict[str, Any]) -> None:
    pause_task(s, clock, _user(s, "alpha"), ids["task_id"], "supplement", "缺营业执照")


def _rectify(s: Session, clock: FrozenClock, ids: dict[str, Any]) -> None:
    ids["task_id"] = rectify(s, clock, _user(s, "alpha"), ids["rectification_id"], "已约谈经办人").id


def _add_signer(s: Session, clock: FrozenClock, ids: dict[str, Any]) -> None:
    ids["task_id"] = add_signer(s, clock, _user(s, "alpha"), ids["task_id"], "alpha_head", "before").id


def _delegate(s: Session, clock: FrozenClock, ids: dict[str, Any]) -> None:
    delegate_task(s, clock, _user(s, "alpha"), ids["task_id"], "alpha_head")


def _reply_ticket(s: Session, clock: FrozenClock, ids: dict[str, Any]) -> None:
    """alpha answers the ticket: its 落实 step is completed by alpha while the case goes on."""
    reply_ticket(s, clock, _user(s, "alpha"), ids["ticket_id"], "已完成增容接入")
    ids["task_id"] = s.scalar(select(Task.id).where(Task.completed_by_id == _user(s, "alpha").id))


def _to_alpha(ids: dict[str, Any]) -> dict[str, Any]:
    return {"to": "alpha_head", "reason": "请科长审核"}


REDIRECT = frozenset({302})
POLICY: dict[tuple[str, str], Rule] = {
    # --- signing in, the public pages and the API's description -------------------------------
    ("auth.home", "GET"): Rule(EVERYONE, ok=REDIRECT),
    ("auth.login", "GET"): Rule(EVERYONE),
    ("auth.login", "POST"): Rule(EVERYONE, form=lambda i: {"username": "window", "password": PASSWORD}, ok=REDIRECT,
                                 fresh=False),
    ("auth.logout", "POST"): Rule(EVERYONE, ok=REDIRECT, fresh=False),
    ("public.progress", "GET"): Rule(EVERYONE, query="number={number}&code={code}"),
    ("public.progress", "POST"): Rule(EVERYONE, form=lambda i: {"number": i["number"], "code": i["code"]}),
    ("public.rate", "POST"): Rule(EVERYONE, form=lambda i: {"number": i["number"], "code": i["code"], "level": "5"}),
    ("api.progress", "GET"): Rule(EVERYONE, query="number={number}&code={code}"),
    ("api.progress_rating", "POST"): Rule(EVERYONE, json=lambda i: {"number": i["concluded_number"],
                                                                    "code": i["concluded_code"], "level": 5}),
    ("api.openapi", "GET"): Rule(EVERYONE),
    ("api_docs.docs_page", "GET"): Rule(EVERYONE),
    # --- the window ------------------------------------------------------------------------------
    ("window.index", "GET"): Rule(INTAKE),
    ("window.apply", "GET"): Rule(INTAKE),
    ("window.apply", "POST"): Rule(INTAKE, form=lambda i: {"applicant_name": "李四", "channel": "window"}, ok=REDIRECT),
    ("window.refuse", "POST"): Rule(INTAKE, form=lambda i: {"applicant_name": "李四", "reasons": "不属于本中心受理范围"},
                                    ok=REDIRECT),
    ("window.receipt", "GET"): Rule(INTAKE),
    ("window.upload", "POST"): Rule(INTAKE, form=lambda i: {"file": (BytesIO(PDF), "营业执照.pdf")}, ok=REDIRECT),
    ("window.deliveries", "GET"): Rule(WINDOW),
    ("window.delivery", "GET"): Rule(WINDOW),
    ("window.delivery", "POST"): Rule(WINDOW, form=lambda i: {"method": "pickup"}),
    ("window.rating", "GET"): Rule(WINDOW, values={"case_id": "concluded_id"}),
    ("window.rating", "POST"): Rule(WINDOW, values={"case_id": "concluded_id"}, form=lambda i: {"level": "5"}),
    # --- the case file, its notices and files ------------------------------------------------------
    ("cases.show", "GET"): Rule(CASE_READERS),
    ("cases.diagram", "GET"): Rule(CASE_READERS),
    ("notices.acceptance", "GET"): Rule(CASE_READERS),
    ("notices.supplement", "GET"): Rule(CASE_READERS),
    ("notices.not_accepted", "GET"): Rule(CASE_READERS - ALPHA, values={"case_id": "not_accepted_id"}),
    ("notices.refusal", "GET"): Rule(CASE_READERS, values={"case_id": "concluded_id"}),
    ("notices.material", "GET"): Rule(MATERIAL_READERS),
    # --- the department's desk -------------------------------------------------------------------
    ("reviewer.inbox", "GET"): Rule(DEPARTMENT_STAFF),
    ("reviewer.show", "GET"): Rule(ALPHA | {"window"}),
    ("reviewer.claim", "POST"): Rule(ALPHA, ok=REDIRECT),
    ("reviewer.unclaim", "POST"): Rule(ALPHA),
    ("reviewer.complete", "POST"): Rule(ALPHA, form=lambda i: {"outcome": "approve", "opinion": "同意"}, ok=REDIRECT),
    ("reviewer.pause", "POST"): Rule(ALPHA, form=lambda i: {"kind": "supplement", "reason": "缺营业执照"}),
    ("reviewer.resume", "POST"): Rule(ALPHA | {"window"}, setup=_pause_for_supplement, ok=REDIRECT),
    ("reviewer.extend", "POST"): Rule(frozenset({"head"}), form=lambda i: {"working_days": "2", "reason": "现场核查"},
                                      ok=REDIRECT),
    ("reviewer.transfer", "POST"): Rule(ALPHA, form=lambda i: {"to": "alpha_head", "reason": "请科长办理"}),
    ("reviewer.delegate", "POST"): Rule(ALPHA, form=lambda i: {"to": "alpha_head"}),
    ("reviewer.resolve", "POST"): Rule(ALPHA, setup=_delegate, form=lambda i: {"opinion": "已核实"}),
    ("reviewer.return_to", "POST"): Rule(ALPHA, form=lambda i: {"to_step": "intake", "reason": "受理信息有误"}),
    ("reviewer.withdraw", "POST"): Rule(ALPHA, setup=_reply_ticket),
    ("reviewer.cc", "POST"): Rule(ALPHA, form=lambda i: {"departments": "gamma"}),
    ("reviewer.add_signer_view", "POST"): Rule(ALPHA, form=lambda i: {"to": "alpha_head", "position": "after"}),
    ("reviewer.remove_signer_view", "POST"): Rule(ALPHA, form=lambda i: {"user": "alpha_head"}),
    ("reviewer.opinion", "POST"): Rule(frozenset({"head"}), setup=_add_signer, form=lambda i: {"opinion": "同意"},
                                       ok=REDIRECT),  # the added signer alone
    ("reviewer.approve_selected", "POST"): Rule(DEPARTMENT_STAFF, form=lambda i: {"task_ids": str(i["task_id"]), "opinion": "同意"},
                                                ok=REDIRECT),
    ("reviewer.orders", "GET"): Rule(ALPHA | {"other_reviewer"}),
    ("reviewer.reply", "POST"): Rule(ALPHA, form=lambda i: {"text": "已于当日办结"}, ok=REDIRECT),
    # --- 整改, 回访, 告知承诺 checks, 审管联动 -------------------------------------------------------------
    ("followups.index", "GET"): Rule(SIGNED_IN),
    ("followups.task", "GET"): Rule(ALPHA | OVERSIGHT, values={"task_id": "rectification_id"}),
    ("followups.rectify_task", "POST"): Rule(ALPHA, values={"task_id": "rectification_id"},
                                             form=lambda i: {"measures": "已约谈经办人"}, ok=REDIRECT),
    ("followups.follow_up", "POST"): Rule(WINDOW, setup=_rectify, form=lambda i: {"result": "申请人表示满意"}, ok=REDIRECT),
    ("followups.check", "POST"): Rule(ALPHA, form=lambda i: {"result": "经核查属实"}, ok=REDIRECT),
    ("followups.read_feed", "POST"): Rule(SIGNED_IN, ok=REDIRECT, fresh=False),
    ("notifications.index", "GET"): Rule(SIGNED_IN),
    ("notifications.read_all", "POST"): Rule(SIGNED_IN, ok=REDIRECT, fresh=False),
    # --- the supervisor's desk -------------------------------------------------------------------
    ("supervisor.board", "GET"): Rule(DESK),
    ("supervisor.reassign", "POST"): Rule(OVERSIGHT | {"head"}, form=lambda i: {"username": "alpha_head"}, ok=REDIRECT),
    ("supervisor.urge", "POST"): Rule(OVERSIGHT, form=lambda i: {"message": "请加快办理"}, ok=REDIRECT),
    ("supervisor.order", "POST"): Rule(OVERSIGHT, form=lambda i: {"department": "alpha", "reply_within_days": "3",
                                                                  "text": "请说明进展"}, ok=REDIRECT),
    ("supervisor.stats_departments", "GET"): Rule(DESK),
    ("supervisor.stats_reviewers", "GET"): Rule(DESK),
    ("supervisor.stats_monthly", "GET"): Rule(DESK),
    ("supervisor.stats_matters", "GET"): Rule(OVERSIGHT),
    ("supervisor.stats_channels", "GET"): Rule(OVERSIGHT),
    ("supervisor.stats_tickets", "GET"): Rule(DESK),
    # --- analysts --------------------------------------------------------------------------------
    ("analyst.definitions", "GET"): Rule(ANALYSTS),
    ("analyst.deploy", "POST"): Rule(ANALYSTS, form=lambda i: {"bpmn": (BytesIO(ONE_REVIEW), "one_review.bpmn")},
                                     ok=REDIRECT),
    ("analyst.designer", "GET"): Rule(ANALYSTS, query="key={key}"),
    ("analyst.template", "GET"): Rule(ANALYSTS, query="departments=alpha"),
    ("analyst.xml", "GET"): Rule(ANALYSTS),
    ("analyst.history", "GET"): Rule(ANALYSTS),
    ("analyst.migrate", "POST"): Rule(ANALYSTS, form=lambda i: {"from_version": "1", "to_version": "1"}),
    ("analyst.validate", "POST"): Rule(ANALYSTS, json=lambda i: {"xml": ONE_REVIEW.decode()}),
    ("analyst.simulate", "POST"): Rule(ANALYSTS, json=lambda i: {"xml": ONE_REVIEW.decode()}),
    ("analyst.deploy_from_designer", "POST"): Rule(ANALYSTS, json=lambda i: {"xml": ONE_REVIEW.decode()}),
    # --- administrators --------------------------------------------------------------------------
    ("admin.index", "GET"): Rule(ADMIN),
    ("admin.calendar", "GET"): Rule(ADMIN),
    ("admin.add_department", "POST"): Rule(ADMIN, form=lambda i: {"code": "zeta", "name": "戊局"}, ok=REDIRECT),
    ("admin.add_user", "POST"): Rule(ADMIN, form=lambda i: {"username": "u1", "password": "pass12345",
                                                            "roles": "reviewer", "department": "alpha"}, ok=REDIRECT),
    ("admin.add_calendar_day", "POST"): Rule(ADMIN, form=lambda i: {"day": "2026-12-31", "kind": "holiday",
                                                                    "note": "测试"}, ok=REDIRECT),
    ("admin.import_calendar", "POST"): Rule(ADMIN, form=lambda i: {"year": "2027"}),
    # --- enterprise services ---------------------------------------------------------------------
    ("projects.index", "GET"): Rule(ENTERPRISE),
    ("projects.show", "GET"): Rule(OVERSIGHT | WINDOW, hides=True),  # no step of alpha's or beta's in the project
    ("projects.new", "GET"): Rule(INTAKE),
    ("projects.create", "POST"): Rule(INTAKE, form=lambda i: {
        "name": "园区项目", "enterprise_name": "示例有限公司", "kind": "investment", "investment_yuan": "1000000",
        "contact_name": "周经理", "contact_phone": "13700137000"}, ok=REDIRECT),
    ("projects.overview_page", "GET"): Rule(OVERSIGHT),
    ("tickets.index", "GET"): Rule(ENTERPRISE),
    ("tickets.create", "POST"): Rule(TICKET_LOGGERS, form=lambda i: {
        "enterprise_name": "示例食品有限公司", "contact_name": "吴总", "problem": "用电增容", "category": "factor",
        "department": "alpha", "limit_days": "3"}, ok=REDIRECT),
    ("tickets.show", "GET"): Rule(ENTERPRISE - {"other_reviewer"}, hides=True),
    ("tickets.reply", "POST"): Rule(ALPHA, form=lambda i: {"reply": "已完成增容接入"}, hides=True, ok=REDIRECT),
    ("tickets.confirm", "POST"): Rule(INTAKE, form=lambda i: {"solved": "1", "comment": "满意"}),
    ("tickets.disclosure", "GET"): Rule(OVERSIGHT),  # and the disclosure office (govoffice), not in this matrix
    ("tickets.credit_feed", "GET"): Rule(OVERSIGHT),
    # --- API: directory, definitions, tokens -------------------------------------------------------
    ("api.departments", "GET"): Rule(SIGNED_IN),
    ("api.add_department", "POST"): Rule(ADMIN, json=lambda i: {"code": "zeta", "name": "戊局"}),
    ("api.add_user", "POST"): Rule(ADMIN, json=lambda i: {"username": "u1", "password": "pass12345",
                                                          "roles": ["reviewer"], "department": "alpha"}),
    ("api.definitions", "GET"): Rule(SIGNED_IN),
    ("api.deploy", "POST"): Rule(ANALYSTS, data=ONE_REVIEW),
    ("api.validate", "POST"): Rule(ANALYSTS, data=ONE_REVIEW),
    ("api.versions", "GET"): Rule(ANALYSTS),
    ("api.download", "GET"): Rule(ANALYSTS),
    ("api.diff", "GET"): Rule(ANALYSTS, query="from=1&to=1"),
    ("api.simulate", "POST"): Rule(ANALYSTS, json=lambda i: {}),
    ("api.migrate", "POST"): Rule(ANALYSTS, json=lambda i: {"from_version": 1, "to_version": 1, "dry_run": True}),
    ("api.tokens", "GET"): Rule(ADMIN),
    ("api.issue_token", "POST"): Rule(ADMIN, json=lambda i: {"user": "window", "name": "网上办事大厅"}),
    ("api.revoke", "DELETE"): Rule(ADMIN),
    ("api.calendar_year", "GET"): Rule(SIGNED_IN),
    ("api.replace_calendar_year", "PUT"): Rule(ADMIN, json=lambda i: {"holidays": ["2026-12-31"], "workdays": []}),
    # --- API: cases and their files --------------------------------------------------------------
    ("api.start_case", "POST"): Rule(INTAKE, json=lambda i: {"definition": "one_review", "applicant": {"name": "李四"}}),
    ("api.refuse_case", "POST"): Rule(INTAKE, json=lambda i: {"definition": "one_review", "applicant": {"name": "李四"},
                                                              "reasons": ["不属于本中心受理范围"]}),
    ("api.show_case", "GET"): Rule(CASE_READERS),
    ("api.list_materials", "GET"): Rule(CASE_READERS),
    ("api.download_material", "GET"): Rule(MATERIAL_READERS),
    ("api.upload_materials", "POST"): Rule(INTAKE, form=lambda i: {"file": (BytesIO(PDF), "营业执照.pdf")}),
    ("api.delivery", "POST"): Rule(WINDOW, json=lambda i: {"method": "pickup"}),
    ("api.rate_case", "POST"): Rule(WINDOW, values={"case_id": "concluded_id"}, json=lambda i: {"level": 5}),
    ("api.events", "GET"): Rule(OVERSIGHT),
    # --- API: tasks ------------------------------------------------------------------------------
    ("api.tasks", "GET"): Rule(OVERSIGHT | ALPHA, query="department=alpha"),
    ("api.claim", "POST"): Rule(ALPHA),
    ("api.complete", "POST"): Rule(ALPHA, json=lambda i: {"outcome": "approve", "opinion": "同意"}),
    ("api.task_operation", "POST"): Rule(ALPHA, values={"op": "transfer"}, json=_to_alpha),
    ("api.return_task", "POST"): Rule(ALPHA, json=lambda i: {"reason": "缺营业执照"}),
    ("api.signer_opinion", "POST"): Rule(frozenset({"head"}), setup=_add_signer, json=lambda i: {"opinion": "同意"}),
    ("api.approve_many", "POST"): Rule(DEPARTMENT_STAFF, json=lambda i: {"ids": [i["task_id"]], "opinion": "同意"}),
    ("api.phrases", "GET"): Rule(SIGNED_IN),
    ("api.add_phrase", "POST"): Rule(SIGNED_IN, json=lambda i: {"text": "材料齐全，同意"}),
    ("api.pause", "POST"): Rule(ALPHA, json=lambda i: {"kind": "supplement", "reason": "缺营业执照"}),
    ("api.resume", "POST"): Rule(ALPHA | {"window"}, setup=_pause_for_supplement),
    ("api.extend", "POST"): Rule(frozenset({"head"}), json=lambda i: {"working_days": 2, "reason": "现场核查"}),
    ("api.urge", "POST"): Rule(OVERSIGHT, json=lambda i: {"message": "请加快办理"}),
    ("api.rectify_task", "POST"): Rule(ALPHA, values={"task_id": "rectification_id"},
                                       json=lambda i: {"measures": "已约谈经办人"}),
    ("api.follow_up", "POST"): Rule(WINDOW, setup=_rectify, json=lambda i: {"result": "申请人表示满意"}),
    # --- API: supervision, notifications, commitments, feed ----------------------------------------
    ("api.create_order", "POST"): Rule(OVERSIGHT, json=lambda i: {"case_id": i["case_id"], "department": "alpha",
                                                                  "reply_within_days": 3, "text": "请说明进展"}),
    ("api.list_orders", "GET"): Rule(SIGNED_IN),  # each sees their department's (oversight: all)
    ("api.reply_order", "POST"): Rule(ALPHA, json=lambda i: {"text": "已于当日办结"}),
    ("api.notifications", "GET"): Rule(SIGNED_IN),
    ("api.read_notifications", "POST"): Rule(SIGNED_IN, json=lambda i: {}),
    ("api.commitments", "GET"): Rule(SIGNED_IN),  # each sees their department's checks (oversight: all)
    ("api.check", "POST"): Rule(ALPHA, json=lambda i: {"result": "经核查属实"}),
    ("api.feed", "GET"): Rule(SIGNED_IN),
    ("api.read_feed", "POST"): Rule(SIGNED_IN, json=lambda i: {}),
    # --- API: board and statistics (department figures asked for alpha) ------------------------------
    ("api.board", "GET"): Rule(ALPHA_FIGURES, query="department=alpha"),
    ("api.board_cases", "GET"): Rule(ALPHA_FIGURES, query="department=alpha"),
    ("api.board_departments", "GET"): Rule(ALPHA_FIGURES, query="department=alpha"),
    ("api.stats_departments", "GET"): Rule(ALPHA_FIGURES, query="department=alpha"),
    ("api.stats_reviewers", "GET"): Rule(ALPHA_FIGURES, query="department=alpha"),
    ("api.stats_monthly", "GET"): Rule(ALPHA_FIGURES, query="by=department&department=alpha"),
    ("api.stats_matters", "GET"): Rule(OVERSIGHT),
    ("api.stats_channels", "GET"): Rule(OVERSIGHT),
    ("api.stats_ratings", "GET"): Rule(OVERSIGHT),
    # --- API: enterprise services ------------------------------------------------------------------
    # Lists and overviews answer each caller with what they may see (a department: its own), so every
    # signed-in caller gets an answer; one object they may not see is answered 404.
    ("api.projects", "GET"): Rule(SIGNED_IN),
    ("api.projects_overview", "GET"): Rule(SIGNED_IN),
    ("api.show_project", "GET"): Rule(OVERSIGHT | WINDOW, hides=True),
    ("api.add_project", "POST"): Rule(INTAKE, json=lambda i: {
        "name": "园区项目", "enterprise_name": "示例有限公司", "kind": "investment", "investment_yuan": 1_000_000,
        "contact_name": "周经理", "contact_phone": "13700137000"}),
    ("api.tickets", "GET"): Rule(SIGNED_IN),
    ("api.tickets_stats", "GET"): Rule(SIGNED_IN),
    ("api.add_ticket", "POST"): Rule(TICKET_LOGGERS, json=lambda i: {
        "enterprise_name": "示例食品有限公司", "contact_name": "吴总", "problem": "用电增容", "category": "factor",
        "department": "alpha", "limit_days": 3}),
    ("api.show_ticket", "GET"): Rule(ENTERPRISE - {"other_reviewer"}, hides=True),
    ("api.ticket_operation", "POST"): Rule(ALPHA, values={"op": "reply"}, json=lambda i: {"reply": "已完成增容接入"},
                                           hides=True),
    ("api.stats_disclosure", "GET"): Rule(OVERSIGHT),  # and the disclosure office (govoffice)
    # 延长答复期限 is for the disclosure office's head alone: nobody of this matrix.
    ("api.extend_disclosure", "POST"): Rule(frozenset(), values={"task_id": "disclosure_task_id"},
                                            json=lambda i: {"working_days": 5, "reason": "需征求第三方意见"}),
    ("api.credit_feed", "GET"): Rule(OVERSIGHT),
}


def routes(app: Flask) -> list[tuple[str, str]]:
    return sorted({(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
                   for method in rule.methods - {"HEAD", "OPTIONS"}})


def _route_params() -> list[Any]:
    params = []
    for key, rule in sorted(POLICY.items()):
        marks = [pytest.mark.xfail(strict=True, reason=rule.xfail)] if rule.xfail else []
        params.append(pytest.param(*key, id=f"{key[0]}-{key[1]}", marks=marks))
    return params


@pytest.fixture(scope="module")
def matrix_app(db: Database) -> Flask:
    """One app for the module (building its URL map is a good part of a test's time); its state is in
    the database, emptied after each test, and its clock never moves."""
    from web.app import create_app

    clock = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=OFFICE_TZ))
    return create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False})


def test_every_route_has_a_declared_policy(matrix_app: Flask) -> None:
    declared = set(POLICY)
    served = set(routes(matrix_app))
    assert not served - declared, f"routes without a policy in tests/web/test_role_matrix.py: {sorted(served - declared)}"
    assert not declared - served, f"policies for routes the app no longer has: {sorted(declared - served)}"


# --- The objects the URLs name ---------------------------------------------------------------------

def _user(s: Session, username: str) -> User:
    return s.scalars(select(User).where(User.username == username)).one()


def _open_task(s: Session, case_id: int) -> Task:
    return s.scalars(select(Task).where(Task.case_id == case_id, Task.state.in_(OPEN_TASK_STATES))
                     .order_by(Task.id)).first()  # type: ignore[return-value]


def build(s: Session, clock: FrozenClock, enterprise: bool = True) -> dict[str, Any]:
    """alpha/beta/gamma with the test flow and one object of each kind; with `enterprise`, also the
    real departments and flows, a project, a ticket and a 依申请公开 request (a third of the time)."""
    if enterprise:
        ensure_departments(s, clock)
        deploy_processes(s, clock)
    else:
        create_department(s, clock, "window", "综合窗口")
    for code, name in (("alpha", "甲局"), ("beta", "乙局"), ("gamma", "丙局")):
        create_department(s, clock, code, name)
    window = make_user(s, clock, "window", ["window"], "window")
    alpha = make_user(s, clock, "alpha", ["reviewer"], "alpha")
    make_user(s, clock, "alpha_head", ["department_head"], "alpha")
    make_user(s, clock, "beta", ["reviewer"], "beta")
    make_user(s, clock, "gamma", ["reviewer"], "gamma")
    supervisor = make_user(s, clock, "supervisor", ["supervisor"])
    make_user(s, clock, "analyst", ["analyst"])
    admin = make_user(s, clock, "admin", ["admin"])
    deploy_definition(s, clock, ONE_REVIEW, catalog={"supervising_department": "alpha"})

    # The case the URLs name: alpha's review is open; beta has no part in it.
    case = accept_case(s, clock, window, "one_review", dict(APPLICANT), {},
                       commitments=[{"material": "场所证明", "text": "承诺场所合法"}])
    task = _open_task(s, case.id)
    material = add_material(s, clock, window, case.id, "身份证.pdf", PDF)
    order = issue_order(s, clock, supervisor, case.id, "alpha", 3, "请说明进展")
    commitment_id = s.scalar(text("SELECT id FROM commitments WHERE case_id = :c"), {"c": case.id})
    # A case alpha refused, rated 差评 by the applicant: alpha's rectification is open.
    concluded = accept_case(s, clock, window, "one_review", {"name": "王五"}, {})
    complete_task(s, clock, alpha, _open_task(s, concluded.id).id, "reject", "不符合条件")
    rating = rate_at_window(s, clock, window, concluded.id, 1, "等待太久", "alpha")
    not_accepted = refuse_application(s, clock, window, "one_review", {"name": "赵六"}, ["材料不全"])
    token, _plain = create_token(s, clock, admin, "window", "网上办事大厅")
    ids = {
        "case_id": case.id, "number": case.number, "code": case.query_code, "task_id": task.id,
        "material_id": material.id, "order_id": order.id, "commitment_id": commitment_id, "key": "one_review",
        "year": 2026, "concluded_id": concluded.id, "concluded_number": concluded.number,
        "concluded_code": concluded.query_code, "rectification_id": rating.rectification_task_id,
        "not_accepted_id": not_accepted.id, "token_id": token.id,
    }
    if not enterprise:
        return ids
    project = register_project(s, clock, window, {
        "name": "智能装备产业园", "enterprise_name": "示例装备制造有限公司", "kind": "investment",
        "investment_yuan": 120_000_000, "contact_name": "周经理", "contact_phone": "13700137000"})
    ticket = log_ticket(s, clock, window, {
        "enterprise_name": "示例食品有限公司", "contact_name": "吴总", "problem": "冷库用电增容迟迟未接入",
        "category": "factor", "department": "alpha", "limit_days": 3})
    disclosure = accept_case(s, clock, window, "yishenqing_gongkai", {"name": "孙七"}, {})
    s.flush()
    return {**ids, "project_id": project.id, "ticket_id": ticket.id, "disclosure_task_id": _open_task(s, disclosure.id).id}


ENTERPRISE_WORDS = ("project", "ticket", "disclosure", "credit")


def needs_enterprise(endpoint: str, rule: Rule) -> bool:
    """Routes of the enterprise services (and the statistics that count them) need their flows and objects."""
    return any(w in endpoint for w in ENTERPRISE_WORDS) or rule.setup is _reply_ticket


class World:
    """The fixture's objects, rebuilt from empty tables after an allowed call changed them."""

    def __init__(self, db: Database, clock: FrozenClock, rule: Rule, enterprise: bool) -> None:
        self.db, self.clock, self.rule, self.enterprise = db, clock, rule, enterprise
        self.ids = self._build()

    def _build(self) -> dict[str, Any]:
        with self.db.writer.begin() as s:
            ids = build(s, self.clock, self.enterprise)
            if self.rule.setup:
                self.rule.setup(s, self.clock, ids)
        return ids

    def rebuild(self) -> None:
        empty_tables(self.db)
        self.ids = self._build()


def _url(app: Flask, endpoint: str, method: str, rule: Rule, ids: dict[str, Any]) -> str:
    (url_rule,) = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods]
    values = {}
    for name in url_rule.arguments:
        wanted = rule.values.get(name, name)
        values[name] = ids.get(wanted, wanted) if isinstance(wanted, str) else wanted
    path = url_rule.build(values, append_unknown=False)[1]  # type: ignore[index]
    return path + ("?" + rule.query.format(**ids) if rule.query else "")


def sign_in(client: FlaskClient, username: str) -> None:
    """tests.web.conftest.login without fetching the form first: CSRF is off in this app, and the
    matrix signs in some seven hundred times."""
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def _call(client: FlaskClient, method: str, url: str, rule: Rule, ids: dict[str, Any], role: str) -> Any:
    api = url.startswith("/api/v1/")
    headers = basic(USERNAMES[role]) if api and role != ANONYMOUS else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if rule.json is not None:
        kwargs["json"] = rule.json(ids)
    elif rule.form is not None:
        kwargs["data"] = rule.form(ids)
    elif rule.data is not None:
        kwargs["data"] = rule.data
    elif method != "GET" and api:
        kwargs["json"] = {}
    return client.open(url, method=method, **kwargs)


def _verdict(role: str, allowed: bool, rule: Rule, method: str, url: str, status: int, location: str) -> str | None:
    """What is wrong with the answer, or None."""
    api = url.startswith("/api/v1/")
    if status >= 500:
        return "server error"
    if allowed:
        if status in (401, 403):
            return "allowed but refused"
        if rule.ok is not None:
            return None if status in rule.ok else f"expected {sorted(rule.ok)}"
        if method == "GET":
            return None if status == 200 else "expected 200"
        return "not found" if status == 404 else None
    if role == ANONYMOUS:
        if api:
            return None if status == 401 else "expected 401"
        return None if status == 302 and "/login" in location else "expected a redirect to /login"
    if status == 403 or (rule.hides and status == 404):
        return None
    return "forbidden but answered" if status < 400 else "expected 403"


@pytest.mark.parametrize(("endpoint", "method"), _route_params())
def test_role_matrix(matrix_app: Flask, db: Database, endpoint: str, method: str) -> None:
    rule = POLICY[(endpoint, method)]
    world = World(db, matrix_app.extensions["yjs_clock"], rule, needs_enterprise(endpoint, rule))
    # Forbidden callers first: nothing they send may change anything. Each allowed call that
    # succeeded changed the world, so the next one starts from a fresh one.
    order = sorted((*ROLES, ANONYMOUS), key=lambda r: r in rule.allowed)
    problems = []
    dirty = False
    for role in order:
        if dirty:
            world.rebuild()
        client = matrix_app.test_client()
        url = _url(matrix_app, endpoint, method, rule, world.ids)
        if role != ANONYMOUS and not url.startswith("/api/v1/"):
            sign_in(client, USERNAMES[role])
        response = _call(client, method, url, rule, world.ids, role)
        allowed = role in rule.allowed
        problem = _verdict(role, allowed, rule, method, url, response.status_code, response.headers.get("Location", ""))
        if problem:
            problems.append(f"{role} ({'allowed' if allowed else 'forbidden'}) {method} {url} → {response.status_code}: "
                            f"{problem}; {response.get_data(as_text=True)[:160]!r}")
        dirty = rule.rebuilds and method != "GET" and response.status_code < 400
    assert not problems, "\n".join(problems)
