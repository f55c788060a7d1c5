"""The JSON API contract of /api/v1 (paths and field names are a contract)."""
from __future__ import annotations

import pytest

from tests.factories import bpmn
from tests.web.conftest import basic


def start(client, **overrides):
    body = {"definition": "parallel_three", "applicant": {"name": "张三", "phone": "13800138000"}, "data": {"venue_name": "星空网吧"}}
    body.update(overrides)
    return client.post("/api/v1/cases", json=body, headers=basic("window"))


def open_task_id(client, username: str) -> int:
    tasks = client.get("/api/v1/tasks?state=open", headers=basic(username)).get_json()
    return tasks[0]["id"]


def test_a_case_goes_from_acceptance_to_delivery(client, staff) -> None:
    created = start(client)
    assert created.status_code == 201
    body = created.get_json()
    assert set(body) >= {"id", "number", "status", "query_code"} and body["status"] == "in_progress"
    for code in ("alpha", "beta", "gamma"):
        done = client.post(f"/api/v1/tasks/{open_task_id(client, code)}/complete", json={"outcome": "approve", "opinion": "同意"}, headers=basic(code))
        assert done.status_code == 200 and done.get_json()["state"] == "completed"
    delivery = open_task_id(client, "window")
    assert client.post(f"/api/v1/tasks/{delivery}/complete", json={"data": {"delivery_method": "ems"}}, headers=basic("window")).status_code == 200
    case = client.get(f"/api/v1/cases/{body['id']}", headers=basic("supervisor")).get_json()
    assert case["status"] == "completed" and case["number"] == body["number"]
    assert case["definition"] == {"key": "parallel_three", "version": 1, "name": "三部门并联测试"}
    assert case["data"]["venue_name"] == "星空网吧"
    task_keys = {"id", "name", "department", "state", "assignee", "created_at", "completed_at", "outcome", "opinion"}
    assert all(task_keys <= set(t) for t in case["tasks"])
    assert [t["department"] for t in case["tasks"]] == ["window", "alpha", "beta", "gamma", "window"]
    assert case["events"][0]["action"] == "accepted" and "case_concluded" in [e["action"] for e in case["events"]]


def test_task_errors_are_403_409_and_422(client, staff) -> None:
    start(client)
    alpha_task = open_task_id(client, "alpha")
    url = f"/api/v1/tasks/{alpha_task}/complete"
    assert client.post(url, json={"outcome": "approve"}, headers=basic("beta")).status_code == 403
    missing_reason = client.post(url, json={"outcome": "reject"}, headers=basic("alpha"))
    assert missing_reason.status_code == 422 and "reason" in missing_reason.get_json()["error"]
    assert client.post(url, json={"outcome": "approve", "opinion": "同意"}, headers=basic("alpha")).status_code == 200
    again = client.post(url, json={"outcome": "approve", "opinion": "同意"}, headers=basic("alpha"))
    assert again.status_code == 409 and "already" in again.get_json()["error"]


def test_task_list_is_department_scoped(client, staff) -> None:
    start(client)
    own = client.get("/api/v1/tasks", headers=basic("alpha")).get_json()
    assert {t["department"] for t in own} == {"alpha"}
    assert client.get("/api/v1/tasks?department=beta", headers=basic("alpha")).status_code == 403
    everyone = client.get("/api/v1/tasks?state=open", headers=basic("supervisor")).get_json()
    assert {t["department"] for t in everyone} == {"alpha", "beta", "gamma"}
    assert {t["department"] for t in client.get("/api/v1/tasks?department=beta", headers=basic("supervisor")).get_json()} == {"beta"}


def test_claim(client, staff) -> None:
    start(client)
    task_id = open_task_id(client, "alpha")
    claimed = client.post(f"/api/v1/tasks/{task_id}/claim", headers=basic("alpha"))
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "alpha"


def test_authentication_is_required(client, staff) -> None:
    response = client.get("/api/v1/definitions")
    assert response.status_code == 401 and "error" in response.get_json()
    assert client.get("/api/v1/definitions", headers=basic("alpha", "wrong")).status_code == 401


