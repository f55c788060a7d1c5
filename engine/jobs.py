"""Scheduled work, as plain functions: each due item in its own transaction; a failure is logged
and skipped; each returns how many items it handled. `web/scheduler.py` registers them."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar_store import load_calendar
from engine.clock import Clock
from engine.db import Database
from engine.deadlines import level_of, next_warning_at
from engine.lease import acquire_lease
from engine.models import Case, Clock as ClockRow, SupervisionOrder, Task, Ticket
from engine.notifications import notify, people_responsible_for, supervisors
from engine.runtime import conclude_if_finished, lock_case, open_workflow, run_due_timers, save_workflow, sync_task_rows
from engine.supervision import escalate_order, overdue_order_ids
from engine.throttle import purge_throttle_slots
from engine.credit_feed import pending_decision_ids, publish_decision
from engine.projects import follow_project, projects_to_follow
from engine.tickets import escalate_ticket, overdue_ticket_ids
from engine.vocab import WARNING_RANK, CaseStatus, ClockKind, OrderStatus, WarningLevel

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
LEASE_TTL = timedelta(minutes=3)

LEVEL_LABELS = {WarningLevel.NOTICE: "提示", WarningLevel.YELLOW: "黄牌", WarningLevel.RED: "红牌"}


def each_in_its_own_transaction(db: Database, ids: list[int], work: Callable[[Session, int], int], what: str) -> int:
    """Run `work` for each id in its own writer transaction and add up what it reports. One failing item
    (a bad clock, a concurrent runner, a clerk who left) is logged and must not hold up the others."""
    done = 0
    for item_id in ids:
        try:
            with db.writer.begin() as session:
                done += work(session, item_id)
        except Exception:  # noqa: BLE001
            log.exception("%s failed for %s", what, item_id)
    return done


def scan_warnings(db: Database, clock: Clock) -> int:
    """Record each clock whose warning level rose, once, and notify who must act.

    The candidates come from one indexed query on `next_warning_at`; only clocks whose threshold
    passed are touched.
    """
    now = clock.now()
    with db.reader.begin() as session:
        due = list(session.scalars(select(ClockRow.id).where(ClockRow.next_warning_at <= now).order_by(ClockRow.id)))
    return each_in_its_own_transaction(db, due, lambda session, clock_id: _record_level_change(session, clock_id, clock),
                                       "warning scan of clock")


def _record_level_change(session: Session, clock_id: int, clock: Clock) -> int:
    row = session.get(ClockRow, clock_id, with_for_update={"of": ClockRow})
    now = clock.now()
    if row is None or row.next_warning_at is None or row.next_warning_at > now:
        return 0  # another runner got here first, or the clock moved
    level = level_of(row, now)
    if WARNING_RANK[level] <= WARNING_RANK[WarningLevel(row.level)]:
        row.next_warning_at = next_warning_at(row)
        return 0
    row.level = level
    row.next_warning_at = next_warning_at(row)
    case = row.case
    task = session.scalar(select(Task).where(Task.clock_id == row.id).order_by(Task.id.desc()).limit(1))
    history.record(session, case, "warning", now, None, task, level=level, clock=row.kind, element_id=row.element_id,
                   due_at=row.due_at.isoformat())
    label = LEVEL_LABELS[level]
    if row.kind == ClockKind.TASK and row.department_id is not None:
        people = people_responsible_for(session, row.department_id, task.assignee if task else None)
        what = f"{case.number} {task.name if task else row.element_id}"
    else:
        people = []
        what = f"{case.number} {'承诺时限' if row.kind == ClockKind.PROMISED else '法定时限'}"
    notify(session, people + supervisors(session), now, f"warning_{level}", f"{label}: {what}", case, task)
    return 1


def fire_due_timers(db: Database, clock: Clock) -> int:
    """Wake the cases whose next BPMN timer is due; cases with no timer are never loaded."""
    now = clock.now()
    with db.reader.begin() as session:
        due = list(session.scalars(select(Case.id).where(
            Case.next_timer_at <= now, Case.status == CaseStatus.IN_PROGRESS).order_by(Case.next_timer_at)))
    return each_in_its_own_transaction(db, due, lambda session, case_id: _wake(session, case_id, clock), "timer run of case")


def _wake(session: Session, case_id: int, clock: Clock) -> int:
    case = lock_case(session, case_id)
    now = clock.now()
    if case.next_timer_at is None or case.next_timer_at > now:
        return 0
    calendar = load_calendar(session)
    workflow = open_workflow(case, clock, calendar)
    run_due_timers(workflow)
    opened = sync_task_rows(session, case, workflow, now, calendar)
    history.record(session, case, "timer_fired", now, None, opened=[t.name for t in opened])
    conclude_if_finished(session, case, workflow, now, None)
    save_workflow(case, workflow)
    return 1


def escalate_overdue_orders(db: Database, clock: Clock) -> int:
    with db.reader.begin() as session:
        due = overdue_order_ids(session, clock.now())

    def escalate(session: Session, order_id: int) -> int:
        order = session.get(SupervisionOrder, order_id, with_for_update={"of": SupervisionOrder})
        if order is None or order.status != OrderStatus.OPEN:
            return 0
        escalate_order(session, order, clock.now())
        return 1

    return each_in_its_own_transaction(db, due, escalate, "escalation of order")


def escalate_overdue_tickets(db: Database, clock: Clock) -> int:
    """督办: each enterprise problem whose 落实 round is overdue raises one supervision order per round."""
    with db.reader.begin() as session:
        due = overdue_ticket_ids(session, clock.now())

    def escalate(session: Session, ticket_id: int) -> int:
        ticket = session.get(Ticket, ticket_id, with_for_update={"of": Ticket})
        # Checked again under the lock: another runner may have escalated it meanwhile.
        if ticket is None or ticket_id not in overdue_ticket_ids(session, clock.now()):
            return 0
        escalate_ticket(session, ticket, clock.now())
        return 1

    return each_in_its_own_transaction(db, due, escalate, "escalation of ticket")


def publish_credit_decisions(db: Database, clock: Clock) -> int:
    """双公示: every concluded 行政许可 decision into the credit feed, once, long before its 7 working days."""
    with db.reader.begin() as session:
        due = pending_decision_ids(session)

    def publish(session: Session, case_id: int) -> int:
        # A concurrent runner inserting it first fails on the unique case id: logged, not published twice.
        case = session.get(Case, case_id)
        return int(case is not None and publish_decision(session, case, clock.now()) is not None)

    return each_in_its_own_transaction(db, due, publish, "credit feed of case")


def follow_project_cases(db: Database, clock: Clock) -> int:
    """Projects and their 一件事: accept the case of each step a project's flow reached, and complete each
    step whose case concluded, so the project moves on even when nobody opens it."""
    with db.reader.begin() as session:
        due = projects_to_follow(session)
    return each_in_its_own_transaction(db, due, lambda session, project_id: follow_project(session, clock, project_id),
                                       "following the 一件事 cases of project")


@dataclass(frozen=True)
class JobRun:
    ran: bool
    warnings: int = 0
    timers: int = 0
    escalations: int = 0
    credit_published: int = 0
    project_steps: int = 0


def run_due_jobs(db: Database, clock: Clock, holder: str) -> JobRun:
    """Run every scheduled job if this process holds the scheduler lease (catching up on anything missed)."""
    with db.writer.begin() as session:
        if not acquire_lease(session, LEASE_NAME, holder, clock.now(), LEASE_TTL):
            return JobRun(ran=False)
        purge_throttle_slots(session, clock.now())
    return JobRun(
        ran=True,
        timers=fire_due_timers(db, clock),
        warnings=scan_warnings(db, clock),
        escalations=escalate_overdue_orders(db, clock) + escalate_overdue_tickets(db, clock),
        credit_published=publish_credit_decisions(db, clock),
        project_steps=follow_project_cases(db, clock),
    )
