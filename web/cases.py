"""The case page (一事一档): every department's task and the full history, for anyone who may see it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, render_template

from engine.cases import get_case, tasks_of
from engine.history import events_of
from engine.projects import project_step_of_case
from engine.vocab import OPEN_TASK_STATES, TaskState
from web.auth import login_required
from web.clocks import clock_context
from web.extensions import db_session

bp = Blueprint("cases", __name__, url_prefix="/cases")


@bp.route("/<int:case_id>")
@login_required
def show(case_id: int) -> Any:
    session = db_session()
    case = get_case(session, g.user, case_id)
    return render_template("cases/show.html", case=case, tasks=tasks_of(session, case), events=events_of(session, case),
                           project_step=project_step_of_case(session, case), **clock_context(session, case))


@bp.route("/<int:case_id>/diagram")
@login_required
def diagram(case_id: int) -> Any:
    """The case's own definition version as BPMN XML, with its user tasks by state, for the diagram viewer.

    Each element is listed once: active while any of its task rows is open or claimed, otherwise in
    the state of its latest row (a review returned for 补正 and not yet reopened shows as completed).
    Elements without task rows are pending (not reached yet).
    """
    case = get_case(db_session(), g.user, case_id)
    latest: dict[str, str] = {}
    active: set[str] = set()
    for task in tasks_of(db_session(), case):
        latest[task.element_id] = task.state
        if task.state in OPEN_TASK_STATES:
            active.add(task.element_id)
    by_state: dict[str, list[str]] = {"completed": [], "active": [], "cancelled": []}
    for element_id, state in latest.items():
        if element_id in active:
            by_state["active"].append(element_id)
        elif state == TaskState.COMPLETED:
            by_state["completed"].append(element_id)
        elif state == TaskState.CANCELLED:
            by_state["cancelled"].append(element_id)
    response = jsonify(xml=case.definition.bpmn_xml, **by_state)
    response.headers["Cache-Control"] = "private, no-store"
    return response
