"""Database engine and session factories.

The engine never commits: callers open one transaction per action with `db.writer.begin()`
(or `db.reader.begin()` for read-only work).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, sessionmaker

from engine.types import UTCDateTime

# Named constraints let Alembic alter them later on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


@dataclass(frozen=True)
class Database:
    """One database: `reader` for read-only requests, `writer` for actions.

    On SQLite a writer transaction starts with BEGIN IMMEDIATE, which takes the database's write
    lock up front. A deferred transaction that reads first and writes later fails with
    SQLITE_BUSY when another writer committed in between, and the busy timeout cannot help it.
    On PostgreSQL both are plain transactions; actions lock the case row with FOR UPDATE.
    """

    engine: Engine
    reader: sessionmaker
    writer: sessionmaker

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()


def connect(url: str, **engine_options: Any) -> Database:
    """Open the database at `url` (a SQLAlchemy URL)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine_options.setdefault("connect_args", {}).update(timeout=30, check_same_thread=False)
        engine = create_engine(url, **engine_options)
        _configure_sqlite(engine)
        write_engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    else:
        engine_options.setdefault("pool_size", 10)
        engine_options.setdefault("max_overflow", 20)
        engine = create_engine(url, **engine_options)
        _ping_idle_connections(engine)
        write_engine = engine
    return Database(
        engine=engine,
        reader=sessionmaker(engine, expire_on_commit=False),
        writer=sessionmaker(write_engine, expire_on_commit=False),
    )


# A pooled connection used this recently is trusted without a ping (HikariCP's aliveBypassWindow
# is 500 ms): under load every checkout would otherwise cost a round trip, a fifth of an action's.
PING_AFTER_IDLE_S = 1.0
_IDLE_SINCE = "yjs_idle_since"


def _ping_idle_connections(engine: Engine) -> None:
    """`pool_pre_ping` for connections idle longer than `PING_AFTER_IDLE_S`: one the server dropped
    (a restart, a failover) is replaced before a request uses it; a busy pool pays nothing."""

    @event.listens_for(engine, "checkin")
    def _note_idle(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # fresh from connect, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"pooled connection failed its ping: {err}") from err


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is lazy).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
