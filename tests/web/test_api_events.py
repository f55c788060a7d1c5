"""GET /api/v1/events: the provincial platform's case-event feed, and its cursor under concurrent writers."""
from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine import history
from engine.db import Database
from engine.models import Case, User
from engine.tokens import create_token
from tests.factories import make_case
from tests.web.conftest import basic


@pytest.fixture
def two_cases(db: Database, clock, staff: dict[str, int]) -> list[int]:
    with db.writer.begin() as s:
        clerk = s.get(User, staff["window"])
        return [make_case(s, clock, clerk).id for _ in range(2)]


def _feed(client: FlaskClient, after: int, who: str = "supervisor") -> dict[str, Any]:
    response = client.get(f"/api/v1/events?after={after}", headers=basic(who))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _rated(db: Database, clock, case_id: int, level: int):
    """A writer transaction that records a 评价 for the case and is left open."""
    session = db.writer()
    session.begin()
    event = history.record(session, session.get(Case, case_id), "rated", clock.now(), None, level=level, comment="",
                           channel="online")
    session.flush()
    return session, event.id


def test_the_feed_for_supervisors_and_their_systems(client: FlaskClient, db: Database, clock, staff, two_cases) -> None:
    page = _feed(client, 0)
    assert [e["type"] for e in page["events"]] == ["受理", "受理"]
    assert {e["case_id"] for e in page["events"]} == set(two_cases)
    assert page["events"][0]["details"] == {"channel": "window", "version": 1}
    assert _feed(client, page["next_cursor"]) == {"events": [], "next_cursor": page["next_cursor"]}
    # A system with a token acting as a supervisor reads it too; a reviewer does not.
    with db.writer.begin() as s:
        _token, plain = create_token(s, clock, s.get(User, staff["admin"]), "supervisor", "省级平台")
    response = client.get("/api/v1/events?after=0&limit=1", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200 and len(response.get_json()["events"]) == 1
    assert client.get("/api/v1/events", headers=basic("alpha")).status_code == 403
    for bad in ("after=-1", "after=x", "limit=0", "limit=1001", f"after={2**31}", "after=²"):
        response = client.get(f"/api/v1/events?{bad}", headers=basic("admin"))
        assert response.status_code == 422, bad
        assert "error" in response.get_json()


def test_a_late_committing_lower_id_is_not_skipped(client: FlaskClient, db: Database, clock, staff, two_cases) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time, so ids commit in order: see test_sqlite_writers_take_ids_in_commit_order")
    cursor = _feed(client, 0)["next_cursor"]
    first, first_id = _rated(db, clock, two_cases[0], 5)  # inserted, not committed yet
    try:
        second, second_id = _rated(db, clock, two_cases[1], 4)
        second.commit()
        second.close()
        assert first_id < second_id

        page = _feed(client, cursor)
        # The committed later event is held back: moving the cursor past it would lose the first for ever.
        assert page == {"events": [], "next_cursor": cursor}

        first.commit()
    finally:
        first.close()
    page = _feed(client, cursor)
    assert [(e["id"], e["type"], e["details"]["level"]) for e in page["events"]] == [
        (first_id, "评价", 5), (second_id, "评价", 4)]
    assert page["next_cursor"] == second_id


def test_a_rolled_back_id_does_not_hold_the_feed(client: FlaskClient, db: Database, clock, staff, two_cases) -> None:
    cursor = _feed(client, 0)["next_cursor"]
    abandoned, _abandoned_id = _rated(db, clock, two_cases[0], 1)
    abandoned.rollback()
    abandoned.close()
    kept, kept_id = _rated(db, clock, two_cases[1], 5)
    kept.commit()
    kept.close()
    page = _feed(client, cursor)
    assert [e["id"] for e in page["events"]] == [kept_id]
    assert page["next_cursor"] == kept_id


def test_sqlite_writers_take_ids_in_commit_order(db: Database, clock, two_cases) -> None:
    """The premise of the SQLite side of `settled_through`: while one writer holds an uncommitted event,
    no other can begin, so no later id can commit before it."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL writers run concurrently: see test_a_late_committing_lower_id_is_not_skipped")
    holder, _event_id = _rated(db, clock, two_cases[0], 5)
    other = sqlite3.connect(db.engine.url.database, timeout=0.2, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()
        holder.rollback()
        holder.close()
