"""综合窗口: pick a 一件事, fill the one application form with its one set of materials, accept it,
print the receipt; upload further materials; hand out the results (一窗出件); enter a rating."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from engine.cases import accept_case, get_case, refuse_application, tasks_of
from engine.definitions import latest_definition, list_latest_definitions
from engine.delivery import DeliveryMethod, cases_awaiting_delivery, deliver, open_delivery_task
from engine.errors import EngineError, InvalidInput
from engine.instances import spec_cache
from engine.materials import add_material
from engine.ratings import rate_at_window
from engine.vocab import Channel, Role, TaskKind, TaskState
from web.auth import roles_required
from web.extensions import clock, db_session
from web.public import RATING_LABELS

bp = Blueprint("window", __name__, url_prefix="/window")
ROWS = 3  # empty rows the intake form offers for missing materials and for commitments


@bp.route("/")
@roles_required(Role.WINDOW, Role.ADMIN)
def index() -> Any:
    return render_template("window/index.html", definitions=list_latest_definitions(db_session()))


def _intake_form(key: str) -> tuple[Any, Any]:
    definition = latest_definition(db_session(), key, required=False)
    if definition is None:
        abort(404)
    parsed = spec_cache.get(definition)
    intake = next((t for t in parsed.tasks.values() if t.kind == TaskKind.INTAKE), None)
    return definition, intake


def _rows(*names: str) -> list[dict[str, str]]:
    """Parallel form lists (missing_name[], missing_date[] ...) as objects, blank rows dropped."""
    columns = [request.form.getlist(n) for n in names]
    rows = [dict(zip(names, values)) for values in zip(*columns)]
    return [r for r in rows if any(v.strip() for v in r.values())]


def _uploads() -> list[FileStorage]:
    return [f for f in request.files.getlist("materials") if f.filename]


def _applicant() -> dict[str, Any]:
    form = request.form
    return {"name": form.get("applicant_name", ""), "id_number": form.get("applicant_id_number") or None,
            "phone": form.get("applicant_phone") or None}


def _apply_page(definition: Any, intake: Any, error: EngineError | None = None) -> Any:
    """The intake form, empty, or after a refusal with the message and what the clerk typed."""
    page = render_template("window/apply.html", definition=definition, intake=intake, channels=list(Channel), rows=ROWS,
                           error=error.message if error else None, values=request.form if error else {})
    return page, error.status if error else 200


@bp.route("/apply/<key>", methods=("GET", "POST"))
@roles_required(Role.WINDOW, Role.ADMIN)
def apply(key: str) -> Any:
    definition, intake = _intake_form(key)
    if request.method == "POST":
        form = request.form
        applicant = _applicant()
        data = {f.id: form.get(f.id) for f in (intake.form if intake else ()) if f.type != "boolean"}
        data.update({f.id: f.id in form for f in (intake.form if intake else ()) if f.type == "boolean"})
        missing = [{"name": r["missing_name"], "promised_date": r["missing_date"]} for r in _rows("missing_name", "missing_date")]
        commitments = [{"material": r["commitment_material"], "text": r["commitment_text"]}
                       for r in _rows("commitment_material", "commitment_text")]
        session = db_session()
        try:
            case = accept_case(session, clock(), g.user, key, applicant, data, form.get("channel", Channel.WINDOW),
                               missing_materials=missing, commitments=commitments, assisted="assisted" in form)
            for upload in _uploads():
                add_material(session, clock(), g.user, case.id, upload.filename, upload.read())
        except EngineError as err:
            # Nothing of the attempt is kept: no case, no number, no files.
            session.rollback()
            return _apply_page(definition, intake, err)
        return redirect(url_for("window.receipt", case_id=case.id))
    return _apply_page(definition, intake)


@bp.route("/apply/<key>/not-accepted", methods=("POST",))
@roles_required(Role.WINDOW, Role.ADMIN)
def refuse(key: str) -> Any:
    """不予受理 from the intake form: the applicant and the reasons; the decision prints next."""
    definition, intake = _intake_form(key)
    form = request.form
    session = db_session()
    try:
        case = refuse_application(session, clock(), g.user, key, _applicant(), form.get("reasons", "").splitlines(),
                                  channel=form.get("channel", Channel.WINDOW))
    except EngineError as err:
        session.rollback()
        return _apply_page(definition, intake, err)
    return redirect(url_for("notices.not_accepted", case_id=case.id))


@bp.route("/receipt/<int:case_id>")
@roles_required(Role.WINDOW, Role.ADMIN)
def receipt(case_id: int) -> Any:
    case = get_case(db_session(), g.user, case_id)
    return render_template("window/receipt.html", case=case)


@bp.route("/cases/<int:case_id>/materials", methods=("POST",))
@roles_required(Role.WINDOW, Role.ADMIN)
def upload(case_id: int) -> Any:
    form = request.form
    uploads = _uploads() or [f for f in request.files.getlist("file") if f.filename]
    session = db_session()
    try:
        if not uploads:
            raise InvalidInput(_("Choose at least one file."))
        supplies = form.get("supplies", type=int)
        name = form.get("name") if len(uploads) == 1 else None
        for f in uploads:
            add_material(session, clock(), g.user, case_id, f.filename, f.read(), name, form.get("kind") or "application",
                         supplies if len(uploads) == 1 else None)
    except EngineError as err:
        session.rollback()
        flash(err.message, "error")
        return redirect(url_for("cases.show", case_id=case_id))
    flash(_("%(n)s file(s) uploaded.", n=len(uploads)), "success")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/deliveries")
@roles_required(Role.WINDOW)
def deliveries() -> Any:
    return render_template("window/deliveries.html", tasks=cases_awaiting_delivery(db_session()))


def _submit(case_id: int, action: Callable[[], Any], done: str) -> tuple[Any | None, str | None, int]:
    """The POST of a window form on one case: run the engine `action`; done, flash and answer with the
    redirect to the case file; refused, roll back (the page re-reads the case) with the message and status."""
    if request.method != "POST":
        return None, None, 200
    try:
        action()
    except EngineError as err:
        db_session().rollback()
        return None, err.message, err.status
    flash(done, "success")
    return redirect(url_for("cases.show", case_id=case_id)), None, 200


@bp.route("/cases/<int:case_id>/delivery", methods=("GET", "POST"))
@roles_required(Role.WINDOW)
def delivery(case_id: int) -> Any:
    session, form = db_session(), request.form
    case = get_case(session, g.user, case_id)
    answer, error, status = _submit(case_id, lambda: deliver(session, clock(), g.user, case_id, form.get("method", ""),
                                                             form.get("tracking_number"), form.get("address")),
                                    _("The results are handed out and the case is concluded."))
    if answer is not None:
        return answer
    return render_template("window/delivery.html", case=case, task=open_delivery_task(session, case),
                           methods=list(DeliveryMethod), error=error, values=form), status


@bp.route("/cases/<int:case_id>/rating", methods=("GET", "POST"))
@roles_required(Role.WINDOW)
def rating(case_id: int) -> Any:
    session, form = db_session(), request.form
    case = get_case(session, g.user, case_id)
    answer, error, status = _submit(case_id, lambda: rate_at_window(
        session, clock(), g.user, case_id, form.get("level", type=int), form.get("comment"), form.get("department") or None,
    ), _("The rating is recorded."))
    if answer is not None:
        return answer
    reviewers = {t.department.code: t.department for t in tasks_of(session, case)
                 if t.kind == TaskKind.REVIEW and t.state == TaskState.COMPLETED}
    return render_template("window/rating.html", case=case, levels=RATING_LABELS, departments=list(reviewers.values()),
                           error=error, values=form), status
