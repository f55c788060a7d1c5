"""The supervisor's desk (督办科, 电子监察, leadership): the live board, its actions, and the statistics.

Supervisors and administrators see every department; a department's head and reviewers see their
own department's board and figures. Every table downloads as CSV or Excel (`?format=csv|xlsx`).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Callable

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine.board import (
    MAX_ROWS, BoardFilter, board_rows, department_loads, latest_concluded, open_cases, reassign_candidates, reassign_task,
    visible_department_ids,
)
from engine.calendar_store import load_calendar
from engine.deadlines import local_day
from engine.errors import EngineError
from engine.models import Department, User
from engine.permissions import sees_every_department
from engine.prediction import DurationCache, StepHistory, StepKey
from engine.runtime import get_task
from engine.stats import (
    DEFAULT_GRADE_THRESHOLDS, Grade, Performance, Period, channel_figures, definition_names, department_performance,
    departments_in_scope, grade_thresholds, matter_performance, monthly_by_department, monthly_by_matter, rating_figures,
    require_office_wide, reviewer_performance,
)
from engine.supervision import issue_order, urge_task
from engine.tickets import ticket_stats
from engine.vocab import Channel, Role
from web.auth import roles_required
from web.exports import Column, download, requested_format
from web.extensions import clock, db_session

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
DESK_ROLES = (Role.SUPERVISOR, Role.ADMIN, Role.DEPARTMENT_HEAD, Role.REVIEWER)
PAGE_SIZE = 50


# --- Shared by the pages and the API (web/api_stats.py) ------------------------------------------

def duration_cache(app: Flask) -> DurationCache:
    """The process's cache of step durations (kept warm by the scheduler: web/scheduler.py)."""
    cache: DurationCache = app.extensions.setdefault("yjs_step_durations", DurationCache())
    return cache


def step_history() -> dict[StepKey, StepHistory]:
    """Each step's typical handling time, for predictions; recomputed every few minutes per process."""
    session = db_session()
    return duration_cache(current_app).get(session, load_calendar(session), clock().now())


def configured_thresholds() -> dict[str, float]:
    """Grade thresholds: `STATS_GRADE_THRESHOLDS` in the app config over the defaults."""
    return grade_thresholds(current_app.config.get("STATS_GRADE_THRESHOLDS") or DEFAULT_GRADE_THRESHOLDS)


def board_columns() -> list[Column]:
    return [
        Column("case_number", _("Case")), Column("definition_name", _("Matter")), Column("name", _("Task")),
        Column("department_name", _("Department")), Column("assignee", _("Assignee")), Column("channel", _("Channel")),
        Column("accepted_at", _("Accepted at"), "datetime"), Column("due_at", _("Due"), "datetime"),
        Column("remaining_working_days", _("Working days left"), "int"), Column("warning", _("Warning")),
        Column("paused", _("Paused")), Column("predicted_completion", _("Predicted completion"), "datetime"),
        Column("bottleneck_department", _("Bottleneck department")),
        Column("misses_promise", _("Predicted to miss the promised limit")),
    ]


def case_columns() -> list[Column]:
    return [
        Column("number", _("Case")), Column("definition_name", _("Matter")), Column("channel", _("Channel")),
        Column("accepted_at", _("Accepted at"), "datetime"), Column("promised_due_at", _("Promised by"), "datetime"),
        Column("remaining_working_days", _("Working days left"), "int"), Column("warning", _("Warning")),
        Column("predicted_completion", _("Predicted completion"), "datetime"),
        Column("bottleneck_department", _("Bottleneck department")),
        Column("misses_promise", _("Predicted to miss the promised limit")),
    ]


def load_columns() -> list[Column]:
    return [Column("department", _("Department code")), Column("department_name", _("Department")),
            Column("open", _("Open"), "int"), Column("at_risk", _("At risk (notice or yellow)"), "int"),
            Column("overdue", _("Overdue (red)"), "int")]


def performance_columns(key_label: str) -> list[Column]:
    return [
        Column("key", key_label), Column("name", _("Name")), Column("cases", _("Cases"), "int"),
        Column("completed", _("Completed"), "int"), Column("on_time_rate", _("On-time rate"), "ratio"),
        Column("overdue", _("Overdue"), "int"), Column("avg_working_days", _("Average working days"), "float"),
        Column("grade", _("Grade")),
    ]


