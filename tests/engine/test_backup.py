"""Backup and restore give back exactly what was there."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from engine.backup import backup, restore
from engine.history import verify_chain
from engine.models import Case, CaseEvent, Task
from engine.tasks import complete_task, list_tasks
from tests.factories import make_case, make_definition, make_staff


def snapshot(db) -> dict:
    with db.reader.begin() as s:
        return {
            "cases": s.scalars(select(Case.number).order_by(Case.id)).all(),
            "tasks": s.execute(select(Task.id, Task.state, Task.outcome).order_by(Task.id)).all(),
            "events": s.scalar(select(func.count()).select_from(CaseEvent)),
            "chain": verify_chain(s)[1],
        }


def test_backup_then_restore_returns_the_same_data(db, clock, tmp_path: Path) -> None:
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        make_definition(s, clock)
        make_case(s, clock, staff["window"])
        complete_task(s, clock, staff["alpha"], list_tasks(s, staff["alpha"])[0].id, "approve", "同意")
    before = snapshot(db)
    target = backup(db, tmp_path / "yjs.backup")
    assert target.stat().st_size > 0
    with db.writer.begin() as s:  # changes after the backup are undone by the restore
        make_case(s, clock, staff["window"])
    assert snapshot(db) != before
    restore(db, target)
    after = snapshot(db)
    assert after == before and after["chain"] is None
