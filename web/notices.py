"""Printable notices (受理通知书, 补正通知书, 不予受理决定书, 不予许可决定书) and the case's files, for whoever may see
the case."""
from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import Blueprint, Response, g, render_template, send_file

from engine.cases import get_case
from engine.errors import Conflict
from engine.materials import INLINE_TYPES, CaseDocuments, documents_of, get_material, may_handle_materials
from engine.models import Case, CaseMaterial
from engine.notices import refusals, supplement_notice
from engine.progress import refusal_reasons
from engine.vocab import CaseStatus
from web.auth import login_required
from web.extensions import db_session

bp = Blueprint("notices", __name__, url_prefix="/cases")


@bp.app_template_global()
def case_documents(case: Case) -> CaseDocuments:
    """The case's materials, results, 容缺 items and commitments, for the case file partial."""
    return documents_of(db_session(), case)


@bp.app_template_global()
def may_upload_materials() -> bool:
    return g.get("user") is not None and may_handle_materials(g.user)


def material_response(material: CaseMaterial) -> Response:
    """The stored bytes with the type checked at upload; only PDF and images are shown in place."""
    response = send_file(BytesIO(material.content), mimetype=material.content_type,
                         as_attachment=material.content_type not in INLINE_TYPES, download_name=material.filename,
                         etag=material.sha256, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


@bp.route("/<int:case_id>/materials/<int:material_id>")
@login_required
def material(case_id: int, material_id: int) -> Any:
    return material_response(get_material(db_session(), g.user, case_id, material_id))


@bp.route("/<int:case_id>/notices/acceptance")
@login_required
def acceptance(case_id: int) -> Any:
    case = get_case(db_session(), g.user, case_id)
    return render_template("notices/acceptance.html", case=case, documents=documents_of(db_session(), case),
                           show_code=may_handle_materials(g.user))


@bp.route("/<int:case_id>/notices/supplement")
@login_required
def supplement(case_id: int) -> Any:
    case = get_case(db_session(), g.user, case_id)
    return render_template("notices/supplement.html", case=case, notice=supplement_notice(db_session(), case))


@bp.route("/<int:case_id>/notices/not-accepted")
@login_required
def not_accepted(case_id: int) -> Any:
    case = get_case(db_session(), g.user, case_id)
    if case.status != CaseStatus.NOT_ACCEPTED:
        raise Conflict("this application was accepted: there is no decision not to accept it")
    return render_template("notices/not_accepted.html", case=case, reasons=refusal_reasons(db_session(), case),
                           show_code=may_handle_materials(g.user))


@bp.route("/<int:case_id>/notices/refusal")
@login_required
def refusal(case_id: int) -> Any:
    case = get_case(db_session(), g.user, case_id)
    decisions = refusals(db_session(), case)
    if not decisions:
        raise Conflict("no department has refused this case: there is no refusal decision to print")
    return render_template("notices/refusal.html", case=case, decisions=decisions)
