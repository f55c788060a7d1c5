"""The migrations build exactly the schema the models declare, on both databases."""
from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
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


def sqlite_file_config(path: Path) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    config.attributes["url"] = f"sqlite:///{path}"
    return config


def test_upgrading_derives_the_day_numbers_of_clocks_already_stored(tmp_path) -> None:
    """Migration 0006 fills `started_day`, `stopped_day` and `late` for existing clocks (SQLite file)."""
    path = tmp_path / "old.sqlite"
    config = sqlite_file_config(path)
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


def test_upgrading_puts_each_cases_chain_head_on_its_row(tmp_path) -> None:
    """Migration 0008 fills `cases.last_event_hash` with the hash of each case's latest event."""
    path = tmp_path / "old.sqlite"
    config = sqlite_file_config(path)
    command.upgrade(config, "0007")
    with sqlite3.connect(path) as raw:  # foreign keys are off on a raw connection: bare rows will do
        raw.executemany(
            "INSERT INTO cases (id, number, definition_id, applicant_name, channel, query_code, visits, status, data,"
            " accepted_at, state, state_format, version) VALUES (?, ?, 1, '张三', 'window', 'q', 1, 'in_progress', '{}',"
            " '2026-11-23 01:00:00.000000', '{}', 1, 3)", [(1, "YJS-1"), (2, "YJS-2")])
        raw.executemany(
            "INSERT INTO case_events (id, case_id, action, at, details, prev_hash, hash) VALUES (?, 1, 'x',"
            " '2026-11-23 01:00:00.000000', '{}', ?, ?)", [(1, None, "a" * 64), (2, "a" * 64, "b" * 64)])
    command.upgrade(config, "head")
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT id, last_event_hash FROM cases ORDER BY id").fetchall()
    assert rows == [(1, "b" * 64), (2, None)]  # case 2 has no history yet


def test_the_workflow_state_is_compressed_with_lz4_where_postgresql_has_it(db) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL storage setting")
    with db.engine.connect() as connection:
        has_lz4 = "lz4" in connection.exec_driver_sql(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'").scalar_one()
        method = connection.exec_driver_sql(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'cases'::regclass AND attname = 'state'").scalar_one()
    assert method == ("l" if has_lz4 else "")
