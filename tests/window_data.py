"""Test data for the window and applicant side: small valid files and a case walked to delivery."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.models import Case, Task, User
from engine.tasks import complete_task
from engine.vocab import OPEN_TASK_STATES

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
DOCX = b"PK\x03\x04" + b"\x00" * 32


def open_task_of(session: Session, case: Case, element_id: str) -> Task:
    return session.scalars(select(Task).where(
        Task.case_id == case.id, Task.element_id == element_id, Task.state.in_(OPEN_TASK_STATES))).one()


def review_all(session: Session, clock: Clock, staff: dict[str, User], case: Case, outcomes: dict[str, str] | None = None) -> None:
    """Each of alpha, beta, gamma decides (approve unless `outcomes` says otherwise), with a reason."""
    for code in ("alpha", "beta", "gamma"):
        outcome = (outcomes or {}).get(code, "approve")
        complete_task(session, clock, staff[code], open_task_of(session, case, f"review_{code}").id, outcome, f"{code} 意见")
