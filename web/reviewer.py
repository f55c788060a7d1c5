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
from engine.tasks import claim_task, complete_task, get_task, list_tasks, unclaim_task
from engine.directory import list_departments
from engine.operations import (
    add_signer,
    batch_approve,
    colleagues_of,
    copy_task,
    delegate_task,
    give_opinion,
    passed_steps,
    phrases_for,
    remove_signer,
    resolve_task,
    return_to_step,
    signers_of,
    tasks_in_view,
    transfer_task,
    withdraw_task,
)
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
    if view not in ("todo", "done", "started", "cc"):
        view = "todo"
    tasks = list_tasks(db_session(), g.user, state="open") if view == "todo" else tasks_in_view(db_session(), g.user, view)
    if view == "todo":
        # Personal work (delegated to me, 加签 opinions) besides the department's inbox.
        seen = {t.id for t in tasks}
        tasks += [t for t in tasks_in_view(db_session(), g.user, "todo") if t.id not in seen]
    return render_template("reviewer/inbox.html", tasks=tasks, view=view, status_of=clock_statuses(db_session()),
                           phrases=phrases_for(db_session(), g.user))


@bp.route("/batch-approve", methods=("POST",))
@roles_required(*ACTING_ROLES)
def approve_selected() -> Any:
    ids = [int(i) for i in request.form.getlist("task_ids") if i.isdigit()]
    try:
        results = batch_approve(db_session(), clock(), g.user, ids, request.form.get("opinion", ""))
    except EngineError as err:
        db_session().rollback()
        flash(err.message, "error")
        return redirect(url_for("reviewer.inbox")), 303
    approved = sum(1 for r in results.values() if r == "approved")
    flash(_("%(n)s tasks approved.", n=approved), "success")
    for task_id, result in results.items():
        if result != "approved":
            flash(f"#{task_id}: {result}", "error")
    return redirect(url_for("reviewer.inbox"))


@bp.route("/<int:task_id>")
@roles_required(*ACTING_ROLES)
def show(task_id: int) -> Any:
    task = get_task(db_session(), task_id)
    # Rectification, 回访 and delivery have their own pages with the fields they need.
    if task.kind in ("rectification", "followup"):
        return redirect(url_for("followups.task", task_id=task_id))
    if task.kind == "delivery" and task.state in ("open", "claimed"):
        return redirect(url_for("window.delivery", case_id=task.case_id))
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
        submitted=request.form, procedures=list(SpecialProcedure), phrases=phrases_for(session, g.user),
        colleagues=colleagues_of(session, task), departments=list_departments(session),
        passed_steps=passed_steps(session, task), signers=signers_of(session, task),
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


def _task_action(task_id: int, action: Callable[[], Any], done: str, back_to: int | None = None) -> Any:
    """Run one engine operation on the task; on a refusal roll back and show the task page with the message."""
    try:
        action()
    except EngineError as err:
        db_session().rollback()
        return _task_page(task_id, error=err.message, status=err.status)
    flash(done, "success")
    return redirect(url_for("reviewer.show", task_id=back_to or task_id))


@bp.route("/<int:task_id>/pause", methods=("POST",))
@roles_required(*ACTING_ROLES)
def pause(task_id: int) -> Any:
    form = request.form
    return _task_action(task_id, lambda: pause_task(
        db_session(), clock(), g.user, task_id, form.get("kind", ""), form.get("reason", ""), form.get("procedure") or None,
    ), _("The clock is paused."))


@bp.route("/<int:task_id>/resume", methods=("POST",))
@roles_required(*ACTING_ROLES)
def resume(task_id: int) -> Any:
    return _task_action(task_id, lambda: resume_task(db_session(), clock(), g.user, task_id), _("The clock runs again."))


@bp.route("/<int:task_id>/extend", methods=("POST",))
@roles_required(Role.DEPARTMENT_HEAD)
def extend(task_id: int) -> Any:
    form = request.form
    days = form.get("working_days", type=int)
    return _task_action(task_id, lambda: extend_task(
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


@bp.route("/<int:task_id>/transfer", methods=("POST",))
@roles_required(*ACTING_ROLES)
def transfer(task_id: int) -> Any:
    f = request.form
    return _task_action(task_id, lambda: transfer_task(db_session(), clock(), g.user, task_id, f.get("to", ""), f.get("reason", "")),
                        _("Task transferred."))


@bp.route("/<int:task_id>/delegate", methods=("POST",))
@roles_required(*ACTING_ROLES)
def delegate(task_id: int) -> Any:
    return _task_action(task_id, lambda: delegate_task(db_session(), clock(), g.user, task_id, request.form.get("to", "")),
                        _("Task delegated."))


@bp.route("/<int:task_id>/resolve", methods=("POST",))
@roles_required(*ACTING_ROLES)
def resolve(task_id: int) -> Any:
    return _task_action(task_id, lambda: resolve_task(db_session(), clock(), g.user, task_id, request.form.get("opinion")),
                        _("Returned to the delegator for confirmation."))


@bp.route("/<int:task_id>/return-to", methods=("POST",))
@roles_required(*ACTING_ROLES)
def return_to(task_id: int) -> Any:
    f = request.form
    return _task_action(task_id, lambda: return_to_step(db_session(), clock(), g.user, task_id, f.get("to_step", ""), f.get("reason", "")),
                        _("The case was returned to the chosen step."))


@bp.route("/<int:task_id>/withdraw", methods=("POST",))
@roles_required(*ACTING_ROLES)
def withdraw(task_id: int) -> Any:
    return _task_action(task_id, lambda: withdraw_task(db_session(), clock(), g.user, task_id), _("Your completion was withdrawn."))


@bp.route("/<int:task_id>/cc", methods=("POST",))
@roles_required(*ACTING_ROLES)
def cc(task_id: int) -> Any:
    users = [u.strip() for u in request.form.get("users", "").replace("，", ",").split(",") if u.strip()]
    departments = request.form.getlist("departments")
    return _task_action(task_id, lambda: copy_task(db_session(), clock(), g.user, task_id, users, departments), _("Copied."))


@bp.route("/<int:task_id>/signers", methods=("POST",))
@roles_required(*ACTING_ROLES)
def add_signer_view(task_id: int) -> Any:
    f = request.form
    return _task_action(task_id, lambda: add_signer(db_session(), clock(), g.user, task_id, f.get("to", ""), f.get("position", "")),
                        _("Signer added."))


@bp.route("/<int:task_id>/signers/remove", methods=("POST",))
@roles_required(*ACTING_ROLES)
def remove_signer_view(task_id: int) -> Any:
    return _task_action(task_id, lambda: remove_signer(db_session(), clock(), g.user, task_id, request.form.get("user", "")),
                        _("Signer removed."))


@bp.route("/<int:task_id>/opinion", methods=("POST",))
@roles_required(*ACTING_ROLES)
def opinion(task_id: int) -> Any:
    f = request.form
    return _task_action(task_id, lambda: give_opinion(db_session(), clock(), g.user, task_id, f.get("opinion", ""), f.get("agree") != "no"),
                        _("Opinion recorded."))


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
