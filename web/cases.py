"""The case page (一事一档): every department's task and the full history, for anyone who may see it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template

from engine.cases import get_case, tasks_of
from engine.history import events_of
from web.auth import login_required
from web.extensions import db_session

bp = Blueprint("cases", __name__, url_prefix="/cases")


@bp.route("/<int:case_id>")
@login_required
def show(case_id: int) -> Any:
    case = get_case(db_session(), g.user, case_id)
    return render_template("cases/show.html", case=case, tasks=tasks_of(db_session(), case), events=events_of(db_session(), case))
