"""Working-day arithmetic against the published State Council holiday notices.

Every expected date below was worked out by hand from the notices
(国办发明电〔2024〕12号 for 2025, 国办发明电〔2025〕7号 for 2026), not with the
code under test. The 2026 schedule, for reference:

    元旦   Jan 1 (Thu) – Jan 3 off;              Jan 4 (Sun) worked
    春节   Feb 15 (Sun) – Feb 23 (Mon) off;      Feb 14 (Sat), Feb 28 (Sat) worked
    清明   Apr 4 (Sat) – Apr 6 (Mon) off
    劳动节 May 1 (Fri) – May 5 (Tue) off;        May 9 (Sat) worked
    端午   Jun 19 (Fri) – Jun 21 off
    中秋   Sep 25 (Fri) – Sep 27 off
    国庆   Oct 1 (Thu) – Oct 7 (Wed) off;        Sep 20 (Sun), Oct 10 (Sat) worked

2027 has no notice yet: only its statutory days are known (Jan 1 is a Friday).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from engine.calendar import OFFICE_TZ, CalendarYear, WorkingCalendar, official_year

CALENDAR = WorkingCalendar()


def at(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An acceptance time on the office's wall clock."""
    return datetime(year, month, day, hour, minute, second, tzinfo=OFFICE_TZ)


def d(year: int, month: int, day: int) -> date:
    return date(year, month, day)


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


