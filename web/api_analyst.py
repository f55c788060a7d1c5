"""API for analysts (extends /api/v1): validate, versions, download, diff, simulate (流程预测), migrate."""
from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request

from engine.errors import InvalidInput
from engine.migration import migrate_open_cases, preview_migration
from engine.permissions import may_deploy_definitions, require
from engine.simulation import simulate_flow
from engine.types import MAX_ROW_ID
from engine.versions import diff_versions, require_versions, validate_definition, version_or_latest, versions_of
from web.api import BPMN_XML, PROBLEM, authenticated, bp, json_body
from web.extensions import clock, database, db_session
from web.openapi import (
    ANY, BOOL, DATETIME, INT, OBJECT, STR, array, documented, nullable, payload, record,
)

ANALYSTS_ONLY = "only analysts and administrators work on definitions"
VERSION = {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}
VERSION_INFO = record(key=STR, version=INT, name=STR, deployed_at=DATETIME, author=nullable(STR), comment=STR, sha256=STR,
                      open_cases=INT)
CHANGE = record(field=STR, **{"from": ANY, "to": ANY})
ELEMENT = {"type": "object", "required": ["element_id", "type", "name"],
           "properties": {"element_id": STR, "type": STR, "name": nullable(STR), "changes": array(CHANGE)}}
DIFF = record(key=STR, added=array(ELEMENT), removed=array(ELEMENT), changed=array(ELEMENT), catalog=array(CHANGE),
              **{"from": INT, "to": INT})
SIMULATED_TASK = record(element_id=STR, name=STR, department=nullable(STR), kind=STR, time_limit_days=nullable(INT),
                        opened_at=DATETIME, due_at=DATETIME, outcome=nullable(STR), wave=INT)
WAVE = record(wave=INT, opened_at=DATETIME, departments={
    "type": "object", "description": "by department code",
    "additionalProperties": array(record(element_id=STR, name=STR, due_at=DATETIME, time_limit_days=nullable(INT)))})
SIMULATION = record(key=STR, started_at=DATETIME, finished=BOOL, ended_at=nullable(DATETIME), path=array(STR),
                    tasks=array(SIMULATED_TASK), parallel=array(WAVE), promised_days=nullable(INT),
                    promised_due_at=nullable(DATETIME),
                    late={**array(STR), "description": "the steps that would fall due after the promised date"})
CASE_MIGRATION = record(case_id=INT, number=STR, migratable=BOOL, status=STR, blockers=array(ANY), changes=array(ANY))
MIGRATION = record(key=STR, from_version=INT, to_version=INT, dry_run=BOOL, migratable=INT, blocked=INT, migrated=INT,
                   cases=array(CASE_MIGRATION))


def _version_arg(name: str = "version") -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ROW_ID:
        raise InvalidInput(f"{name} must be a version number")
    return int(raw)


@bp.post("/definitions/validate")
@authenticated
@documented({200: record(valid=BOOL, key=nullable(STR), errors=array(PROBLEM), warnings=array(PROBLEM))}, BPMN_XML)
def validate() -> Any:
    """Check a BPMN document as a deploy would, plus the domain lint; nothing is deployed."""
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    return jsonify(validate_definition(db_session(), request.get_data()).to_dict())


@bp.get("/definitions/<key>/versions")
@authenticated
@documented({200: array(VERSION_INFO)})
def versions(key: str) -> Any:
    """Every version of a definition, newest first: author, time, comment, cases still open on it."""
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    return jsonify([v.to_dict() for v in versions_of(db_session(), key)])


@bp.get("/definitions/<key>/xml")
@authenticated
@documented({200: BPMN_XML}, query={"version": VERSION})
def download(key: str) -> Any:
    """The BPMN document of a version (default: the latest), as a .bpmn download."""
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
@documented({200: DIFF}, query={"from": VERSION, "to": VERSION}, required_query=("from", "to"))
def diff(key: str) -> Any:
    """What changed between two versions: elements added, removed and changed, and the catalog."""
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    a, b = require_versions(request.args.get("from"), request.args.get("to"))
    return jsonify(diff_versions(db_session(), key, a, b))


@bp.post("/definitions/<key>/simulate")
@authenticated
@documented({200: SIMULATION}, payload(data=OBJECT, outcomes=OBJECT, version=VERSION, xml=STR), request_required=False)
def simulate(key: str) -> Any:
    """流程预测 without a case: the path, tasks, parallel steps and due dates of a flow.

    `outcomes` maps an element id to an outcome (or a list, one per round); `xml` simulates an
    undeployed document; `version` an older version.
    """
    require(may_deploy_definitions(g.user), ANALYSTS_ONLY)
    body = json_body() if request.get_data() else {}
    version, xml = body.get("version"), body.get("xml")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or not 0 < version <= MAX_ROW_ID):
        raise InvalidInput("version must be a version number")
    if xml is not None and not isinstance(xml, str):
        raise InvalidInput("xml must be the BPMN document as a string")
    result = simulate_flow(db_session(), clock(), key, version, xml, body.get("data"), body.get("outcomes"))
    return jsonify(result.to_dict())


@bp.post("/definitions/<key>/migrate")
@authenticated
@documented({200: MIGRATION}, payload(["from_version", "to_version"], from_version=VERSION, to_version=VERSION,
                                      dry_run=BOOL))
def migrate(key: str) -> Any:
    """Migrate the open cases of one version to another: a preview (`dry_run`, the default), or each
    open case migrated in its own transaction."""
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
