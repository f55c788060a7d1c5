"""Web fixtures: seeded staff and definition, a signed-in client, HTTP Basic headers."""
from __future__ import annotations

import base64
import re

import pytest
from flask.testing import FlaskClient

from engine.db import Database
from tests.factories import PASSWORD, make_definition, make_staff

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def staff(db: Database, clock) -> dict[str, int]:
    """Committed staff (the app opens its own transactions); returns user ids by username."""
    with db.writer.begin() as s:
        users = make_staff(s, clock)
        make_definition(s, clock)
        return {name: user.id for name, user in users.items()}


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
