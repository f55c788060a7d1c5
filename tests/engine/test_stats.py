"""Statistics against hand-computed values on a small fixed data set.

The world (`build_world`): six cases of the three-department flow (promised limit 8 working
days, statutory 20), accepted and worked through the engine at chosen times. Working days are
counted in (start day, stop day], office-local dates, 2026 calendar: National Day Oct 1–7 off,
Saturday Oct 10 worked. `now` is Monday 2026-11-23 09:00.

| case | accepted (local)      | channel | alpha (limit 5)          | beta (limit 3)      | gamma (limit 10)   | concluded |
|------|-----------------------|---------|--------------------------|---------------------|--------------------|-----------|
| A    | Tue Sep 29 10:00      | window  | Fri Oct 9: 3 wd, on time | Mon Oct 12: 5, late | Sep 29: 0          | Mon Oct 12 |
| B    | Mon Nov 2 09:00       | online  | paused Nov 3→5 (2 wd); Mon Nov 9: 5-2 = 3 | Nov 2: 0 | Fri Nov 13: 9 | Fri Nov 13 |
| C    | Wed Nov 4 09:00       | window  | Nov 4: 0                 | Nov 4: 0            | Nov 4: 0           | Nov 4 (马上办) |
| D    | Mon Nov 9 09:00       | partner | open, due Nov 16: red    | Tue Nov 10: 1       | open, due Nov 23   | open       |
| E    | Mon Nov 16 09:00      | window  | 补正 Nov 17→19 (2 wd); Fri Nov 20: 4-2 = 2 | Nov 16: 0 | Fri Nov 20: 4 | Fri Nov 20, 2 visits |
| F    | Tue Sep 1 00:30       | online  | Sep 1: 0                 | Sep 1: 0            | Sep 1: 0           | Sep 1 (马上办) |

F is accepted half an hour after local midnight: in UTC it is still Monday Aug 31, so it tests
that days and months are taken in office time. Ratings: A 5, B 1 (rectified), C 2 (not rectified).
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import OFFICE_TZ
from engine.calendar_store import load_calendar
from engine.cases import accept_case
from engine.definitions import deploy_definition
from engine.errors import InvalidInput, PermissionDenied
from engine.models import Case, Rating, Task
from engine.stats import (
    DayIndex, Grade, Period, channel_counts, channel_ratios, department_performance, departments_in_scope, grade_of,
    grade_thresholds, matter_performance, monthly_by_department, monthly_by_matter, rating_levels, rating_ratios,
    reviewer_performance,
)
from engine.suspensions import pause_task, resume_task
from engine.tasks import claim_task, complete_task
from engine.vocab import OPEN_TASK_STATES, TaskKind
from tests.factories import bpmn, make_staff, make_user

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=OFFICE_TZ)
DEPARTMENT_OF = {"review_alpha": "alpha", "review_beta": "beta", "review_gamma": "gamma", "delivery": "window",
                 "supplement_alpha": "window"}


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=OFFICE_TZ)


class World:
    """The fixed data set, built with the engine's own services."""

    def __init__(self, session, clock) -> None:
        self.session, self.clock = session, clock
        clock.set(at(8, 31, 9))
        self.staff = make_staff(session, clock)
        self.staff["alpha_head"] = make_user(session, clock, "alpha_head", ["department_head"], "alpha")
        self.staff["alpha2"] = make_user(session, clock, "alpha2", ["reviewer"], "alpha")
        deploy_definition(session, clock, bpmn("parallel_three.bpmn"), filename="parallel_three.bpmn",
                          catalog={"promised_days": 8, "statutory_days": 20})
        self.cases: dict[str, Case] = {}

    def accept(self, name: str, when: datetime, channel: str = "window") -> Case:
        self.clock.set(when)
        case = accept_case(self.session, self.clock, self.staff["window"], "parallel_three", {"name": f"申请人{name}"},
                           {}, channel=channel)
        self.cases[name] = case
        return case

    def task(self, name: str, element: str) -> Task:
        return next(t for t in self.cases[name].tasks if t.element_id == element and t.state in OPEN_TASK_STATES)

    def complete(self, name: str, element: str, when: datetime, outcome: str = "approve", who: str | None = None) -> Task:
        self.clock.set(when)
        task = self.task(name, element)
        review = task.kind == TaskKind.REVIEW
        done = complete_task(self.session, self.clock, self.staff[who or DEPARTMENT_OF[element]], task.id,
                             outcome if review else None, "意见" if review else None)
        self.session.refresh(self.cases[name])
        return done

    def rate(self, name: str, level: int, rectified: datetime | None = None) -> None:
        case = self.cases[name]
        self.session.add(Rating(case_id=case.id, level=level, comment="" if level > 2 else "慢", channel="online",
                                rated_at=case.completed_at, rectified_at=rectified))


