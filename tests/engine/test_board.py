"""The live board: open tasks with warning levels and working days left, filters, scope, reassigning.

On Monday 2026-11-23 09:00 the world of `test_stats` has two open department tasks, both of case D
(accepted Mon Nov 9 from a partner region): alpha's, claimed by `alpha` and due Nov 16 (red, 5 working
days overdue), and gamma's, unclaimed and due today (yellow, 0 days left).
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.board import (
    BoardFilter, board_rows, department_loads, open_cases, reassign_candidates, reassign_task, visible_department_ids,
    warning_level,
)
from engine.calendar_store import load_calendar
from engine.deadlines import level_of, local_day
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.history import events_of
from engine.models import Clock, Notification, Task
from engine.stats import Period
from engine.tasks import complete_task
from engine.vocab import OPEN_TASK_STATES, TaskState
from tests.engine.test_stats import NOW, build_world
from tests.factories import make_user


@pytest.fixture
def world(session, clock):
    return build_world(session, clock)


def rows_for(session, world, user: str = "supervisor", **filters) -> list:
    rows, total = board_rows(session, world.staff[user], load_calendar(session), NOW, BoardFilter(**filters))
    assert total == len(rows)
    return [(r.department, r.warning, r.remaining_working_days) for r in rows]


def test_open_tasks_most_urgent_first(session, world) -> None:
    rows, total = board_rows(session, world.staff["supervisor"], load_calendar(session), NOW, BoardFilter())
    assert total == 2
    alpha, gamma = rows
    assert (alpha.department, alpha.warning, alpha.remaining_working_days, alpha.assignee) == ("alpha", "red", -5, "alpha")
    assert (gamma.department, gamma.warning, gamma.remaining_working_days, gamma.assignee) == ("gamma", "yellow", 0, None)
    assert alpha.case_number == world.cases["D"].number and alpha.channel == "partner"
    assert local_day(alpha.due_at) == date(2026, 11, 16)
    assert alpha.prediction.bottleneck_department == "alpha" and alpha.prediction.misses_promise
    data = alpha.to_dict()
    assert data["url"] == f"/cases/{world.cases['D'].id}" and data["remaining_working_days"] == -5
    assert set(data) >= {"warning", "remaining_working_days", "predicted_completion", "bottleneck_department"}


def test_filters(session, world) -> None:
    assert rows_for(session, world, descending=True) == [("gamma", "yellow", 0), ("alpha", "red", -5)]
    assert rows_for(session, world, department="gamma") == [("gamma", "yellow", 0)]
    assert rows_for(session, world, warnings=("red",)) == [("alpha", "red", -5)]
    assert rows_for(session, world, warnings=("notice", "yellow")) == [("gamma", "yellow", 0)]
    assert rows_for(session, world, assignee="alpha") == [("alpha", "red", -5)]
    assert rows_for(session, world, channel="window") == []
    assert len(rows_for(session, world, channel="partner", definition="parallel_three")) == 2
    assert rows_for(session, world, definition="nothing") == []
    assert len(rows_for(session, world, period=Period(date(2026, 11, 9), date(2026, 11, 9)))) == 2
    assert rows_for(session, world, period=Period(date(2026, 11, 10), None)) == []
    with pytest.raises(NotFound):
        rows_for(session, world, assignee="nobody")


def test_parsing_query_strings() -> None:
    parsed = BoardFilter.parse({"department": "alpha", "warning": "yellow,red", "from": "2026-11-01", "sort": "-remaining"})
    assert parsed == BoardFilter("alpha", None, None, None, ("yellow", "red"), Period(date(2026, 11, 1), None), True)
    for bad in ({"warning": "purple"}, {"channel": "fax"}, {"sort": "name"}, {"from": "yesterday"},
                {"from": "2026-11-02", "to": "2026-11-01"}):
        with pytest.raises(InvalidInput):
            BoardFilter.parse(bad)


def test_department_view(session, world) -> None:
    loads = {d.code: d for d in department_loads(session, world.staff["supervisor"], NOW, BoardFilter(department="alpha"))}
    assert set(loads) == {"window", "alpha", "beta", "gamma"}  # every department, whatever the department filter
    assert (loads["alpha"].open, loads["alpha"].at_risk, loads["alpha"].overdue, loads["alpha"].level) == (1, 0, 1, "red")
    assert (loads["gamma"].open, loads["gamma"].at_risk, loads["gamma"].overdue, loads["gamma"].level) == (1, 1, 0, "yellow")
    assert (loads["beta"].open, loads["beta"].level) == (0, "normal")


def test_department_staff_see_their_own_board_only(session, world) -> None:
    staff = world.staff
    assert rows_for(session, world, "alpha") == [("alpha", "red", -5)]
    assert rows_for(session, world, "alpha_head", department="alpha") == [("alpha", "red", -5)]
    assert rows_for(session, world, "beta") == []
    with pytest.raises(PermissionDenied):
        rows_for(session, world, "alpha", department="gamma")
    for outsider in ("analyst", "window"):
        with pytest.raises(PermissionDenied):
            visible_department_ids(session, staff[outsider])
    assert [d.code for d in department_loads(session, staff["gamma"], NOW, BoardFilter())] == ["gamma"]


def test_open_cases_with_their_prediction(session, world) -> None:
    calendar = load_calendar(session)
    cases, total = open_cases(session, world.staff["supervisor"], calendar, NOW, BoardFilter())
    assert total == 1
    (d,) = cases
    # Promised (8 working days from Nov 9): Nov 19, two working days ago.
    assert (d.number, d.warning, d.remaining_working_days) == (world.cases["D"].number, "red", -2)
    assert d.prediction.misses_promise and d.to_dict()["bottleneck_department"] == "alpha"
    late, late_total = open_cases(session, world.staff["supervisor"], calendar, NOW, BoardFilter(), predicted_late_only=True)
    assert late_total == 1 and late[0].case_id == d.case_id
    assert open_cases(session, world.staff["beta"], calendar, NOW, BoardFilter())[1] == 0  # nothing open for beta


def test_the_sql_warning_level_matches_the_engine(session, world) -> None:
    seen = set()
    for moment in (NOW - timedelta(days=12), NOW - timedelta(days=8), NOW - timedelta(days=4), NOW, NOW + timedelta(days=30)):
        query = select(Clock, warning_level(moment)).join(Task, Task.clock_id == Clock.id).where(Task.state.in_(OPEN_TASK_STATES))
        for k, level in session.execute(query):
            assert level == level_of(k, moment), (k.element_id, moment)
            seen.add(level)
    assert seen == {"normal", "yellow", "red"}  # with the default policy notice and yellow coincide here


def test_reassign_within_the_department(session, clock, world) -> None:
    staff = world.staff
    task = world.task("D", "review_alpha")
    with pytest.raises(PermissionDenied):
        reassign_task(session, clock, staff["alpha"], task.id, "alpha2")  # a reviewer cannot
    with pytest.raises(PermissionDenied):
        reassign_task(session, clock, staff["beta"], task.id, "alpha2")
    with pytest.raises(InvalidInput):
        reassign_task(session, clock, staff["supervisor"], task.id, "beta")  # another department
    with pytest.raises(InvalidInput):
        reassign_task(session, clock, staff["supervisor"], task.id, "ghost")
    with pytest.raises(Conflict):
        reassign_task(session, clock, staff["supervisor"], task.id, "alpha")  # already theirs
    reassign_task(session, clock, staff["supervisor"], task.id, "alpha2")
    assert (task.assignee.username, task.state, task.claimed_at) == ("alpha2", TaskState.CLAIMED, NOW)
    event = [e for e in events_of(session, world.cases["D"]) if e.action == "task_reassigned"][-1]
    assert (event.details["before"], event.details["after"], event.actor_id) == ("alpha", "alpha2", staff["supervisor"].id)
    notes = session.scalars(select(Notification).where(Notification.user_id == staff["alpha2"].id)).all()
    assert [n.kind for n in notes] == ["reassigned"]
    # The head of the department may move it back; the new assignee can complete it.
    reassign_task(session, clock, staff["alpha_head"], task.id, "alpha_head")
    reassign_task(session, clock, staff["alpha_head"], task.id, "alpha2")
    gamma_task = world.task("D", "review_gamma")
    with pytest.raises(PermissionDenied):
        reassign_task(session, clock, staff["alpha_head"], gamma_task.id, "alpha2")
    complete_task(session, clock, staff["alpha2"], task.id, "approve", "同意")
    with pytest.raises(Conflict):
        reassign_task(session, clock, staff["supervisor"], task.id, "alpha")
    retired = make_user(session, clock, "alpha_old", ["reviewer"], "alpha")
    retired.active = False
    with pytest.raises(InvalidInput):
        reassign_task(session, clock, staff["supervisor"], gamma_task.id, "alpha_old")


def test_reassign_candidates_are_the_departments_reviewers_and_heads(session, world) -> None:
    staff = world.staff
    candidates = reassign_candidates(session, [staff["alpha"].department_id, staff["beta"].department_id])
    assert [u.username for u in candidates[staff["alpha"].department_id]] == ["alpha", "alpha2", "alpha_head"]
    assert [u.username for u in candidates[staff["beta"].department_id]] == ["beta"]
