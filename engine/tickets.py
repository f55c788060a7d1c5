"""企业问题闭环: 挂号 → 交办 → 落实 → 督办 → 反馈 → 销号, run as a case of `wenti_gongdan`.

挂号 is the flow's intake (completed when the ticket is logged) and 交办 gives its 落实 step to the
department named with the limit in working days; the department replies (反馈) by completing that
step, from its inbox or here; an overdue 落实 raises a 督办单 (the supervision orders of
engine.supervision, with their own reply deadline and escalation); the enterprise's confirmation at
the window closes the ticket (销号) or sends it back for another round. A ticket's status is read
from its case's task rows, so a reply from the ordinary inbox counts the same as one made here.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar_store import load_calendar
from engine.cases import start_case
from engine.clock import Clock
from engine.deadlines import policy_of, reschedule
from engine.directory import department_by_code
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import Clock as ClockRow
from engine.models import Department, SupervisionOrder, Task, Ticket, User
from engine.notifications import notify, people_responsible_for, supervisors
from engine.permissions import belongs_to_department, may_log_tickets, require, sees_every_department
from engine.tasks import complete_task
from engine.validation import checked_text
from engine.vocab import OPEN_TASK_STATES, CaseStatus, OrderStatus, Outcome, Role, TaskState, TicketStatus

TICKET_FLOW = "wenti_gongdan"
HANDLE_STEP, CONFIRM_STEP = "handle", "confirm"
CATEGORIES = ("approval", "policy", "factor", "other")
MAX_LIMIT_DAYS = 60
ORDER_REPLY_DAYS = 2  # the 督办单 an overdue ticket raises must be answered within two working days
MAX_TEXT = 2000


def log_ticket(session: Session, clock: Clock, actor: User, fields: dict[str, Any]) -> Ticket:
    """挂号 and 交办: log the enterprise's problem and give it to a department with a limit in working days."""
    require(may_log_tickets(actor), "only the window and department staff serving enterprises log problems")
    if not isinstance(fields, dict):
        raise InvalidInput("a ticket must be an object")
    enterprise = checked_text(fields.get("enterprise_name"), "enterprise_name", 200)
    contact = checked_text(fields.get("contact_name"), "contact_name", 80)
    phone = checked_text(fields.get("contact_phone"), "contact_phone", 40, required=False) or None
    credit_code = checked_text(fields.get("credit_code"), "credit_code", 40, required=False) or None
    problem = checked_text(fields.get("problem"), "problem", MAX_TEXT)
    category = fields.get("category") or "other"
    if category not in CATEGORIES:
        raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}")
    limit = fields.get("limit_days")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT_DAYS:
        raise InvalidInput(f"limit_days must be a whole number of working days from 1 to {MAX_LIMIT_DAYS}")
    department = department_by_code(session, checked_text(fields.get("department"), "department", 40))
    applicant = {"name": enterprise, "phone": phone} | ({"id_number": credit_code} if credit_code else {})
    case = start_case(session, clock, actor, TICKET_FLOW, applicant, {"problem": problem, "category": category})
    ticket = Ticket(case=case, enterprise_name=enterprise, credit_code=credit_code, contact_name=contact,
                    contact_phone=phone, problem=problem, category=category, department=department, limit_days=limit,
                    logged_at=clock.now(), logged_by_id=actor.id)
    session.add(ticket)
    session.flush()
    _assign_open_round(session, clock, actor, ticket)
    return ticket


def _assign_open_round(session: Session, clock: Clock, actor: User, ticket: Ticket) -> Task:
    """交办: the flow opens 落实 in its placeholder lane; it goes to the ticket's department with the ticket's limit."""
    task = _open_step(session, ticket, HANDLE_STEP)
    if task is None:
        raise Conflict("the ticket has no open 落实 step")
    now = clock.now()
    task.department, task.time_limit_days = ticket.department, ticket.limit_days
    if task.clock is not None:
        task.clock.department, task.clock.limit_days = ticket.department, ticket.limit_days
        reschedule(task.clock, load_calendar(session), policy_of(task.clock), now)
    session.flush()
    history.record(session, ticket.case, "ticket_assigned", now, actor, task, department=ticket.department.code,
                   limit_days=ticket.limit_days, due_at=task.clock.due_at.isoformat() if task.clock else None)
    notify(session, people_responsible_for(session, ticket.department_id, None), now, "ticket_assigned",
           f"交办 {ticket.case.number}: {ticket.problem[:60]}", ticket.case, task)
    return task


