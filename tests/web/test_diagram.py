"""The case page's flow diagram: GET /cases/<id>/diagram gives the case's BPMN and its tasks by state."""
from __future__ import annotations

from tests.web.conftest import basic, login


def start_case(client) -> int:
    body = {"definition": "parallel_three", "applicant": {"name": "张三"}, "data": {"venue_name": "星空网吧"}}
    created = client.post("/api/v1/cases", json=body, headers=basic("window"))
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def test_diagram_lists_completed_intake_and_active_reviews(client, staff) -> None:
    case_id = start_case(client)
    login(client, "supervisor")
    response = client.get(f"/cases/{case_id}/diagram")
    assert response.status_code == 200 and response.is_json
    diagram = response.get_json()
    assert set(diagram) == {"xml", "completed", "active", "cancelled"}
    assert 'id="review_alpha"' in diagram["xml"] and "parallel_three" in diagram["xml"]
    assert diagram["completed"] == ["intake"]
    assert sorted(diagram["active"]) == ["review_alpha", "review_beta", "review_gamma"]
    assert diagram["cancelled"] == []


def test_diagram_follows_the_tasks(client, staff) -> None:
    case_id = start_case(client)
    tasks = client.get("/api/v1/tasks?state=open", headers=basic("alpha")).get_json()
    done = client.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", json={"outcome": "approve", "opinion": "同意"}, headers=basic("alpha"))
    assert done.status_code == 200
    login(client, "alpha")
    diagram = client.get(f"/cases/{case_id}/diagram").get_json()
    assert diagram["completed"] == ["intake", "review_alpha"]
    assert sorted(diagram["active"]) == ["review_beta", "review_gamma"]


def test_the_case_page_holds_the_diagram_container(client, staff) -> None:
    case_id = start_case(client)
    login(client, "window")
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="case-diagram"' in html and f'data-src="/cases/{case_id}/diagram"' in html
    assert "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in html
    assert "/static/js/case-diagram.js" in html


def test_an_unrelated_department_gets_403(client, staff) -> None:
    case_id = start_case(client)
    made = client.post("/api/v1/departments", json={"code": "delta", "name": "丁局"}, headers=basic("admin"))
    assert made.status_code == 201
    user = {"username": "delta", "password": "secret123", "roles": ["reviewer"], "department": "delta"}
    assert client.post("/api/v1/users", json=user, headers=basic("admin")).status_code == 201
    login(client, "delta")
    assert client.get(f"/cases/{case_id}/diagram").status_code == 403
    assert client.get(f"/cases/{case_id}").status_code == 403


def test_unknown_case_is_404_and_anonymous_is_sent_to_sign_in(client, staff) -> None:
    case_id = start_case(client)
    assert client.get(f"/cases/{case_id}/diagram").status_code == 302
    login(client, "supervisor")
    assert client.get(f"/cases/{case_id + 1000}/diagram").status_code == 404
