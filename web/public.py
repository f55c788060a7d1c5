"""The applicant's pages, without login: progress by case number and query code, and 好差评."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine.errors import EngineError, NotFound
from engine.progress import StepStatus, find_case, progress_of
from engine.ratings import rate_online
from engine.throttle import PROGRESS_MISSES, Throttled
from web.extensions import clock, db_session
from web.throttling import check_throttle, note_failure

bp = Blueprint("public", __name__)

NOT_FOUND_MESSAGE = "no case matches this number and query code"
STEP_LABELS = {
    StepStatus.ACCEPTED: lazy_gettext("Accepted"),
    StepStatus.UNDER_REVIEW: lazy_gettext("Under review"),
    StepStatus.APPROVED: lazy_gettext("Approved"),
    StepStatus.SUPPLEMENT_NEEDED: lazy_gettext("Supplement needed"),
    StepStatus.REFUSED: lazy_gettext("Refused"),
    StepStatus.CONCLUDED: lazy_gettext("Concluded"),
    StepStatus.CANCELLED: lazy_gettext("Cancelled"),
    StepStatus.NOT_ACCEPTED: lazy_gettext("Not accepted"),
}
RATING_LABELS = {
    5: lazy_gettext("Very satisfied"), 4: lazy_gettext("Satisfied"), 3: lazy_gettext("Fair"),
    2: lazy_gettext("Dissatisfied"), 1: lazy_gettext("Very dissatisfied"),
}


def _page(number: str, code: str, status: int = 200, error: str | None = None, comment: str = "") -> Any:
    case = None
    if number or code:
        try:
            check_throttle(PROGRESS_MISSES)
        except Throttled:
            return render_template("public/progress.html", progress=None, number=number, code="", labels=STEP_LABELS,
                                   levels=RATING_LABELS, not_found=_("Too many unsuccessful queries from this address: "
                                                                     "please try again in a few minutes.")), 429
        case = find_case(db_session(), number, code)
        if case is None:
            note_failure(PROGRESS_MISSES)
    if case is None:
        # One answer for a wrong number, a wrong code and a case that does not exist.
        not_found = _("No case matches this number and query code.") if (number or code) else None
        return render_template("public/progress.html", progress=None, number=number, code="", not_found=not_found,
                               labels=STEP_LABELS, levels=RATING_LABELS), 404 if not_found else 200
    return render_template("public/progress.html", progress=progress_of(db_session(), case), number=number, code=code,
                           not_found=None, labels=STEP_LABELS, levels=RATING_LABELS, error=error, comment=comment), status


@bp.route("/progress", methods=("GET", "POST"))
def progress() -> Any:
    return _page((request.values.get("number") or "").strip(), (request.values.get("code") or "").strip())


@bp.route("/progress/rating", methods=("POST",))
def rate() -> Any:
    form = request.form
    number, code, comment = form.get("number", "").strip(), form.get("code", "").strip(), form.get("comment", "")
    try:
        check_throttle(PROGRESS_MISSES)
        rate_online(db_session(), clock(), number, code, form.get("level", type=int), comment)
    except NotFound:
        return _page(number, code)
    except EngineError as err:
        db_session().rollback()
        return _page(number, code, err.status, err.message, comment)
    flash(_("Thank you for your rating."), "success")
    return _page(number, code)
