"""Predicted completion: each open step's typical working days from history, the bottleneck, the promise.

History in the world of `test_stats` (paused time excluded): review_alpha 3, 3, 0, 2, 0 (mean 1.6,
taken as 2), review_beta 5, 0, 0, 1, 0, 0 (mean 1), review_gamma 0, 9, 0, 4, 0 (mean 2.6, taken as 3).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine.calendar import OFFICE_TZ
from engine.calendar_store import load_calendar
from engine.deadlines import local_day
from engine.definitions import deploy_definition
from engine.prediction import (
    NO_PREDICTION, DurationCache, StepHistory, predict_case, predict_cases, prediction_fields, step_durations,
)
from engine.suspensions import pause_task
from tests.engine.test_stats import NOW, at, build_world
from tests.factories import bpmn, make_case, make_staff


@pytest.fixture
def world(session, clock):
    return build_world(session, clock)


def ids(world) -> dict[str, int]:
    return {code: world.staff[code].department_id for code in ("alpha", "beta", "gamma", "window")}


def test_step_durations_are_the_working_days_of_finished_steps(session, world) -> None:
    d = ids(world)
    history = step_durations(session, load_calendar(session), NOW)
    assert history[("review_alpha", d["alpha"])] == StepHistory(5, 8)
    assert history[("review_beta", d["beta"])] == StepHistory(6, 6)
    assert history[("review_gamma", d["gamma"])] == StepHistory(5, 13)
    assert history[("intake", d["window"])] == StepHistory(6, 0)
    only = step_durations(session, load_calendar(session), NOW, [("review_gamma", d["gamma"])])
    assert list(only) == [("review_gamma", d["gamma"])]
    # A year later the history has aged out.
    assert step_durations(session, load_calendar(session), NOW + timedelta(days=400)) == {}


def test_an_overdue_case_is_predicted_late_with_its_most_behind_department(session, world) -> None:
    prediction = predict_case(session, world.cases["D"], load_calendar(session), NOW)
    # alpha: Nov 9 + 2 = Nov 11, gamma: Nov 9 + 3 = Nov 12; both still open, so today (Nov 23).
    # Tied: alpha, due Nov 16, is further behind than gamma, due today. Promise: Nov 19.
    assert local_day(prediction.predicted_completion) == date(2026, 11, 23)
    assert prediction.bottleneck_department == "alpha" and prediction.misses_promise is True
    assert predict_case(session, world.cases["A"], load_calendar(session), NOW) == NO_PREDICTION


def test_a_new_case_is_predicted_from_history(session, clock, world) -> None:
    g = world.accept("G", at(11, 20, 9))
    calendar = load_calendar(session)
    prediction = predict_case(session, g, calendar, NOW)
    # alpha Nov 20 + 2 = Nov 24; beta Nov 20 + 1 = Nov 23; gamma Nov 20 + 3 = Nov 25. Promise: Dec 2.
    assert local_day(prediction.predicted_completion) == date(2026, 11, 25)
    assert (prediction.bottleneck_department, prediction.misses_promise) == ("gamma", False)
    assert prediction.predicted_completion == calendar.end_of_day(date(2026, 11, 25))
    fields = prediction_fields(session, g, NOW)
    assert fields == {"predicted_completion": calendar.end_of_day(date(2026, 11, 25)).isoformat(),
                      "bottleneck_department": "gamma", "misses_promise": False}
    both = predict_cases(session, [g.id, world.cases["D"].id, world.cases["A"].id], calendar, NOW)
    assert set(both) == {g.id, world.cases["D"].id}


def test_a_running_pause_pushes_its_step_back(session, clock, world) -> None:
    g = world.accept("G", at(11, 20, 9))
    clock.set(at(11, 20, 10))
    pause_task(session, clock, world.staff["alpha"], world.task("G", "review_alpha").id, "special_procedure", "专家评审",
               "expert_review")
    later = datetime(2026, 11, 25, 9, tzinfo=OFFICE_TZ)
    prediction = predict_case(session, g, load_calendar(session), later)
    # alpha: 2 typical + 3 paused so far (Nov 23, 24, 25) from Nov 20 = Nov 27; the others by today.
    assert local_day(prediction.predicted_completion) == date(2026, 11, 27)
    assert prediction.bottleneck_department == "alpha" and prediction.misses_promise is False


def test_without_history_a_step_is_expected_to_use_its_limit(session, clock) -> None:
    clock.set(NOW)
    staff = make_staff(session, clock)
    deploy_definition(session, clock, bpmn("parallel_three.bpmn"), filename="parallel_three.bpmn",
                      catalog={"promised_days": 8, "statutory_days": 20})
    case = make_case(session, clock, staff["window"])
    prediction = predict_case(session, case, load_calendar(session), NOW)
    # gamma's limit is 10 working days: Dec 7, past the promise of 8 (Dec 3).
    assert local_day(prediction.predicted_completion) == date(2026, 12, 7)
    assert (prediction.bottleneck_department, prediction.misses_promise) == ("gamma", True)


def test_the_duration_cache_recomputes_after_its_ttl(session, world) -> None:
    cache = DurationCache(ttl=timedelta(minutes=10))
    calendar = load_calendar(session)
    first = cache.get(session, calendar, NOW)
    assert cache.get(session, calendar, NOW + timedelta(minutes=9)) is first
    assert cache.get(session, calendar, NOW + timedelta(minutes=11)) is not first
    cache.clear()
    assert cache.get(session, calendar, NOW) == first
