"""Analysts: the deployed 一件事 flows, the designer (bpmn-js modeler), version history, diff and migration.

The designer talks to the JSON views below with the signed-in session (and the CSRF token in an
`X-CSRFToken` header); they call the same engine services as `/api/v1` (web/api_analyst.py).
"""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.definitions import list_latest_definitions
from engine.directory import list_departments
from engine.errors import BpmnInvalid, InvalidInput
from engine.migration import preview_migration
from engine.simulation import simulate_flow
from engine.versions import (
    deploy_version, diff_versions, require_versions, validate_definition, version_or_latest, versions_of,
)
from engine.vocab import Role
from web.api_analyst import run_migration, xml_download
from web.auth import roles_required
from web.extensions import clock, db_session

bp = Blueprint("analyst", __name__, url_prefix="/analyst")
ANALYSTS = (Role.ANALYST, Role.ADMIN)
KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,119}$")
ID_SAFE = re.compile(r"[^A-Za-z0-9_]")


@bp.route("/")
@roles_required(*ANALYSTS)
def definitions() -> Any:
    return render_template("analyst/definitions.html", definitions=list_latest_definitions(db_session()), problems=[])


@bp.route("/deploy", methods=("POST",))
@roles_required(*ANALYSTS)
def deploy() -> Any:
    upload = request.files.get("bpmn")
    if upload is None or not upload.filename:
        flash(_("Choose a .bpmn file to deploy."), "error")
        return redirect(url_for("analyst.definitions"))
    try:
        definition, created, warnings = deploy_version(
            db_session(), clock(), upload.read(), g.user, request.form.get("comment", ""), upload.filename)
    except BpmnInvalid as err:
        db_session().rollback()
        return render_template(
            "analyst/definitions.html", definitions=list_latest_definitions(db_session()), problems=err.problems,
            warnings=err.warnings,
        ), 422
    for warning in warnings:
        flash(f"{warning.element_id or ''} {warning.message}".strip(), "info")
    if created:
        flash(_("Deployed %(key)s version %(version)s.", key=definition.key, version=definition.version), "success")
    else:
        flash(_("Unchanged: %(key)s version %(version)s is already deployed.", key=definition.key, version=definition.version), "info")
    return redirect(url_for("analyst.definitions"))


# --- the designer ------------------------------------------------------------------------------


@bp.route("/designer")
@roles_required(*ANALYSTS)
def designer() -> Any:
    session = db_session()
    key = request.args.get("key") or ""
    version = request.args.get("version", type=int)
    opened = version_or_latest(session, key, version) if key else None
    return render_template(
        "analyst/designer.html", opened=opened, definitions=list_latest_definitions(session),
        departments=[{"code": d.code, "name": d.name} for d in list_departments(session)],
    )


@bp.route("/designer/template.bpmn")
@roles_required(*ANALYSTS)
def template() -> Any:
    """A new flow: intake at the window → the chosen departments in parallel → join → delivery."""
    key = request.args.get("key", "").strip() or "new_flow"
    if not KEY_RE.match(key):
        raise InvalidInput(_("The key must be ASCII letters, digits and _ and start with a letter."))
    name = request.args.get("name", "").strip()[:200] or _("New one-thing flow")
    chosen = {d.code: d for d in list_departments(db_session())}
    codes = [c for c in request.args.getlist("departments") if c in chosen and c != "window"]
    if not codes:
        raise InvalidInput(_("Choose at least one department."))
    promised = request.args.get("promised_days", "").strip()
    xml = render_template("analyst/new_flow.bpmn.xml", key=key, name=name, promised_days=promised if promised.isdigit() else "",
                          window=chosen.get("window"), layout=_template_layout([chosen[c] for c in codes]))
    return Response(xml, mimetype="application/xml")