def _open_step(session: Session, ticket: Ticket, element_id: str) -> Task | None:
    return session.scalar(select(Task).where(Task.case_id == ticket.case_id, Task.element_id == element_id,
                                             Task.state.in_(OPEN_TASK_STATES)).order_by(Task.id.desc()).limit(1))


def reply_ticket(session: Session, clock: Clock, actor: User, ticket_id: int, reply: str) -> Ticket:
    """反馈: the department says what it did; the enterprise is asked to confirm."""
    ticket = get_ticket(session, actor, ticket_id)
    task = _open_step(session, ticket, HANDLE_STEP)
    if task is None:
        raise Conflict("this ticket is not waiting for the department's reply")
    complete_task(session, clock, actor, task.id, Outcome.APPROVE, checked_text(reply, "a reply", MAX_TEXT))
    return ticket


def confirm_ticket(session: Session, clock: Clock, actor: User, ticket_id: int, solved: bool, comment: str) -> Ticket:
    """销号 when the enterprise confirms the problem solved; otherwise back to the department for another round."""
    ticket = get_ticket(session, actor, ticket_id)
    task = _open_step(session, ticket, CONFIRM_STEP)
    if task is None:
        raise Conflict("this ticket is not waiting for the enterprise's confirmation")
    comment = checked_text(comment, "the enterprise's comment", MAX_TEXT)
    complete_task(session, clock, actor, task.id, Outcome.APPROVE if solved else Outcome.RETURN, comment,
                  {"satisfaction": "satisfied" if solved else "unsatisfied"})
    if not solved:
        _assign_open_round(session, clock, actor, ticket)
    return ticket


# --- 督办: overdue rounds raise a supervision order --------------------------------------------------------------

def overdue_ticket_ids(session: Session, now: datetime) -> list[int]:
    """Tickets whose open 落实 round is past its due date and was not escalated since it opened."""
    return list(session.scalars(
        select(Ticket.id).join(Task, (Task.case_id == Ticket.case_id) & (Task.element_id == HANDLE_STEP))
        .join(ClockRow, ClockRow.id == Task.clock_id)
        .where(Task.state.in_(OPEN_TASK_STATES), ClockRow.due_at < now,
               or_(Ticket.escalated_at.is_(None), Ticket.escalated_at < Task.created_at))
        .order_by(Ticket.id)))


def escalate_ticket(session: Session, ticket: Ticket, now: datetime) -> SupervisionOrder:
    """督办: a 督办单 to the department (its own reply deadline, escalated further if unanswered)."""
    calendar = load_calendar(session)
    order = SupervisionOrder(case=ticket.case, department=ticket.department, issued_at=now, issued_by_id=None,
                             text=f"企业问题逾期未办结：{ticket.problem[:200]}", reply_within_days=ORDER_REPLY_DAYS,
                             reply_due_at=calendar.due_at(now, ORDER_REPLY_DAYS), status=OrderStatus.OPEN)
    session.add(order)
    session.flush()
    ticket.escalated_at, ticket.order_id = now, order.id
    history.record(session, ticket.case, "ticket_escalated", now, None, order_id=order.id,
                   department=ticket.department.code, reply_due_at=order.reply_due_at.isoformat())
    notify(session, people_responsible_for(session, ticket.department_id, None) + supervisors(session), now,
           "ticket_escalated", f"督办 {ticket.case.number} {ticket.department.name}: {ticket.problem[:60]}", ticket.case)
    return order


# --- Reading -------------------------------------------------------------------------------------------------

def sees_every_ticket(user: User) -> bool:
    return sees_every_department(user) or user.has_role(Role.WINDOW)


