"""Supervisors (督办科): every open case and task across departments."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request

from engine.cases import list_cases
from engine.vocab import Role
from web.auth import roles_required
from web.extensions import db_session

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


@bp.route("/")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def board() -> Any:
    status = request.args.get("status") or None
    return render_template("supervisor/board.html", cases=list_cases(db_session(), g.user, status=status), status=status)
