"""Department reviewers: the inbox (待办 / 已办), the task page, claim and complete."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.cases import get_case, tasks_of
from engine.errors import EngineError
from engine.history import events_of
from engine.instances import spec_cache
from engine.permissions import may_act_on_task, require
from engine.tasks import claim_task, complete_task, get_task, list_done_by, list_tasks, unclaim_task
from engine.vocab import Outcome, Role
from web.auth import roles_required
from web.extensions import clock, db_session

bp = Blueprint("reviewer", __name__, url_prefix="/tasks")
ACTING_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.WINDOW)


@bp.route("/")
@roles_required(*ACTING_ROLES)
def inbox() -> Any:
    view = request.args.get("view", "todo")
    if view == "done":
        tasks = list_done_by(db_session(), g.user)
    else:
        tasks = list_tasks(db_session(), g.user, state="open")
    return render_template("reviewer/inbox.html", tasks=tasks, view=view)


@bp.route("/<int:task_id>")
@roles_required(*ACTING_ROLES)
def show(task_id: int) -> Any:
    return _task_page(task_id)


def _task_page(task_id: int, error: str | None = None, status: int = 200) -> Any:
    task = get_task(db_session(), task_id)
    case = get_case(db_session(), g.user, task.case_id)
    meta = spec_cache.get(case.definition).tasks.get(task.element_id)
    return render_template(
        "reviewer/task.html", task=task, case=case, meta=meta, siblings=tasks_of(db_session(), case),
        events=events_of(db_session(), case), may_act=may_act_on_task(g.user, task), outcomes=list(Outcome),
        catalog=case.definition.catalog.get("tasks", {}).get(task.element_id, {}), error=error,
        submitted=request.form,
    ), status


@bp.route("/<int:task_id>/claim", methods=("POST",))
@roles_required(*ACTING_ROLES)
def claim(task_id: int) -> Any:
    claim_task(db_session(), clock(), g.user, task_id)
    flash(_("Task claimed."), "success")
    return redirect(url_for("reviewer.show", task_id=task_id))


@bp.route("/<int:task_id>/unclaim", methods=("POST",))
@roles_required(*ACTING_ROLES)
def unclaim(task_id: int) -> Any:
    unclaim_task(db_session(), clock(), g.user, task_id)
    flash(_("Task returned to the department inbox."), "success")
    return redirect(url_for("reviewer.show", task_id=task_id))


@bp.route("/<int:task_id>/complete", methods=("POST",))
@roles_required(*ACTING_ROLES)
def complete(task_id: int) -> Any:
    task = get_task(db_session(), task_id)
    require(may_act_on_task(g.user, task), _("This task belongs to another department."))
    meta = spec_cache.get(task.case.definition).tasks.get(task.element_id)
    form = request.form
    data: dict[str, Any] = {}
    for field in meta.form if meta else ():
        data[field.id] = (field.id in form) if field.type == "boolean" else form.get(field.id, field.default)
    try:
        complete_task(db_session(), clock(), g.user, task_id, form.get("outcome") or None, form.get("opinion"), data)
    except EngineError as err:
        # Show the form again with the message; nothing of the attempt is kept.
        db_session().rollback()
        return _task_page(task_id, error=err.message, status=err.status)
    flash(_("Task completed."), "success")
    return redirect(url_for("reviewer.inbox"))
