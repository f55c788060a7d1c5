"""Boundaries: tokens, idempotent retries, login lockout and per-address throttles (the role × endpoint
matrix is tests/web/test_role_matrix.py)."""
from __future__ import annotations

from sqlalchemy import update

from engine.directory import hash_password
from engine.models import User
from engine.throttle import LOGIN_FAILURES, PROGRESS_MISSES
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


def test_one_address_guessing_across_accounts_is_throttled(client, staff, clock) -> None:
    """The per-account lockout cannot see a few guesses on each of many accounts; the address can."""
    token = csrf_token(client, "/login")
    for n in range(LOGIN_FAILURES.limit):
        answer = client.post("/login", data={"username": f"user{n % 7}", "password": "guess", "csrf_token": token})
        assert answer.status_code == 401
    refused = client.post("/login", data={"username": "alpha", "password": "secret123", "csrf_token": token})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert client.get("/api/v1/definitions", headers=basic("alpha")).status_code == 429  # the API shares the count
    other = client.get("/api/v1/definitions", headers=basic("alpha"), environ_overrides={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200
    clock.advance(minutes=16)
    assert client.post("/login", data={"username": "alpha", "password": "secret123", "csrf_token": token}).status_code == 302


def test_wrong_api_credentials_count_and_right_ones_do_not(client, staff) -> None:
    for _ in range(LOGIN_FAILURES.limit + 5):
        assert client.get("/api/v1/definitions", headers=basic("alpha")).status_code == 200
    for _ in range(LOGIN_FAILURES.limit):
        assert client.get("/api/v1/definitions", headers=bearer("yjs_forged")).status_code == 401
    assert client.get("/api/v1/definitions", headers=bearer("yjs_forged")).status_code == 429
    assert client.get("/api/v1/definitions", headers=basic("beta")).status_code == 429  # no password is checked
    # Credentials verified before need no password check, so they pay nothing for the throttle.
    assert client.get("/api/v1/definitions", headers=basic("alpha")).status_code == 200
    assert client.get("/api/v1/definitions").status_code == 401  # no credentials: nothing to throttle


def test_walking_case_numbers_on_the_progress_page_is_throttled(client, staff, clock) -> None:
    case = client.post("/api/v1/cases", json={"definition": "parallel_three", "applicant": {"name": "张三"}},
                       headers=basic("window")).get_json()
    mine = f"number={case['number']}&code={case['query_code']}"
    for _ in range(PROGRESS_MISSES.limit + 5):  # the applicant re-reading their own case is never slowed down
        assert client.get(f"/api/v1/progress?{mine}").status_code == 200
    for n in range(PROGRESS_MISSES.limit):
        guess = client.get(f"/progress?number=YJS-20261123-{n:04d}&code=ABCDEF") if n % 2 else \
            client.get(f"/api/v1/progress?number=YJS-20261123-{n:04d}&code=ABCDEF")
        assert guess.status_code == 404
    assert client.get(f"/api/v1/progress?{mine}").status_code == 429
    page = client.get(f"/progress?{mine}")
    assert page.status_code == 429 and 'id="progress"' not in page.get_data(as_text=True)  # not even the right code
    assert client.post("/api/v1/progress/rating", json={"number": case["number"], "code": case["query_code"],
                                                        "level": 5}).status_code == 429
    clock.advance(minutes=16)
    assert client.get(f"/api/v1/progress?{mine}").status_code == 200


def test_remembered_api_credentials_stop_working_when_the_stored_password_changes(client, db, staff) -> None:
    """Basic credentials are checked with scrypt once and then remembered for minutes; a password hash
    changed behind the application (a restore, a script) ends that at once."""
    assert client.get("/api/v1/definitions", headers=basic("alpha")).status_code == 200  # checked, remembered
    assert client.get("/api/v1/definitions", headers=basic("alpha")).status_code == 200  # remembered
    with db.writer.begin() as s:
        s.execute(update(User).where(User.username == "alpha").values(password_hash=hash_password("changed456")))
    assert client.get("/api/v1/definitions", headers=basic("alpha")).status_code == 401
    assert client.get("/api/v1/definitions", headers=basic("alpha", "changed456")).status_code == 200
