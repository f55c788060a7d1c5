"""The statutory clock over the API: due dates and warnings in JSON, the calendar, pauses, supervision."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.calendar import OFFICE_TZ
from engine.definitions import deploy_definition
from tests.factories import bpmn, make_user
from tests.web.conftest import basic, csrf_token, login


@pytest.fixture
def case_id(db, clock, staff, client) -> int:
    clock.set(datetime(2026, 11, 2, 10, tzinfo=OFFICE_TZ))
    with db.writer.begin() as s:
        make_user(s, clock, "alpha_head", ["department_head"], "alpha")
        deploy_definition(s, clock, bpmn("one_review.bpmn").replace(b"LIMIT", b"5"),
                          catalog={"promised_days": 8, "statutory_days": 20})
    response = client.post("/api/v1/cases", json={"definition": "one_review", "applicant": {"name": "张三"}}, headers=basic("window"))
    assert response.status_code == 201
    return response.get_json()["id"]


def review_task(client, case_id: int) -> dict:
    case = client.get(f"/api/v1/cases/{case_id}", headers=basic("supervisor")).get_json()
    return next(t for t in case["tasks"] if t["element_id"] == "review_alpha" and t["state"] == "open")


def test_task_and_case_json_carry_their_clocks(client, clock, case_id) -> None:
    case = client.get(f"/api/v1/cases/{case_id}", headers=basic("supervisor")).get_json()
    assert case["promised_due_at"].startswith("2026-11-12T15:59:59")  # end of Nov 12 in Beijing, in UTC
    assert case["statutory_due_at"].startswith("2026-11-30T15:59:59")
    assert case["warning"] == "normal" and case["clock_events"] == []
    task = review_task(client, case_id)
    assert (task["time_limit_days"], task["warning"], task["paused"]) == (5, "normal", False)
    assert task["due_at"].startswith("2026-11-09T15:59:59")
    clock.set(datetime(2026, 11, 10, 9, tzinfo=OFFICE_TZ))
    task = review_task(client, case_id)
    assert task["warning"] == "red" and task["remaining_working_days"] == -1
    case = client.get(f"/api/v1/cases/{case_id}", headers=basic("supervisor")).get_json()
    assert case["warning"] == "normal"  # the task is late; the case's promise (Nov 12) is not yet


def test_pause_resume_and_extend(client, clock, case_id) -> None:
    task_id = review_task(client, case_id)["id"]
    url = f"/api/v1/tasks/{task_id}"
    no_reason = client.post(f"{url}/pause", json={"kind": "special_procedure", "procedure": "site_survey"}, headers=basic("alpha"))
    assert no_reason.status_code == 422
    assert client.post(f"{url}/pause", json={"kind": "supplement", "reason": "x"}, headers=basic("beta")).status_code == 403
    paused = client.post(f"{url}/pause", json={"kind": "special_procedure", "procedure": "site_survey", "reason": "现场踏勘"}, headers=basic("alpha"))
    assert paused.status_code == 200 and paused.get_json()["paused"] is True
    assert client.post(f"{url}/pause", json={"kind": "special_procedure", "procedure": "site_survey", "reason": "again"}, headers=basic("alpha")).status_code == 409
    clock.set(datetime(2026, 11, 5, 15, tzinfo=OFFICE_TZ))
    resumed = client.post(f"{url}/resume", headers=basic("alpha"))
    # paused Mon Nov 2 → Thu Nov 5: Nov 3, 4, 5 excluded, so 5 + 3 working days from Nov 2
    assert resumed.status_code == 200 and resumed.get_json()["due_at"].startswith("2026-11-12")
    assert client.post(f"{url}/extend", json={"working_days": 2, "reason": "复杂"}, headers=basic("alpha")).status_code == 403
    extended = client.post(f"{url}/extend", json={"working_days": 2, "reason": "需专家论证"}, headers=basic("alpha_head"))
    assert extended.status_code == 200 and extended.get_json()["due_at"].startswith("2026-11-16")
    assert client.post(f"{url}/extend", json={"working_days": "two", "reason": "x"}, headers=basic("alpha_head")).status_code == 422
    events = client.get(f"/api/v1/cases/{case_id}", headers=basic("supervisor")).get_json()["clock_events"]
    assert [e["type"] for e in events] == ["pause", "resume", "extension"]
    assert events[1]["working_days"] == 3


def test_calendar_read_and_replace_recomputes(client, clock, case_id) -> None:
    year = client.get("/api/v1/calendar/2026", headers=basic("alpha")).get_json()
    assert year["confirmed"] is True and "2026-10-01" in year["holidays"] and "2026-10-10" in year["workdays"]
    assert client.get("/api/v1/calendar/2027", headers=basic("alpha")).get_json()["confirmed"] is False
    body = {"holidays": year["holidays"] + ["2026-11-04"], "workdays": year["workdays"]}
    assert client.put("/api/v1/calendar/2026", json=body, headers=basic("alpha")).status_code == 403
    replaced = client.put("/api/v1/calendar/2026", json=body, headers=basic("admin"))
    assert replaced.status_code == 200 and replaced.get_json()["recomputed"] >= 1
    assert review_task(client, case_id)["due_at"].startswith("2026-11-10")
    bad = client.put("/api/v1/calendar/2026", json={"holidays": ["2026-13-01"]}, headers=basic("admin"))
    assert bad.status_code == 422
    weekday = client.put("/api/v1/calendar/2026", json={"holidays": [], "workdays": ["2026-11-04"]}, headers=basic("admin"))
    assert weekday.status_code == 422 and "weekday" in weekday.get_json()["error"]


def test_urge_orders_replies_and_notifications(client, case_id) -> None:
    task_id = review_task(client, case_id)["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/urge", json={"message": "请加快"}, headers=basic("alpha")).status_code == 403
    assert client.post(f"/api/v1/tasks/{task_id}/urge", json={"message": "请加快"}, headers=basic("supervisor")).status_code == 201
    order = client.post("/api/v1/supervision-orders", json={"case_id": case_id, "department": "alpha", "reply_within_days": 2, "text": "说明进度"}, headers=basic("supervisor"))
    assert order.status_code == 201
    body = order.get_json()
    assert body["status"] == "open" and body["reply_due_at"].startswith("2026-11-04")
    assert [o["id"] for o in client.get("/api/v1/supervision-orders", headers=basic("alpha")).get_json()] == [body["id"]]
    assert client.get("/api/v1/supervision-orders", headers=basic("beta")).get_json() == []
    replied = client.post(f"/api/v1/supervision-orders/{body['id']}/reply", json={"text": "今日办结"}, headers=basic("alpha"))
    assert replied.status_code == 200 and replied.get_json()["status"] == "replied"
    inbox = client.get("/api/v1/notifications?unread=1", headers=basic("alpha")).get_json()
    assert {n["kind"] for n in inbox} == {"urge", "supervision_order"}
    client.post("/api/v1/notifications/read", json={}, headers=basic("alpha"))
    assert client.get("/api/v1/notifications?unread=1", headers=basic("alpha")).get_json() == []
    assert client.post("/api/v1/supervision-orders", json={"case_id": "x"}, headers=basic("supervisor")).status_code == 422


def test_clock_pages(client, clock, case_id) -> None:
    task_id = review_task(client, case_id)["id"]
    login(client, "alpha")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "2026-11-09" in page and 'id="pause-form"' in page and 'id="extend-form"' not in page
    token = csrf_token(client, f"/tasks/{task_id}")
    response = client.post(f"/tasks/{task_id}/pause", data={"csrf_token": token, "kind": "special_procedure", "procedure": "hearing", "reason": ""})
    assert response.status_code == 422
    response = client.post(f"/tasks/{task_id}/pause", data={"csrf_token": token, "kind": "special_procedure", "procedure": "hearing", "reason": "听证"})
    assert response.status_code == 302
    assert "clock-timeline" in client.get(f"/cases/{case_id}").get_data(as_text=True)


def test_admin_calendar_page_adds_a_closure(client, clock, case_id) -> None:
    login(client, "admin")
    page = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert "2026-10-01" in page
    token = csrf_token(client, "/admin/calendar?year=2026")
    done = client.post("/admin/calendar/days", data={"csrf_token": token, "day": "2026-11-04", "kind": "holiday", "note": "停电闭馆"})
    assert done.status_code == 302
    assert "停电闭馆" in client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert client.post("/admin/calendar/import", data={"csrf_token": token, "year": "2031"}).status_code == 422
