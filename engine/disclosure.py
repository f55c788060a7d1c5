"""依申请公开: the reply limit, its one extension, and the statistics of the annual report.

The six steps (接收, 登记, 审核, 办理, 答复, 归档) are processes/yishenqing_gongkai.bpmn, run like any
一件事. 《政府信息公开条例》 art. 33: the reply is due within 20 working days of receipt (the case's
法定时限, paused while the applicant corrects the request, art. 30); where more time is really
needed the head of the disclosure office may approve one extension of at most 20 working days, and
the applicant is told. The rule's numbers come from the flow's catalog (`statutory_days`,
`extension: {max_days, times}`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState as SpiffState

from engine.calendar_store import load_calendar
from engine.clock import Clock
from engine.deadlines import statutory_clock
from engine.definitions import latest_definition
from engine.errors import Conflict, InvalidInput
from engine.intake import supervising_department
from engine.models import Case, Clock as ClockRow, ClockExtension, ProcessDefinition, Task, User
from engine.permissions import require, sees_every_department
from engine.runtime import get_task, open_workflow
from engine.suspensions import extend_task
from engine.vocab import CaseStatus, DisclosureAnswer, TaskState

DISCLOSURE_FLOW = "yishenqing_gongkai"
REPLY_STEP, AUDIT_STEP = "reply", "audit"


def extensions_of(session: Session, clock_row: ClockRow) -> int:
    return len(list(session.scalars(select(ClockExtension.id).where(ClockExtension.clock_id == clock_row.id))))


def extend_reply_limit(session: Session, clock: Clock, actor: User, task_id: int, working_days: int, reason: str) -> ClockRow:
    """延长答复期限 (art. 33): once, at most 20 working days, approved by the office's head before the limit runs out.

    The open step's own clock and the case's clocks move together (engine.suspensions.extend_task,
    which also checks that the actor heads the step's department); the applicant is told (告知).
    """
    task = get_task(session, task_id)
    case = task.case
    if case.definition.key != DISCLOSURE_FLOW:
        raise InvalidInput("this extension rule applies to 依申请公开 requests only")
    if case.status != CaseStatus.IN_PROGRESS:
        raise Conflict("this request has already been answered")
    statutory = statutory_clock(session, case)
    if statutory is None:
        raise InvalidInput("this request has no statutory reply limit to extend")
    # The rule (once, at most 20 days, before the limit runs out, the applicant told) binds every
    # extension of the flow, from any page or endpoint, so engine.suspensions.extend_task applies it.
    extend_task(session, clock, actor, task_id, working_days, reason)
    return statutory


def may_see_disclosure_stats(session: Session, user: User) -> bool:
    if sees_every_department(user):
        return True
    definition = latest_definition(session, DISCLOSURE_FLOW, required=False)
    if definition is None or user.department_id is None:
        return False
    return supervising_department(session, definition).id == user.department_id


@dataclass
class DisclosureStats:
    received: int = 0
    answered: int = 0
    on_time: int = 0
    late: int = 0
    extended: int = 0
    open: int = 0
    overdue_open: int = 0
    by_answer: dict[str, int] = field(default_factory=lambda: {a.value: 0 for a in DisclosureAnswer})

    def to_dict(self) -> dict[str, Any]:
        return {"received": self.received, "answered": self.answered, "on_time": self.on_time, "late": self.late,
                "extended": self.extended, "open": self.open, "overdue_open": self.overdue_open,
                "on_time_rate": self.on_time / self.answered if self.answered else None,
                "by_answer": [{"answer": k, "count": v} for k, v in self.by_answer.items()]}


def disclosure_stats(session: Session, clock: Clock, actor: User, start: datetime | None = None,
                     end: datetime | None = None) -> DisclosureStats:
    """Requests received in [start, end): answered, on time against the (extended) limit, extended, by answer type."""
    require(may_see_disclosure_stats(session, actor), "only supervisors and the disclosure office see these figures")
    query = select(Case).join(ProcessDefinition, ProcessDefinition.id == Case.definition_id).where(
        ProcessDefinition.key == DISCLOSURE_FLOW, Case.status != CaseStatus.CANCELLED)
    if start is not None:
        query = query.where(Case.accepted_at >= start)
    if end is not None:
        query = query.where(Case.accepted_at < end)
    stats, now, calendar = DisclosureStats(), clock.now(), load_calendar(session)
    cases = list(session.scalars(query.order_by(Case.id)))
    replies = {case_id: completed_at for case_id, completed_at in session.execute(
        select(Task.case_id, Task.completed_at).where(Task.case_id.in_([c.id for c in cases]),
                                                      Task.element_id == REPLY_STEP, Task.state == TaskState.COMPLETED))}
    for case in cases:
        stats.received += 1
        statutory = statutory_clock(session, case)
        if statutory is not None and extensions_of(session, statutory):
            stats.extended += 1
        replied_at = replies.get(case.id)
        if replied_at is None:
            stats.open += 1
            stats.overdue_open += bool(statutory and now > statutory.due_at)
        else:
            stats.answered += 1
            if statutory is None or replied_at <= statutory.due_at:
                stats.on_time += 1
            else:
                stats.late += 1
        answer = answer_of(case, clock, calendar)
        if answer in stats.by_answer and replied_at is not None:
            stats.by_answer[answer] += 1
    return stats


def answer_of(case: Case, clock: Clock, calendar: Any) -> str | None:
    """The 审核 step's answer type (予以公开 / 部分公开 / 不予公开 / 信息不存在 …), from the flow's task data."""
    workflow = open_workflow(case, clock, calendar)
    audits = [t for t in workflow.get_tasks(state=SpiffState.COMPLETED) if t.task_spec.name == AUDIT_STEP]
    if not audits:
        return None
    value = audits[-1].data.get("disclosure_type")
    return value if isinstance(value, str) else None
