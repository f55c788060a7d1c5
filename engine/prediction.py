"""Predicted completion of open cases, from how long each step has taken before.

For every open department step the history gives a typical handling time: the mean working days
(paused time excluded, as `engine.stats` measures it) of the same step (element and department)
finished over the last year. A running step is expected to finish that many working days after
it started, plus the working days it has been paused, and never before today. The case is
expected to conclude when its last open step does; that step's department is the bottleneck.
A step without history is expected to use its whole limit. A case whose expected completion is
after its promised due date (承诺时限) is flagged, however green its clocks still are.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine.calendar import WorkingCalendar, office_day_number
from engine.calendar_store import calendar_on_demand
from engine.deadlines import local_day, start_of_day
from engine.models import Case, Clock, Department
from engine.stats import DayIndex
from engine.vocab import CaseStatus, ClockKind

LOOKBACK_DAYS = 365

StepKey = tuple[str, int]  # (element id, department id)


@dataclass(frozen=True)
class StepHistory:
    finished: int
    working_days: int  # summed

    @property
    def mean(self) -> float:
        return self.working_days / self.finished


@dataclass(frozen=True)
class Prediction:
    predicted_completion: datetime | None
    bottleneck_department: str | None
    misses_promise: bool


NO_PREDICTION = Prediction(None, None, False)


def step_durations(
    session: Session, calendar: WorkingCalendar, now: datetime, keys: Iterable[StepKey] | None = None,
) -> dict[StepKey, StepHistory]:
    """Handling time of each step, over the steps started in the last year and finished: one GROUP BY."""
    today = local_day(now)
    first = today - timedelta(days=LOOKBACK_DAYS)
    index = DayIndex(session.get_bind().dialect.name, calendar, first - timedelta(days=1), today + timedelta(days=366))
    k = Clock
    query = (
        select(k.element_id, k.department_id, func.count(),
               func.sum(index.handling_days(k)))
        .where(k.kind == ClockKind.TASK, k.stopped_day.is_not(None), k.department_id.is_not(None),
               k.element_id.is_not(None), k.started_day >= office_day_number(start_of_day(first)))
        .group_by(k.department_id, k.element_id)
    )
    wanted: set[StepKey] | None = None
    if keys is not None:
        wanted = set(keys)
        if not wanted:
            return {}
        query = query.where(k.department_id.in_({d for _e, d in wanted}), k.element_id.in_({e for e, _d in wanted}))
    return {(element, department): StepHistory(int(n), int(days or 0))
            for element, department, n, days in session.execute(query)
            if wanted is None or (element, department) in wanted}


class DurationCache:
    """Step durations for every step, recomputed at most every `ttl`.

    The history moves by a handful of steps an hour while the board is opened all day; one
    aggregate over a year of steps per `ttl` keeps the board's cost to its own open tasks.
    """

    def __init__(self, ttl: timedelta = timedelta(minutes=10)) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._at: datetime | None = None
        self._value: dict[StepKey, StepHistory] = {}

    def get(self, session: Session, calendar: WorkingCalendar, now: datetime) -> dict[StepKey, StepHistory]:
        with self._lock:
            if self._at is not None and self._at <= now < self._at + self.ttl:
                return self._value
        return self.refresh(session, calendar, now)

    @property
    def computed_at(self) -> datetime | None:
        return self._at

    def refresh(self, session: Session, calendar: WorkingCalendar, now: datetime) -> dict[StepKey, StepHistory]:
        """Recompute now (the scheduler does it ahead of the ttl, so no board request waits for it)."""
        value = step_durations(session, calendar, now)
        with self._lock:
            self._at, self._value = now, value
        return value

    def clear(self) -> None:
        with self._lock:
            self._at, self._value = None, {}


@dataclass(frozen=True)
class _OpenStep:
    case_id: int
    element_id: str | None
    department_id: int | None
    started_at: datetime
    limit_days: int
    paused_days: int
    extended_days: int
    paused_since: datetime | None
    due_at: datetime


def _expected_day(step: _OpenStep, history: Mapping[StepKey, StepHistory], calendar: WorkingCalendar, today: date) -> date:
    known = history.get((step.element_id or "", step.department_id or 0))
    typical = math.ceil(known.mean) if known else step.limit_days + step.extended_days
    paused = step.paused_days
    if step.paused_since is not None:  # a running pause: its working days so far push the step back
        paused += calendar.working_days_between(local_day(step.paused_since), today)
    expected = calendar.add_working_days(local_day(step.started_at), max(typical, 0) + paused)
    return max(expected, today)


def predict_cases(
    session: Session, case_ids: Iterable[int] | Select[Any], calendar: WorkingCalendar, now: datetime,
    durations: Mapping[StepKey, StepHistory] | None = None,
) -> dict[int, Prediction]:
    """Predictions for the given open cases (by id, or a SELECT of ids); absent for cases with no open step."""
    if not isinstance(case_ids, Select):
        case_ids = sorted(set(case_ids))
        if not case_ids:
            return {}
    k = Clock
    steps = [_OpenStep(*row) for row in session.execute(
        select(k.case_id, k.element_id, k.department_id, k.started_at, k.limit_days, k.paused_days, k.extended_days,
               k.paused_since, k.due_at)
        .where(k.case_id.in_(case_ids), k.kind == ClockKind.TASK, k.stopped_at.is_(None))
    )]
    if durations is None:
        durations = step_durations(session, calendar, now, {(s.element_id or "", s.department_id or 0) for s in steps})
    promised = dict(session.execute(
        select(k.case_id, k.due_at).where(k.case_id.in_(case_ids), k.kind == ClockKind.PROMISED)).all())
    codes = dict(session.execute(select(Department.id, Department.code)).all())
    today = local_day(now)
    # The step expected to finish last is the bottleneck; of two finishing the same day, the one
    # due earlier (the further behind).
    latest: dict[int, tuple[date, datetime, str | None]] = {}
    for step in steps:
        day = _expected_day(step, durations, calendar, today)
        best = latest.get(step.case_id)
        if best is None or day > best[0] or (day == best[0] and step.due_at < best[1]):
            latest[step.case_id] = (day, step.due_at, codes.get(step.department_id) if step.department_id else None)
    predictions = {}
    for case_id, (day, _due, department) in latest.items():
        completion = calendar.end_of_day(day)
        due = promised.get(case_id)
        predictions[case_id] = Prediction(completion, department, due is not None and completion > due)
    return predictions


def predict_case(
    session: Session, case: Case, calendar: WorkingCalendar, now: datetime,
    durations: Mapping[StepKey, StepHistory] | None = None,
) -> Prediction:
    """The prediction for one case; a concluded case (or one with no running step) has none."""
    if case.status != CaseStatus.IN_PROGRESS:
        return NO_PREDICTION
    return predict_cases(session, [case.id], calendar, now, durations).get(case.id, NO_PREDICTION)


def prediction_fields(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    """The fields the case JSON carries: `predicted_completion`, `bottleneck_department`, `misses_promise`."""
    # Read only if the case still runs: a concluded case has no prediction and needs no calendar.
    prediction = predict_case(session, case, calendar_on_demand(session), now)
    completion = prediction.predicted_completion
    return {"predicted_completion": completion.isoformat() if completion else None,
            "bottleneck_department": prediction.bottleneck_department, "misses_promise": prediction.misses_promise}
