"""电子监察: 催办 (urge) and 督办单 (supervision orders with their own reply deadline)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar_store import load_calendar
from engine.clock import Clock
from engine.directory import department_by_code
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import Case, SupervisionOrder, User
from engine.notifications import notify, people_responsible_for, supervisors, users_with_role
from engine.permissions import belongs_to_department, require
from engine.runtime import get_task, task_is_open
from engine.validation import checked_text
from engine.vocab import OrderStatus, Role

MAX_TEXT = 2000


def urge_task(session: Session, clock: Clock, actor: User, task_id: int, message: str) -> None:
    """催办: remind the people on an open task, recorded in the case file."""
    require(actor.has_role(Role.SUPERVISOR, Role.ADMIN), "only supervisors urge tasks")
    task = get_task(session, task_id)
    if not task_is_open(task):
        raise Conflict("this task is already closed")
    message = checked_text(message, "a message", MAX_TEXT)
    now = clock.now()
    history.record(session, task.case, "urged", now, actor, task, message=message, department=task.department.code)
    notify(session, people_responsible_for(session, task.department_id, task.assignee), now, "urge",
           f"催办 {task.case.number} {task.name}: {message}", task.case, task)


def issue_order(
    session: Session, clock: Clock, actor: User, case_id: int, department_code: str, reply_within_days: int, text: str,
) -> SupervisionOrder:
    """督办单: the department must reply (回告) within `reply_within_days` working days."""
    require(actor.has_role(Role.SUPERVISOR, Role.ADMIN), "only supervisors issue supervision orders")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    department = department_by_code(session, department_code)
    if isinstance(reply_within_days, bool) or not isinstance(reply_within_days, int) or not 1 <= reply_within_days <= 30:
        raise InvalidInput("reply_within_days must be a whole number of working days from 1 to 30")
    text = checked_text(text, "the order's text", MAX_TEXT)
    now = clock.now()
    order = SupervisionOrder(case=case, department=department, text=text, issued_by_id=actor.id, issued_at=now,
                             reply_within_days=reply_within_days,
                             reply_due_at=load_calendar(session).due_at(now, reply_within_days), status=OrderStatus.OPEN)
    session.add(order)
    session.flush()
    history.record(session, case, "supervision_order", now, actor, order_id=order.id, department=department.code,
                   text=text, reply_due_at=order.reply_due_at.isoformat())
    notify(session, people_responsible_for(session, department.id, None), now, "supervision_order",
           f"督办单 {case.number}: {text}", case)
    return order


def reply_to_order(session: Session, clock: Clock, actor: User, order_id: int, text: str) -> SupervisionOrder:
    """回告: the department answers the order."""
    order = session.get(SupervisionOrder, order_id)
    if order is None:
        raise NotFound(f"no supervision order {order_id}")
    require(actor.has_role(Role.REVIEWER, Role.DEPARTMENT_HEAD) and belongs_to_department(actor, order.department_id),
            "only the ordered department replies")
    if order.status == OrderStatus.REPLIED:
        raise Conflict("this order has already been answered")
    text = checked_text(text, "a reply", MAX_TEXT)
    now = clock.now()
    order.status, order.reply_text, order.replied_at, order.replied_by_id = OrderStatus.REPLIED, text, now, actor.id
    history.record(session, order.case, "order_replied", now, actor, order_id=order.id, text=text,
                   late=now > order.reply_due_at)
    issuer = session.get(User, order.issued_by_id) if order.issued_by_id else None
    notify(session, [issuer] if issuer else supervisors(session), now, "order_replied",
           f"回告 {order.case.number}: {text}", order.case)
    return order


def escalate_order(session: Session, order: SupervisionOrder, now: datetime) -> None:
    """An unanswered order past its reply deadline goes up to the supervisors and department heads."""
    order.status, order.escalated_at = OrderStatus.ESCALATED, now
    history.record(session, order.case, "order_escalated", now, None, order_id=order.id, department=order.department.code)
    notify(session, supervisors(session) + users_with_role(session, Role.DEPARTMENT_HEAD, order.department_id), now,
           "order_escalated", f"督办单逾期未回告 {order.case.number}: {order.department.name}", order.case)


def overdue_order_ids(session: Session, now: datetime) -> list[int]:
    return list(session.scalars(select(SupervisionOrder.id).where(
        SupervisionOrder.status == OrderStatus.OPEN, SupervisionOrder.reply_due_at < now)))


def orders_for(session: Session, actor: User, case_id: int | None = None) -> list[SupervisionOrder]:
    query = select(SupervisionOrder)
    if not actor.has_role(Role.SUPERVISOR, Role.ADMIN):
        query = query.where(SupervisionOrder.department_id == actor.department_id)
    if case_id is not None:
        query = query.where(SupervisionOrder.case_id == case_id)
    return list(session.scalars(query.order_by(SupervisionOrder.id.desc())))
