"""一窗出件: the window hands out every department's results at once, by pickup or free EMS mail.

The flow's join opens the delivery task only when every department's result is in, so "a delivery
task is open" is the guard. Handing out completes that task through `complete_task`, which
advances the workflow and concludes the case.

Visits (一次办): picking up at the window counts as a visit only for online and partner-region
cases. The district's rule counts the trips from application to result, and a window applicant's
pickup is the result of that same 一次办; an online applicant who comes to collect has made one
trip where mail would have made none.
"""
from __future__ import annotations

import re
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.clock import Clock
from engine.errors import Conflict, InvalidInput
from engine.models import Case, Task, User
from engine.permissions import may_act_on_task, require
from engine.runtime import lock_case
from engine.tasks import claimed_by_someone_else, complete_task
from engine.vocab import OPEN_TASK_STATES, CaseStatus, Channel, Role, TaskKind

_TRACKING_RE = re.compile(r"^[A-Za-z0-9-]{6,40}$")
MAX_ADDRESS = 200


class DeliveryMethod(StrEnum):
    PICKUP = "pickup"
    """窗口领取: the applicant collects the results at the window."""
    EMS = "ems"
    """免费邮寄: the results are mailed free of charge by EMS, with a tracking number."""


def open_delivery_task(session: Session, case: Case) -> Task | None:
    return session.scalar(select(Task).where(
        Task.case_id == case.id, Task.kind == TaskKind.DELIVERY, Task.state.in_(OPEN_TASK_STATES)))


def cases_awaiting_delivery(session: Session, limit: int = 200) -> list[Task]:
    """The open delivery tasks, oldest first: what the window has to hand out."""
    return list(session.scalars(select(Task).where(
        Task.kind == TaskKind.DELIVERY, Task.state.in_(OPEN_TASK_STATES)).order_by(Task.created_at, Task.id).limit(limit)))


def deliver(
    session: Session, clock: Clock, actor: User, case_id: int, method: str, tracking_number: str | None = None,
    address: str | None = None,
) -> Case:
    """Hand out the results: record how, then complete the delivery task, which concludes the case."""
    require(actor.has_role(Role.WINDOW), "only window clerks hand out results")
    case = lock_case(session, case_id)
    if case.status != CaseStatus.IN_PROGRESS:
        raise Conflict("this case is already concluded")
    task = open_delivery_task(session, case)
    if task is None:
        raise Conflict("results are handed out once every department's result is in; nothing is waiting for delivery")
    require(may_act_on_task(actor, task), "the delivery task belongs to another department")
    if claimed_by_someone_else(task, actor):
        raise Conflict("another clerk has claimed this delivery")
    method, tracking_number, address = _checked(method, tracking_number, address)
    now = clock.now()
    case.delivery_method, case.tracking_number = method, tracking_number
    if method == DeliveryMethod.PICKUP and case.channel != Channel.WINDOW:
        case.visits += 1
    history.record(session, case, "delivered", now, actor, task, method=method, tracking_number=tracking_number,
                   address=address)
    # complete_task locks and reloads the case row: write these changes first so the reload keeps them.
    session.flush()
    data = {"delivery_method": method, "tracking_number": tracking_number or ""}
    if address:
        data["delivery_address"] = address
    complete_task(session, clock, actor, task.id, None, None, data)
    return case


def _checked(method: str, tracking_number: str | None, address: str | None) -> tuple[str, str | None, str | None]:
    if method not in DeliveryMethod.__members__.values():
        raise InvalidInput(f"method must be one of {', '.join(DeliveryMethod)}")
    tracking_number = (tracking_number or "").strip() or None
    address = (address or "").strip() or None
    if method == DeliveryMethod.EMS:
        if tracking_number is None:
            raise InvalidInput("EMS mail needs its tracking number")
        if not _TRACKING_RE.match(tracking_number):
            raise InvalidInput("a tracking number is 6–40 letters, digits or '-'")
    elif tracking_number is not None:
        raise InvalidInput("a tracking number is only for EMS mail")
    if address is not None and len(address) > MAX_ADDRESS:
        raise InvalidInput(f"the address is longer than {MAX_ADDRESS} characters")
    return method, tracking_number, address
