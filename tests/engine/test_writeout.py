"""Writing an action's changes without the unit of work (engine.writeout), on SQLite and PostgreSQL.

What a reviewer relies on: the rows say exactly what the objects say (including the derived
statistics columns and the case's version counter), the history chain stays intact, a case changed
behind the action's back is refused, and any shape the direct path does not handle is flushed by
the ORM as before.
"""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.calendar import office_day_number
from engine.clock import FrozenClock
from engine.db import Database
from engine.history import record, verify_chain
from engine.models import Case, CaseEvent, Task, User
from engine.models import Clock as ClockRow
from engine.tasks import complete_task
from engine.vocab import CaseStatus, TaskState
from engine.writeout import write_changes
from tests.factories import accepted_parallel_case


@pytest.fixture
def case_id(db: Database, clock: FrozenClock) -> int:
    return accepted_parallel_case(db, clock)


class Statements:
    """The statements a session sends, BEGIN left out."""

    def __init__(self, db: Database) -> None:
        self.sent: list[str] = []
        self._engine = db.engine
        event.listen(self._engine, "before_cursor_execute", self._note)

    def _note(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            self.sent.append(" ".join(statement.split()))

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._note)


def user(session: Session, username: str) -> User:
    found = session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def open_task_of(session: Session, case_id: int, username: str) -> Task:
    found = session.scalar(select(Task).where(Task.case_id == case_id, Task.department_id == user(session, username).department_id,
                                              Task.state == TaskState.OPEN))
    assert found is not None
    return found


def test_a_parallel_review_is_written_directly_and_the_rows_match_the_objects(
    db: Database, clock: FrozenClock, case_id: int
) -> None:
    with db.reader.begin() as session:
        task_id = open_task_of(session, case_id, "alpha").id
        version_before = session.get(Case, case_id).version  # type: ignore[union-attr]
    clock.advance(hours=30)
    statements = Statements(db)
    try:
        with db.writer.begin() as session:
            task = complete_task(session, clock, user(session, "alpha"), task_id, "approve", "同意")
            # Nothing is left for the ORM: commit sends no further statement.
            assert not session.dirty and not session.new
            written = list(statements.sent)
            seen = (task.state, task.completed_at, task.clock.stopped_at, task.clock.stopped_day, task.clock.late,
                    task.case.version)
        assert statements.sent == written, "the commit flushed something the direct write had left behind"
    finally:
        statements.close()
    writes = [s for s in written if s.split()[0] in ("INSERT", "UPDATE", "WITH")]
    if db.engine.dialect.name == "postgresql":
        assert len(writes) == 1 and writes[0].startswith("WITH"), written  # one round trip for every write
    else:
        assert sorted(s.split()[0] + " " + s.split()[2 if s.startswith("INSERT") else 1] for s in writes) == [
            "INSERT case_events", "UPDATE cases", "UPDATE clocks", "UPDATE tasks"]
    with db.reader.begin() as session:
        row = session.get(Task, task_id)
        assert row is not None and row.clock is not None
        assert (row.state, row.completed_at, row.clock.stopped_at, row.clock.stopped_day, row.clock.late) == seen[:5]
        assert row.state == TaskState.COMPLETED and row.outcome == "approve" and row.opinion == "同意"
        assert row.clock.stopped_day == office_day_number(clock.now()) and row.clock.late is False
        case = session.get(Case, case_id)
        assert case is not None and case.version == version_before + 1 == seen[5]
        last = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc())).first()
        assert last is not None and (last.action, last.task_id) == ("task_completed", task_id)
        assert verify_chain(session)[1] is None


def test_the_whole_case_mixes_direct_writes_and_the_orm_and_ends_consistent(
    db: Database, clock: FrozenClock, case_id: int
) -> None:
    for username in ("alpha", "beta", "gamma", "window"):  # gamma's review fires the join: new rows, ORM flush
        with db.writer.begin() as session:
            complete_task(session, clock, user(session, username), open_task_of(session, case_id, username).id,
                          None if username == "window" else "approve", None if username == "window" else "同意")
        clock.advance(hours=2)
    with db.reader.begin() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.COMPLETED
        tasks = list(session.scalars(select(Task).where(Task.case_id == case_id)))
        assert all(t.state == TaskState.COMPLETED for t in tasks) and len(tasks) == 5
        clocks = list(session.scalars(select(ClockRow).where(ClockRow.case_id == case_id)))
        assert all(c.stopped_at is not None and c.stopped_day is not None and c.late is False for c in clocks)
        assert verify_chain(session)[1] is None


def test_a_case_changed_behind_the_action_is_refused(db: Database, clock: FrozenClock, case_id: int) -> None:
    with db.reader.begin() as session:
        task_id = open_task_of(session, case_id, "alpha").id
    with pytest.raises(StaleDataError), db.writer.begin() as session:
        task = session.get(Task, task_id)
        assert task is not None
        case = task.case
        case.state = case.state  # unchanged text: no write
        task.opinion = "changed"
        case.next_timer_at = clock.now()
        # Another writer bumped the version after this session read the case (the lock normally prevents it).
        session.connection().execute(update(Case).where(Case.id == case_id).values(version=Case.version + 1))
        write_changes(session)
    with db.reader.begin() as session:
        assert session.get(Task, task_id).opinion is None  # type: ignore[union-attr]


def test_other_shapes_go_through_the_orm(db: Database, clock: FrozenClock, case_id: int) -> None:
    """Two new events (ordered ids matter for the chain) are left to the unit of work."""
    with db.writer.begin() as session:
        case = session.get(Case, case_id)
        assert case is not None
        first = record(session, case, "note_one", clock.now())
        second = record(session, case, "note_two", clock.now())
        write_changes(session)
        assert first.id is not None and second.id is not None and first.id < second.id
        assert first in session and second in session  # flushed by the ORM, still in the session
    with db.reader.begin() as session:
        assert verify_chain(session)[1] is None


def test_one_new_event_is_inserted_and_numbered(db: Database, clock: FrozenClock, case_id: int) -> None:
    with db.writer.begin() as session:
        case = session.get(Case, case_id)
        assert case is not None
        row = record(session, case, "note_one", clock.now(), detail="一")
        case.status = case.status  # flagged modified, no net change: nothing to write, nothing left dirty
        write_changes(session)
        assert row.id is not None and not session.new and not session.dirty
    with db.reader.begin() as session:
        stored = session.get(CaseEvent, row.id)
        assert stored is not None and stored.details == {"detail": "一"} and stored.hash == row.hash
        assert verify_chain(session)[1] is None