def monthly_columns(key_label: str) -> list[Column]:
    return [Column("month", _("Month")), Column("key", key_label), Column("name", _("Name")), Column("cases", _("Cases"), "int")]


def ratio_columns() -> list[Column]:
    return [Column("indicator", _("Indicator")), Column("name", _("Name")), Column("numerator", _("Numerator"), "int"),
            Column("denominator", _("Denominator"), "int"), Column("ratio", _("Ratio"), "ratio"),
            Column("definition", _("Definition"))]


def grade_labels() -> dict[str, str]:
    return {Grade.EXCELLENT: _("Excellent (优秀)"), Grade.GOOD: _("Good (良好)"), Grade.PASS: _("Pass (合格)"),
            Grade.FAIL: _("Fail (不合格)")}


def ratio_names() -> dict[str, tuple[str, str]]:
    """Each indicator's name and its definition, as the pages state them."""
    return {
        "one_visit": (_("One visit (一次办)"), _("Concluded cases for which the applicant came at most once, over concluded cases.")),
        "online": (_("Online (网上办)"), _("Cases applied online or forwarded by a partner region (跨省通办), over all cases.")),
        "on_the_spot": (_("On the spot (马上办)"), _("Concluded cases concluded on the working day they were accepted, over concluded cases.")),
        "rated": (_("Rating rate (主动评价率)"), _("Concluded cases the applicant rated, over concluded cases.")),
        "rectified": (_("Rectification rate (差评整改率)"), _("Bad ratings (levels 1–2) rectified, over bad ratings.")),
    }


def performance_dicts(rows: list[Performance]) -> list[dict[str, Any]]:
    return [{"key": r.key, "name": r.name, **r.to_dict()} for r in rows]


def ratio_dicts(ratios: list[Any]) -> list[dict[str, Any]]:
    names = ratio_names()
    return [{**r.to_dict(), "name": names[r.indicator][0], "definition": names[r.indicator][1]} for r in ratios]


# --- The board ------------------------------------------------------------------------------------

def _choices(department_ids: list[int]) -> dict[str, Any]:
    session = db_session()
    departments = list(session.scalars(select(Department).where(Department.id.in_(department_ids)).order_by(Department.code)))
    return {"departments": departments, "definitions": sorted(definition_names(session).items()), "channels": list(Channel)}


@bp.route("/")
@roles_required(*DESK_ROLES)
def board() -> Any:
    """Open tasks (or open cases, `view=cases`) with warning levels and predictions; `format` downloads them all."""
    session, now = db_session(), clock().now()
    calendar = load_calendar(session)
    filters = BoardFilter.parse(request.args)
    if not sees_every_department(g.user) and not filters.department and g.user.department:
        filters = replace(filters, department=g.user.department.code)
    fmt = requested_format(request.args.get("format"))
    view = "cases" if request.args.get("view") == "cases" else "tasks"
    page = max(1, request.args.get("page", 1, type=int) or 1)
    limit, offset = (MAX_ROWS, 0) if fmt else (PAGE_SIZE, (page - 1) * PAGE_SIZE)
    late_only = request.args.get("predicted") == "late"
    if view == "cases":
        rows, total = open_cases(session, g.user, calendar, now, filters, late_only, limit, offset, step_history())
        columns, name, title = case_columns(), "open-cases", _("Open cases")
    else:
        rows, total = board_rows(session, g.user, calendar, now, filters, limit, offset, step_history())
        columns, name, title = board_columns(), "board", _("Board")
    if fmt:
        return download(fmt, f"{name}-{local_day(now).isoformat()}", columns, [r.to_dict() for r in rows], title)
    choices = _choices(visible_department_ids(session, g.user))
    may_reassign_here = g.user.has_role(Role.SUPERVISOR, Role.ADMIN, Role.DEPARTMENT_HEAD)
    candidates: dict[str, list[User]] = {}
    if view == "tasks" and may_reassign_here:
        ids = {d.code: d.id for d in choices["departments"]}
        by_id = reassign_candidates(session, [ids[r.department] for r in rows])
        candidates = {code: by_id.get(department_id, []) for code, department_id in ids.items()}
    return render_template(
        "supervisor/board.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)), view=view,
        filters=filters, late_only=late_only, loads=department_loads(session, g.user, now, filters),
        candidates=candidates, concluded=latest_concluded(session, g.user) if view == "tasks" and page == 1 else [],
        may_supervise=g.user.has_role(Role.SUPERVISOR, Role.ADMIN), may_reassign_here=may_reassign_here, **choices,
    )


