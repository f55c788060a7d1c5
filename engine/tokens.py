"""API tokens for systems (the online service hall, partner regions) and people.

A token acts as its user: the user's roles and department scope it. Only a SHA-256 of the token
is stored, so a leaked database does not leak working tokens.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from engine.clock import Clock
from engine.directory import user_by_username
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import ApiToken, User
from engine.permissions import may_administer, require

TOKEN_PREFIX = "yjs_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, clock: Clock, actor: User, username: str, name: str) -> tuple[ApiToken, str]:
    """Issue a token for `username`; the plain token is returned once and never stored."""
    require(may_administer(actor), "only administrators issue API tokens")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("a token needs a name saying who uses it")
    user = user_by_username(session, username)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name[:120], token_hash=digest(plain), user=user, created_by_id=actor.id, created_at=clock.now())
    session.add(token)
    session.flush()
    return token, plain


def revoke_token(session: Session, clock: Clock, actor: User, token_id: int) -> ApiToken:
    require(may_administer(actor), "only administrators revoke API tokens")
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is not None:
        raise Conflict("this token is already revoked")
    token.revoked_at = clock.now()
    return token


# One statement: the user's roles come joined rather than by the relationship's second SELECT.
# Built once: every API request with a token runs it, and building it costs more than running it.
_TOKEN_WITH_USER = (
    select(ApiToken).options(joinedload(ApiToken.user).joinedload(User.role_rows))
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def user_for_token(session: Session, plain: str, now: datetime) -> User | None:
    token = session.scalar(_TOKEN_WITH_USER, {"token_hash": digest(plain)})
    if token is None or not token.user.active:
        return None
    return token.user


def list_tokens(session: Session, actor: User) -> list[ApiToken]:
    require(may_administer(actor), "only administrators list API tokens")
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
