"""Working-day arithmetic as Chinese administrative law counts it.

行政许可法 art. 82 measures time limits in working days, excluding statutory
holidays; 民法典 art. 201 leaves the day of the triggering event uncounted.
Everything here is pure: the current time is always passed in.
"""

from __future__ import annotations

import dataclasses
import functools
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "OFFICE_TZ",
    "OFFICE_CUTOFF",
    "CalendarYear",
    "official_year",
    "WorkingCalendar",
    "to_office_time",
]

OFFICE_TZ = ZoneInfo("Asia/Shanghai")

# Applications accepted after the window closes count as accepted the next working day.
OFFICE_CUTOFF = time(17, 30)

SATURDAY = 5


@dataclass(frozen=True)
class CalendarYear:
    """One year's days off and 调休 make-up working days."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    confirmed: bool

    def __post_init__(self) -> None:
        # Callers may pass sets or lists; freezing keeps the dataclass hashable and safe to share.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        strays = sorted(d for d in self.holidays | self.workdays if d.year != self.year)
        if strays:
            raise ValueError(f"{self.year} calendar holds days of another year: {strays}")
        clashes = sorted(self.holidays & self.workdays)
        if clashes:
            raise ValueError(f"days both off and worked in {self.year}: {clashes}")

    def with_days_off(self, *days: date) -> CalendarYear:
        """This year with extra closures (e.g. a local closure an administrator adds)."""
        closed = frozenset(days)
        return dataclasses.replace(
            self, holidays=self.holidays | closed, workdays=self.workdays - closed
        )

    def is_working_day(self, day: date) -> bool:
        """Make-up workday: yes; day off: no; otherwise Monday to Friday."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < SATURDAY

    def working_days(self) -> tuple[date, ...]:
        """Every working day of the year, in order."""
        first = date(self.year, 1, 1)
        length = (date(self.year + 1, 1, 1) - first).days
        every_day = (first + timedelta(days=offset) for offset in range(length))
        return tuple(day for day in every_day if self.is_working_day(day))


@functools.cache
def official_year(year: int) -> CalendarYear:
    """The schedule the `holidays` package knows for `year`.

    Confirmed when the package carries the State Council notice for the year
    (its 调休 swaps); otherwise the package's computed statutory days, with
    weekend holidays moved to the next weekday, and no make-up days.
    """
    known = holidays.country_holidays("CN", years=year)
    days_off = frozenset(day for day in known if day.year == year)
    # The package records every notice's swaps, so this also holds a make-up day that falls in
    # `year` but was set by the next year's notice (e.g. 2006-12-30 for New Year 2007).
    # getattr: a `holidays` release without the attribute just leaves every year unconfirmed.
    make_up_days = frozenset(
        day for day in getattr(known, "weekend_workdays", ()) if day.year == year
    )
    # A year keyed in special_public_holidays is one whose notice the package has transcribed.
    published = year in getattr(known, "special_public_holidays", {})
    if published and make_up_days:
        return CalendarYear(year, days_off, make_up_days, confirmed=True)
    # Without a notice we keep only what the law fixes: the statutory days, plus the weekday
    # given in lieu when one falls on a weekend (全国年节及纪念日放假办法: 适逢星期六、星期日，
    # 应当在工作日补假). 调休 swaps are not guessed: only the yearly notice sets them.
    return CalendarYear(year, days_off, frozenset(), confirmed=False)


class WorkingCalendar:
    """Working-day arithmetic over per-year schedules."""

    def __init__(
        self,
        years: Iterable[CalendarYear] = (),
        fallback: Callable[[int], CalendarYear] = official_year,
    ) -> None:
        self._years: dict[int, CalendarYear] = {}
        for calendar_year in years:
            if calendar_year.year in self._years:
                raise ValueError(f"two calendars given for {calendar_year.year}")
            self._years[calendar_year.year] = calendar_year
        self._fallback = fallback
        # Sorted working days per year: lets add/count use bisect instead of walking day by day.
        self._working_days: dict[int, tuple[date, ...]] = {}

    def year(self, year: int) -> CalendarYear:
        """The schedule for `year`: given explicitly, else from the fallback (cached)."""
        if year not in self._years:
            calendar_year = self._fallback(year)
            if calendar_year.year != year:
                raise ValueError(f"fallback returned {calendar_year.year} for {year}")
            self._years[year] = calendar_year
        return self._years[year]

    def is_working_day(self, day: date) -> bool:
        """Whether the office works on `day`."""
        return self.year(day.year).is_working_day(day)

    def is_confirmed(self, day: date) -> bool:
        """Whether `day`'s year follows a published schedule rather than an estimate."""
        return self.year(day.year).confirmed

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.add_working_days(day, 1)

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start`, `start` itself not counted."""
        if days < 0:
            raise ValueError(f"cannot count {days} working days")
        if days == 0:
            return start
        year = start.year
        index = bisect_right(self._working_days_of(year), start) + days - 1
        # Spill into the following years until the index lands inside one.
        while index >= len(self._working_days_of(year)):
            index -= len(self._working_days_of(year))
            year += 1
        return self._working_days_of(year)[index]

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall in (start, end]."""
        if end <= start:
            return 0
        total = 0
        for year in range(start.year, end.year + 1):
            working_days = self._working_days_of(year)
            after_start = bisect_right(working_days, start) if year == start.year else 0
            up_to_end = bisect_right(working_days, end) if year == end.year else len(working_days)
            total += up_to_end - after_start
        return total

    def first_counting_day(self, accepted_at: datetime, cutoff: time = OFFICE_CUTOFF) -> date:
        """The day a time limit counts from; `cutoff` is local wall-clock time.

        Acceptance after the cutoff or on a non-working day counts as acceptance
        on the next working day.
        """
        local = to_office_time(accepted_at)
        day = local.date()
        if local.time() > cutoff or not self.is_working_day(day):
            return self.next_working_day(day)
        return day

    def due_date(self, accepted_at: datetime, days: int, cutoff: time = OFFICE_CUTOFF) -> date:
        """The last day of a limit of `days` working days from acceptance."""
        return self.add_working_days(self.first_counting_day(accepted_at, cutoff), days)

    def due_at(self, accepted_at: datetime, days: int, cutoff: time = OFFICE_CUTOFF) -> datetime:
        """The instant (aware UTC) a limit of `days` working days expires."""
        return self.end_of_day(self.due_date(accepted_at, days, cutoff))

    def end_of_day(self, day: date) -> datetime:
        """The last instant of local `day`, as an aware UTC datetime."""
        return datetime.combine(day, time.max, tzinfo=OFFICE_TZ).astimezone(timezone.utc)

    def _working_days_of(self, year: int) -> tuple[date, ...]:
        if year not in self._working_days:
            self._working_days[year] = self.year(year).working_days()
        return self._working_days[year]


_EPOCH_DAY = date(1970, 1, 1)


def office_day_number(moment: datetime) -> int:
    """Days since 1970-01-01 of the office-local day of `moment`: an integer SQL can group by and look
    working days up with, without parsing a timestamp per row."""
    return (moment.astimezone(OFFICE_TZ).date() - _EPOCH_DAY).days


def to_office_time(moment: datetime) -> datetime:
    """`moment` in office local time; naive datetimes are refused as ambiguous."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware datetime")
    return moment.astimezone(OFFICE_TZ)
