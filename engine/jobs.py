"""Scheduled work, as plain functions: each due item in its own transaction; a failure is logged
and skipped; each returns how many items it handled. `web/scheduler.py` registers them."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from engine import history
from engine.calendar_store import load_calendar
from engine.clock import Clock
from engine.db import Database
from engine.deadlines import level_of, next_warning_at
from engine.lease import acquire_lease
from engine.models import Case, Clock as ClockRow, SupervisionOrder, Task
from engine.notifications import notify, people_responsible_for, supervisors
from engine.runtime import conclude_if_finished, lock_case, open_workflow, run_due_timers, save_workflow, sync_task_rows
from engine.supervision import escalate_order, overdue_order_ids
from engine.vocab import WARNING_RANK, CaseStatus, ClockKind, OrderStatus, WarningLevel

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
LEASE_TTL = timedelta(minutes=3)

LEVEL_LABELS = {WarningLevel.NOTICE: "提示", WarningLevel.YELLOW: "黄牌", WarningLevel.RED: "红牌"}


def scan_warnings(db: Database, clock: Clock) -> int:
    """Record each clock whose warning level rose, once, and notify who must act.

    The candidates come from one indexed query on `next_warning_at`; only clocks whose threshold
    passed are touched.
    """
    now = clock.now()
    with db.reader.begin() as session:
        due = list(session.scalars(select(ClockRow.id).where(ClockRow.next_warning_at <= now).order_by(ClockRow.id)))
    changed = 0
    for clock_id in due:
        try:
            with db.writer.begin() as session:
                changed += _record_level_change(session, clock_id, clock)
        except Exception:  # noqa: BLE001 - one bad clock must not stop the scan
            log.exception("warning scan failed for clock %s", clock_id)
    return changed


def _record_level_change(session, clock_id: int, clock: Clock) -> int:  # type: ignore[no-untyped-def]
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
    fired = 0
    for case_id in due:
        try:
            with db.writer.begin() as session:
                fired += _wake(session, case_id, clock)
        except Exception:  # noqa: BLE001
            log.exception("timer run failed for case %s", case_id)
    return fired


def _wake(session, case_id: int, clock: Clock) -> int:  # type: ignore[no-untyped-def]
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
    now = clock.now()
    with db.reader.begin() as session:
        due = overdue_order_ids(session, now)
    escalated = 0
    for order_id in due:
        try:
            with db.writer.begin() as session:
                order = session.get(SupervisionOrder, order_id, with_for_update={"of": SupervisionOrder})
                if order is not None and order.status == OrderStatus.OPEN:
                    escalate_order(session, order, clock.now())
                    escalated += 1
        except Exception:  # noqa: BLE001
            log.exception("escalation failed for order %s", order_id)
    return escalated


@dataclass(frozen=True)
class JobRun:
    ran: bool
    warnings: int = 0
    timers: int = 0
    escalations: int = 0


def run_due_jobs(db: Database, clock: Clock, holder: str) -> JobRun:
    """Run every scheduled job if this process holds the scheduler lease (catching up on anything missed)."""
    with db.writer.begin() as session:
        if not acquire_lease(session, LEASE_NAME, holder, clock.now(), LEASE_TTL):
            return JobRun(ran=False)
    return JobRun(
        ran=True,
        timers=fire_due_timers(db, clock),
        warnings=scan_warnings(db, clock),
        escalations=escalate_overdue_orders(db, clock),
    )
