"""Administrators: departments and users."""
from __future__ import annotations

from typing import Any

from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine.calendar_store import add_day, import_official_year, load_calendar, year_view
from engine.deadlines import recompute_open_clocks
from engine.directory import create_department, create_user, list_departments
from engine.errors import EngineError
from engine.models import User
from engine.vocab import Role
from web.auth import roles_required
from web.extensions import clock, db_session

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(error: str | None = None, status: int = 200) -> Any:
    users = list(db_session().scalars(select(User).order_by(User.username)))
    return render_template("admin/index.html", departments=list_departments(db_session()), users=users,
                           roles=list(Role), error=error), status


@bp.route("/")
@roles_required(Role.ADMIN)
def index() -> Any:
    return _page()


@bp.route("/departments", methods=("POST",))
@roles_required(Role.ADMIN)
def add_department() -> Any:
    try:
        create_department(db_session(), clock(), request.form.get("code", ""), request.form.get("name", ""))
    except EngineError as err:
        db_session().rollback()
        return _page(err.message, err.status)
    flash(_("Department created."), "success")
    return redirect(url_for("admin.index"))


@bp.route("/users", methods=("POST",))
@roles_required(Role.ADMIN)
def add_user() -> Any:
    form = request.form
    try:
        create_user(db_session(), clock(), form.get("username", ""), form.get("password", ""), form.getlist("roles"),
                    form.get("department") or None, form.get("display_name") or None)
    except EngineError as err:
        db_session().rollback()
        return _page(err.message, err.status)
    flash(_("User created."), "success")
    return redirect(url_for("admin.index"))


def _calendar_page(year: int, error: str | None = None, status: int = 200) -> Any:
    return render_template("admin/calendar.html", view=year_view(db_session(), year), error=error,
                           years=range(year - 1, year + 3)), status


@bp.route("/calendar")
@roles_required(Role.ADMIN)
def calendar() -> Any:
    return _calendar_page(request.args.get("year", clock().now().year, type=int))


def _after_calendar_change(year: int, what: str) -> Any:
    session = db_session()
    changed = recompute_open_clocks(session, load_calendar(session), clock().now(), g.user, what)
    flash(_("Calendar saved; %(n)s open due dates recomputed.", n=changed), "success")
    return redirect(url_for("admin.calendar", year=year))


@bp.route("/calendar/days", methods=("POST",))
@roles_required(Role.ADMIN)
def add_calendar_day() -> Any:
    form = request.form
    try:
        day = date.fromisoformat(form.get("day", ""))
    except ValueError:
        return _calendar_page(clock().now().year, _("Enter a date as YYYY-MM-DD."), 422)
    try:
        add_day(db_session(), clock(), g.user, day, form.get("kind", ""), form.get("note", ""))
    except EngineError as err:
        db_session().rollback()
        return _calendar_page(day.year, err.message, err.status)
    return _after_calendar_change(day.year, f"{day.isoformat()} set to {form.get('kind')}")


@bp.route("/calendar/import", methods=("POST",))
@roles_required(Role.ADMIN)
def import_calendar() -> Any:
    year = request.form.get("year", type=int) or clock().now().year + 1
    try:
        import_official_year(db_session(), clock(), g.user, year)
    except EngineError as err:
        db_session().rollback()
        return _calendar_page(year, err.message, err.status)
    return _after_calendar_change(year, f"official schedule {year} imported")
