"""Fixtures: a real database (SQLite or a throwaway PostgreSQL), a controllable clock, the app."""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.calendar import OFFICE_TZ
from engine.clock import FrozenClock
from engine.db import Database, connect
from tests.factories import empty_tables
from tests.pgserver import PostgresServer, find_pg_bin

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("TEST_DATABASE", "sqlite")
IN_CI = os.environ.get("CI") == "true"


def pytest_report_header() -> str:
    return f"database backend: {BACKEND}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "postgres":
        if find_pg_bin() is None:
            message = "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: cannot run the PostgreSQL suite"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        server = PostgresServer(tmp_path_factory.mktemp("pg"))
        server.start()
        try:
            yield server.create_database("yijianshi_test")
        finally:
            server.stop()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    database = connect(database_url)
    # Build the schema with the real migrations, so they are tested on both databases.
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "db" not in request.fixturenames:
        return
    empty_tables(request.getfixturevalue("db"))


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Hash test passwords with a small scrypt cost; hashes record their parameters, so login still verifies."""
    import engine.directory as directory

    saved = directory._SCRYPT_N
    directory._SCRYPT_N = 2**10
    yield
    directory._SCRYPT_N = saved


@pytest.fixture
def clock() -> FrozenClock:
    """Monday 2026-11-23, 09:00 in the office's time zone."""
    return FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=OFFICE_TZ))


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A writer session in one transaction, rolled back after the test."""
    with db.writer() as s:
        s.begin()
        yield s
        s.rollback()


@pytest.fixture
def app(db: Database, clock: FrozenClock) -> Flask:
    from web.app import create_app

    return create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "SECRET_KEY": "test"})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
