"""Signing in and out, who the current user is, and the role guards every view uses."""
from __future__ import annotations

import base64
import functools
from typing import Any, Callable, TypeVar

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.directory import authenticate
from engine.models import User
from engine.vocab import Role
from web.extensions import db_session

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])

HOME_BY_ROLE = (
    (Role.WINDOW, "window.index"),
    (Role.REVIEWER, "reviewer.inbox"),
    (Role.DEPARTMENT_HEAD, "reviewer.inbox"),
    (Role.SUPERVISOR, "supervisor.board"),
    (Role.ANALYST, "analyst.definitions"),
    (Role.ADMIN, "admin.index"),
)


@bp.before_app_request
def load_current_user() -> None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is not None:
        g.user = db_session().get(User, user_id)
        if g.user is not None and not g.user.active:
            g.user = None


def user_from_basic_auth() -> User | None:
    """HTTP Basic credentials of the API; None when absent or wrong."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        username, _sep, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return authenticate(db_session(), username, password)


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(**kwargs)

    return wrapped  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            if g.user is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if not g.user.has_role(*roles):
                abort(403)
            return view(**kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def home_endpoint(user: User) -> str:
    for role, endpoint in HOME_BY_ROLE:
        if user.has_role(role):
            return endpoint
    return "auth.login"


@bp.route("/")
def home() -> Any:
    if g.user is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for(home_endpoint(g.user)))


@bp.route("/login", methods=("GET", "POST"))
def login() -> Any:
    if request.method == "POST":
        user = authenticate(db_session(), request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            flash(_("Wrong username or password."), "error")
            return render_template("auth/login.html"), 401
        session.clear()
        session["user_id"] = user.id
        target = request.args.get("next", "")
        # Only local paths, so the login form cannot bounce users to another site.
        if not target.startswith("/") or target.startswith("//"):
            target = url_for(home_endpoint(user))
        return redirect(target)
    return render_template("auth/login.html")


@bp.route("/logout", methods=("POST",))
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login"))
