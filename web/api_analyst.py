"""API for analysts (extends /api/v1): validate, versions, download, diff, simulate (流程预测), migrate."""
from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request

from engine.errors import InvalidInput
from engine.migration import migrate_open_cases, preview_migration
from engine.permissions import may_deploy_definitions, require
from engine.simulation import simulate_flow
from engine.versions import diff_versions, require_versions, validate_definition, version_or_latest, versions_of
from web.api import authenticated, bp, json_body
from web.extensions import clock, database, db_session

ANALYSTS_ONLY = "only analysts and administrators work on definitions"


def _version_arg(name: str = "version") -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise InvalidInput(f"{name} must be a version number")
    return int(raw)


@bp.post("/definitions/validate")
@authenticated
def validate() -> Any:
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    return jsonify(validate_definition(db_session(), request.get_data()).to_dict())


@bp.get("/definitions/<key>/versions")
@authenticated
def versions(key: str) -> Any:
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    return jsonify([v.to_dict() for v in versions_of(db_session(), key)])


@bp.get("/definitions/<key>/xml")
@authenticated
def download(key: str) -> Any:
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    definition = version_or_latest(db_session(), key, _version_arg())
    return xml_download(definition.bpmn_xml, f"{definition.key}-v{definition.version}.bpmn")


def xml_download(xml: str, filename: str) -> Response:
    response = Response(xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/definitions/<key>/diff")
@authenticated
def diff(key: str) -> Any:
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    a, b = require_versions(request.args.get("from"), request.args.get("to"))
    return jsonify(diff_versions(db_session(), key, a, b))


@bp.post("/definitions/<key>/simulate")
@authenticated
def simulate(key: str) -> Any:
    """{data?, outcomes?: {element_id: outcome | [outcomes]}, version?, xml?} → path, tasks, parallel, due dates."""
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    body = json_body() if request.get_data() else {}
    version, xml = body.get("version"), body.get("xml")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise InvalidInput("version must be a version number")
    if xml is not None and not isinstance(xml, str):
        raise InvalidInput("xml must be the BPMN document as a string")
    result = simulate_flow(db_session(), clock(), key, version, xml, body.get("data"), body.get("outcomes"))
    return jsonify(result.to_dict())


@bp.post("/definitions/<key>/migrate")
@authenticated
def migrate(key: str) -> Any:
    """{from_version, to_version, dry_run}: a preview, or each open case migrated in its own transaction."""
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    body = json_body()
    a, b = require_versions(body.get("from_version"), body.get("to_version"))
    dry_run = body.get("dry_run", True)
    if not isinstance(dry_run, bool):
        raise InvalidInput("dry_run must be true or false")
    return jsonify(run_migration(key, a, b, dry_run))


def run_migration(key: str, from_version: int, to_version: int, dry_run: bool) -> dict[str, Any]:
    """Shared with the analysts' page. A real run ends the request's transaction first: each case
    gets its own (on SQLite the request's writer would otherwise hold the write lock they need)."""
    if dry_run:
        return preview_migration(db_session(), clock(), key, from_version, to_version).to_dict()
    actor_id = g.user.id
    db_session().rollback()
    return migrate_open_cases(database(), clock(), actor_id, key, from_version, to_version).to_dict()
