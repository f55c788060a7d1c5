"""Flask extensions and the per-request database session and clock."""
from __future__ import annotations

from flask import current_app, g
from flask_babel import Babel
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.db import Database

babel = Babel()
csrf = CSRFProtect()


def database() -> Database:
    return current_app.extensions["yjs_db"]


def clock() -> Clock:
    return current_app.extensions["yjs_clock"]


def db_session() -> Session:
    """This request's session, inside its one transaction (see `web.app._open_transaction`)."""
    return g.db