# (accepted at, limit in working days, due date)
DUE_DATES = [
    # --- New Year 2026: Jan 1–3 off, Sunday Jan 4 worked ---
    pytest.param(at(2025, 12, 31, 10), 0, d(2025, 12, 31), id="ny-wed-0"),
    pytest.param(at(2025, 12, 31, 10), 1, d(2026, 1, 4), id="ny-wed-1-lands-on-makeup-sunday"),
    pytest.param(at(2025, 12, 31, 10), 2, d(2026, 1, 5), id="ny-wed-2"),
    pytest.param(at(2025, 12, 31, 10), 5, d(2026, 1, 8), id="ny-wed-5"),
    pytest.param(at(2025, 12, 31, 10), 10, d(2026, 1, 15), id="ny-wed-10"),
    pytest.param(at(2025, 12, 31, 10), 20, d(2026, 1, 29), id="ny-wed-20"),
    # After 17:30 on Dec 31 the application counts as accepted on Jan 4.
    pytest.param(at(2025, 12, 31, 18), 1, d(2026, 1, 5), id="ny-wed-late-1"),
    pytest.param(at(2025, 12, 31, 18), 5, d(2026, 1, 9), id="ny-wed-late-5"),
    pytest.param(at(2026, 1, 1, 10), 1, d(2026, 1, 5), id="ny-on-holiday-1"),
    pytest.param(at(2026, 1, 3, 10), 0, d(2026, 1, 4), id="ny-saturday-0"),
    pytest.param(at(2026, 1, 4, 9), 0, d(2026, 1, 4), id="ny-makeup-sunday-0"),
    pytest.param(at(2026, 1, 4, 9), 1, d(2026, 1, 5), id="ny-makeup-sunday-1"),
    pytest.param(at(2026, 1, 4, 18), 1, d(2026, 1, 6), id="ny-makeup-sunday-late-1"),
    # The cutoff itself is still the same day; one second later is not.
    pytest.param(at(2025, 12, 30, 17, 30), 1, d(2025, 12, 31), id="cutoff-exactly"),
    pytest.param(at(2025, 12, 30, 17, 30, 1), 1, d(2026, 1, 4), id="cutoff-plus-one-second"),
    # --- Spring Festival 2026: Feb 15–23 off, Saturdays Feb 14 and Feb 28 worked ---
    pytest.param(at(2026, 2, 13, 10), 1, d(2026, 2, 14), id="sf-fri-1-lands-on-makeup-sat"),
    pytest.param(at(2026, 2, 13, 10), 2, d(2026, 2, 24), id="sf-fri-2"),
    pytest.param(at(2026, 2, 13, 10), 5, d(2026, 2, 27), id="sf-fri-5"),
    pytest.param(at(2026, 2, 13, 10), 10, d(2026, 3, 5), id="sf-fri-10"),
    pytest.param(at(2026, 2, 13, 10), 20, d(2026, 3, 19), id="sf-fri-20"),
    pytest.param(at(2026, 2, 12, 10), 20, d(2026, 3, 18), id="sf-thu-20"),
    # Late on Friday Feb 13 counts from the make-up Saturday Feb 14.
    pytest.param(at(2026, 2, 13, 18), 0, d(2026, 2, 14), id="sf-fri-late-0"),
    pytest.param(at(2026, 2, 13, 18), 1, d(2026, 2, 24), id="sf-fri-late-1"),
    pytest.param(at(2026, 2, 13, 18), 5, d(2026, 2, 28), id="sf-fri-late-5-lands-on-makeup-sat"),
    pytest.param(at(2026, 2, 13, 18), 10, d(2026, 3, 6), id="sf-fri-late-10"),
    pytest.param(at(2026, 2, 14, 9, 30), 0, d(2026, 2, 14), id="sf-makeup-sat-0"),
    pytest.param(at(2026, 2, 14, 9, 30), 1, d(2026, 2, 24), id="sf-makeup-sat-1"),
    pytest.param(at(2026, 2, 14, 19), 0, d(2026, 2, 24), id="sf-makeup-sat-late-0"),
    pytest.param(at(2026, 2, 14, 19), 1, d(2026, 2, 25), id="sf-makeup-sat-late-1"),
    pytest.param(at(2026, 2, 15, 10), 0, d(2026, 2, 24), id="sf-holiday-sunday-0"),
    pytest.param(at(2026, 2, 17, 10), 1, d(2026, 2, 25), id="sf-new-year-day-1"),
    pytest.param(at(2026, 2, 17, 10), 5, d(2026, 3, 2), id="sf-new-year-day-5"),
    pytest.param(at(2026, 2, 17, 10), 10, d(2026, 3, 9), id="sf-new-year-day-10"),
    pytest.param(at(2026, 2, 23, 8), 1, d(2026, 2, 25), id="sf-last-holiday-monday-1"),
    pytest.param(at(2026, 2, 24, 10), 4, d(2026, 2, 28), id="sf-tue-4-lands-on-makeup-sat"),
    pytest.param(at(2026, 2, 27, 18), 1, d(2026, 3, 2), id="sf-fri-late-before-makeup-sat"),
    # --- Qingming and Labour Day 2026 ---
    pytest.param(at(2026, 4, 3, 10), 1, d(2026, 4, 7), id="qingming-fri-1"),
    pytest.param(at(2026, 4, 30, 10), 1, d(2026, 5, 6), id="labour-thu-1"),
    pytest.param(at(2026, 4, 30, 10), 5, d(2026, 5, 11), id="labour-thu-5"),
    pytest.param(at(2026, 4, 30, 18), 3, d(2026, 5, 9), id="labour-thu-late-3-makeup-sat"),
    # --- National Day 2026: Sep 25 and Oct 1–7 off, Sun Sep 20 and Sat Oct 10 worked ---
    pytest.param(at(2026, 9, 18, 10), 1, d(2026, 9, 20), id="nd-fri-1-lands-on-makeup-sun"),
    pytest.param(at(2026, 9, 18, 10), 5, d(2026, 9, 24), id="nd-fri-5"),
    pytest.param(at(2026, 9, 18, 10), 10, d(2026, 10, 9), id="nd-fri-10"),
    pytest.param(at(2026, 9, 18, 10), 20, d(2026, 10, 22), id="nd-fri-20"),
    pytest.param(at(2026, 9, 19, 10), 1, d(2026, 9, 21), id="nd-saturday-1"),
    pytest.param(at(2026, 9, 20, 9), 0, d(2026, 9, 20), id="nd-makeup-sun-0"),
    pytest.param(at(2026, 9, 20, 9), 1, d(2026, 9, 21), id="nd-makeup-sun-1"),
    pytest.param(at(2026, 9, 24, 18), 1, d(2026, 9, 29), id="nd-thu-late-before-mid-autumn"),
    pytest.param(at(2026, 9, 25, 10), 1, d(2026, 9, 29), id="nd-mid-autumn-1"),
    pytest.param(at(2026, 9, 30, 10), 1, d(2026, 10, 8), id="nd-wed-1"),
    pytest.param(at(2026, 9, 30, 10), 3, d(2026, 10, 10), id="nd-wed-3-lands-on-makeup-sat"),
    pytest.param(at(2026, 9, 30, 10), 5, d(2026, 10, 13), id="nd-wed-5"),
    pytest.param(at(2026, 9, 30, 17, 45), 1, d(2026, 10, 9), id="nd-wed-late-1"),
    pytest.param(at(2026, 9, 30, 17, 45), 2, d(2026, 10, 10), id="nd-wed-late-2"),
    pytest.param(at(2026, 10, 1, 10), 1, d(2026, 10, 9), id="nd-on-holiday-1"),
    pytest.param(at(2026, 10, 1, 10), 10, d(2026, 10, 21), id="nd-on-holiday-10"),
    pytest.param(at(2026, 10, 10, 16), 1, d(2026, 10, 12), id="nd-makeup-sat-1"),
    pytest.param(at(2026, 10, 10, 18), 1, d(2026, 10, 13), id="nd-makeup-sat-late-1"),
    pytest.param(at(2026, 10, 11, 10), 1, d(2026, 10, 13), id="nd-sunday-after-1"),
    # --- 2025 ---
    pytest.param(at(2025, 1, 24, 10), 1, d(2025, 1, 26), id="2025-sf-makeup-sun"),
    pytest.param(at(2025, 1, 24, 10), 3, d(2025, 2, 5), id="2025-sf-3"),
    pytest.param(at(2025, 9, 30, 10), 1, d(2025, 10, 9), id="2025-nd-1"),
    pytest.param(at(2025, 9, 30, 10), 3, d(2025, 10, 11), id="2025-nd-3-makeup-sat"),
    # --- Across 2026 -> 2027 (2027 Jan 1 is a statutory holiday, Jan 2–3 a weekend) ---
    pytest.param(at(2026, 12, 31, 10), 1, d(2027, 1, 4), id="year-end-1"),
    pytest.param(at(2026, 12, 31, 10), 5, d(2027, 1, 8), id="year-end-5"),
    pytest.param(at(2026, 12, 31, 18), 10, d(2027, 1, 18), id="year-end-late-10"),
    pytest.param(at(2026, 12, 30, 10), 20, d(2027, 1, 28), id="year-end-20"),
    # 2026 has 248 working days; Jan 5 is the second, so 246 more end the year.
    pytest.param(at(2026, 1, 5, 10), 246, d(2026, 12, 31), id="whole-year-246"),
    pytest.param(at(2026, 1, 5, 10), 247, d(2027, 1, 4), id="whole-year-247"),
]


