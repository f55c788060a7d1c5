"""Who may do what: small predicates that read as sentences, one rule each."""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine.errors import PermissionDenied
from engine.models import Case, Task, User
from engine.vocab import Role

DEPARTMENT_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.WINDOW)
OVERSIGHT_ROLES = (Role.SUPERVISOR, Role.ADMIN)


def sees_every_department(user: User) -> bool:
    return user.has_role(*OVERSIGHT_ROLES)


def belongs_to_department(user: User, department_id: int | None) -> bool:
    return department_id is not None and user.department_id == department_id


def may_act_on_task(user: User, task: Task) -> bool:
    return user.has_role(*DEPARTMENT_ROLES) and belongs_to_department(user, task.department_id)


def may_accept_cases(user: User) -> bool:
    return user.has_role(Role.WINDOW, Role.ADMIN)


def may_log_tickets(user: User) -> bool:
    """Whoever serves enterprises logs their problems: the window, and department staff (包联干部)."""
    return may_accept_cases(user) or (user.department_id is not None and user.has_role(Role.REVIEWER, Role.DEPARTMENT_HEAD))


def may_deploy_definitions(user: User) -> bool:
    return user.has_role(Role.ANALYST, Role.ADMIN)


def may_see_personal_data(user: User) -> bool:
    """The applicant's phone and ID number: the window contacts the applicant, administrators correct records."""
    return user.has_role(Role.WINDOW, Role.ADMIN)


def may_administer(user: User) -> bool:
    return user.has_role(Role.ADMIN)


def may_view_case(session: Session, user: User, case: Case) -> bool:
    """Oversight and the window see every case; a department sees the cases it has a task in."""
    if sees_every_department(user) or user.has_role(Role.WINDOW, Role.ANALYST):
        return True
    if user.department_id is None:
        return False
    return bool(session.scalar(select(exists().where(Task.case_id == case.id, Task.department_id == user.department_id))))


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)
