"""The PostgreSQL connection pool: idle connections are checked before use, busy ones are not."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.exc import OperationalError

import engine.db
from engine.db import Database, connect


@pytest.fixture
def pool_of_one(db: Database) -> Iterator[Database]:
    if db.is_sqlite:
        pytest.skip("SQLite has no server connection to lose")
    small = connect(db.engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    yield small
    small.dispose()


def backend_pid(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def drop_backend(admin: Database, pid: int) -> None:
    """What a server restart or failover does to a pooled connection."""
    with admin.engine.begin() as connection:
        connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    db: Database, pool_of_one: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend_pid(pool_of_one)
    drop_backend(db, first)
    monkeypatch.setattr(engine.db, "PING_AFTER_IDLE_S", 0.0)  # every returned connection counts as idle
    with pool_of_one.writer.begin() as session:
        assert session.connection().exec_driver_sql("SELECT 1").scalar_one() == 1
    assert backend_pid(pool_of_one) != first


def test_a_connection_used_a_moment_ago_is_not_pinged(
    db: Database, pool_of_one: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the bargain: no round trip for a busy pool, so a drop shows on first use
    (and the pool then replaces the connection)."""
    monkeypatch.setattr(engine.db, "PING_AFTER_IDLE_S", 3600.0)
    first = backend_pid(pool_of_one)
    drop_backend(db, first)
    with pytest.raises(OperationalError), pool_of_one.writer.begin() as session:
        session.connection().exec_driver_sql("SELECT 1")
    assert backend_pid(pool_of_one) != first