@pytest.mark.parametrize(("accepted_at", "days", "expected"), DUE_DATES)
def test_due_date(accepted_at: datetime, days: int, expected: date) -> None:
    assert CALENDAR.due_date(accepted_at, days) == expected


@pytest.mark.parametrize(
    ("accepted_at", "expected"),
    [
        # 09:45 UTC is 17:45 in Beijing: after the cutoff on Friday Feb 13.
        pytest.param(datetime(2026, 2, 13, 9, 45, tzinfo=timezone.utc), d(2026, 2, 14), id="utc-late"),
        # 16:30 UTC on Feb 13 is already 00:30 on the make-up Saturday in Beijing.
        pytest.param(datetime(2026, 2, 13, 16, 30, tzinfo=timezone.utc), d(2026, 2, 14), id="utc-next-day"),
        # 09:00 UTC is 17:00 in Beijing: still on time on Sep 30.
        pytest.param(datetime(2026, 9, 30, 9, 0, tzinfo=timezone.utc), d(2026, 9, 30), id="utc-on-time"),
        # 23:00 on Oct 9 at UTC-4 is 11:00 on Saturday Oct 10 (a make-up day) in Beijing.
        pytest.param(
            datetime(2026, 10, 9, 23, 0, tzinfo=timezone(timedelta(hours=-4))), d(2026, 10, 10), id="utc-minus-4"
        ),
    ],
)
def test_first_counting_day_converts_to_office_time(accepted_at: datetime, expected: date) -> None:
    assert CALENDAR.first_counting_day(accepted_at) == expected