def build_world(session, clock) -> World:
    w = World(session, clock)
    w.accept("F", at(9, 1, 0, 30), "online")
    w.complete("F", "review_alpha", at(9, 1, 10))
    w.complete("F", "review_beta", at(9, 1, 11))
    w.complete("F", "review_gamma", at(9, 1, 14))
    w.complete("F", "delivery", at(9, 1, 16))

    w.accept("A", at(9, 29, 10))
    w.complete("A", "review_gamma", at(9, 29, 16))
    w.complete("A", "review_alpha", at(10, 9, 11))
    w.complete("A", "review_beta", at(10, 12, 9, 30))
    w.complete("A", "delivery", at(10, 12, 15))

    w.accept("B", at(11, 2, 9), "online")
    w.complete("B", "review_beta", at(11, 2, 15))
    clock.set(at(11, 3, 10))
    pause_task(session, clock, w.staff["alpha"], w.task("B", "review_alpha").id, "special_procedure", "现场踏勘", "site_survey")
    clock.set(at(11, 5, 15))
    resume_task(session, clock, w.staff["alpha"], w.task("B", "review_alpha").id)
    w.complete("B", "review_alpha", at(11, 9, 10))

    w.accept("C", at(11, 4, 9))
    for element, hour in (("review_alpha", 10), ("review_beta", 10), ("review_gamma", 11), ("delivery", 15)):
        w.complete("C", element, at(11, 4, hour))

    w.accept("D", at(11, 9, 9), "partner")
    w.complete("D", "review_beta", at(11, 10, 10))
    clock.set(at(11, 10, 11))
    claim_task(session, clock, w.staff["alpha"], w.task("D", "review_alpha").id)

    w.complete("B", "review_gamma", at(11, 13, 10))
    w.complete("B", "delivery", at(11, 13, 16))

    w.accept("E", at(11, 16, 9))
    w.complete("E", "review_beta", at(11, 16, 14))
    w.complete("E", "review_alpha", at(11, 17, 10), outcome="return")
    w.complete("E", "supplement_alpha", at(11, 19, 10))
    w.complete("E", "review_alpha", at(11, 20, 10))
    w.complete("E", "review_gamma", at(11, 20, 11))
    w.complete("E", "delivery", at(11, 20, 15))

    w.rate("A", 5)
    w.rate("B", 1, rectified=at(11, 18))
    w.rate("C", 2)
    session.flush()
    clock.set(NOW)
    return w


@pytest.fixture
def world(session, clock) -> World:
    return build_world(session, clock)


def figures(rows) -> dict[str, tuple]:
    return {r.key: (r.cases, r.completed, r.on_time, r.overdue, r.working_days, r.measured) for r in rows}


def test_the_world_is_as_the_table_says(session, world) -> None:
    statuses = {name: case.status for name, case in world.cases.items()}
    assert statuses == {"A": "completed", "B": "completed", "C": "completed", "D": "in_progress", "E": "completed",
                        "F": "completed"}
    assert (world.cases["E"].visits, world.cases["B"].visits, world.cases["F"].visits) == (2, 0, 0)