def _next_url() -> str:
    """Back where the form was (a board or case page of this site), else the board."""
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith(("/supervisor", "/cases/")) and not target.startswith("//"):
        return target
    return url_for("supervisor.board")


def _act(action: Callable[[], Any], done: str, back: str) -> Any:
    try:
        action()
    except EngineError as err:
        db_session().rollback()
        flash(err.message, "error")
        return redirect(back), 303
    flash(done, "success")
    return redirect(back)


@bp.route("/tasks/<int:task_id>/reassign", methods=("POST",))
@roles_required(Role.SUPERVISOR, Role.ADMIN, Role.DEPARTMENT_HEAD)
def reassign(task_id: int) -> Any:
    username = request.form.get("username", "")
    return _act(lambda: reassign_task(db_session(), clock(), g.user, task_id, username),
                _("Task reassigned to %(user)s.", user=username), _next_url())


@bp.route("/tasks/<int:task_id>/urge", methods=("POST",))
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def urge(task_id: int) -> Any:
    task = get_task(db_session(), task_id)
    back = _next_url() if request.form.get("next") else url_for("cases.show", case_id=task.case_id)
    return _act(lambda: urge_task(db_session(), clock(), g.user, task_id, request.form.get("message", "")),
                _("Urged."), back)


@bp.route("/cases/<int:case_id>/orders", methods=("POST",))
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def order(case_id: int) -> Any:
    form = request.form
    days = form.get("reply_within_days", type=int)
    back = _next_url() if form.get("next") else url_for("cases.show", case_id=case_id)
    return _act(lambda: issue_order(
        db_session(), clock(), g.user, case_id, form.get("department", ""), days if days is not None else 0, form.get("text", ""),
    ), _("Supervision order issued."), back)


# --- Statistics -----------------------------------------------------------------------------------

def page_period() -> Period:
    """The period a statistics page shows: from/to, else `period=all`, else this year so far."""
    args = request.args
    if args.get("from") or args.get("to") or args.get("period") == "all":
        return Period.parse(args.get("from"), args.get("to"))
    today = local_day(clock().now())
    return Period(date(today.year, 1, 1), today)


def _period_links() -> dict[str, dict[str, str]]:
    today = local_day(clock().now())
    last = today.year - 1
    return {"this_year": {"from": date(today.year, 1, 1).isoformat(), "to": today.isoformat()},
            "last_year": {"from": date(last, 1, 1).isoformat(), "to": date(last, 12, 31).isoformat()},
            "last_30": {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}}


def _stats_page(template: str, **context: Any) -> Any:
    return render_template(template, period=context.pop("period"), period_links=_period_links(),
                           office_wide=sees_every_department(g.user), grade_labels=grade_labels(), **context)


def _performance_chart(rows: list[Performance], title_rate: str, title_days: str) -> dict[str, Any]:
    """An ECharts option: on-time rate as bars, average working days as a line."""
    shown = [r for r in rows if r.measured]
    return {
        "tooltip": {"trigger": "axis"}, "legend": {"data": [title_rate, title_days]},
        "grid": {"left": 50, "right": 50, "bottom": 90},
        "xAxis": {"type": "category", "data": [r.name for r in shown], "axisLabel": {"rotate": 40, "interval": 0}},
        "yAxis": [{"type": "value", "name": "%", "max": 100}, {"type": "value", "name": title_days}],
        "series": [
            {"name": title_rate, "type": "bar", "data": [round((r.on_time_rate or 0) * 100, 2) for r in shown]},
            {"name": title_days, "type": "line", "yAxisIndex": 1, "data": [round(r.avg_working_days or 0, 2) for r in shown]},
        ],
    }