def test_departments_and_users_are_admin_only(client, staff) -> None:
    assert client.post("/api/v1/departments", json={"code": "delta", "name": "丁局"}, headers=basic("window")).status_code == 403
    made = client.post("/api/v1/departments", json={"code": "delta", "name": "丁局"}, headers=basic("admin"))
    assert made.status_code == 201 and made.get_json() == {"code": "delta", "name": "丁局"}
    assert client.post("/api/v1/departments", json={"code": "delta", "name": "丁局"}, headers=basic("admin")).status_code == 409
    user = client.post("/api/v1/users", json={"username": "ding", "password": "pass1234", "roles": ["reviewer"], "department": "delta"}, headers=basic("admin"))
    assert user.status_code == 201 and user.get_json()["department"] == "delta"
    assert client.get("/api/v1/departments", headers=basic("ding", "pass1234")).status_code == 200
    bad = client.post("/api/v1/users", json={"username": "x1", "password": "pass1234", "roles": ["emperor"]}, headers=basic("admin"))
    assert bad.status_code == 422 and "emperor" in bad.get_json()["error"]


def test_deploy_over_the_api(client, staff) -> None:
    xml = bpmn("parallel_three.bpmn").replace(b'value="5"', b'value="6"')
    assert client.post("/api/v1/definitions", data=xml, headers=basic("window")).status_code == 403
    deployed = client.post("/api/v1/definitions", data=xml, headers=basic("analyst"))
    assert deployed.status_code == 201 and deployed.get_json()["key"] == "parallel_three" and deployed.get_json()["version"] == 2
    broken = client.post("/api/v1/definitions", data=xml.replace('name="丙局"'.encode(), 'name="火星局"'.encode()), headers=basic("analyst"))
    assert broken.status_code == 422
    assert broken.get_json()["errors"][0]["element_id"] == "review_gamma"
    listed = client.get("/api/v1/definitions", headers=basic("alpha")).get_json()
    assert [(d["key"], d["version"]) for d in listed] == [("parallel_three", 2)]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 422),
        (b"[1, 2]", 422),
        (b'{"definition": "nope", "applicant": {"name": "x"}}', 422),
        (b'{"definition": 5}', 422),
        (b'{"definition": "parallel_three", "applicant": {"name": "x"}, "data": [1]}', 422),
        (b'\xff\xfe\x00garbage', 422),
    ],
)
def test_malformed_case_requests_are_4xx_with_a_message(client, staff, body: bytes, status: int) -> None:
    response = client.post("/api/v1/cases", data=body, headers={**basic("window"), "Content-Type": "application/json"})
    assert response.status_code == status and response.get_json()["error"]


def test_unknown_ids_are_404(client, staff) -> None:
    assert client.get("/api/v1/cases/999999", headers=basic("window")).status_code == 404
    assert client.post("/api/v1/tasks/999999/complete", json={}, headers=basic("alpha")).status_code == 404


def test_the_applicants_phone_and_id_number_are_whole_only_for_the_window_and_admins(client, staff) -> None:
    applicant = {"name": "张三", "phone": "13800138000", "id_number": "110101199003071234"}
    case_id = start(client, applicant=applicant).get_json()["id"]
    for who in ("window", "admin"):
        shown = client.get(f"/api/v1/cases/{case_id}", headers=basic(who)).get_json()["applicant"]
        assert shown == applicant, who
    for who in ("supervisor", "analyst", "alpha"):
        response = client.get(f"/api/v1/cases/{case_id}", headers=basic(who))
        assert response.get_json()["applicant"] == {"name": "张三", "phone": "138****8000", "id_number": "1101**********1234"}, who
        assert "13800138000" not in response.get_data(as_text=True)
        assert "110101199003071234" not in response.get_data(as_text=True)


def test_text_with_nul_is_refused_before_it_reaches_the_database(client, staff) -> None:
    response = client.post("/api/v1/departments", json={"code": "delta", "name": "丁\x00局"}, headers=basic("admin"))
    assert response.status_code == 422 and "NUL" in response.get_json()["error"]
    response = client.get("/api/v1/tasks?department=al%00pha", headers=basic("supervisor"))
    assert response.status_code == 422 and "NUL" in response.get_json()["error"]
