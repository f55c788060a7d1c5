"""One place that turns refusals into answers: JSON for the API, a page (or flash) for people."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from engine.errors import Conflict, EngineError


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _rollback() -> None:
    db_session = g.get("db")
    if db_session is not None:
        db_session.rollback()


def engine_error(err: EngineError) -> tuple[Any, int]:
    _rollback()
    if wants_json():
        return jsonify(err.to_dict()), err.status
    return render_template("error.html", status=err.status, message=err.message, details=err.to_dict()), err.status


def http_error(err: HTTPException) -> Any:
    _rollback()
    if wants_json():
        return jsonify({"error": err.description or err.name}), err.code or 500
    return render_template("error.html", status=err.code, message=err.description or err.name, details={}), err.code


def stale_case(_err: StaleDataError) -> tuple[Any, int]:
    return engine_error(Conflict(_("The case was changed by someone else at the same moment; please reload and try again.")))


def commit_failed() -> Response:
    response = jsonify({"error": "the change could not be saved because of a concurrent change; please retry"})
    response.status_code = 409
    return response


def register(app: Flask) -> None:
    app.register_error_handler(EngineError, engine_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(StaleDataError, stale_case)
