"""The notification centre, for every signed-in user."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, url_for

from engine.notifications import mark_read, notifications_for, unread_count
from web.auth import login_required
from web.extensions import clock, db_session

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.app_context_processor
def unread_notifications() -> dict[str, Any]:
    if g.get("user") is None or g.get("db") is None:
        return {"unread_notifications": 0}
    return {"unread_notifications": unread_count(db_session(), g.user)}


@bp.route("/")
@login_required
def index() -> Any:
    return render_template("notifications/index.html", notifications=notifications_for(db_session(), g.user))


@bp.route("/read", methods=("POST",))
@login_required
def read_all() -> Any:
    mark_read(db_session(), g.user, clock().now())
    return redirect(url_for("notifications.index"))