def _template_layout(departments: list[Any]) -> dict[str, Any]:
    """Coordinates for the template's diagram: the window's lane on top, one lane per department below."""
    lane_h, top, left = 160, 60, 120
    reviews = []
    for i, department in enumerate(departments, start=1):
        y = top + i * lane_h
        code = ID_SAFE.sub("_", department.code)
        reviews.append({"id": f"review_{code}", "name": _("%(department)s review", department=department.name),
                        "lane_id": f"lane_{code}", "lane_name": department.name, "lane_y": y,
                        "x": 600, "y": y + 40, "cy": y + 80})
    return {"left": left, "top": top, "lane_h": lane_h, "height": lane_h * (len(departments) + 1), "width": 1100,
            "reviews": reviews, "mid": top + 80}


@bp.route("/definitions/<key>/xml")
@roles_required(*ANALYSTS)
def xml(key: str) -> Any:
    definition = version_or_latest(db_session(), key, request.args.get("version", type=int))
    if request.args.get("download"):
        return xml_download(definition.bpmn_xml, f"{definition.key}-v{definition.version}.bpmn")
    return jsonify(key=definition.key, version=definition.version, name=definition.name, xml=definition.bpmn_xml)


def _designer_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
        raise InvalidInput("send {\"xml\": \"<bpmn:definitions ...>\"}")
    return body


@bp.route("/designer/validate", methods=("POST",))
@roles_required(*ANALYSTS)
def validate() -> Any:
    return jsonify(validate_definition(db_session(), _designer_body()["xml"]).to_dict())


@bp.route("/designer/simulate", methods=("POST",))
@roles_required(*ANALYSTS)
def simulate() -> Any:
    body = _designer_body()
    validation = validate_definition(db_session(), body["xml"])
    if not validation.valid:
        raise BpmnInvalid(validation.errors, validation.warnings)
    assert validation.key is not None
    result = simulate_flow(db_session(), clock(), validation.key, xml=body["xml"], data=body.get("data"),
                           outcomes=body.get("outcomes"))
    return jsonify(result.to_dict())


@bp.route("/designer/deploy", methods=("POST",))
@roles_required(*ANALYSTS)
def deploy_from_designer() -> Any:
    body = _designer_body()
    comment = body.get("comment") if isinstance(body.get("comment"), str) else ""
    definition, created, warnings = deploy_version(db_session(), clock(), body["xml"], g.user, comment)
    return jsonify(key=definition.key, version=definition.version, created=created,
                   warnings=[w.to_dict() for w in warnings],
                   history=url_for("analyst.history", key=definition.key)), 201 if created else 200


# --- versions, diff, migration -----------------------------------------------------------------


@bp.route("/definitions/<key>/history")
@roles_required(*ANALYSTS)
def history(key: str) -> Any:
    session = db_session()
    versions = versions_of(session, key)
    latest = versions[0].definition.version
    default_from = versions[1].definition.version if len(versions) > 1 else latest
    a, b = require_versions(request.args.get("from", default_from), request.args.get("to", latest))
    diff = diff_versions(session, key, a, b) if a != b else None
    preview = None
    if request.args.get("preview") and a != b:
        preview = preview_migration(session, clock(), key, a, b)
    return render_template("analyst/history.html", key=key, versions=versions, diff=diff, preview=preview,
                           name=versions[0].definition.name, from_version=a, to_version=b)


@bp.route("/definitions/<key>/migrate", methods=("POST",))
@roles_required(*ANALYSTS)
def migrate(key: str) -> Any:
    a, b = require_versions(request.form.get("from_version"), request.form.get("to_version"))
    result = run_migration(key, a, b, dry_run=False)
    flash(_("Migrated %(migrated)s of %(total)s open cases from version %(a)s to %(b)s.",
            migrated=result["migrated"], total=len(result["cases"]), a=a, b=b), "success")
    for case in result["cases"]:
        if case["status"] != "migrated":
            flash(f"{case['number']}: {'; '.join(case['blockers'])}", "info")
    return redirect(url_for("analyst.history", key=key, **{"from": a, "to": b}))