def test_first_counting_day_honours_a_custom_cutoff() -> None:
    assert CALENDAR.first_counting_day(at(2026, 2, 13, 13), cutoff=time(12, 0)) == d(2026, 2, 14)
    assert CALENDAR.first_counting_day(at(2026, 2, 13, 11), cutoff=time(12, 0)) == d(2026, 2, 13)


def test_naive_acceptance_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CALENDAR.first_counting_day(datetime(2026, 2, 13, 10))


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        CALENDAR.add_working_days(d(2026, 2, 13), -1)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # A start on a non-working day is not itself a working day to count.
        pytest.param(d(2026, 2, 15), 1, d(2026, 2, 24), id="from-holiday"),
        pytest.param(d(2026, 2, 15), 0, d(2026, 2, 15), id="zero-keeps-start"),
        pytest.param(d(2026, 10, 7), 4, d(2026, 10, 12), id="through-makeup-sat"),
    ],
)
def test_add_working_days(start: date, days: int, expected: date) -> None:
    assert CALENDAR.add_working_days(start, days) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(d(2026, 1, 2), d(2026, 1, 4), id="holiday-to-makeup-sunday"),
        pytest.param(d(2026, 2, 13), d(2026, 2, 14), id="friday-to-makeup-saturday"),
        pytest.param(d(2026, 2, 14), d(2026, 2, 24), id="over-spring-festival"),
        pytest.param(d(2026, 3, 6), d(2026, 3, 9), id="ordinary-weekend"),
        pytest.param(d(2026, 12, 31), d(2027, 1, 4), id="into-2027"),
    ],
)
def test_next_working_day(day: date, expected: date) -> None:
    assert CALENDAR.next_working_day(day) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(d(2026, 2, 13), d(2026, 2, 24), 2, id="spring-festival"),
        pytest.param(d(2026, 2, 14), d(2026, 2, 23), 0, id="inside-spring-festival"),
        pytest.param(d(2026, 9, 30), d(2026, 10, 10), 3, id="national-day"),
        pytest.param(d(2025, 12, 31), d(2026, 1, 5), 2, id="new-year"),
        pytest.param(d(2026, 12, 31), d(2027, 1, 8), 5, id="into-2027"),
        pytest.param(d(2026, 3, 9), d(2026, 3, 9), 0, id="same-day"),
        pytest.param(d(2026, 3, 10), d(2026, 3, 9), 0, id="end-before-start"),
        # Whole years: 261 weekdays, minus 19 (2026) / 18 (2025) weekday holidays, plus 6 / 5 make-up days.
        pytest.param(d(2025, 12, 31), d(2026, 12, 31), 248, id="all-2026"),
        pytest.param(d(2024, 12, 31), d(2025, 12, 31), 248, id="all-2025"),
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert CALENDAR.working_days_between(start, end) == expected


@pytest.mark.parametrize("start", [d(2026, 1, 1), d(2026, 2, 13), d(2026, 9, 19), d(2026, 12, 30)])
@pytest.mark.parametrize("days", [0, 1, 7, 30, 120, 300])
def test_counting_back_gives_the_limit(start: date, days: int) -> None:
    # Adding and counting must agree, including across the unconfirmed 2027 and 2028.
    assert CALENDAR.working_days_between(start, CALENDAR.add_working_days(start, days)) == days


