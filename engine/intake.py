"""What the window records at acceptance besides the form: 容缺受理, 告知承诺 and 帮办代办.

- 容缺受理: the case is accepted with named materials missing, each with the date the applicant
  promised to bring it; the items stay on the case until an upload supplies them.
- 告知承诺: the applicant's signed commitment replaces a proof; the supervising department gets a
  follow-up check (核查) due 30 working days after acceptance.
- 帮办代办: the clerk who filled in the application for the applicant is recorded on the case.

`accept_case` checks the input before it creates anything and records it once the case exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar import WorkingCalendar
from engine.clock import Clock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import Case, Commitment, Department, MissingMaterial, ProcessDefinition, User
from engine.notifications import notify, people_responsible_for
from engine.permissions import belongs_to_department, require, sees_every_department
from engine.validation import checked_text
from engine.vocab import Role, TaskKind

COMMITMENT_CHECK_DAYS = 30
MAX_ITEMS = 30
MAX_NAME = 200
MAX_TEXT = 4000
MAX_PROMISE_DAYS = 366


@dataclass(frozen=True)
class MissingItem:
    name: str
    promised_date: date


@dataclass(frozen=True)
class CommitmentItem:
    material: str
    text: str


@dataclass(frozen=True)
class IntakeExtras:
    missing: tuple[MissingItem, ...] = ()
    commitments: tuple[CommitmentItem, ...] = ()
    assisted: bool = False


def checked_extras(missing_materials: Any, commitments: Any, assisted: Any, today: date) -> IntakeExtras:
    """Validate the optional intake parts; `InvalidInput` names the first bad item."""
    if not isinstance(assisted, bool):
        raise InvalidInput("assisted must be true or false")
    return IntakeExtras(tuple(_missing_items(missing_materials, today)), tuple(_commitment_items(commitments)), assisted)


def _list_of_objects(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidInput(f"{what} must be a list of objects")
    if len(value) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} {what}")
    return value


def _missing_items(value: Any, today: date) -> list[MissingItem]:
    items = []
    for raw in _list_of_objects(value, "missing_materials"):
        name = checked_text(raw.get("name"), "the missing material's name", MAX_NAME)
        try:
            promised = date.fromisoformat(raw.get("promised_date") or "")
        except (TypeError, ValueError):
            raise InvalidInput(f"'{name}': promised_date must be a date (YYYY-MM-DD)") from None
        if promised < today:
            raise InvalidInput(f"'{name}': the promised date is in the past")
        if (promised - today).days > MAX_PROMISE_DAYS:
            raise InvalidInput(f"'{name}': the promised date is more than a year away")
        items.append(MissingItem(name, promised))
    return items


def _commitment_items(value: Any) -> list[CommitmentItem]:
    return [CommitmentItem(checked_text(raw.get("material"), "the material a commitment replaces", MAX_NAME),
                           checked_text(raw.get("text"), "the commitment's text", MAX_TEXT))
            for raw in _list_of_objects(value, "commitments")]


def supervising_department(session: Session, definition: ProcessDefinition) -> Department:
    """The 一件事's supervising department (catalog `supervising_department`), else its first reviewing one."""
    catalog = definition.catalog or {}
    codes = [catalog.get("supervising_department")]
    codes += [t.get("department") for t in (catalog.get("tasks") or {}).values() if t.get("kind") == TaskKind.REVIEW]
    for code in codes:
        if code:
            department = session.scalar(select(Department).where(Department.code == code))
            if department is not None:
                return department
    raise InvalidInput(f"'{definition.name}' names no supervising department and has no reviewing department")


def record_extras(
    session: Session, case: Case, extras: IntakeExtras, now: datetime, actor: User, calendar: WorkingCalendar,
) -> None:
    """Store what `checked_extras` accepted, each part recorded in the case file."""
    if extras.assisted:
        case.assisted_by_id = actor.id
        history.record(session, case, "assisted", now, actor, clerk=actor.username)
    for item in extras.missing:
        session.add(MissingMaterial(case_id=case.id, name=item.name, promised_date=item.promised_date))
        history.record(session, case, "accepted_with_missing", now, actor, name=item.name,
                       promised_date=item.promised_date.isoformat())
    if extras.commitments:
        department = supervising_department(session, case.definition)
        due = calendar.due_at(now, COMMITMENT_CHECK_DAYS)
        for item in extras.commitments:
            session.add(Commitment(case_id=case.id, material=item.material, text=item.text, department_id=department.id,
                                   check_due_at=due))
            history.record(session, case, "commitment_signed", now, actor, material=item.material,
                           department=department.code, check_due_at=due.isoformat())
        notify(session, people_responsible_for(session, department.id, None), now, "commitment_check",
               f"告知承诺核查 {case.number}: {', '.join(i.material for i in extras.commitments)}", case)
    session.flush()


def may_check_commitment(user: User, commitment: Commitment) -> bool:
    return user.has_role(Role.REVIEWER, Role.DEPARTMENT_HEAD) and belongs_to_department(user, commitment.department_id)


def check_commitment(session: Session, clock: Clock, actor: User, commitment_id: int, result: str) -> Commitment:
    """核查: the supervising department records what it found; each commitment is checked once."""
    commitment = session.get(Commitment, commitment_id, with_for_update={"of": Commitment})
    if commitment is None:
        raise NotFound(f"no commitment {commitment_id}")
    require(may_check_commitment(actor, commitment), "only the supervising department checks this commitment")
    if commitment.checked_at is not None:
        raise Conflict("this commitment has already been checked")
    result = checked_text(result, "the check's result", MAX_TEXT)
    now = clock.now()
    commitment.checked_at, commitment.checked_by_id, commitment.check_result = now, actor.id, result
    case = session.get(Case, commitment.case_id)
    assert case is not None
    history.record(session, case, "commitment_checked", now, actor, material=commitment.material, result=result,
                   late=now > commitment.check_due_at)
    return commitment


def commitment_checks(session: Session, actor: User, include_done: bool = False) -> list[tuple[Commitment, Case]]:
    """Checks the actor's department owes (every department's for oversight), soonest due first."""
    query = select(Commitment, Case).join(Case, Case.id == Commitment.case_id)
    if not sees_every_department(actor):
        if actor.department_id is None:
            return []
        query = query.where(Commitment.department_id == actor.department_id)
    if not include_done:
        query = query.where(Commitment.checked_at.is_(None))
    return list(session.execute(query.order_by(Commitment.check_due_at, Commitment.id)).tuples())
