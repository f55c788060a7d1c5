"""The Flask application factory. Nothing happens at import time."""
from __future__ import annotations

import os
import secrets
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, request, session
from flask_babel import get_locale
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.routing import IntegerConverter, Map

from engine.calendar import OFFICE_TZ
from engine.clock import SystemClock
from engine.db import connect
from engine.settings import database_url
from engine.types import MAX_ROW_ID
from web import admin, analyst, api, api_analyst, api_clock, api_events, api_stats, api_stats_docs, api_tasks, api_window, auth, cases, errors, followups, notices, notifications, openapi, public, reviewer, supervisor, window  # noqa: F401 - api_* modules add routes to api.bp
from web import api_enterprise, projects, tickets  # noqa: F401 - api_enterprise adds routes to api.bp
from web import throttling
from web.cli import register_commands
from web.scheduler import start_scheduler
from web.extensions import babel, csrf, database

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LANGUAGES = ("zh_CN", "en")


class RowIdConverter(IntegerConverter):
    """`<int:...>` in our URLs names a row (or a year): ids are 32-bit integer columns, so a larger
    number is answered like any missing row (404), never sent to the database to overflow there."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ROW_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)



def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.url_map.converters["int"] = RowIdConverter
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        DATABASE_URL=database_url(),
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        SCHEDULER_ENABLED=os.environ.get("YJS_SCHEDULER", "1") == "1",
        SCHEDULER_INTERVAL=int(os.environ.get("YJS_SCHEDULER_INTERVAL", "60")),
        SMTP_HOST=os.environ.get("SMTP_HOST"),
        SMTP_PORT=os.environ.get("SMTP_PORT", "25"),
        SMTP_SENDER=os.environ.get("SMTP_SENDER", "yijianshi@localhost"),
    )
    if config:
        app.config.update(config)
    app.extensions["yjs_db"] = app.config.get("DATABASE") or connect(app.config["DATABASE_URL"])
    app.extensions["yjs_clock"] = app.config.get("CLOCK") or SystemClock()

    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    app.jinja_env.globals.update(current_locale=get_locale, LANGUAGES=LANGUAGES)
    app.jinja_env.filters["local_time"] = _local_time
    app.jinja_env.filters["local_date"] = _local_date

    # The request's transaction opens before any other hook (the current user is loaded inside it).
    app.before_request(_open_transaction)
    for module in (auth, window, reviewer, cases, supervisor, analyst, admin, notifications, public, notices, followups, openapi):
        app.register_blueprint(module.bp)
    for module in (projects, tickets):  # enterprise services (issue 9)
        app.register_blueprint(module.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    errors.register(app)
    register_commands(app)

    throttling.register(app)
    app.after_request(_finish_transaction)
    app.teardown_request(_close_session)
    app.after_request(_security_headers)
    # Never under tests or in the reloader's watcher process; the lease keeps one runner per database.
    if app.config["SCHEDULER_ENABLED"] and not app.testing and not _is_reloader_parent():
        app.extensions["yjs_scheduler"] = start_scheduler(app)
    return app


def _is_reloader_parent() -> bool:
    return bool(os.environ.get("FLASK_RUN_FROM_CLI")) and os.environ.get("WERKZEUG_RUN_MAIN") is None and bool(os.environ.get("FLASK_DEBUG"))


def _local_time(value: datetime) -> str:
    return value.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M")


def _local_date(value: datetime) -> str:
    return value.astimezone(OFFICE_TZ).strftime("%Y-%m-%d")


def _select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return session.get("lang") or request.accept_languages.best_match(LANGUAGES) or "zh_CN"


def _open_transaction() -> None:
    """One transaction per request: a writer (SQLite: BEGIN IMMEDIATE) for actions, a reader otherwise."""
    db = database()
    factory = db.reader if request.method in SAFE_METHODS else db.writer
    g.db = factory()
    g.db.begin()


def _finish_transaction(response: Response) -> Response:
    db_session = g.pop("db", None)
    if db_session is None:
        return response
    try:
        if response.status_code < 400 and db_session.in_transaction():
            db_session.commit()
        else:
            db_session.rollback()
    except SQLAlchemyError:
        db_session.rollback()
        return errors.commit_failed()
    finally:
        db_session.close()
    return response


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db", None)
    if db_session is not None:
        db_session.rollback()
        db_session.close()


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    )
    return response