def _performance_download(fmt: str, name: str, key_label: str, rows: list[Performance], title: str) -> Any:
    labels = grade_labels()
    table = [{**d, "grade": labels.get(d["grade"], "") if d["grade"] else ""} for d in performance_dicts(rows)]
    return download(fmt, name, performance_columns(key_label), table, title)


@bp.route("/stats")
@roles_required(*DESK_ROLES)
def stats_departments() -> Any:
    """The league table of departments (a department's own staff see their own row)."""
    session, now, period = db_session(), clock().now(), page_period()
    scope = departments_in_scope(session, g.user, request.args.get("department") or None, own_by_default=True)
    thresholds = configured_thresholds()
    rows = department_performance(session, load_calendar(session), now, period, scope, thresholds)
    fmt = requested_format(request.args.get("format"))
    if fmt:
        return _performance_download(fmt, "departments", _("Department code"), rows, _("Departments"))
    return _stats_page("supervisor/stats_departments.html", period=period, rows=rows, thresholds=thresholds,
                       chart=_performance_chart(rows, _("On-time rate (%)"), _("Average working days")))


@bp.route("/stats/matters")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def stats_matters() -> Any:
    require_office_wide(g.user)
    session, now, period = db_session(), clock().now(), page_period()
    thresholds = configured_thresholds()
    rows = matter_performance(session, load_calendar(session), now, period, thresholds)
    fmt = requested_format(request.args.get("format"))
    if fmt:
        return _performance_download(fmt, "matters", _("Matter code"), rows, _("Matters"))
    return _stats_page("supervisor/stats_matters.html", period=period, rows=rows, thresholds=thresholds,
                       chart=_performance_chart(rows, _("On-time rate (%)"), _("Average working days")))


@bp.route("/stats/reviewers")
@roles_required(*DESK_ROLES)
def stats_reviewers() -> Any:
    session, now, period = db_session(), clock().now(), page_period()
    department = request.args.get("department") or None
    if department is None and sees_every_department(g.user) and request.args.get("all") != "1":
        first = session.scalar(select(Department.code).order_by(Department.code))
        department = first
    scope = departments_in_scope(session, g.user, department, own_by_default=True)
    thresholds = configured_thresholds()
    rows = reviewer_performance(session, load_calendar(session), now, period, scope, thresholds)
    fmt = requested_format(request.args.get("format"))
    if fmt:
        return _performance_download(fmt, "reviewers", _("Username"), rows, _("Reviewers"))
    departments = list(session.scalars(select(Department).order_by(Department.code))) if sees_every_department(g.user) else []
    return _stats_page("supervisor/stats_reviewers.html", period=period, rows=rows, thresholds=thresholds,
                       department=department, departments=departments)


def _pivot(counts: list[Any]) -> tuple[list[str], list[tuple[str, str]], dict[tuple[str, str], int]]:
    """Months, columns (key, name) and cells of a month × key table, from aggregate rows."""
    months = sorted({c.month for c in counts})
    columns = sorted({(c.key, c.name) for c in counts})
    return months, columns, {(c.month, c.key): c.cases for c in counts}


@bp.route("/stats/monthly")
@roles_required(*DESK_ROLES)
def stats_monthly() -> Any:
    """办件量 by month: per 一件事 (the whole office) and per department."""
    session, now, period = db_session(), clock().now(), page_period()
    calendar = load_calendar(session)
    by = "department" if request.args.get("by") == "department" or not sees_every_department(g.user) else "matter"
    if by == "matter":
        require_office_wide(g.user)
        counts = monthly_by_matter(session, calendar, now, period)
    else:
        scope = departments_in_scope(session, g.user, request.args.get("department") or None, own_by_default=True)
        counts = monthly_by_department(session, calendar, now, period, scope)
    fmt = requested_format(request.args.get("format"))
    key_label = _("Matter code") if by == "matter" else _("Department code")
    if fmt:
        return download(fmt, f"monthly-by-{by}", monthly_columns(key_label), [c.__dict__ for c in counts], _("Cases by month"))
    months, columns, cells = _pivot(counts)
    chart = {
        "tooltip": {"trigger": "axis"}, "legend": {"type": "scroll", "data": [name for _k, name in columns]},
        "grid": {"left": 50, "right": 20, "bottom": 40, "top": 60},
        "xAxis": {"type": "category", "data": months}, "yAxis": {"type": "value"},
        "series": [{"name": name, "type": "bar", "stack": "cases", "data": [cells.get((m, key), 0) for m in months]}
                   for key, name in columns],
    }
    return _stats_page("supervisor/stats_monthly.html", period=period, by=by, months=months, columns=columns, cells=cells,
                       chart=chart)


