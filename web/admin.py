"""Administrators: departments and users."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

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