def test_department_performance(session, clock, world) -> None:
    rows = department_performance(session, load_calendar(session), NOW)
    # (cases, completed, on time, overdue, working days summed, measured)
    assert figures(rows) == {
        "alpha": (6, 5, 5, 1, 3 + 3 + 0 + 2 + 0, 5),   # D running past Nov 16
        "beta": (6, 6, 5, 1, 5 + 0 + 0 + 1 + 0 + 0, 6),  # A finished after Oct 9
        "gamma": (6, 5, 5, 0, 0 + 9 + 0 + 4 + 0, 5),   # D due today: yellow, not overdue
        "window": (6, 6, 6, 0, 0, 6),                  # the intake steps, done at acceptance
    }
    by_key = {r.key: r for r in rows}
    assert by_key["alpha"].avg_working_days == pytest.approx(1.6)
    assert by_key["beta"].on_time_rate == pytest.approx(5 / 6) and by_key["beta"].avg_working_days == pytest.approx(1.0)
    assert by_key["gamma"].avg_working_days == pytest.approx(2.6)
    assert {r.key: r.grade for r in rows} == {"alpha": Grade.EXCELLENT, "beta": Grade.FAIL, "gamma": Grade.EXCELLENT,
                                              "window": Grade.EXCELLENT}
    assert [r.key for r in rows][-1] == "beta"  # the league puts the worst last
    assert by_key["beta"].to_dict() == {"cases": 6, "completed": 6, "on_time": 5, "measured": 6, "on_time_rate": 0.8333,
                                        "overdue": 1, "avg_working_days": 1.0, "grade": "fail"}


