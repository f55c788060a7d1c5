"""综合窗口: pick a 一件事, fill the one application form, accept it, print the receipt."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from engine.cases import accept_case, get_case
from engine.definitions import latest_definition, list_latest_definitions
from engine.errors import InvalidInput
from engine.instances import spec_cache
from engine.vocab import Channel, Role, TaskKind
from web.auth import roles_required
from web.extensions import clock, db_session

bp = Blueprint("window", __name__, url_prefix="/window")


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


@bp.route("/apply/<key>", methods=("GET", "POST"))
@roles_required(Role.WINDOW, Role.ADMIN)
def apply(key: str) -> Any:
    definition, intake = _intake_form(key)
    if request.method == "POST":
        form = request.form
        applicant = {"name": form.get("applicant_name", ""), "id_number": form.get("applicant_id_number") or None,
                     "phone": form.get("applicant_phone") or None}
        data = {f.id: form.get(f.id) for f in (intake.form if intake else ()) if f.type != "boolean"}
        data.update({f.id: f.id in form for f in (intake.form if intake else ()) if f.type == "boolean"})
        try:
            case = accept_case(db_session(), clock(), g.user, key, applicant, data, form.get("channel", Channel.WINDOW))
        except InvalidInput as err:
            return render_template("window/apply.html", definition=definition, intake=intake, error=err.message,
                                   values=form, channels=list(Channel)), 422
        return redirect(url_for("window.receipt", case_id=case.id))
    return render_template("window/apply.html", definition=definition, intake=intake, error=None, values={},
                           channels=list(Channel))


@bp.route("/receipt/<int:case_id>")
@roles_required(Role.WINDOW, Role.ADMIN)
def receipt(case_id: int) -> Any:
    case = get_case(db_session(), g.user, case_id)
    return render_template("window/receipt.html", case=case)
