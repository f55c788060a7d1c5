"""The migrations build exactly the schema the models declare, on both databases."""
from __future__ import annotations

import sqlite3
from datetime import date

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from engine.db import Base
from tests.conftest import ROOT


def test_the_migrations_match_the_models(db) -> None:
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == [], "a model changed without a migration (or the reverse):\n" + "\n".join(map(str, differences))


def test_upgrading_derives_the_day_numbers_of_clocks_already_stored(tmp_path) -> None:
    """Migration 0006 fills `started_day`, `stopped_day` and `late` for existing clocks (SQLite file)."""
    path = tmp_path / "old.sqlite"
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    config.attributes["url"] = f"sqlite:///{path}"
    command.upgrade(config, "0005")
    with sqlite3.connect(path) as raw:  # foreign keys are off on a raw connection: a clock alone will do
        raw.executemany(
            "INSERT INTO clocks (id, case_id, kind, limit_days, started_at, paused_days, extended_days, due_at, notice_at,"
            " yellow_at, stopped_at, level, unconfirmed) VALUES (?, 1, 'task', 5, ?, 0, 0, ?, ?, ?, ?, 'normal', 0)",
            [(1, "2026-11-22 16:30:00.000000", "2026-11-30 09:59:59.000000", "2026-11-27 16:00:00", "2026-11-27 16:00:00",
              "2026-12-01 02:00:00.000000"),  # started Monday 00:30 in Beijing, stopped a day late
             (2, "2026-11-23 01:00:00.000000", "2026-11-30 09:59:59.000000", "2026-11-27 16:00:00", "2026-11-27 16:00:00",
              None)])
    command.upgrade(config, "head")
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT id, started_day, stopped_day, late FROM clocks ORDER BY id").fetchall()
    monday = (date(2026, 11, 23) - date(1970, 1, 1)).days
    assert rows == [(1, monday, monday + 8, 1), (2, monday, None, None)]
