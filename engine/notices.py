"""What the printed notices say: the 补正通知书 lists every missing item at once (一次性告知), the
不予许可决定书 each refusing department's reason and legal basis."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Case, MissingMaterial, Task
from engine.progress import current_reviews
from engine.vocab import Outcome, TaskState


@dataclass(frozen=True)
class Decision:
    department: str
    item: str
    reason: str
    legal_basis: str | None
    at: datetime | None


@dataclass(frozen=True)
class SupplementNotice:
    returns: list[Decision]
    missing: list[tuple[str, date]]

    @property
    def empty(self) -> bool:
        return not self.returns and not self.missing


def _standing_reviews(session: Session, case: Case) -> list[Task]:
    """The review rows whose decision stands: each step's latest round (see `current_reviews`)."""
    tasks = list(session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)))
    return [t for rows in current_reviews(tasks).values() for t in rows]


def _decision(case: Case, task: Task) -> Decision:
    catalog = (case.definition.catalog.get("tasks") or {}).get(task.element_id, {})
    return Decision(task.department.name, catalog.get("item_name") or task.name, task.opinion or "",
                    catalog.get("legal_basis"), task.completed_at)


def supplement_notice(session: Session, case: Case) -> SupplementNotice:
    """Every 补正 reason still waiting for the applicant, and every 容缺 material not yet supplied."""
    returns = [_decision(case, t) for t in _standing_reviews(session, case)
               if t.state == TaskState.COMPLETED and t.outcome == Outcome.RETURN]
    missing = session.scalars(select(MissingMaterial).where(
        MissingMaterial.case_id == case.id, MissingMaterial.supplied_at.is_(None)).order_by(MissingMaterial.id))
    return SupplementNotice(returns, [(m.name, m.promised_date) for m in missing])


def refusals(session: Session, case: Case) -> list[Decision]:
    """The refusals that stand, each with its reason and the legal basis of the refused item."""
    return [_decision(case, t) for t in _standing_reviews(session, case)
            if t.state == TaskState.COMPLETED and t.outcome == Outcome.REJECT]
