"""After the decision: 差评 rectifications and their 回访, 告知承诺 checks and the 审管联动 feed, for
the departments that owe them (and the supervisors who watch)."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import EngineError
from engine.feed import department_names, feed_for, mark_feed_read
from engine.intake import check_commitment, commitment_checks
from engine.models import Rating
from engine.ratings import AftercareKind, aftercare_task, close_follow_up, open_aftercare, rectify
from web.auth import login_required
from web.clocks import clock_statuses
from web.extensions import clock, db_session
from web.public import RATING_LABELS

bp = Blueprint("followups", __name__, url_prefix="/followups")


def _index(error: str | None = None, status: int = 200) -> Any:
    session = db_session()
    return render_template(
        "followups/index.html", tasks=open_aftercare(session, g.user), checks=commitment_checks(session, g.user),
        feed=feed_for(session, g.user, limit=50), departments=department_names(session),
        status_of=clock_statuses(session), error=error,
    ), status


@bp.route("/")
@login_required
def index() -> Any:
    return _index()


def _task_page(task_id: int, error: str | None = None, status: int = 200) -> Any:
    session = db_session()
    task = aftercare_task(session, g.user, task_id)
    rating = session.query(Rating).filter_by(case_id=task.case_id).one_or_none()
    return render_template("followups/task.html", task=task, case=task.case, rating=rating, levels=RATING_LABELS,
                           status_of=clock_statuses(session), kinds=AftercareKind, error=error,
                           submitted=request.form), status


@bp.route("/tasks/<int:task_id>")
@login_required
def task(task_id: int) -> Any:
    return _task_page(task_id)


def _act(task_id: int, action: Callable[[], Any], done: str) -> Any:
    try:
        action()
    except EngineError as err:
        db_session().rollback()
        return _task_page(task_id, err.message, err.status)
    flash(done, "success")
    return redirect(url_for("followups.index"))


@bp.route("/tasks/<int:task_id>/rectify", methods=("POST",))
@login_required
def rectify_task(task_id: int) -> Any:
    return _act(task_id, lambda: rectify(db_session(), clock(), g.user, task_id, request.form.get("measures")),
                _("The rectification is recorded; the window will call the applicant back."))


@bp.route("/tasks/<int:task_id>/follow-up", methods=("POST",))
@login_required
def follow_up(task_id: int) -> Any:
    return _act(task_id, lambda: close_follow_up(db_session(), clock(), g.user, task_id, request.form.get("result")),
                _("The follow-up is recorded and the bad rating is closed."))


@bp.route("/commitments/<int:commitment_id>/check", methods=("POST",))
@login_required
def check(commitment_id: int) -> Any:
    try:
        check_commitment(db_session(), clock(), g.user, commitment_id, request.form.get("result", ""))
    except EngineError as err:
        db_session().rollback()
        return _index(err.message, err.status)
    flash(_("The check is recorded."), "success")
    return redirect(url_for("followups.index"))


@bp.route("/feed/read", methods=("POST",))
@login_required
def read_feed() -> Any:
    mark_feed_read(db_session(), g.user, clock().now())
    return redirect(url_for("followups.index"))
