"""The in-app notification centre (and email, when SMTP is configured)."""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.models import Case, Notification, Task, User, UserRole
from engine.vocab import Role

log = logging.getLogger(__name__)


def notify(
    session: Session, users: Iterable[User], now: datetime, kind: str, message: str,
    case: Case | None = None, task: Task | None = None,
) -> int:
    """One notification per distinct user; returns how many were created."""
    seen: set[int] = set()
    for user in users:
        if user.id in seen or not user.active:
            continue
        seen.add(user.id)
        session.add(Notification(user_id=user.id, case_id=case.id if case else None, task_id=task.id if task else None,
                                 kind=kind, message=message, created_at=now))
    return len(seen)


def users_with_role(session: Session, role: str, department_id: int | None = None) -> list[User]:
    query = select(User).join(UserRole).where(UserRole.role == role, User.active.is_(True))
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    return list(session.scalars(query))


def people_responsible_for(session: Session, department_id: int, assignee: User | None) -> list[User]:
    """The assignee if any, else the department's reviewers; always its heads."""
    people = [assignee] if assignee else users_with_role(session, Role.REVIEWER, department_id)
    return people + users_with_role(session, Role.DEPARTMENT_HEAD, department_id)


def supervisors(session: Session) -> list[User]:
    return users_with_role(session, Role.SUPERVISOR)


def notifications_for(session: Session, user: User, unread_only: bool = False, limit: int = 100) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def unread_count(session: Session, user: User) -> int:
    return len(list(session.scalars(select(Notification.id).where(Notification.user_id == user.id, Notification.read_at.is_(None)))))


def mark_read(session: Session, user: User, now: datetime, ids: Iterable[int] | None = None) -> None:
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    session.execute(stmt.values(read_at=now))


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "yijianshi@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False


def send_pending_emails(session: Session, settings: SmtpSettings, now: datetime, limit: int = 200) -> int:
    """Email notifications not yet sent to users who have an address; marks each one sent."""
    pending = session.execute(
        select(Notification, User).join(User, User.id == Notification.user_id)
        .where(Notification.emailed_at.is_(None), User.email.is_not(None)).order_by(Notification.id).limit(limit)
    ).all()
    if not pending:
        return 0
    with smtplib.SMTP(settings.host, settings.port, timeout=10) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        for notification, user in pending:
            message = EmailMessage()
            message["From"], message["To"] = settings.sender, user.email
            message["Subject"] = f"[一件事] {notification.message[:60]}"
            message.set_content(notification.message)
            smtp.send_message(message)
            notification.emailed_at = now
    return len(pending)
