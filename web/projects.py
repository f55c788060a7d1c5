"""企业全生命周期服务 pages: the project register, one project's plan against actual, leadership's overview."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import EngineError
from engine.projects import (
    ProjectFilter, department_names, list_projects, overview, project_progress, register_project, upcoming_for_department,
)
from engine.vocab import ProjectKind, ProjectStage, Role
from web.auth import roles_required
from web.extensions import clock, db_session

bp = Blueprint("projects", __name__, url_prefix="/projects")
PROJECT_ROLES = (Role.SUPERVISOR, Role.ADMIN, Role.WINDOW, Role.REVIEWER, Role.DEPARTMENT_HEAD)
LEADERSHIP_ROLES = (Role.SUPERVISOR, Role.ADMIN)


def stage_labels() -> dict[str, str]:
    return {ProjectStage.INVESTMENT: _("Investment attraction"), ProjectStage.ADMISSION: _("Approval and admission"),
            ProjectStage.CONSTRUCTION: _("Construction"), ProjectStage.OPERATION: _("Operation"),
            ProjectStage.EXIT: _("Liquidation and exit"), ProjectStage.DONE: _("Service completed")}


def kind_labels() -> dict[str, str]:
    return {ProjectKind.INVESTMENT: _("Investment (招商)"), ProjectKind.UPGRADE: _("Technical upgrade (技改)")}


@bp.get("/")
@roles_required(*PROJECT_ROLES)
def index() -> Any:
    session = db_session()
    try:
        filters = ProjectFilter.parse(request.args)
    except EngineError as err:
        flash(err.message, "error")
        filters = ProjectFilter()
    rows = list_projects(session, g.user, clock().now(), filters)
    upcoming = upcoming_for_department(rows, g.user.department_id)[:50] if g.user.department_id else []
    return render_template("projects/index.html", rows=rows[:300], total=len(rows), upcoming=upcoming,
                           filters=filters, stages=stage_labels(), kinds=kind_labels(),
                           departments=department_names(session))


@bp.get("/<int:project_id>")
@roles_required(*PROJECT_ROLES)
def show(project_id: int) -> Any:
    session = db_session()
    progress = project_progress(session, g.user, project_id, clock().now())
    return render_template("projects/show.html", p=progress, stages=stage_labels(), kinds=kind_labels(),
                           departments=department_names(session))


@bp.get("/new")
@roles_required(Role.WINDOW, Role.ADMIN)
def new() -> Any:
    return render_template("projects/new.html", kinds=kind_labels())


@bp.post("/new")
@roles_required(Role.WINDOW, Role.ADMIN)
def create() -> Any:
    form = request.form
    try:
        investment = int(form.get("investment_yuan", "").strip())
    except ValueError:
        flash(_("The investment must be a whole number of yuan."), "error")
        return render_template("projects/new.html", kinds=kind_labels()), 422
    fields = {key: form.get(key) for key in ("name", "enterprise_name", "credit_code", "kind", "contact_name",
                                             "contact_phone")}
    project = register_project(db_session(), clock(), g.user, {**fields, "investment_yuan": investment})
    flash(_("Project registered; every step's time is now fixed."), "success")
    return redirect(url_for("projects.show", project_id=project.id))


@bp.get("/overview")
@roles_required(*LEADERSHIP_ROLES)
def overview_page() -> Any:
    session = db_session()
    summary = overview(session, g.user, clock().now())
    names = department_names(session)
    stages, kinds = stage_labels(), kind_labels()
    stage_keys = list(summary.by_stage)
    by_stage_chart = {
        "tooltip": {"trigger": "axis"}, "legend": {},
        "xAxis": {"type": "category", "data": [stages[s] for s in stage_keys]},
        "yAxis": [{"type": "value", "name": _("Projects")}, {"type": "value", "name": _("Investment (10k yuan)")}],
        "series": [
            {"type": "bar", "name": _("Projects"), "data": [summary.by_stage[s]["count"] for s in stage_keys]},
            {"type": "bar", "name": _("Major projects"), "data": [summary.by_stage[s]["major"] for s in stage_keys]},
            {"type": "line", "yAxisIndex": 1, "name": _("Investment (10k yuan)"),
             "data": [summary.by_stage[s]["investment_yuan"] // 10_000 for s in stage_keys]},
        ],
    }
    by_kind_chart = {"tooltip": {"trigger": "item"}, "series": [{"type": "pie", "radius": "65%", "data": [
        {"name": kinds[k], "value": v["count"]} for k, v in summary.by_kind.items()]}]}
    behind = sorted(summary.behind_by_department.items(), key=lambda kv: -kv[1])[:15]
    behind_chart = {"tooltip": {"trigger": "axis"}, "grid": {"left": 160},
                    "xAxis": {"type": "value"}, "yAxis": {"type": "category", "inverse": True,
                                                          "data": [names.get(d, str(d)) for d, _n in behind]},
                    "series": [{"type": "bar", "name": _("Steps behind plan"), "data": [n for _d, n in behind]}]}
    return render_template("projects/overview.html", summary=summary, stages=stages, kinds=kinds, names=names,
                           by_stage_chart=by_stage_chart, by_kind_chart=by_kind_chart, behind_chart=behind_chart,
                           behind=behind)


