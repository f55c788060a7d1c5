"""The case file is append-only and hash-chained; tampering is found at the first broken link."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from engine.history import verify_chain
from engine.models import CaseEvent
from engine.tasks import complete_task, list_tasks
from tests.factories import make_case, make_definition, make_staff


@pytest.fixture
def case(db, clock):
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        make_definition(s, clock)
        case = make_case(s, clock, staff["window"])
        complete_task(s, clock, staff["alpha"], list_tasks(s, staff["alpha"])[0].id, "approve", "同意")
        return case.id


def test_an_untouched_history_verifies(db, case) -> None:
    with db.reader.begin() as s:
        checked, broken = verify_chain(s)
        rows = list(s.scalars(select(CaseEvent).order_by(CaseEvent.id)))
    assert broken is None and checked == len(rows) > 5
    assert rows[0].prev_hash is None and all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))


def test_a_changed_event_is_reported(db, case) -> None:
    with db.reader.begin() as s:
        target = s.scalars(select(CaseEvent).where(CaseEvent.action == "task_completed").order_by(CaseEvent.id)).all()[-1]
    with db.engine.begin() as conn:  # bypassing the application, as an attacker with database access would
        conn.execute(update(CaseEvent).where(CaseEvent.id == target.id).values(details={"opinion": "不同意"}))
    with db.reader.begin() as s:
        _checked, broken = verify_chain(s)
    assert broken is not None and broken.event_id == target.id and "changed" in broken.reason


def test_a_deleted_event_is_reported(db, case) -> None:
    with db.reader.begin() as s:
        ids = s.scalars(select(CaseEvent.id).order_by(CaseEvent.id)).all()
    with db.engine.begin() as conn:
        conn.execute(delete(CaseEvent).where(CaseEvent.id == ids[2]))
    with db.reader.begin() as s:
        _checked, broken = verify_chain(s)
    assert broken is not None and broken.event_id == ids[3] and "removed" in broken.reason


def test_the_application_cannot_update_or_delete_events(db, case) -> None:
    with db.writer() as s, pytest.raises(RuntimeError, match="append-only"):
        s.begin()
        row = s.scalars(select(CaseEvent)).first()
        row.action = "forged"
        s.flush()
    with db.writer() as s, pytest.raises(RuntimeError, match="append-only"):
        s.begin()
        s.delete(s.scalars(select(CaseEvent)).first())
        s.flush()
