"""Supervisors (督办科): every open case and task across departments."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.cases import list_cases
from engine.errors import EngineError
from engine.runtime import get_task
from engine.supervision import issue_order, urge_task
from engine.vocab import Role
from web.auth import roles_required
from web.extensions import clock, db_session

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


@bp.route("/")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def board() -> Any:
    status = request.args.get("status") or None
    return render_template("supervisor/board.html", cases=list_cases(db_session(), g.user, status=status), status=status)


def _back_to_case(case_id: int, action: Any, done: str) -> Any:
    try:
        action()
    except EngineError as err:
        db_session().rollback()
        flash(err.message, "error")
        return redirect(url_for("cases.show", case_id=case_id)), 303
    flash(done, "success")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/tasks/<int:task_id>/urge", methods=("POST",))
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def urge(task_id: int) -> Any:
    task = get_task(db_session(), task_id)
    return _back_to_case(task.case_id, lambda: urge_task(db_session(), clock(), g.user, task_id, request.form.get("message", "")),
                         _("Urged."))


@bp.route("/cases/<int:case_id>/orders", methods=("POST",))
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def order(case_id: int) -> Any:
    form = request.form
    days = form.get("reply_within_days", type=int)
    return _back_to_case(case_id, lambda: issue_order(
        db_session(), clock(), g.user, case_id, form.get("department", ""), days if days is not None else 0, form.get("text", ""),
    ), _("Supervision order issued."))
