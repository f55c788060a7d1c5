"""The HTML UI: signing in, accepting at the window, reviewing in the inbox, the case file."""
from __future__ import annotations

import re

from tests.web.conftest import csrf_token, login


def accept_via_window(client) -> str:
    login(client, "window")
    token = csrf_token(client, "/window/apply/parallel_three")
    response = client.post("/window/apply/parallel_three", data={
        "csrf_token": token, "applicant_name": "王五", "applicant_phone": "13700000000", "channel": "window",
        "venue_name": "晨光网吧", "area": "150",
    })
    assert response.status_code == 302
    return response.headers["Location"]


def test_login_rejects_wrong_password_and_requires_csrf(client, staff) -> None:
    token = csrf_token(client, "/login")
    wrong = client.post("/login", data={"username": "alpha", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)
    no_token = client.post("/login", data={"username": "alpha", "password": "secret123"})
    assert no_token.status_code == 400


def test_pages_need_login_and_the_right_role(client, staff) -> None:
    assert client.get("/tasks/").status_code == 302
    login(client, "alpha")
    assert client.get("/window/").status_code == 403
    assert client.get("/admin/").status_code == 403
    assert client.get("/tasks/").status_code == 200


def test_window_accepts_and_prints_a_receipt(client, staff) -> None:
    receipt_url = accept_via_window(client)
    page = client.get(receipt_url).get_data(as_text=True)
    assert "受理通知书" in page and "YJS-20261123-0001" in page
    assert "甲局" in page and "5 个工作日" in page


def test_window_form_errors_keep_what_was_typed(client, staff) -> None:
    login(client, "window")
    token = csrf_token(client, "/window/apply/parallel_three")
    response = client.post("/window/apply/parallel_three", data={"csrf_token": token, "applicant_name": "王五", "area": "很大"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "must be a long" in page and 'value="王五"' in page


def test_reviewer_completes_from_the_inbox(client, staff) -> None:
    accept_via_window(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/window/")})
    login(client, "alpha")
    inbox = client.get("/tasks/").get_data(as_text=True)
    task_id = re.search(r'data-task-id="(\d+)"', inbox).group(1)
    assert "甲局审查" in inbox and "王五" in inbox
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "《甲条例》第一条" in page and "乙局" in page  # legal basis and the other departments' progress
    token = csrf_token(client, f"/tasks/{task_id}")
    refused = client.post(f"/tasks/{task_id}/complete", data={"csrf_token": token, "outcome": "reject", "opinion": ""})
    assert refused.status_code == 422 and "reason is required" in refused.get_data(as_text=True)
    done = client.post(f"/tasks/{task_id}/complete", data={"csrf_token": token, "outcome": "approve", "opinion": "材料齐全"})
    assert done.status_code == 302
    assert f'data-task-id="{task_id}"' not in client.get("/tasks/").get_data(as_text=True)
    assert "材料齐全" in client.get("/tasks/?view=done").get_data(as_text=True)


def test_other_departments_cannot_act(client, staff) -> None:
    accept_via_window(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/window/")})
    login(client, "beta")
    token = csrf_token(client, "/tasks/")
    alpha_task = 2  # intake is task 1; alpha's review is opened next
    response = client.post(f"/tasks/{alpha_task}/complete", data={"csrf_token": token, "outcome": "approve"})
    assert response.status_code == 403


def test_case_page_shows_every_department_and_the_history(client, staff) -> None:
    accept_via_window(client)
    page = client.get("/cases/1").get_data(as_text=True)
    for text in ("甲局", "乙局", "丙局", "一事一档", "窗口受理", "环节启动"):
        assert text in page, text


def test_english_is_available(client, staff) -> None:
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in page and 'lang="en"' in page
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)  # the choice sticks for the session


def test_security_headers(client, staff) -> None:
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
