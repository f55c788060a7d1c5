"""The supervisor's desk over HTTP: the board, its actions, the statistics pages, the API and the downloads.

The data is the fixed world of `tests/engine/test_stats.py` (its docstring has the table).
"""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.demo import DEMO_PASSWORD
from engine.models import Task
from engine.tickets import confirm_ticket, log_ticket, reply_ticket
from tests.engine.test_stats import build_world
from tests.web.conftest import basic, csrf_token, login
from tests.factories import make_demo_site


@pytest.fixture
def world(db, clock) -> dict[str, int]:
    """The committed world; returns case ids by name."""
    with db.writer.begin() as s:
        w = build_world(s, clock)
        return {name: case.id for name, case in w.cases.items()}


def task_id(db, case_id: int, element: str) -> int:
    with db.reader.begin() as s:
        return s.scalar(select(Task.id).where(Task.case_id == case_id, Task.element_id == element, Task.state != "completed"))


def test_board_page_shows_open_tasks_with_drill_down(client, world) -> None:
    login(client, "supervisor")
    page = client.get("/supervisor/").get_data(as_text=True)
    assert page.count('data-task="') == 2
    assert f'href="/cases/{world["D"]}"' in page
    assert 'id="department-view"' in page and 'class="dept-block level-red' in page
    assert "<script>" not in page  # CSP: no inline scripts; the charts read JSON data blocks
    assert f'href="/cases/{world["E"]}"' in page.split('id="latest-concluded"')[1]  # drill down to a concluded case
    only_gamma = client.get("/supervisor/?department=gamma").get_data(as_text=True)
    assert only_gamma.count('data-task="') == 1 and 'data-department="gamma"' in only_gamma
    cases = client.get("/supervisor/?view=cases&predicted=late").get_data(as_text=True)
    assert f'data-case="{world["D"]}"' in cases and "predicted-late-row" in cases


def test_department_staff_get_their_own_board(client, world) -> None:
    login(client, "alpha")
    assert 'href="/supervisor/" id="department-board-link"' in client.get("/tasks/").get_data(as_text=True)
    page = client.get("/supervisor/").get_data(as_text=True)
    assert page.count('data-task="') == 1 and 'data-department="alpha"' in page
    assert client.get("/supervisor/?department=gamma").status_code == 403
    stats = client.get("/supervisor/stats?period=all").get_data(as_text=True)
    assert 'data-key="alpha"' in stats and 'data-key="beta"' not in stats
    assert client.get("/supervisor/stats/matters").status_code == 403
    assert client.get("/supervisor/stats/channels").status_code == 403


