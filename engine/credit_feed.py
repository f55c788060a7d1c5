"""双公示: every 行政许可 decision, in the credit-information platform's fields, within 7 working days.

A decision is a case of an approval 一件事 concluding with every department approving (准予许可) or
with a refusal (不予许可). The collection job turns each into one feed item (the unique case id
makes a second run, or a concurrent one, add nothing); the platform reads the feed, paged by id,
or downloads it as CSV / Excel. Flows that are not 行政许可 (catalog `kind`: project, ticket,
disclosure) are left out.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar_store import load_calendar
from engine.deadlines import local_day
from engine.models import Case, CreditFeedItem, ProcessDefinition, Task, User
from engine.permissions import require, sees_every_department
from engine.privacy import mask_id_number
from engine.progress import current_reviews
from engine.vocab import CaseStatus, TaskKind, TaskState

PUBLISH_WITHIN_WORKING_DAYS = 7
NOT_LICENSING = frozenset({"project", "ticket", "disclosure"})
DATA_SOURCE = "区政务服务中心"  # 数据来源单位: the office that runs this system and sends the feed
DECISIONS = {CaseStatus.COMPLETED: "准予许可", CaseStatus.REJECTED: "不予许可"}
# 统一社会信用代码 (GB 32100): 18 characters. A resident ID number (GB 11643) has the same length, so it is
# told apart by its birth date; whatever is not a credit code is treated as a natural person's.
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")
ID_NUMBER = re.compile(r"^\d{6}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx]$")
FIELDS = (
    "行政相对人名称", "行政相对人类别", "统一社会信用代码", "法定代表人证件号码", "许可决定书文号", "许可证书名称",
    "许可类别", "许可内容", "许可决定", "许可决定日期", "有效期自", "有效期至", "许可机关", "数据来源单位", "办件编号",
)


def is_licensing(case: Case) -> bool:
    return case.definition.catalog.get("kind") not in NOT_LICENSING


def record_of(session: Session, case: Case) -> dict[str, Any]:
    """The fields the platform takes. A natural person's ID number is never published (masked); a credit code is."""
    tasks = list(session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)))
    reviews = [t for rows in current_reviews(tasks).values() for t in rows
               if t.state == TaskState.COMPLETED and t.kind == TaskKind.REVIEW]
    identifier = case.applicant_id_number or ""
    legal_person = bool(CREDIT_CODE.match(identifier)) and not ID_NUMBER.match(identifier)
    decided = local_day(case.completed_at) if case.completed_at else None
    valid_until = case.data.get("valid_until") if isinstance(case.data.get("valid_until"), str) else None
    return {
        "行政相对人名称": case.applicant_name,
        "行政相对人类别": "法人及非法人组织" if legal_person else "自然人",
        "统一社会信用代码": identifier if legal_person else None,
        "法定代表人证件号码": None if legal_person else mask_id_number(identifier or None),
        "许可决定书文号": f"{case.number}-XK",
        "许可证书名称": case.definition.name,
        "许可类别": "普通",
        "许可内容": "；".join(f"{t.name}（{t.department.name}）" for t in reviews) or case.definition.name,
        "许可决定": DECISIONS.get(CaseStatus(case.status), case.status),
        "许可决定日期": decided.isoformat() if decided else None,
        "有效期自": decided.isoformat() if decided else None,
        "有效期至": valid_until or "长期",
        "许可机关": "、".join(dict.fromkeys(t.department.name for t in reviews)),
        "数据来源单位": DATA_SOURCE,
        "办件编号": case.number,
    }


def pending_decision_ids(session: Session) -> list[int]:
    """Concluded 行政许可 cases whose decision is not in the feed yet."""
    # Definitions are few; leaving the other flows out here keeps their cases from being looked at every run.
    other = [d.id for d in session.scalars(select(ProcessDefinition)) if d.catalog.get("kind") in NOT_LICENSING]
    return list(session.scalars(
        select(Case.id).where(Case.status.in_(list(DECISIONS)), Case.completed_at.is_not(None),
                              Case.definition_id.not_in(other),
                              ~exists().where(CreditFeedItem.case_id == Case.id)).order_by(Case.id)))


def publish_decision(session: Session, case: Case, now: datetime) -> CreditFeedItem | None:
    """Add one case's decision to the feed; None when it is not a 行政许可 or already there."""
    if not is_licensing(case) or case.completed_at is None or case.status not in DECISIONS:
        return None
    if session.scalar(select(CreditFeedItem.id).where(CreditFeedItem.case_id == case.id)) is not None:
        return None
    due_by = load_calendar(session).due_at(case.completed_at, PUBLISH_WITHIN_WORKING_DAYS)
    item = CreditFeedItem(case_id=case.id, decision=DECISIONS[CaseStatus(case.status)], decided_at=case.completed_at,
                          due_by=due_by, published_at=now, record=record_of(session, case))
    session.add(item)
    session.flush()
    history.record(session, case, "credit_published", now, None, item_id=item.id, late=now > due_by)
    return item


def may_read_feed(user: User) -> bool:
    return sees_every_department(user)


def feed_items(session: Session, actor: User, after: int = 0, limit: int = 500) -> list[CreditFeedItem]:
    """The feed in the order it was published, from the item after `after` (the platform's cursor)."""
    require(may_read_feed(actor), "only supervisors and administrators read the 双公示 feed")
    return list(session.scalars(select(CreditFeedItem).where(CreditFeedItem.id > after)
                                .order_by(CreditFeedItem.id).limit(limit)))