def get_ticket(session: Session, actor: User, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not (sees_every_ticket(actor) or belongs_to_department(actor, ticket.department_id)):
        raise NotFound(f"no ticket {ticket_id}")
    return ticket


@dataclass
class TicketView:
    ticket: Ticket
    status: TicketStatus
    due_at: datetime | None
    overdue: bool
    reply: str | None
    replied_at: datetime | None
    closed_at: datetime | None
    on_time: bool | None
    """Closed with every round answered within its limit; None while open."""
    rounds: int


def ticket_views(session: Session, tickets: list[Ticket], now: datetime) -> list[TicketView]:
    """Each ticket's status, due date and replies, read from its case's 落实 rows in one query."""
    if not tickets:
        return []
    rounds: dict[int, list[tuple[Task, ClockRow | None]]] = defaultdict(list)
    for task, clock_row in session.execute(
            select(Task, ClockRow).outerjoin(ClockRow, ClockRow.id == Task.clock_id)
            .where(Task.case_id.in_([t.case_id for t in tickets]), Task.element_id == HANDLE_STEP,
                   Task.state != TaskState.CANCELLED).order_by(Task.id)):
        rounds[task.case_id].append((task, clock_row))
    views = []
    for ticket in tickets:
        handled = rounds.get(ticket.case_id, [])
        last_task, last_clock = handled[-1] if handled else (None, None)
        open_round = last_task is not None and last_task.state in OPEN_TASK_STATES
        due_at = last_clock.due_at if last_clock else None
        closed = ticket.case.status != CaseStatus.IN_PROGRESS
        done = [(t, c) for t, c in handled if t.completed_at is not None]
        if closed:
            status = TicketStatus.CLOSED
        elif open_round:
            escalated = ticket.escalated_at is not None and last_task is not None and ticket.escalated_at > last_task.created_at
            status = TicketStatus.ESCALATED if escalated else TicketStatus.ASSIGNED
        else:
            status = TicketStatus.REPLIED
        views.append(TicketView(
            ticket=ticket, status=status, due_at=due_at,
            overdue=bool(open_round and due_at is not None and now > due_at),
            reply=done[-1][0].opinion if done else None, replied_at=done[-1][0].completed_at if done else None,
            closed_at=ticket.case.completed_at if closed else None,
            on_time=all(c is None or t.completed_at <= c.due_at for t, c in done) if closed else None,
            rounds=len(handled)))
    return views


def list_tickets(session: Session, actor: User, now: datetime, status: str | None = None,
                 department: str | None = None, limit: int = 500) -> list[TicketView]:
    """Tickets the actor may see, newest first: all for oversight and the window, else their department's."""
    if status is not None and status not in TicketStatus.__members__.values():
        raise InvalidInput(f"status must be one of {', '.join(TicketStatus)}")
    query = select(Ticket)
    if not sees_every_ticket(actor):
        query = query.where(Ticket.department_id == actor.department_id)
    if department:
        query = query.where(Ticket.department_id == department_by_code(session, department).id)
    views = ticket_views(session, list(session.scalars(query.order_by(Ticket.id.desc()).limit(limit))), now)
    return [v for v in views if status is None or v.status == status]


@dataclass
class DepartmentTickets:
    department: Department
    logged: int = 0
    open: int = 0
    overdue: int = 0
    escalated: int = 0
    closed: int = 0
    closed_on_time: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None

    def to_dict(self) -> dict[str, Any]:
        return {"department": self.department.code, "department_name": self.department.name, "logged": self.logged,
                "open": self.open, "overdue": self.overdue, "escalated": self.escalated, "closed": self.closed,
                "closed_on_time": self.closed_on_time, "on_time_rate": self.on_time_rate}


def ticket_stats(session: Session, actor: User, now: datetime) -> list[DepartmentTickets]:
    """Counts per department and the on-time closure rate (按期办结率), for the supervisor's desk."""
    rows: dict[int, DepartmentTickets] = {}
    for view in list_tickets(session, actor, now, limit=100_000):
        ticket = view.ticket
        row = rows.setdefault(ticket.department_id, DepartmentTickets(ticket.department))
        row.logged += 1
        row.escalated += ticket.escalated_at is not None
        if view.status == TicketStatus.CLOSED:
            row.closed += 1
            row.closed_on_time += bool(view.on_time)
        else:
            row.open += 1
            row.overdue += view.overdue
    return sorted(rows.values(), key=lambda r: r.department.code)