MAKE_UP_DAYS_2026 = {d(2026, 1, 4), d(2026, 2, 14), d(2026, 2, 28), d(2026, 5, 9), d(2026, 9, 20), d(2026, 10, 10)}
WEEKDAYS_OFF_2026 = {
    d(2026, 1, 1), d(2026, 1, 2),
    d(2026, 2, 16), d(2026, 2, 17), d(2026, 2, 18), d(2026, 2, 19), d(2026, 2, 20), d(2026, 2, 23),
    d(2026, 4, 6),
    d(2026, 5, 1), d(2026, 5, 4), d(2026, 5, 5),
    d(2026, 6, 19),
    d(2026, 9, 25),
    d(2026, 10, 1), d(2026, 10, 2), d(2026, 10, 5), d(2026, 10, 6), d(2026, 10, 7),
}  # fmt: skip
MAKE_UP_DAYS_2025 = {d(2025, 1, 26), d(2025, 2, 8), d(2025, 4, 27), d(2025, 9, 28), d(2025, 10, 11)}
WEEKDAYS_OFF_2025 = {
    d(2025, 1, 1),
    d(2025, 1, 28), d(2025, 1, 29), d(2025, 1, 30), d(2025, 1, 31), d(2025, 2, 3), d(2025, 2, 4),
    d(2025, 4, 4),
    d(2025, 5, 1), d(2025, 5, 2), d(2025, 5, 5),
    d(2025, 6, 2),
    d(2025, 10, 1), d(2025, 10, 2), d(2025, 10, 3), d(2025, 10, 6), d(2025, 10, 7), d(2025, 10, 8),
}  # fmt: skip


@pytest.mark.parametrize(
    ("year", "make_up_days", "weekdays_off"),
    [(2025, MAKE_UP_DAYS_2025, WEEKDAYS_OFF_2025), (2026, MAKE_UP_DAYS_2026, WEEKDAYS_OFF_2026)],
)
def test_official_year_matches_the_notice(year: int, make_up_days: set[date], weekdays_off: set[date]) -> None:
    official = official_year(year)
    assert official.confirmed
    assert official.workdays == make_up_days
    worked_weekends = {day for day in days_of(year) if day.weekday() >= 5 and CALENDAR.is_working_day(day)}
    idle_weekdays = {day for day in days_of(year) if day.weekday() < 5 and not CALENDAR.is_working_day(day)}
    assert worked_weekends == make_up_days
    assert idle_weekdays == weekdays_off


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(d(2026, 1, 4), True, id="makeup-sunday-jan-4"),
        pytest.param(d(2026, 2, 14), True, id="makeup-saturday-feb-14"),
        pytest.param(d(2026, 2, 28), True, id="makeup-saturday-feb-28"),
        pytest.param(d(2026, 5, 9), True, id="makeup-saturday-may-9"),
        pytest.param(d(2026, 9, 20), True, id="makeup-sunday-sep-20"),
        pytest.param(d(2026, 10, 10), True, id="makeup-saturday-oct-10"),
        pytest.param(d(2026, 2, 21), False, id="saturday-inside-spring-festival"),
        pytest.param(d(2026, 3, 7), False, id="ordinary-saturday"),
        pytest.param(d(2026, 2, 20), False, id="weekday-inside-spring-festival"),
        pytest.param(d(2026, 2, 24), True, id="first-day-back"),
        pytest.param(d(2027, 1, 1), False, id="2027-new-year"),
        pytest.param(d(2027, 1, 4), True, id="2027-first-monday"),
    ],
)
def test_is_working_day(day: date, expected: bool) -> None:
    assert CALENDAR.is_working_day(day) is expected


def test_2027_is_unconfirmed_and_has_no_make_up_days() -> None:
    # holidays 0.109 has no 2027 notice; if a release adds one this test must be revisited.
    assert CALENDAR.is_confirmed(d(2026, 12, 31))
    assert not CALENDAR.is_confirmed(d(2027, 1, 4))
    assert official_year(2027).workdays == frozenset()
    # Only statutory days are known: Spring Festival eve (Fri Feb 5) to the third day (Mon Feb 8),
    # with the two weekend days given back on Tue Feb 9 and Wed Feb 10.
    assert CALENDAR.due_date(at(2027, 2, 4, 10), 1) == d(2027, 2, 11)


