"""Cases (办件): acceptance at the window (一窗受理), numbering, reading a case."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine import history
from engine.calendar import OFFICE_TZ
from engine.calendar_store import load_calendar
from engine.clock import Clock
from engine.deadlines import local_day, start_case_clocks, stop_clock
from engine.definitions import latest_definition
from engine.errors import InvalidInput, NotFound
from engine.forms import form_values
from engine.intake import checked_extras, record_extras
from engine.instances import STATE_FORMAT, new_workflow, spec_cache
from engine.models import Case, CaseNumberCounter, Task, User
from engine.permissions import may_accept_cases, may_view_case, require, sees_every_department
from engine.runtime import (
    complete_workflow_task,
    conclude_if_finished,
    ready_user_task,
    run_engine,
    save_workflow,
    sync_task_rows,
)
from engine.vocab import CaseStatus, Channel, Role, TaskKind, TaskState

CASE_NUMBER_PREFIX = "YJS"


def accept_case(
    session: Session,
    clock: Clock,
    actor: User,
    definition_key: str,
    applicant: dict[str, Any],
    data: dict[str, Any] | None = None,
    channel: str = Channel.WINDOW,
    missing_materials: list[dict[str, Any]] | None = None,
    commitments: list[dict[str, Any]] | None = None,
    assisted: bool = False,
) -> Case:
    """Accept an application once at the window (一窗受理) and fan it out to the departments.

    The flow's intake task is completed by the accepting clerk with the application data, so the
    departments' tasks are open in their inboxes when this returns. Optionally the case is accepted
    with materials missing (容缺受理), with commitments replacing proofs (告知承诺), or filled in by the
    clerk for the applicant (帮办代办); see `engine.intake`.
    """
    require(may_accept_cases(actor), "only window clerks accept applications")
    return start_case(session, clock, actor, definition_key, applicant, data, channel, missing_materials, commitments,
                      assisted)


def start_case(
    session: Session,
    clock: Clock,
    actor: User,
    definition_key: str,
    applicant: dict[str, Any],
    data: dict[str, Any] | None = None,
    channel: str = Channel.WINDOW,
    missing_materials: list[dict[str, Any]] | None = None,
    commitments: list[dict[str, Any]] | None = None,
    assisted: bool = False,
) -> Case:
    """`accept_case` without the window's permission check, for services whose own rule says who may
    start their flow (a problem ticket is logged by department staff too: engine.tickets)."""
    applicant = _valid_applicant(applicant)
    if channel not in Channel.__members__.values():
        raise InvalidInput(f"channel must be one of {', '.join(Channel)}")
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("data must be an object")
    definition = latest_definition(session, definition_key)
    parsed = spec_cache.get(definition)
    now = clock.now()
    extras = checked_extras(missing_materials, commitments, assisted, local_day(now))
    calendar = load_calendar(session)
    workflow = new_workflow(parsed, clock, calendar)
    run_engine(workflow)
    case = Case(
        number=next_case_number(session, now),
        definition=definition,
        applicant_name=applicant["name"],
        applicant_id_number=applicant.get("id_number"),
        applicant_phone=applicant.get("phone"),
        channel=channel,
        status=CaseStatus.IN_PROGRESS,
        data={},
        created_by_id=actor.id,
        accepted_at=now,
        state="",
        state_format=STATE_FORMAT,
        query_code=secrets.token_hex(3).upper(),
        visits=1 if channel == Channel.WINDOW else 0,
    )
    session.add(case)
    session.flush()
    start_case_clocks(session, case, calendar)
    history.record(session, case, "accepted", now, actor, channel=channel, definition=definition.key, version=definition.version)
    record_extras(session, case, extras, now, actor, calendar)
    intake = [t for t in sync_task_rows(session, case, workflow, now, calendar, actor) if t.kind == TaskKind.INTAKE]
    if intake:
        row = intake[0]
        meta = parsed.tasks[row.element_id]
        values = form_values(meta, data or {})
        spiff_task = ready_user_task(workflow, row.workflow_task_id)
        complete_workflow_task(workflow, spiff_task, values)
        row.state, row.assignee_id, row.completed_by_id = TaskState.COMPLETED, actor.id, actor.id
        row.completed_at = row.claimed_at = now
        if row.clock is not None:
            stop_clock(row.clock, now)
        case.data = {**(data or {}), **values}
        history.record(session, case, "task_completed", now, actor, row, name=row.name)
        sync_task_rows(session, case, workflow, now, calendar, actor)
    else:
        case.data = dict(data or {})
    conclude_if_finished(session, case, workflow, now, actor)
    save_workflow(case, workflow)
    session.flush()
    return case


MAX_REASONS, MAX_REASON_LENGTH = 20, 500


def refuse_application(
    session: Session,
    clock: Clock,
    actor: User,
    definition_key: str,
    applicant: dict[str, Any],
    reasons: Any,
    data: dict[str, Any] | None = None,
    channel: str = Channel.WINDOW,
) -> Case:
    """Refuse an application at the window (不予受理) with the reasons the 决定书 prints.

    The refusal is numbered and filed like a case (the applicant may check it with the receipt's
    query code, the decision is printable and appears in the platform feed) but no department task
    opens and no clock runs; the statistics of 办件 leave it out.
    """
    require(may_accept_cases(actor), "only window clerks decide on applications")
    applicant = _valid_applicant(applicant)
    reasons = _valid_reasons(reasons)
    if channel not in Channel.__members__.values():
        raise InvalidInput(f"channel must be one of {', '.join(Channel)}")
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("data must be an object")
    definition = latest_definition(session, definition_key)
    now = clock.now()
    # Never started: kept so every case row holds a loadable instance of its definition.
    workflow = new_workflow(spec_cache.get(definition), clock, load_calendar(session))
    case = Case(
        number=next_case_number(session, now), definition=definition, applicant_name=applicant["name"],
        applicant_id_number=applicant.get("id_number"), applicant_phone=applicant.get("phone"), channel=channel,
        status=CaseStatus.NOT_ACCEPTED, data=dict(data or {}), created_by_id=actor.id, accepted_at=now,
        completed_at=now, state="", state_format=STATE_FORMAT, query_code=secrets.token_hex(3).upper(),
        visits=1 if channel == Channel.WINDOW else 0,
    )
    session.add(case)
    session.flush()
    history.record(session, case, "not_accepted", now, actor, channel=channel, definition=definition.key,
                   version=definition.version, reasons=reasons)
    save_workflow(case, workflow)
    session.flush()
    return case


def _valid_reasons(reasons: Any) -> list[str]:
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise InvalidInput("reasons must be a list of texts")
    cleaned = [r.strip() for r in reasons if r.strip()]
    if not cleaned:
        raise InvalidInput("a refusal needs at least one reason (不予受理 must say why)")
    if len(cleaned) > MAX_REASONS or any(len(r) > MAX_REASON_LENGTH for r in cleaned):
        raise InvalidInput(f"at most {MAX_REASONS} reasons of at most {MAX_REASON_LENGTH} characters each")
    return cleaned


def _valid_applicant(applicant: Any) -> dict[str, Any]:
    if not isinstance(applicant, dict):
        raise InvalidInput("applicant must be an object with at least a name")
    name = applicant.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("applicant name is required")
    cleaned = {"name": name.strip()[:200]}
    for key in ("id_number", "phone"):
        value = applicant.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"applicant {key} must be a string")
        if value:
            cleaned[key] = value.strip()[:40]
    return cleaned


def next_case_number(session: Session, now: datetime) -> str:
    """`YJS-YYYYMMDD-0001`: dense per office day, unique under concurrent acceptance."""
    day = now.astimezone(OFFICE_TZ).strftime("%Y%m%d")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(CaseNumberCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": CaseNumberCounter.last + 1})
        .returning(CaseNumberCounter.last)
    )
    last = session.execute(stmt).scalar_one()
    return f"{CASE_NUMBER_PREFIX}-{day}-{last:04d}"


def get_case(session: Session, actor: User, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    require(may_view_case(session, actor, case), "you may not view this case")
    return case


def case_by_number(session: Session, number: str) -> Case | None:
    return session.scalar(select(Case).where(Case.number == number))


def tasks_of(session: Session, case: Case) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)))


def list_cases(session: Session, actor: User, status: str | None = None, limit: int = 200) -> list[Case]:
    """Cases the actor may see, newest first: all for oversight and the window, else their department's."""
    query = select(Case)
    if not (sees_every_department(actor) or actor.has_role(Role.WINDOW)):
        query = query.where(Case.id.in_(select(Task.case_id).where(Task.department_id == actor.department_id)))
    if status:
        if status not in CaseStatus.__members__.values():
            raise InvalidInput(f"status must be one of {', '.join(CaseStatus)}")
        query = query.where(Case.status == status)
    return list(session.scalars(query.order_by(Case.id.desc()).limit(limit)))
