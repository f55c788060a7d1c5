"""Demo accounts for development: one per role, and per department a reviewer (username = code) and a head."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.directory import WINDOW_DEPARTMENT, create_user
from engine.models import Department, User
from engine.vocab import Role

DEMO_PASSWORD = "demo123"

_ROLE_ACCOUNTS = (
    ("window", "综合窗口受理员", [Role.WINDOW], WINDOW_DEPARTMENT),
    ("supervisor", "督办科", [Role.SUPERVISOR], None),
    ("analyst", "流程分析员", [Role.ANALYST], None),
    ("admin", "系统管理员", [Role.ADMIN], None),
)


def ensure_demo_users(session: Session, clock: Clock) -> list[User]:
    """Create the demo users that do not exist yet; return all of them, in a stable order."""
    wanted: list[tuple[str, str, list[str], str | None]] = list(_ROLE_ACCOUNTS)
    for department in session.scalars(select(Department).order_by(Department.code)):
        if department.code != WINDOW_DEPARTMENT:
            wanted.append((department.code, f"{department.name}审查员", [Role.REVIEWER], department.code))
            wanted.append((f"{department.code}_head", f"{department.name}负责人", [Role.DEPARTMENT_HEAD, Role.REVIEWER],
                           department.code))
    existing = {u.username: u for u in session.scalars(select(User))}
    users = []
    for username, display_name, roles, department in wanted:
        user = existing.get(username) or create_user(
            session, clock, username, DEMO_PASSWORD, [str(r) for r in roles], department, display_name
        )
        users.append(user)
    return users
