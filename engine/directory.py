"""Departments and users: who works where, with which roles, and how they sign in."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from engine.clock import Clock
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.models import Department, User, UserRole
from engine.vocab import Role

WINDOW_DEPARTMENT = "window"
"""Code of the comprehensive window (综合窗口); the applicant's lane is handled here too."""

DEPARTMENT_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{2,80}$"
MIN_PASSWORD = 6
_CODE_RE = re.compile(DEPARTMENT_CODE_PATTERN)
MAX_NAME = 120  # department names and users' display names
# scrypt parameters: 16 MiB of memory per hash keeps brute force costly and a login under 100 ms.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def password_matches(password_hash: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = password_hash.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected))
    return hmac.compare_digest(actual, expected)


# A real hash to compare against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


class AccountLocked(PermissionDenied):
    """Too many wrong passwords: the account is locked for a while."""


def authenticate(session: Session, username: str, password: str, now: datetime) -> User | None:
    """The user whose password this is; None otherwise. Five wrong passwords lock the account for
    15 minutes (`AccountLocked`), which also throttles guessing over the API."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        password_matches(_DUMMY_HASH, password)
        return None
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked("too many wrong passwords: the account is locked for 15 minutes")
    if password_matches(user.password_hash, password):
        if user.failed_logins:
            user.failed_logins, user.locked_until = 0, None
        return user
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.failed_logins, user.locked_until = 0, now + LOCKOUT
    return None


# Built once: API requests authenticated by remembered credentials run it on every call.
_USER_WITH_ROLES = select(User).options(joinedload(User.role_rows)).where(User.id == bindparam("user_id"))


def user_allowed_in(session: Session, user_id: int, now: datetime) -> User | None:
    """The user with this id, roles loaded in the same statement, if they may sign in now (active, not
    locked out); None otherwise."""
    user = session.scalar(_USER_WITH_ROLES, {"user_id": user_id})
    if user is None or not user.active or (user.locked_until is not None and user.locked_until > now):
        return None
    return user


def create_department(session: Session, clock: Clock, code: str, name: str) -> Department:
    code, name = (code or "").strip(), (name or "").strip()
    if not _CODE_RE.match(code):
        raise InvalidInput("department code must be 2–40 lowercase letters, digits or '_', starting with a letter")
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"department name is required, at most {MAX_NAME} characters")
    if session.scalar(select(Department).where((Department.code == code) | (Department.name == name))):
        raise Conflict(f"a department with code '{code}' or name '{name}' already exists")
    department = Department(code=code, name=name, created_at=clock.now())
    session.add(department)
    session.flush()
    return department


def department_by_code(session: Session, code: str) -> Department:
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(f"no department with code '{code}'")
    return department


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.code)))


def create_user(
    session: Session,
    clock: Clock,
    username: str,
    password: str,
    roles: list[str],
    department_code: str | None = None,
    display_name: str | None = None,
) -> User:
    username = (username or "").strip()
    if not re.match(USERNAME_PATTERN, username):
        raise InvalidInput("username must be 2–80 letters, digits, '.', '_' or '-'")
    if not password or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    unknown = [r for r in roles if r not in Role.__members__.values()]
    if unknown or not roles:
        raise InvalidInput(f"roles must be a non-empty list of {', '.join(Role)}; unknown: {', '.join(unknown) or '-'}")
    display_name = (display_name or "").strip() or None
    if display_name is not None and len(display_name) > MAX_NAME:
        raise InvalidInput(f"display name must be at most {MAX_NAME} characters")
    department = department_by_code(session, department_code) if department_code else None
    needs_department = {Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.WINDOW}
    if department is None and needs_department.intersection(roles):
        raise InvalidInput("window clerks, reviewers and department heads need a department")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user '{username}' already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        department=department,
        created_at=clock.now(),
        role_rows=[UserRole(role=r) for r in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    return user


def user_by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user
