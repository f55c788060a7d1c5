"""Department reviewers: the inbox (待办 / 已办), the task page, claim and complete."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.cases import get_case, tasks_of
from engine.errors import EngineError
from engine.history import events_of
from engine.instances import spec_cache
from engine.permissions import may_act_on_task, require
from engine.tasks import claim_task, complete_task, get_task, list_done_by, list_tasks, unclaim_task
from engine.supervision import orders_for, reply_to_order
from engine.suspensions import extend_task, pause_task, resume_task
from engine.vocab import Outcome, Role, SpecialProcedure
from web.clocks import clock_context, clock_statuses
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
    return render_template("reviewer/inbox.html", tasks=tasks, view=view, status_of=clock_statuses(db_session()))


@bp.route("/<int:task_id>")
@roles_required(*ACTING_ROLES)
def show(task_id: int) -> Any:
    return _task_page(task_id)


def _task_page(task_id: int, error: str | None = None, status: int = 200) -> Any:
    session = db_session()
    task = get_task(session, task_id)
    case = get_case(session, g.user, task.case_id)
    meta = spec_cache.get(case.definition).tasks.get(task.element_id)
    return render_template(
        "reviewer/task.html", task=task, case=case, meta=meta, tasks=tasks_of(session, case),
        events=events_of(session, case), may_act=may_act_on_task(g.user, task), outcomes=list(Outcome),
        catalog=case.definition.catalog.get("tasks", {}).get(task.element_id, {}), error=error,
        submitted=request.form, procedures=list(SpecialProcedure),
        may_extend=g.user.has_role(Role.DEPARTMENT_HEAD) and g.user.department_id == task.department_id,
        **clock_context(session, case),
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


def _clock_action(task_id: int, action: Callable[[], Any], done: str) -> Any:
    try:
        action()
    except EngineError as err:
        db_session().rollback()
        return _task_page(task_id, error=err.message, status=err.status)
    flash(done, "success")
    return redirect(url_for("reviewer.show", task_id=task_id))


@bp.route("/<int:task_id>/pause", methods=("POST",))
@roles_required(*ACTING_ROLES)
def pause(task_id: int) -> Any:
    form = request.form
    return _clock_action(task_id, lambda: pause_task(
        db_session(), clock(), g.user, task_id, form.get("kind", ""), form.get("reason", ""), form.get("procedure") or None,
    ), _("The clock is paused."))


@bp.route("/<int:task_id>/resume", methods=("POST",))
@roles_required(*ACTING_ROLES)
def resume(task_id: int) -> Any:
    return _clock_action(task_id, lambda: resume_task(db_session(), clock(), g.user, task_id), _("The clock runs again."))


@bp.route("/<int:task_id>/extend", methods=("POST",))
@roles_required(Role.DEPARTMENT_HEAD)
def extend(task_id: int) -> Any:
    form = request.form
    days = form.get("working_days", type=int)
    return _clock_action(task_id, lambda: extend_task(
        db_session(), clock(), g.user, task_id, days if days is not None else -1, form.get("reason", ""),
    ), _("The time limit is extended."))


@bp.route("/orders")
@roles_required(Role.REVIEWER, Role.DEPARTMENT_HEAD)
def orders() -> Any:
    return render_template("reviewer/orders.html", orders=orders_for(db_session(), g.user))


@bp.route("/orders/<int:order_id>/reply", methods=("POST",))
@roles_required(Role.REVIEWER, Role.DEPARTMENT_HEAD)
def reply(order_id: int) -> Any:
    try:
        reply_to_order(db_session(), clock(), g.user, order_id, request.form.get("text", ""))
    except EngineError as err:
        db_session().rollback()
        return render_template("reviewer/orders.html", orders=orders_for(db_session(), g.user), error=err.message), err.status
    flash(_("Reply sent."), "success")
    return redirect(url_for("reviewer.orders"))


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
