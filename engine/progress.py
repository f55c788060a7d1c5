"""The applicant's view of a case: found by its number and query code, in plain words, masked.

The public page has no login, so it shows what the receipt holder may know and nothing more: no
opinions, no staff names, personal data masked. A wrong number and a wrong code are answered the
same way, in about the same time, so the page cannot be used to learn which numbers exist.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Case, CaseEvent, MissingMaterial, Rating, Task
from engine.privacy import mask_id_number, mask_name, mask_phone
from engine.vocab import OPEN_TASK_STATES, CaseStatus, Outcome, TaskKind, TaskState

MAX_NUMBER = 40
# Compared against when no case has the number, so a miss costs the same as a wrong code.
_NO_CODE = "\x00" * 6


class StepStatus(StrEnum):
    ACCEPTED = "accepted"
    """已受理: the window accepted the application."""
    UNDER_REVIEW = "under_review"
    """审查中: the department is reviewing."""
    APPROVED = "approved"
    """已通过: the department approved (for the case: every result is in, waiting to be handed out)."""
    SUPPLEMENT_NEEDED = "supplement_needed"
    """需补正: the applicant must supply or correct materials."""
    REFUSED = "refused"
    """不予许可: the department refused."""
    CONCLUDED = "concluded"
    """已办结: the results were handed out."""
    CANCELLED = "cancelled"
    """已撤销: the case was stopped before it concluded."""
    NOT_ACCEPTED = "not_accepted"
    """不予受理: the window did not accept the application (the reasons are shown)."""


@dataclass(frozen=True)
class Step:
    department: str
    name: str
    status: StepStatus
    at: datetime | None


@dataclass(frozen=True)
class Progress:
    number: str
    matter: str
    status: StepStatus
    applicant_name: str
    applicant_phone: str | None
    applicant_id_number: str | None
    accepted_at: datetime
    completed_at: datetime | None
    steps: list[Step]
    missing: list[tuple[str, date]]
    delivery_method: str | None
    tracking_number: str | None
    rating: int | None
    may_rate: bool
    reasons: list[str]
    """Why the window did not accept the application (不予受理); empty otherwise."""


def find_case(session: Session, number: str | None, code: str | None) -> Case | None:
    """The case with this number *and* query code, else None — the same None for either mistake."""
    number = (number or "").strip().upper()[:MAX_NUMBER]
    code = (code or "").strip().upper()
    case = session.scalar(select(Case).where(Case.number == number)) if number else None
    expected = case.query_code if case is not None else _NO_CODE
    matches = hmac.compare_digest(expected.encode(), code.encode())
    return case if case is not None and matches else None


def case_status(case: Case, tasks: list[Task]) -> StepStatus:
    if case.status == CaseStatus.COMPLETED:
        return StepStatus.CONCLUDED
    if case.status == CaseStatus.REJECTED:
        return StepStatus.REFUSED
    if case.status == CaseStatus.CANCELLED:
        return StepStatus.CANCELLED
    if case.status == CaseStatus.NOT_ACCEPTED:
        return StepStatus.NOT_ACCEPTED
    open_kinds = {t.kind for t in tasks if t.state in OPEN_TASK_STATES}
    if TaskKind.SUPPLEMENT in open_kinds:
        return StepStatus.SUPPLEMENT_NEEDED
    if TaskKind.DELIVERY in open_kinds:
        return StepStatus.APPROVED
    return StepStatus.UNDER_REVIEW


def current_reviews(tasks: list[Task]) -> dict[str, list[Task]]:
    """Each review step's rows of its latest round, by element id, in flow order.

    A review reopened after 补正 is a new round that replaces the one that returned it; the rows of
    one round (a 会签's reviewers) are opened together. Withdrawn rows do not count.
    """
    rounds: dict[str, list[Task]] = {}
    for task in sorted(tasks, key=lambda t: t.id):
        if task.kind != TaskKind.REVIEW or task.state == TaskState.CANCELLED:
            continue
        rows = rounds.setdefault(task.element_id, [])
        if _reopens(task, rows):
            rows.clear()
        rows.append(task)
    return rounds


def _reopens(task: Task, rows: list[Task]) -> bool:
    """Whether `task` was opened after every row of the round was decided (a 会签's rows open together;
    one step of 依次审批 opens as the previous one completes, so a tie counts only after a 退回补正)."""
    if not rows or any(r.completed_at is None for r in rows):
        return False
    decided = max(r.completed_at for r in rows if r.completed_at is not None)
    return task.created_at > decided or (task.created_at == decided and any(r.outcome == Outcome.RETURN for r in rows))


def _review_status(rows: list[Task]) -> StepStatus:
    if any(t.state in OPEN_TASK_STATES for t in rows):
        return StepStatus.UNDER_REVIEW
    outcomes = {t.outcome for t in rows}
    if Outcome.REJECT in outcomes:
        return StepStatus.REFUSED
    if Outcome.RETURN in outcomes:
        return StepStatus.SUPPLEMENT_NEEDED
    return StepStatus.APPROVED


def steps_of(case: Case, tasks: list[Task]) -> list[Step]:
    """The window's acceptance, each department's review as it stands now, and the hand-out."""
    if case.status == CaseStatus.NOT_ACCEPTED:
        return [Step("", case.definition.name, StepStatus.NOT_ACCEPTED, case.accepted_at)]
    steps: list[Step] = []
    intake = next((t for t in tasks if t.kind == TaskKind.INTAKE), None)
    steps.append(Step(intake.department.name if intake else "", intake.name if intake else "", StepStatus.ACCEPTED,
                      case.accepted_at))
    for rows in current_reviews(tasks).values():
        last = rows[-1]
        at = max((t.completed_at for t in rows if t.completed_at), default=None)
        steps.append(Step(last.department.name, last.name, _review_status(rows), at or last.created_at))
    delivery = next((t for t in tasks if t.kind == TaskKind.DELIVERY and t.state == TaskState.COMPLETED), None)
    if delivery is not None:
        steps.append(Step(delivery.department.name, delivery.name, StepStatus.CONCLUDED, delivery.completed_at))
    return steps


def refusal_reasons(session: Session, case: Case) -> list[str]:
    """The reasons the window gave for not accepting the application (`engine.cases.refuse_application`)."""
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "not_accepted"))
    return list((event.details or {}).get("reasons") or []) if event is not None else []


def progress_of(session: Session, case: Case) -> Progress:
    tasks = list(session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)))
    missing = session.scalars(select(MissingMaterial).where(
        MissingMaterial.case_id == case.id, MissingMaterial.supplied_at.is_(None)).order_by(MissingMaterial.id))
    rating = session.scalar(select(Rating).where(Rating.case_id == case.id))
    return Progress(
        number=case.number, matter=case.definition.name, status=case_status(case, tasks),
        applicant_name=mask_name(case.applicant_name), applicant_phone=mask_phone(case.applicant_phone),
        applicant_id_number=mask_id_number(case.applicant_id_number),
        accepted_at=case.accepted_at, completed_at=case.completed_at, steps=steps_of(case, tasks),
        missing=[(m.name, m.promised_date) for m in missing],
        delivery_method=case.delivery_method, tracking_number=case.tracking_number,
        rating=rating.level if rating else None,
        may_rate=rating is None and case.status in (CaseStatus.COMPLETED, CaseStatus.REJECTED),
        reasons=refusal_reasons(session, case) if case.status == CaseStatus.NOT_ACCEPTED else [],
    )