@bp.route("/stats/channels")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def stats_channels() -> Any:
    """一次办 / 网上办 / 马上办 and 好差评, with their definitions."""
    require_office_wide(g.user)
    session, now, period = db_session(), clock().now(), page_period()
    channel_names = {"window": _("At the window"), "online": _("Online"), "partner": _("Partner region")}
    channel_rows, counts = channel_figures(session, load_calendar(session), now, period)
    rating_rows, levels = rating_figures(session, period)
    channels, ratings = ratio_dicts(channel_rows), ratio_dicts(rating_rows)
    fmt, table = requested_format(request.args.get("format")), request.args.get("table") or "channels"
    if fmt and table == "counts":
        rows = [{"key": k, "name": channel_names.get(k, k), "cases": n} for k, n in counts.items()]
        return download(fmt, "cases-by-channel", [Column("key", _("Channel")), Column("name", _("Name")),
                                                  Column("cases", _("Cases"), "int")], rows, _("Cases by channel"))
    if fmt and table == "levels":
        return download(fmt, "ratings-by-level", [Column("level", _("Level"), "int"), Column("ratings", _("Ratings"), "int")],
                        [{"level": level, "ratings": n} for level, n in levels.items()], _("Ratings by level"))
    if fmt:
        return download(fmt, table, ratio_columns(), ratings if table == "ratings" else channels, _("Ratios"))
    ratio_chart = {
        "tooltip": {}, "grid": {"left": 120, "right": 30},
        "xAxis": {"type": "value", "max": 100, "name": "%"},
        "yAxis": {"type": "category", "data": [r["name"] for r in channels + ratings]},
        "series": [{"type": "bar", "data": [round((r["ratio"] or 0) * 100, 2) for r in channels + ratings],
                    "label": {"show": True, "position": "right", "formatter": "{c}%"}}],
    }
    channel_chart = {"tooltip": {"trigger": "item"}, "series": [{"type": "pie", "radius": "65%", "data": [
        {"name": channel_names.get(k, k), "value": v} for k, v in counts.items()]}]}
    level_chart = {"tooltip": {}, "xAxis": {"type": "category", "data": [str(level) for level in levels]},
                   "yAxis": {"type": "value"}, "series": [{"type": "bar", "data": list(levels.values())}]}
    return _stats_page("supervisor/stats_channels.html", period=period, channels=channels, ratings=ratings,
                       counts=counts, levels=levels, channel_names=channel_names, ratio_chart=ratio_chart,
                       channel_chart=channel_chart, level_chart=level_chart)


def ticket_columns() -> list[Column]:
    return [
        Column("department_name", _("Department")), Column("logged", _("Logged"), "int"), Column("open", _("Open"), "int"),
        Column("overdue", _("Overdue"), "int"), Column("escalated", _("Escalated"), "int"),
        Column("closed", _("Closed"), "int"), Column("closed_on_time", _("Closed on time"), "int"),
        Column("on_time_rate", _("On-time closure rate"), "ratio"),
    ]


@bp.route("/stats/tickets")
@roles_required(*DESK_ROLES)
def stats_tickets() -> Any:
    """Enterprise problem tickets per department: logged, open, overdue, escalated, closed on time (按期办结率)."""
    rows = [r.to_dict() for r in ticket_stats(db_session(), g.user, clock().now())]
    fmt = requested_format(request.args.get("format"))
    if fmt:
        return download(fmt, "tickets", ticket_columns(), rows, _("Enterprise problems"))
    return render_template("supervisor/stats_tickets.html", rows=rows)
