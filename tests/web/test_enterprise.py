"""Enterprise services over HTTP: projects, tickets, 依申请公开 figures, the 双公示 feed; who sees what."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.db import Database
from engine.demo import DEMO_PASSWORD
from engine.jobs import run_due_jobs
from engine.models import Task, User
from engine.tasks import complete_task
from engine.vocab import OPEN_TASK_STATES
from tests.web.conftest import basic, csrf_token, login
from tests.factories import make_demo_site

PROJECT = {"name": "智能装备产业园", "enterprise_name": "示例装备制造有限公司", "kind": "investment",
           "investment_yuan": 120_000_000, "contact_name": "周经理", "contact_phone": "13700137000"}
TICKET = {"enterprise_name": "示例食品有限公司", "contact_name": "吴总", "contact_phone": "13600136000",
          "problem": "冷库用电增容迟迟未接入", "category": "factor", "department": "power", "limit_days": 3}


@pytest.fixture
def demo(db: Database, clock) -> None:
    with db.writer.begin() as s:
        make_demo_site(s, clock)


def auth(username: str) -> dict[str, str]:
    return basic(username, DEMO_PASSWORD)


def test_projects_api_registers_and_scopes_by_department(client: FlaskClient, demo) -> None:
    created = client.post("/api/v1/projects", json=PROJECT, headers=auth("window"))
    assert created.status_code == 201, created.get_json()
    project = created.get_json()
    assert project["major"] and project["stage"] == "zhaoshang" and len(project["steps"]) == 12
    assert project["contact_phone"] == "13700137000"
    assert client.post("/api/v1/projects", json=PROJECT, headers=auth("fire")).status_code == 403
    assert client.post("/api/v1/projects", json={**PROJECT, "kind": "x"}, headers=auth("window")).status_code == 422
    listed = client.get("/api/v1/projects", headers=auth("supervisor")).get_json()
    assert [p["id"] for p in listed] == [project["id"]] and listed[0]["contact_phone"] == "137****7000"
    assert [p["id"] for p in client.get("/api/v1/projects", headers=auth("fire")).get_json()] == [project["id"]]
    assert client.get("/api/v1/projects", headers=auth("health")).get_json() == []
    assert client.get(f"/api/v1/projects/{project['id']}", headers=auth("health")).status_code == 404
    overview = client.get("/api/v1/projects/overview", headers=auth("supervisor")).get_json()
    assert overview["total"] == 1 and overview["major"] == 1
    csv = client.get("/api/v1/projects?format=csv", headers=auth("supervisor"))
    assert csv.status_code == 200 and "智能装备产业园" in csv.get_data(as_text=True)


def test_ticket_api_from_logging_to_closure(client: FlaskClient, demo) -> None:
    created = client.post("/api/v1/tickets", json=TICKET, headers=auth("window"))
    assert created.status_code == 201, created.get_json()
    ticket = created.get_json()
    assert ticket["status"] == "assigned" and ticket["department"] == "power"
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth("fire")).status_code == 404
    assert client.post(f"/api/v1/tickets/{ticket['id']}/reply", json={"reply": "x"}, headers=auth("fire")).status_code == 404
    replied = client.post(f"/api/v1/tickets/{ticket['id']}/reply", json={"reply": "已完成增容接入"}, headers=auth("power"))
    assert replied.status_code == 200 and replied.get_json()["status"] == "replied"
    assert client.post(f"/api/v1/tickets/{ticket['id']}/confirm", json={"solved": "yes", "comment": "好"},
                       headers=auth("window")).status_code == 422
    closed = client.post(f"/api/v1/tickets/{ticket['id']}/confirm", json={"solved": True, "comment": "满意"},
                         headers=auth("window"))
    assert closed.get_json()["status"] == "closed" and closed.get_json()["on_time"] is True
    stats = client.get("/api/v1/tickets/stats", headers=auth("supervisor")).get_json()
    assert stats == [{"department": "power", "department_name": "国网供电公司", "logged": 1, "open": 0, "overdue": 0,
                      "escalated": 0, "closed": 1, "closed_on_time": 1, "on_time_rate": 1.0}]


def test_disclosure_stats_and_credit_feed_are_for_oversight(client: FlaskClient, demo) -> None:
    stats = client.get("/api/v1/stats/disclosure?from=2026-01-01&to=2026-12-31", headers=auth("supervisor"))
    assert stats.status_code == 200 and stats.get_json()["received"] == 0
    assert client.get("/api/v1/stats/disclosure", headers=auth("govoffice")).status_code == 200
    assert client.get("/api/v1/stats/disclosure", headers=auth("fire")).status_code == 403
    assert client.get("/api/v1/credit-feed", headers=auth("supervisor")).get_json() == []
    assert client.get("/api/v1/credit-feed?format=xlsx", headers=auth("supervisor")).status_code == 200
    assert client.get("/api/v1/credit-feed", headers=auth("fire")).status_code == 403


def test_pages_are_in_the_navigation_of_the_roles_that_use_them(client: FlaskClient, demo) -> None:
    project = client.post("/api/v1/projects", json=PROJECT, headers=auth("window")).get_json()
    ticket = client.post("/api/v1/tickets", json=TICKET, headers=auth("window")).get_json()
    login(client, "supervisor", DEMO_PASSWORD)
    home = client.get("/projects/overview").get_data(as_text=True)
    for link in ("projects-link", "tickets-link", "disclosure-link"):
        assert f'id="{link}"' in home
    assert "chart-project-stages" in home
    assert client.get(f"/projects/{project['id']}").status_code == 200
    assert "冷库用电增容" in client.get("/tickets/").get_data(as_text=True)
    assert client.get("/disclosure/stats").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/tickets/")})
    login(client, "power", DEMO_PASSWORD)
    page = client.get(f"/tickets/{ticket['id']}").get_data(as_text=True)
    assert 'id="projects-link"' in page and 'id="tickets-link"' in page and 'name="reply"' in page
    token = csrf_token(client, f"/tickets/{ticket['id']}")
    response = client.post(f"/tickets/{ticket['id']}/reply", data={"reply": "已接入", "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/projects/overview").status_code == 403
    assert client.get("/projects/").status_code == 200


def test_window_registers_a_project_and_logs_a_ticket_through_forms(client: FlaskClient, demo) -> None:
    login(client, "window", DEMO_PASSWORD)
    token = csrf_token(client, "/projects/new")
    response = client.post("/projects/new", data={**PROJECT, "investment_yuan": "3000000", "csrf_token": token})
    assert response.status_code == 302
    assert "Behind plan" not in client.get(response.headers["Location"]).get_data(as_text=True)
    token = csrf_token(client, "/tickets/")
    response = client.post("/tickets/", data={**TICKET, "limit_days": "5", "csrf_token": token})
    assert response.status_code == 302


def test_the_project_page_links_the_case_of_a_one_thing_step(client: FlaskClient, db: Database, clock, demo) -> None:
    project = client.post("/api/v1/projects", json=PROJECT, headers=auth("window")).get_json()
    with db.writer.begin() as s:
        users = {u.username: u for u in s.scalars(select(User))}
        while True:  # the departments approve their steps until the project needs its 临时占路
            task = s.scalars(select(Task).where(Task.case_id == project["case_id"], Task.state.in_(OPEN_TASK_STATES))
                             .order_by(Task.id)).first()
            if task is None or task.element_id == "road_occupation":
                break
            complete_task(s, clock, users[task.department.code], task.id, "approve", "同意")
    assert run_due_jobs(db, clock, "test").project_steps == 1
    detail = client.get(f"/api/v1/projects/{project['id']}", headers=auth("supervisor")).get_json()
    road = next(st for st in detail["steps"] if st["element_id"] == "road_occupation")
    linked = road["linked_case"]
    assert road["matter"] == "linshi_zhanlu" and linked["status"] == "in_progress" and linked["number"].startswith("YJS-")
    assert all(st["linked_case"] is None for st in detail["steps"] if st["element_id"] != "road_occupation")
    # The traffic police review the linked case, so the project is theirs to see too (主动服务).
    assert client.get(f"/api/v1/projects/{project['id']}", headers=auth("traffic")).status_code == 200
    login(client, "supervisor", DEMO_PASSWORD)
    page = client.get(f"/projects/{project['id']}").get_data(as_text=True)
    assert f'href="/cases/{linked["id"]}">{linked["number"]}</a>' in page
    case_page = client.get(f"/cases/{linked['id']}").get_data(as_text=True)
    assert 'id="project-link"' in case_page and f'href="/projects/{project["id"]}"' in case_page  # and back
