"""The working-day calendar kept in the database, so an admin can change it without a release.

Years without a row fall back to `official_year` (the `holidays` package: confirmed where it has
the State Council's notice, else statutory days only, flagged unconfirmed).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.calendar import CalendarYear, WorkingCalendar, official_year
from engine.clock import Clock
from engine.errors import InvalidInput
from engine.models import CalendarDay, CalendarSchedule, User

HOLIDAY, WORKDAY = "holiday", "workday"
SEEDED_YEARS = range(2024, 2027)


@dataclass(frozen=True)
class YearView:
    year: int
    confirmed: bool
    source: str
    holidays: list[date]
    workdays: list[date]
    notes: dict[date, str]

    def to_dict(self) -> dict:
        return {"year": self.year, "confirmed": self.confirmed, "source": self.source,
                "holidays": [d.isoformat() for d in self.holidays], "workdays": [d.isoformat() for d in self.workdays]}


class _CalendarCache:
    """One parsed calendar per process, rebuilt when any year's row changed (one small query)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._calendar: WorkingCalendar | None = None

    def get(self, session: Session) -> WorkingCalendar:
        key = tuple(session.execute(
            select(func.count(), func.sum(CalendarSchedule.revision), func.max(CalendarSchedule.updated_at))
        ).one())
        with self._lock:
            if self._calendar is not None and key == self._key:
                return self._calendar
        calendar = WorkingCalendar(_stored_years(session))
        with self._lock:
            self._key, self._calendar = key, calendar
        return calendar


_cache = _CalendarCache()


def load_calendar(session: Session) -> WorkingCalendar:
    return _cache.get(session)


class _CalendarOnDemand:
    """The working calendar, read at first use. Checking the cached calendar is still a query, and
    most actions (a review with no pause, opening no task, firing no timer) never need it."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._calendar: WorkingCalendar | None = None

    def __getattr__(self, name: str) -> Any:
        if self._calendar is None:
            self._calendar = load_calendar(self._session)
        return getattr(self._calendar, name)


def calendar_on_demand(session: Session) -> WorkingCalendar:
    """`load_calendar`, deferred until a method of the calendar is called (in the same transaction)."""
    return cast(WorkingCalendar, _CalendarOnDemand(session))


def _stored_years(session: Session) -> list[CalendarYear]:
    schedules = {s.year: s for s in session.scalars(select(CalendarSchedule))}
    days: dict[int, dict[str, set[date]]] = {y: {HOLIDAY: set(), WORKDAY: set()} for y in schedules}
    for row in session.scalars(select(CalendarDay)):
        if row.day.year in days:
            days[row.day.year][row.kind].add(row.day)
    return [
        CalendarYear(year, frozenset(days[year][HOLIDAY]), frozenset(days[year][WORKDAY]), schedule.confirmed)
        for year, schedule in schedules.items()
    ]


def seed_calendar(session: Session, clock: Clock, years: Iterable[int] = SEEDED_YEARS) -> list[int]:
    """Store the package's schedule for `years` not stored yet; return the years added."""
    stored = set(session.scalars(select(CalendarSchedule.year)))
    added = []
    for year in years:
        if year in stored:
            continue
        official = official_year(year)
        _write_year(session, clock, None, year, official.holidays, official.workdays, official.confirmed,
                    "holidays package" if official.confirmed else "statutory days only")
        added.append(year)
    return added


def year_view(session: Session, year: int) -> YearView:
    schedule = session.get(CalendarSchedule, year)
    if schedule is None:
        official = official_year(year)
        return YearView(year, official.confirmed, "holidays package (not stored)", sorted(official.holidays),
                        sorted(official.workdays), {})
    rows = list(session.scalars(select(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))).order_by(CalendarDay.day)))
    return YearView(year, schedule.confirmed, schedule.source, [r.day for r in rows if r.kind == HOLIDAY],
                    [r.day for r in rows if r.kind == WORKDAY], {r.day: r.note for r in rows if r.note})


def replace_year(
    session: Session, clock: Clock, actor: User | None, year: int, holidays: Iterable[date], workdays: Iterable[date],
    confirmed: bool = True, source: str = "admin",
) -> None:
    """Replace `year`'s schedule. The caller recomputes open clocks (see `deadlines.recompute_open_clocks`)."""
    holidays, workdays = set(holidays), set(workdays)
    for day in holidays | workdays:
        if day.year != year:
            raise InvalidInput(f"{day.isoformat()} is not in {year}")
    if holidays & workdays:
        raise InvalidInput(f"{min(holidays & workdays).isoformat()} cannot be both a holiday and a make-up workday")
    weekday_workdays = sorted(d for d in workdays if d.weekday() < 5)
    if weekday_workdays:
        raise InvalidInput(f"{weekday_workdays[0].isoformat()} is a weekday; make-up workdays (调休) are weekend days")
    _write_year(session, clock, actor, year, holidays, workdays, confirmed, source)


def add_day(session: Session, clock: Clock, actor: User | None, day: date, kind: str, note: str = "") -> None:
    """Add one holiday, local closure (a holiday with a note) or make-up workday to its year."""
    if kind not in (HOLIDAY, WORKDAY):
        raise InvalidInput("kind must be 'holiday' or 'workday'")
    view = year_view(session, day.year)
    holidays, workdays = set(view.holidays), set(view.workdays)
    holidays.discard(day)
    workdays.discard(day)
    (holidays if kind == HOLIDAY else workdays).add(day)
    replace_year(session, clock, actor, day.year, holidays, workdays, view.confirmed, view.source if view.source != "holidays package (not stored)" else "holidays package")
    if note:
        session.get(CalendarDay, day).note = note[:200]


def import_official_year(session: Session, clock: Clock, actor: User | None, year: int) -> YearView:
    """Take the State Council's published schedule for `year` from the `holidays` package."""
    official = official_year(year)
    if not official.confirmed:
        raise InvalidInput(
            f"the installed holidays package has no official schedule for {year} yet; "
            "upgrade it or enter the notice's days by hand"
        )
    replace_year(session, clock, actor, year, official.holidays, official.workdays, True, "holidays package")
    return year_view(session, year)


def _write_year(session: Session, clock: Clock, actor: User | None, year: int, holidays: Iterable[date],
                workdays: Iterable[date], confirmed: bool, source: str) -> None:
    session.execute(delete(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))))
    session.add_all([CalendarDay(day=d, kind=HOLIDAY, note="") for d in sorted(holidays)])
    session.add_all([CalendarDay(day=d, kind=WORKDAY, note="") for d in sorted(workdays)])
    schedule = session.get(CalendarSchedule, year) or CalendarSchedule(year=year)
    schedule.confirmed, schedule.source, schedule.updated_at = confirmed, source, clock.now()
    schedule.revision = (schedule.revision or 0) + 1
    schedule.updated_by_id = actor.id if actor else None
    session.add(schedule)
    session.flush()
