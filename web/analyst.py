"""Analysts: the deployed 一件事 definitions, their versions, and deploying a BPMN file."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.definitions import deploy_definition, list_latest_definitions
from engine.errors import BpmnInvalid
from engine.vocab import Role
from web.auth import roles_required
from web.extensions import clock, db_session

bp = Blueprint("analyst", __name__, url_prefix="/analyst")


@bp.route("/")
@roles_required(Role.ANALYST, Role.ADMIN)
def definitions() -> Any:
    return render_template("analyst/definitions.html", definitions=list_latest_definitions(db_session()), problems=[])


@bp.route("/deploy", methods=("POST",))
@roles_required(Role.ANALYST, Role.ADMIN)
def deploy() -> Any:
    upload = request.files.get("bpmn")
    if upload is None or not upload.filename:
        flash(_("Choose a .bpmn file to deploy."), "error")
        return redirect(url_for("analyst.definitions"))
    try:
        definition, created = deploy_definition(
            db_session(), clock(), upload.read(), g.user, comment=request.form.get("comment", ""), filename=upload.filename
        )
    except BpmnInvalid as err:
        db_session().rollback()
        return render_template(
            "analyst/definitions.html", definitions=list_latest_definitions(db_session()), problems=err.problems
        ), 422
    if created:
        flash(_("Deployed %(key)s version %(version)s.", key=definition.key, version=definition.version), "success")
    else:
        flash(_("Unchanged: %(key)s version %(version)s is already deployed.", key=definition.key, version=definition.version), "info")
    return redirect(url_for("analyst.definitions"))