def test_board_downloads(client, world) -> None:
    login(client, "supervisor")
    response = client.get("/supervisor/?department=alpha&format=xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][3] == "甲局"  # header + alpha's one task; the department column
    text = client.get("/supervisor/?format=csv").get_data(as_text=True)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(table) == 3


def test_api_board(client, world) -> None:
    response = client.get("/api/v1/board?department=alpha&warning=red", headers=basic("supervisor"))
    assert response.status_code == 200 and response.headers["X-Total-Count"] == "1"
    (row,) = response.get_json()
    assert (row["department"], row["warning"], row["remaining_working_days"], row["case_id"]) == ("alpha", "red", -5, world["D"])
    assert row["bottleneck_department"] == "alpha" and row["misses_promise"] is True and row["predicted_completion"]
    assert client.get("/api/v1/board?warning=purple", headers=basic("supervisor")).status_code == 422
    assert client.get("/api/v1/board?department=gamma", headers=basic("alpha")).status_code == 403
    assert len(client.get("/api/v1/board", headers=basic("alpha")).get_json()) == 1
    text = client.get("/api/v1/board?format=csv", headers=basic("supervisor")).get_data(as_text=True)
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert header[:3] == ["case_number", "definition_name", "name"] and "remaining_working_days" in header
    book = load_workbook(io.BytesIO(client.get("/api/v1/board?format=xlsx", headers=basic("supervisor")).data))
    assert book.active.max_row == 3
    cases = client.get("/api/v1/board/cases?predicted=late", headers=basic("supervisor")).get_json()
    assert [c["id"] for c in cases] == [world["D"]]
    loads = {d["department"]: d for d in client.get("/api/v1/board/departments", headers=basic("supervisor")).get_json()}
    assert (loads["alpha"]["overdue"], loads["gamma"]["at_risk"]) == (1, 1)


def test_api_department_statistics_and_scope(client, world) -> None:
    rows = client.get("/api/v1/stats/departments", headers=basic("supervisor")).get_json()
    beta = next(r for r in rows if r["department"] == "beta")
    assert {k: beta[k] for k in ("cases", "completed", "on_time_rate", "overdue", "avg_working_days", "grade")} == {
        "cases": 6, "completed": 6, "on_time_rate": 0.8333, "overdue": 1, "avg_working_days": 1.0, "grade": "fail"}
    november = client.get("/api/v1/stats/departments?from=2026-11-01&to=2026-11-30", headers=basic("supervisor")).get_json()
    assert next(r for r in november if r["department"] == "alpha")["cases"] == 4
    assert client.get("/api/v1/stats/departments", headers=basic("alpha")).status_code == 403
    own = client.get("/api/v1/stats/departments?department=alpha", headers=basic("alpha")).get_json()
    assert [r["department"] for r in own] == ["alpha"]
    assert client.get("/api/v1/stats/departments?department=alpha", headers=basic("beta")).status_code == 403
    assert client.get("/api/v1/stats/departments?from=someday", headers=basic("supervisor")).get_json() == {
        "error": "from and to must be dates (YYYY-MM-DD)"}
    xlsx = load_workbook(io.BytesIO(client.get("/api/v1/stats/departments?format=xlsx", headers=basic("supervisor")).data))
    header = [c.value for c in xlsx.active[1]]
    assert header[:3] == ["department", "name", "cases"] and xlsx.active.max_row == 5
    reviewers = client.get("/api/v1/stats/reviewers?department=alpha", headers=basic("alpha")).get_json()
    assert {r["username"]: r["completed"] for r in reviewers} == {"alpha": 5}


def test_api_monthly_channels_and_ratings(client, world) -> None:
    monthly = client.get("/api/v1/stats/monthly", headers=basic("supervisor")).get_json()
    assert monthly == [{"month": "2026-09", "definition": "parallel_three", "name": "三部门并联测试", "cases": 2},
                       {"month": "2026-11", "definition": "parallel_three", "name": "三部门并联测试", "cases": 4}]
    by_department = client.get("/api/v1/stats/monthly?by=department&department=beta", headers=basic("beta")).get_json()
    assert [(m["month"], m["department"], m["cases"]) for m in by_department] == [("2026-09", "beta", 2), ("2026-11", "beta", 4)]
    assert client.get("/api/v1/stats/monthly", headers=basic("beta")).status_code == 403
    channels = {c["indicator"]: c for c in client.get("/api/v1/stats/channels", headers=basic("supervisor")).get_json()}
    assert {k: (c["numerator"], c["denominator"], c["ratio"]) for k, c in channels.items()} == {
        "one_visit": (4, 5, 0.8), "online": (3, 6, 0.5), "on_the_spot": (2, 5, 0.4)}
    assert all(c["definition"] for c in channels.values())
    ratings = {c["indicator"]: c["ratio"] for c in client.get("/api/v1/stats/ratings", headers=basic("supervisor")).get_json()}
    assert ratings == {"rated": 0.6, "rectified": 0.5}
    assert client.get("/api/v1/stats/channels", headers=basic("alpha")).status_code == 403
    text = client.get("/api/v1/stats/channels?format=csv", headers=basic("supervisor")).get_data(as_text=True)
    assert "on_the_spot" in text and "0.4000" in text


def test_statistics_pages(client, world) -> None:
    login(client, "supervisor")
    departments = client.get("/supervisor/stats?period=all").get_data(as_text=True)
    assert "83.33%" in departments and 'id="grade-thresholds"' in departments and "98.00%" in departments
    assert 'data-chart="chart-departments"' in departments and 'type="application/json"' in departments
    for path in ("/supervisor/stats/matters?period=all", "/supervisor/stats/reviewers?department=alpha&period=all",
                 "/supervisor/stats/monthly?period=all", "/supervisor/stats/monthly?by=department&period=all",
                 "/supervisor/stats/channels?period=all", "/supervisor/stats"):
        response = client.get(path)
        assert response.status_code == 200, path
    monthly = client.get("/supervisor/stats/monthly?period=all").get_data(as_text=True)
    assert 'data-month="2026-09"' in monthly and 'data-month="2026-11"' in monthly
    channels = client.get("/supervisor/stats/channels?period=all").get_data(as_text=True)
    assert "80.00%" in channels and "40.00%" in channels and "60.00%" in channels
    book = load_workbook(io.BytesIO(client.get("/supervisor/stats/channels?period=all&table=ratings&format=xlsx").data))
    assert [row[0] for row in book.active.iter_rows(min_row=2, values_only=True)] == ["rated", "rectified"]
    assert book.active["E2"].number_format == "0.00%"
    counts = client.get("/supervisor/stats/channels?period=all&table=counts&format=csv").get_data(as_text=True)
    assert [(row[0], row[2]) for row in csv.reader(io.StringIO(counts.lstrip("\ufeff")))][1:] == [
        ("window", "3"), ("online", "2"), ("partner", "1")]
    levels = client.get("/supervisor/stats/channels?period=all&table=levels&format=csv").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(levels.lstrip("\ufeff"))))[1:] == [["1", "1"], ["2", "1"], ["3", "0"], ["4", "0"], ["5", "1"]]
    this_year = client.get("/supervisor/stats/reviewers?department=alpha&format=csv").get_data(as_text=True)
    assert "alpha" in this_year  # default period: this year so far


