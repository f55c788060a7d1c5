"""Signing in and out, who the current user is, and the role guards every view uses."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import threading
from datetime import datetime, timedelta
from typing import Any, Callable, TypeVar

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.directory import AccountLocked, authenticate, user_allowed_in
from engine.throttle import LOGIN_FAILURES, Throttled
from engine.tokens import user_for_token
from engine.models import User
from engine.vocab import Role
from web.extensions import clock, db_session
from web.throttling import check_throttle, note_failure

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


class _VerifiedCredentials:
    """Basic credentials verified recently, so an API client does not pay for scrypt on every call.

    Keyed by a hash of the credentials; an entry holds the user's id and the password hash they were
    checked against. Each use reads the user again: a deactivation, a lockout or a changed password
    hash (set by a restore or a script) makes the entry useless at once.
    """

    TTL = timedelta(minutes=5)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, str, datetime]] = {}

    @staticmethod
    def key(username: str, password: str) -> str:
        return hashlib.sha256(f"{username}\0{password}".encode()).hexdigest()

    def user(self, key: str, now: datetime) -> User | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[2] < now:
            return None
        user = user_allowed_in(db_session(), entry[0], now)
        if user is None or not hmac.compare_digest(user.password_hash, entry[1]):
            return None
        return user

    def remember(self, key: str, user: User, now: datetime) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (user.id, user.password_hash, now + self.TTL)


def _verified() -> _VerifiedCredentials:
    return current_app.extensions.setdefault("yjs_verified_credentials", _VerifiedCredentials())


def user_from_api_credentials() -> User | None:
    """The API caller: a bearer token, or HTTP Basic with a user's credentials; None when absent or wrong."""
    header = request.headers.get("Authorization", "")
    now = clock().now()
    if header.startswith("Bearer "):
        return user_for_token(db_session(), header[7:].strip(), now)
    if not header.startswith("Basic "):
        return None
    try:
        username, _sep, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    cache = _verified()
    key = cache.key(username, password)
    user = cache.user(key, now)
    if user is not None and user.username == username:
        return user
    check_throttle(LOGIN_FAILURES)  # before the password hash: a throttled address guesses no more
    user = authenticate(db_session(), username, password, now)
    if user is not None:
        cache.remember(key, user, now)
    return user


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
        try:
            check_throttle(LOGIN_FAILURES)
        except Throttled:
            flash(_("Too many failed sign-ins from this address: try again in a few minutes."), "error")
            return render_template("auth/login.html"), 429
        try:
            user = authenticate(db_session(), request.form.get("username", ""), request.form.get("password", ""), clock().now())
        except AccountLocked:
            note_failure(LOGIN_FAILURES)
            flash(_("Too many wrong passwords: this account is locked for 15 minutes."), "error")
            return render_template("auth/login.html"), 429
        if user is None:
            note_failure(LOGIN_FAILURES)
            # Commit the failed-attempt count even though the answer is an error.
            db_session().commit()
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