def test_local_closure_shifts_due_dates() -> None:
    # An administrator closes the centre on Tuesday 2026-03-10.
    closed = WorkingCalendar([official_year(2026).with_days_off(d(2026, 3, 10))])
    assert not closed.is_working_day(d(2026, 3, 10))
    assert closed.due_date(at(2026, 3, 9, 10), 1) == d(2026, 3, 11)
    assert closed.due_date(at(2026, 3, 6, 10), 5) == d(2026, 3, 16)
    assert closed.working_days_between(d(2025, 12, 31), d(2026, 12, 31)) == 247
    # The shared calendar is untouched.
    assert CALENDAR.due_date(at(2026, 3, 9, 10), 1) == d(2026, 3, 10)
    assert CALENDAR.due_date(at(2026, 3, 6, 10), 5) == d(2026, 3, 13)


def test_closing_a_make_up_day_removes_it() -> None:
    closed = WorkingCalendar([official_year(2026).with_days_off(d(2026, 2, 14))])
    assert not closed.is_working_day(d(2026, 2, 14))
    assert closed.due_date(at(2026, 2, 13, 10), 1) == d(2026, 2, 24)


def test_explicit_year_overrides_and_fallback_is_lazy_and_cached() -> None:
    asked: list[int] = []

    def fallback(year: int) -> CalendarYear:
        asked.append(year)
        return CalendarYear(year, frozenset(), frozenset(), confirmed=False)

    # A hand-entered 2027 schedule: Jan 1 off, Saturday Jan 9 worked.
    year_2027 = CalendarYear(2027, frozenset({d(2027, 1, 1)}), frozenset({d(2027, 1, 9)}), confirmed=True)
    calendar = WorkingCalendar([year_2027], fallback=fallback)
    assert calendar.year(2027) is year_2027
    assert calendar.is_confirmed(d(2027, 6, 1))
    # Working days after Thu Jan 7: Fri 8, Sat 9 (make-up), Mon 11.
    assert calendar.add_working_days(d(2027, 1, 7), 3) == d(2027, 1, 11)
    assert asked == []
    # 2028 comes from the fallback, once.
    assert calendar.add_working_days(d(2027, 12, 30), 2) == d(2028, 1, 3)
    assert calendar.is_working_day(d(2028, 1, 3))
    assert not calendar.is_confirmed(d(2028, 1, 3))
    assert asked == [2028]


@pytest.mark.parametrize(
    ("holidays", "workdays"),
    [
        pytest.param({d(2025, 12, 31)}, set(), id="holiday-in-another-year"),
        pytest.param(set(), {d(2027, 1, 2)}, id="workday-in-another-year"),
        pytest.param({d(2026, 2, 14)}, {d(2026, 2, 14)}, id="both-off-and-worked"),
    ],
)
def test_inconsistent_calendar_year_is_refused(holidays: set[date], workdays: set[date]) -> None:
    with pytest.raises(ValueError):
        CalendarYear(2026, frozenset(holidays), frozenset(workdays), confirmed=True)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Beijing is UTC+8 all year: 23:59:59.999999 local is 15:59:59.999999 UTC.
        pytest.param(d(2026, 2, 24), datetime(2026, 2, 24, 15, 59, 59, 999999, tzinfo=timezone.utc), id="winter"),
        pytest.param(d(2026, 7, 1), datetime(2026, 7, 1, 15, 59, 59, 999999, tzinfo=timezone.utc), id="summer"),
    ],
)
def test_end_of_day(day: date, expected: datetime) -> None:
    end = CALENDAR.end_of_day(day)
    assert end == expected
    assert end.utcoffset() == timedelta(0)
    assert end.astimezone(OFFICE_TZ).date() == day
    assert (end + timedelta(microseconds=1)).astimezone(OFFICE_TZ).date() == day + timedelta(days=1)


def test_due_at_is_the_end_of_the_due_date() -> None:
    assert CALENDAR.due_at(at(2026, 9, 30, 10), 1) == datetime(2026, 10, 8, 15, 59, 59, 999999, tzinfo=timezone.utc)