def test_grade_thresholds_come_from_the_config(db, clock, world) -> None:
    from web.app import create_app

    app = create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "SECRET_KEY": "test",
                      "STATS_GRADE_THRESHOLDS": {"excellent": 0.99, "good": 0.8, "pass": 0.5}})
    rows = app.test_client().get("/api/v1/stats/departments", headers=basic("supervisor")).get_json()
    assert next(r for r in rows if r["department"] == "beta")["grade"] == "good"


def test_reassign_and_urge_from_the_board(client, db, world) -> None:
    target = task_id(db, world["D"], "review_alpha")
    login(client, "supervisor")
    token = csrf_token(client, "/supervisor/")
    response = client.post(f"/supervisor/tasks/{target}/reassign",
                           data={"username": "alpha2", "csrf_token": token, "next": "/supervisor/?department=alpha"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/supervisor/?department=alpha")
    with db.reader.begin() as s:
        assert s.get(Task, target).assignee.username == "alpha2"
    refused = client.post(f"/supervisor/tasks/{target}/reassign", data={"username": "beta", "csrf_token": token})
    assert refused.status_code == 303
    urged = client.post(f"/supervisor/tasks/{target}/urge", data={"message": "请今日办结", "csrf_token": token, "next": "/supervisor/"})
    assert urged.status_code == 302 and urged.headers["Location"].endswith("/supervisor/")
    ordered = client.post(f"/supervisor/cases/{world['D']}/orders", data={
        "department": "alpha", "reply_within_days": "2", "text": "说明超期原因", "csrf_token": token, "next": "/supervisor/"})
    assert ordered.status_code == 302 and ordered.headers["Location"].endswith("/supervisor/")
    login(client, "alpha")
    token = csrf_token(client, "/supervisor/")
    assert client.post(f"/supervisor/tasks/{target}/reassign", data={"username": "alpha", "csrf_token": token}).status_code == 403


def test_case_json_carries_the_prediction(client, world) -> None:
    late = client.get(f"/api/v1/cases/{world['D']}", headers=basic("supervisor")).get_json()
    assert late["bottleneck_department"] == "alpha" and late["misses_promise"] is True
    board_row = next(r for r in client.get("/api/v1/board?department=alpha", headers=basic("supervisor")).get_json()
                     if r["case_id"] == world["D"])
    assert late["predicted_completion"] == board_row["predicted_completion"]
    done = client.get(f"/api/v1/cases/{world['E']}", headers=basic("supervisor")).get_json()
    assert (done["predicted_completion"], done["bottleneck_department"], done["misses_promise"]) == (None, None, False)


def test_problem_tickets_on_the_desk(client, db, clock) -> None:
    """Counts per department and the on-time closure rate of enterprise problems, with the Excel download;
    a department's staff log a problem (包联) and see their own department's row only."""
    with db.writer.begin() as s:
        users = make_demo_site(s, clock)
        fields = {"enterprise_name": "示例食品有限公司", "contact_name": "吴总", "problem": "冷库用电增容迟迟未接入",
                  "department": "power", "limit_days": 3}
        solved = log_ticket(s, clock, users["window"], fields)
        reply_ticket(s, clock, users["power"], solved.id, "已完成增容")
        confirm_ticket(s, clock, users["window"], solved.id, True, "企业确认已解决")
        log_ticket(s, clock, users["fire"], {**fields, "department": "urban"})  # logged by a 包联 cadre
        power, urban = users["power"].department.name, users["urban"].department.name
    login(client, "supervisor", DEMO_PASSWORD)
    page = client.get("/supervisor/stats/tickets").get_data(as_text=True)
    assert 'data-key="power"' in page and 'data-key="urban"' in page and "100.0%" in page
    sheet = load_workbook(io.BytesIO(client.get("/supervisor/stats/tickets?format=xlsx").data)).active
    rows = {r[0]: r[1:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[power] == (1, 0, 0, 0, 1, 1, 1) and rows[urban] == (1, 1, 0, 0, 0, 0, None)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/supervisor/")})
    login(client, "urban", DEMO_PASSWORD)
    own = client.get("/supervisor/stats/tickets").get_data(as_text=True)
    assert 'data-key="urban"' in own and 'data-key="power"' not in own
