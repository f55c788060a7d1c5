"""Per-address throttles in the web layer: which address a request comes from, refusing it when the
address has used up its failures, and recording a view's failures once its transaction is over.

A failure is recorded in its own short transaction *after* the request's one has ended: the
request's answer is an error and rolls back, and on SQLite a second writer opened while the
request still holds the write lock would wait for it.
"""
from __future__ import annotations

from flask import Flask, Response, current_app, g, request

from engine.throttle import Throttle, record_failure, refuse_if_throttled
from web.extensions import clock, database, db_session


def client_address() -> str:
    """The peer address (behind a reverse proxy, wrap the app in werkzeug's ProxyFix; see README)."""
    return request.remote_addr or "unknown"


def check_throttle(throttle: Throttle) -> None:
    if current_app.config.get("THROTTLE_ENABLED", True):
        refuse_if_throttled(db_session(), throttle, client_address(), clock().now())


def note_failure(throttle: Throttle) -> None:
    g.setdefault("throttle_failures", []).append(throttle)


def _record_failures(response: Response) -> Response:
    noted: list[Throttle] = g.pop("throttle_failures", [])
    if noted and current_app.config.get("THROTTLE_ENABLED", True):
        with database().writer.begin() as session:
            for throttle in noted:
                record_failure(session, throttle, client_address(), clock().now())
    return response


def _retry_after(response: Response) -> Response:
    if response.status_code == 429 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = "60"
    return response


def register(app: Flask) -> None:
    """Call before the request-transaction hooks are registered: after_request runs in reverse order,
    so the failures are written once the request's own transaction has ended."""
    app.after_request(_record_failures)
    app.after_request(_retry_after)

