"""Boundaries: tokens, idempotent retries, login lockout, the role × endpoint matrix."""
from __future__ import annotations

import pytest

from tests.web.conftest import basic, csrf_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_issued_by_admins_act_as_their_user_and_can_be_revoked(client, staff) -> None:
    assert client.post("/api/v1/tokens", json={"user": "window", "name": "网上办事大厅"}, headers=basic("alpha")).status_code == 403
    issued = client.post("/api/v1/tokens", json={"user": "window", "name": "网上办事大厅"}, headers=basic("admin"))
    assert issued.status_code == 201
    token = issued.get_json()["token"]
    created = client.post("/api/v1/cases", json={"definition": "parallel_three", "applicant": {"name": "张三"}, "channel": "online"}, headers=bearer(token))
    assert created.status_code == 201
    assert client.get("/api/v1/tasks?department=alpha", headers=bearer(token)).status_code == 403  # scoped like its user
    listed = client.get("/api/v1/tokens", headers=basic("admin")).get_json()
    assert "token" not in listed[0] and listed[0]["user"] == "window"
    assert client.delete(f"/api/v1/tokens/{listed[0]['id']}", headers=basic("admin")).status_code == 200
    assert client.get("/api/v1/definitions", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/definitions", headers=bearer("yjs_forged")).status_code == 401


def test_idempotency_key_replays_the_first_answer(client, staff) -> None:
    body = {"definition": "parallel_three", "applicant": {"name": "张三"}}
    headers = {**basic("window"), "Idempotency-Key": "order-42"}
    first = client.post("/api/v1/cases", json=body, headers=headers)
    again = client.post("/api/v1/cases", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    cases = client.get("/api/v1/tasks?state=open", headers=basic("supervisor")).get_json()
    assert len({t["case_id"] for t in cases}) == 1  # created once
    task_id = next(t["id"] for t in cases if t["department"] == "alpha")
    done_headers = {**basic("alpha"), "Idempotency-Key": "done-1"}
    done = client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "approve", "opinion": "同意"}, headers=done_headers)
    retry = client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "approve", "opinion": "同意"}, headers=done_headers)
    assert done.status_code == retry.status_code == 200  # not a 409: the retry gets the first answer
    reused = client.post("/api/v1/cases", json=body, headers={**basic("window"), "Idempotency-Key": "done-1"})
    assert reused.status_code == 201  # keys are per user
    other = client.post(f"/api/v1/tasks/{task_id}/complete", json={}, headers={**basic("window"), "Idempotency-Key": "order-42"})
    assert other.status_code == 422


def test_five_wrong_passwords_lock_the_account(client, staff, clock) -> None:
    for _ in range(5):
        assert client.get("/api/v1/definitions", headers=basic("alpha", "guess")).status_code == 401
    assert client.get("/api/v1/definitions", headers=basic("alpha")).status_code == 403
    token = csrf_token(client, "/login")
    locked = client.post("/login", data={"username": "alpha", "password": "secret123", "csrf_token": token})
    assert locked.status_code == 429
    clock.advance(minutes=16)
    assert client.get("/api/v1/definitions", headers=basic("alpha")).status_code == 200


ROLES = ["window", "alpha", "supervisor", "analyst", "admin"]
MATRIX = [
    # (method, path, body, who may)
    ("GET", "/window/", None, {"window", "admin"}),
    ("GET", "/tasks/", None, {"window", "alpha"}),
    ("GET", "/supervisor/", None, {"supervisor", "admin", "alpha"}),  # reviewers: their own department's board
    ("GET", "/analyst/", None, {"analyst", "admin"}),
    ("GET", "/admin/", None, {"admin"}),
    ("GET", "/admin/calendar", None, {"admin"}),
    ("POST", "/api/v1/departments", {"code": "zeta", "name": "戊局"}, {"admin"}),
    ("POST", "/api/v1/users", {"username": "u1", "password": "pass1234", "roles": ["reviewer"], "department": "alpha"}, {"admin"}),
    ("POST", "/api/v1/cases", {"definition": "parallel_three", "applicant": {"name": "张三"}}, {"window", "admin"}),
    ("GET", "/api/v1/tasks?department=beta", None, {"supervisor", "admin"}),
    ("PUT", "/api/v1/calendar/2026", {"holidays": [], "workdays": []}, {"admin"}),
    ("GET", "/api/v1/tokens", None, {"admin"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX)
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(client, staff, role, method, path, body, allowed) -> None:
    if path.startswith("/api/"):
        response = client.open(path, method=method, json=body, headers=basic(role))
        assert (response.status_code < 400) == (role in allowed), (role, path, response.status_code, response.get_data(as_text=True)[:200])
        if role not in allowed:
            assert response.status_code == 403
    else:
        from tests.web.conftest import login

        login(client, role)
        response = client.open(path, method=method)
        assert (response.status_code == 200) == (role in allowed), (role, path, response.status_code)