def test_a_period_counts_the_steps_started_in_it(session, world) -> None:
    calendar = load_calendar(session)
    november = department_performance(session, calendar, NOW, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert figures(november)["alpha"] == (4, 3, 3, 1, 3 + 0 + 2, 3)
    # F started at 00:30 on Sep 1 office time (still Aug 31 in UTC): it belongs to September.
    assert figures(department_performance(session, calendar, NOW, Period(date(2026, 9, 1), date(2026, 9, 1))))["alpha"] == (1, 1, 1, 0, 0, 1)
    assert figures(department_performance(session, calendar, NOW, Period(None, date(2026, 8, 31))))["alpha"] == (0, 0, 0, 0, 0, 0)
    only_alpha = department_performance(session, calendar, NOW, department_ids=[world.staff["alpha"].department_id])
    assert [r.key for r in only_alpha] == ["alpha"]


def test_matter_performance_uses_the_promised_clock(session, world) -> None:
    (row,) = matter_performance(session, load_calendar(session), NOW)
    # A 5 wd; B 9 - 2 paused (the step's pause pauses the case clocks) = 7; C 0; E 4 - 2 (补正) = 2; F 0.
    # D: promised Nov 19, still open on Nov 23 -> overdue.
    assert (row.key, row.name) == ("parallel_three", "三部门并联测试")
    assert figures([row])["parallel_three"] == (6, 5, 5, 1, 5 + 7 + 0 + 2 + 0, 5)
    assert row.avg_working_days == pytest.approx(2.8) and row.grade == Grade.EXCELLENT


def test_reviewer_performance_credits_the_completion_that_stopped_the_clock(session, world) -> None:
    rows = figures(reviewer_performance(session, load_calendar(session), NOW))
    # alpha finished A, B, C, F and E's reopened review (E's first row only returned it for 补正),
    # and holds D's claimed, overdue task.
    assert rows["alpha"] == (6, 5, 5, 1, 8, 5)
    assert rows["beta"] == (6, 6, 5, 1, 6, 6)
    assert rows["gamma"] == (5, 5, 5, 0, 13, 5)
    assert rows["window"] == (6, 6, 6, 0, 0, 6)  # intake steps; delivery and 补正 have no clock
    scoped = reviewer_performance(session, load_calendar(session), NOW, department_ids=[world.staff["beta"].department_id])
    assert [r.key for r in scoped] == ["beta"]


def test_monthly_volume_by_office_month(session, world) -> None:
    calendar = load_calendar(session)
    assert [(m.month, m.key, m.cases) for m in monthly_by_matter(session, calendar, NOW)] == [
        ("2026-09", "parallel_three", 2), ("2026-11", "parallel_three", 4)]
    by_department = {(m.month, m.key): m.cases for m in monthly_by_department(session, calendar, NOW)}
    assert by_department == {(month, code): n for code in ("alpha", "beta", "gamma", "window")
                             for month, n in (("2026-09", 2), ("2026-11", 4))}
    september = monthly_by_matter(session, calendar, NOW, Period(date(2026, 9, 1), date(2026, 9, 30)))
    assert [(m.month, m.cases) for m in september] == [("2026-09", 2)]


def test_channel_ratios(session, world) -> None:
    ratios = {r.indicator: (r.numerator, r.denominator) for r in channel_ratios(session, load_calendar(session), NOW)}
    assert ratios == {
        "one_visit": (4, 5),     # concluded A, B, C, E, F; E came back with the 补正 materials
        "online": (3, 6),        # B and F online, D from a partner region
        "on_the_spot": (2, 5),   # C, and F (accepted and concluded on Sep 1 office time)
    }
    assert channel_counts(session, load_calendar(session), NOW) == {"window": 3, "online": 2, "partner": 1}


def test_rating_ratios(session, world) -> None:
    ratios = {r.indicator: (r.numerator, r.denominator, r.ratio) for r in rating_ratios(session)}
    assert ratios == {"rated": (3, 5, 0.6), "rectified": (1, 2, 0.5)}
    assert rating_levels(session) == {1: 1, 2: 1, 3: 0, 4: 0, 5: 1}
    assert {r.indicator: r.ratio for r in rating_ratios(session, Period(date(2026, 12, 1), None))} == {"rated": None, "rectified": None}


def test_day_index_counts_working_days_across_national_day(session) -> None:
    calendar = load_calendar(session)
    index = DayIndex("sqlite", calendar, date(2026, 9, 28), date(2026, 10, 13))
    ordinal = dict(zip((date(2026, 9, 28 + i) if i < 3 else date(2026, 10, i - 2) for i in range(16)), index.ordinals))
    assert ordinal[date(2026, 10, 12)] - ordinal[date(2026, 9, 29)] == calendar.working_days_between(date(2026, 9, 29), date(2026, 10, 12)) == 5
    assert ordinal[date(2026, 10, 10)] - ordinal[date(2026, 10, 9)] == 1  # the 调休 Saturday is worked


def test_grades_and_thresholds() -> None:
    thresholds = grade_thresholds({"excellent": 0.99, "pass": 0.8})
    assert [grade_of(rate, thresholds) for rate in (1.0, 0.99, 0.96, 0.85, 0.79, None)] == [
        Grade.EXCELLENT, Grade.EXCELLENT, Grade.GOOD, Grade.PASS, Grade.FAIL, None]
    with pytest.raises(InvalidInput):
        grade_thresholds({"good": 0.995})
    with pytest.raises(InvalidInput):
        grade_thresholds({"superb": 1})


def test_department_staff_see_only_their_own_figures(session, world) -> None:
    staff = world.staff
    assert departments_in_scope(session, staff["supervisor"], None) is None
    assert departments_in_scope(session, staff["supervisor"], "beta") == [staff["beta"].department_id]
    with pytest.raises(PermissionDenied):
        departments_in_scope(session, staff["alpha"], None)
    assert departments_in_scope(session, staff["alpha"], None, own_by_default=True) == [staff["alpha"].department_id]
    assert departments_in_scope(session, staff["alpha_head"], "alpha") == [staff["alpha"].department_id]
    with pytest.raises(PermissionDenied):
        departments_in_scope(session, staff["alpha"], "beta")
    with pytest.raises(PermissionDenied):
        departments_in_scope(session, staff["analyst"], None, own_by_default=True)
