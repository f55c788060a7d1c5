"""Statistics for the supervisor's desk (督办 / 电子监察): what the annual reports publish.

Every figure is one SQL aggregate (GROUP BY / COUNT / SUM), never a Python loop over rows, so the
pages stay fast at hundreds of thousands of steps on SQLite and PostgreSQL alike.

Definitions (the pages state them too):

- A period selects cases by their acceptance day and steps by the day they started (office-local
  dates, both ends inclusive).
- Handling time in working days: working days in (start day, stop day] minus the working days the
  clock was paused (补正, 特别程序) — `calendar.working_days_between(local start, local stop) -
  paused_days`. A step finished on the day it started took 0 working days.
- On time: stopped at or before the due date. Overdue: stopped after it, or still running past it.
- 一次办: concluded cases with at most one visit / concluded cases. 网上办: cases applied online or
  through a partner region (跨省通办) / all cases. 马上办: concluded cases concluded on the (local)
  day they were accepted / concluded cases.
- 主动评价率: rated concluded cases / concluded cases. 差评整改率: 差评 (level 1–2) rectified / 差评.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger, ColumnElement, Integer, LargeBinary, and_, bindparam, cast, func, literal_column, or_, select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Grouping

from engine.calendar import OFFICE_TZ, WorkingCalendar
from engine.deadlines import local_day, start_of_day
from engine.directory import department_by_code
from engine.errors import InvalidInput, PermissionDenied
from engine.models import Case, Clock, Department, ProcessDefinition, Rating, Task, User
from engine.permissions import require, sees_every_department
from engine.vocab import CaseStatus, Channel, ClockKind, Outcome, Role, TaskState, WarningLevel

BAD_RATING_MAX = 2  # levels 1 and 2 are a 差评 (engine.ratings.BAD_LEVELS)


class Grade(StrEnum):
    """League-table grade of a unit by its on-time rate (thresholds are configurable)."""

    EXCELLENT = "excellent"
    """优秀."""
    GOOD = "good"
    """良好."""
    PASS = "pass"
    """合格."""
    FAIL = "fail"
    """不合格."""


DEFAULT_GRADE_THRESHOLDS: dict[str, float] = {Grade.EXCELLENT: 0.98, Grade.GOOD: 0.95, Grade.PASS: 0.90}


def grade_thresholds(overrides: Mapping[str, Any] | None = None) -> dict[str, float]:
    """The default thresholds with `overrides` applied; each a share 0–1, excellent ≥ good ≥ pass."""
    thresholds = dict(DEFAULT_GRADE_THRESHOLDS)
    for key, value in (overrides or {}).items():
        if key not in thresholds:
            raise InvalidInput(f"unknown grade '{key}'; grades are excellent, good and pass")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise InvalidInput(f"the {key} threshold must be a share between 0 and 1")
        thresholds[key] = float(value)
    if not thresholds[Grade.EXCELLENT] >= thresholds[Grade.GOOD] >= thresholds[Grade.PASS]:
        raise InvalidInput("grade thresholds must satisfy excellent ≥ good ≥ pass")
    return thresholds


def grade_of(on_time_rate: float | None, thresholds: Mapping[str, float]) -> Grade | None:
    if on_time_rate is None:
        return None
    for grade in (Grade.EXCELLENT, Grade.GOOD, Grade.PASS):
        if on_time_rate >= thresholds[grade]:
            return grade
    return Grade.FAIL


PERIOD_BOUNDS = (date(2000, 1, 1), date(2099, 12, 31))
# 办件 are accepted applications: one refused at the window (不予受理) is filed but not counted.
ACCEPTED = Case.status != CaseStatus.NOT_ACCEPTED


@dataclass(frozen=True)
class Period:
    """Office-local days, both ends inclusive; None leaves that end open."""

    start: date | None = None
    end: date | None = None

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Period:
        try:
            period = cls(date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None)
        except ValueError:
            raise InvalidInput("from and to must be dates (YYYY-MM-DD)") from None
        if period.start and period.end and period.end < period.start:
            raise InvalidInput("the period ends before it starts")
        # Statistics index every day of the period (DayIndex): bound it to the years the office can hold.
        if any(day is not None and not PERIOD_BOUNDS[0] <= day <= PERIOD_BOUNDS[1] for day in (period.start, period.end)):
            raise InvalidInput(f"from and to must lie between {PERIOD_BOUNDS[0]} and {PERIOD_BOUNDS[1]}")
        return period

    def where_day(self, day_number: Any) -> list[ColumnElement[bool]]:
        """Conditions keeping `day_number` (an office day number, e.g. `Clock.started_day`) inside the period."""
        conditions = []
        if self.start is not None:
            conditions.append(day_number >= (self.start - _EPOCH).days)
        if self.end is not None:
            conditions.append(day_number <= (self.end - _EPOCH).days)
        return conditions

    def where(self, column: Any) -> list[ColumnElement[bool]]:
        """Conditions keeping `column` (a UTC timestamp) inside the period."""
        conditions = []
        if self.start is not None:
            conditions.append(column >= start_of_day(self.start))
        if self.end is not None:
            conditions.append(column < start_of_day(self.end + timedelta(days=1)))
        return conditions


def departments_in_scope(session: Session, actor: User, department: str | None, own_by_default: bool = False) -> list[int] | None:
    """Whose figures the actor may see: every department (None) for supervisors and administrators,
    or the one named; only their own for a department's head and reviewers — who must name it
    unless `own_by_default` (the all-department figures are refused to them)."""
    if sees_every_department(actor):
        return [department_by_code(session, department).id] if department else None
    require(actor.has_role(Role.REVIEWER, Role.DEPARTMENT_HEAD) and actor.department is not None,
            "only supervisors and department staff see these statistics")
    own = actor.department
    assert own is not None
    if department is None and not own_by_default:
        raise PermissionDenied("the figures of every department are for supervisors; "
                               f"ask for your own with department={own.code}")
    if department is not None and department != own.code:
        raise PermissionDenied("you may only see your own department's figures")
    return [own.id]


def require_office_wide(actor: User) -> None:
    """Figures of the whole office (per 一件事, channels, ratings) are for supervisors and administrators."""
    require(sees_every_department(actor), "these figures cover the whole office; they are for supervisors")


# --- Working days in SQL --------------------------------------------------------------------------

ORDINAL_WIDTH = 6
_EPOCH = date(1970, 1, 1)
# Asia/Shanghai has kept UTC+8 without daylight saving since 1991; SQLite needs the offset spelled out.
_OFFSET_SECONDS = int(OFFICE_TZ.utcoffset(datetime(2000, 1, 1)).total_seconds())  # type: ignore[union-attr]


def _unix_seconds(column: Any) -> ColumnElement[int]:
    """Seconds since the epoch of a stored UTC timestamp on SQLite (unixepoch() needs 3.38)."""
    if sqlite3.sqlite_version_info >= (3, 38):
        return func.unixepoch(column, type_=Integer)
    return cast(func.strftime("%s", column), Integer)


class DayIndex:
    """Working-day ordinals of a run of office-local days, handed to SQL as one value.

    ord(d) counts the working days in (first - 1, d], so `working_days_between(a, b)` is
    ord(b) - ord(a). Each row looks its two days up by position — an array subscript on
    PostgreSQL, a fixed-width slice of a blob parameter on SQLite — instead of joining a calendar
    table: a join (or grouping by day first) costs a sort or an index probe per row, which at
    500,000 steps is most of the time budget on SQLite. The run covers every day a clock can
    start or stop on (from the first acceptance to a year past today), so no lookup falls outside.
    """

    def __init__(self, dialect: str, calendar: WorkingCalendar, first: date, last: date) -> None:
        if last < first:
            raise ValueError("a day index needs last >= first")
        self.dialect, self.first = dialect, first
        length = (last - first).days + 1
        ordinals, running = [], 0
        for offset in range(length):
            running += calendar.is_working_day(first + timedelta(days=offset))
            ordinals.append(running)
        self.ordinals = ordinals
        self.last = last
        self._blob = "".join(f"{n:0{ORDINAL_WIDTH}d}" for n in ordinals).encode("ascii")
        days = (first + timedelta(days=offset) for offset in range(length))
        self._months = [day.year * 100 + day.month for day in days]

    @classmethod
    def for_period(cls, session: Session, calendar: WorkingCalendar, now: datetime, period: Period) -> DayIndex:
        """From the period's start (else the first acceptance) to well past today and the period's end."""
        first = period.start
        if first is None:
            earliest = session.scalar(select(func.min(Case.accepted_at)))
            first = local_day(earliest) if earliest is not None else local_day(now)
        last = max(local_day(now), period.end or first, first) + timedelta(days=366)
        return cls(session.get_bind().dialect.name, calendar, first - timedelta(days=31), last)

    def day(self, column: Any) -> ColumnElement[int]:
        """Position of the office-local day of `column` (a UTC timestamp) in the run.

        Plain arithmetic on seconds since the epoch with the office's fixed offset: cheaper per
        row than a time-zone conversion, and the same on both databases.
        """
        epoch_day = (self.first - _EPOCH).days
        if self.dialect == "postgresql":
            seconds = cast(func.floor(func.date_part(literal_column("'epoch'"), column)), BigInteger)
            return cast((seconds + _OFFSET_SECONDS) // 86400 - epoch_day, Integer)
        return (_unix_seconds(column) + _OFFSET_SECONDS) // 86400 - epoch_day

    def position_of(self, day_number: Any) -> ColumnElement[int]:
        """Position in the run of an office day number (`Clock.started_day`, `stopped_day`)."""
        return day_number - (self.first - _EPOCH).days

    def ordinal_at(self, position: Any) -> ColumnElement[int]:
        if self.dialect == "postgresql":
            # Inlined in the statement (literal_execute): psycopg prepares a statement after a few runs,
            # and in PostgreSQL's generic plan a bound int2[] parameter would be cast to int4[] per row.
            array = Grouping(bindparam(None, self.ordinals, type_=ARRAY(Integer), literal_execute=True))
            return type_coerce(array, ARRAY(Integer))[position + 1]
        blob = bindparam(None, self._blob, type_=LargeBinary)
        return cast(func.substr(blob, position * ORDINAL_WIDTH + 1, ORDINAL_WIDTH), Integer)

    def handling_days(self, clock: Any) -> ColumnElement[int]:
        """Handling time of a stopped clock: working days in (start day, stop day] minus its paused
        days; NULL while it runs. Reads the clock's day numbers, not its timestamps."""
        return (self.ordinal_at(self.position_of(clock.stopped_day)) - self.ordinal_at(self.position_of(clock.started_day))
                - clock.paused_days)

    def same_day(self, a: Any, b: Any) -> ColumnElement[bool]:
        return self.day(a) == self.day(b)

    def month(self, column: Any) -> ColumnElement[int]:
        """YYYYMM of the office-local day of `column` (a UTC timestamp)."""
        return self.month_at(self.day(column))

    def month_at(self, position: Any) -> ColumnElement[int]:
        """YYYYMM of the day at `position`, looked up like the ordinals (cheaper per row than
        formatting a date, and an integer groups faster than text)."""
        if self.dialect == "postgresql":
            array = Grouping(bindparam(None, self._months, type_=ARRAY(Integer), literal_execute=True))
            return type_coerce(array, ARRAY(Integer))[position + 1]
        blob = bindparam(None, "".join(f"{m:06d}" for m in self._months).encode("ascii"), type_=LargeBinary)
        return cast(func.substr(blob, position * 6 + 1, 6), Integer)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # FILTER rather than SUM(CASE ...): the cheaper of the two per row on both databases.
    return func.count().filter(condition)


def _sum(value: ColumnElement[int]) -> ColumnElement[int]:
    return func.coalesce(func.sum(value), 0)


def _running_late(clock: type[Clock] | Any, now: datetime) -> ColumnElement[bool]:
    """A running clock showing red at `now` (a paused clock keeps the level it had: deadlines.level_of)."""
    return and_(clock.stopped_day.is_(None), or_(
        and_(clock.paused_since.is_(None), clock.due_at < now),
        and_(clock.paused_since.is_not(None), clock.level == WarningLevel.RED),
    ))


# --- Performance: per department, per 一件事, per reviewer ---------------------------------------

@dataclass(frozen=True)
class Performance:
    """One row of a league table. `cases` counts cases (一件事) or steps (departments, reviewers)."""

    key: str
    name: str
    cases: int
    completed: int
    on_time: int
    overdue: int
    working_days: int  # summed over the measured ones
    measured: int  # completed with a clock: the denominator of the on-time rate and the average
    grade: Grade | None = None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.measured if self.measured else None

    @property
    def avg_working_days(self) -> float | None:
        return self.working_days / self.measured if self.measured else None

    def to_dict(self) -> dict[str, Any]:
        rate, avg = self.on_time_rate, self.avg_working_days
        return {"cases": self.cases, "completed": self.completed, "on_time": self.on_time, "measured": self.measured,
                "on_time_rate": round(rate, 4) if rate is not None else None, "overdue": self.overdue,
                "avg_working_days": round(avg, 2) if avg is not None else None,
                "grade": self.grade.value if self.grade else None}


def _graded(rows: list[Performance], thresholds: Mapping[str, float]) -> list[Performance]:
    graded = [Performance(**{**asdict(r), "grade": grade_of(r.on_time_rate, thresholds)}) for r in rows]
    # League order: best on-time rate first, then the quicker; units with nothing completed last.
    return sorted(graded, key=lambda r: (r.on_time_rate is None, -(r.on_time_rate or 0), r.avg_working_days or 0, r.key))


def department_performance(
    session: Session, calendar: WorkingCalendar, now: datetime, period: Period = Period(),
    department_ids: Sequence[int] | None = None, thresholds: Mapping[str, float] = DEFAULT_GRADE_THRESHOLDS,
) -> list[Performance]:
    """Each department's steps (环节, one per 事项 it handles in a case) started in the period, from
    their step clocks; `cases` counts those steps."""
    index = DayIndex.for_period(session, calendar, now, period)
    k = Clock
    query = (
        select(
            k.department_id, func.count(), func.count(k.stopped_day),
            _count_if(k.late.is_(False)),
            _count_if(or_(k.late.is_(True), _running_late(k, now))),
            _sum(index.handling_days(k)),  # NULL while running
        )
        .where(k.kind == ClockKind.TASK, k.department_id.is_not(None), *period.where_day(k.started_day))
        .group_by(k.department_id)
    )
    if department_ids is not None:
        query = query.where(k.department_id.in_(list(department_ids)))
    figures = {row[0]: row[1:] for row in session.execute(query)}
    departments = session.scalars(select(Department).order_by(Department.code))
    rows = []
    for d in departments:
        if department_ids is None or d.id in department_ids:
            cases, completed, on_time, overdue, days = (int(v) for v in figures.get(d.id, (0, 0, 0, 0, 0)))
            rows.append(Performance(d.code, d.name, cases, completed, on_time, overdue, days, completed))
    return _graded(rows, thresholds)


def matter_performance(
    session: Session, calendar: WorkingCalendar, now: datetime, period: Period = Period(),
    thresholds: Mapping[str, float] = DEFAULT_GRADE_THRESHOLDS,
) -> list[Performance]:
    """Each 一件事: cases accepted in the period; timeliness from each case's promised clock (承诺时限)."""
    index = DayIndex.for_period(session, calendar, now, period)
    pd = ProcessDefinition
    counts = session.execute(
        select(pd.key, func.count(Case.id), func.count(Case.completed_at))
        .join(pd, pd.id == Case.definition_id).where(ACCEPTED, *period.where(Case.accepted_at)).group_by(pd.key)
    ).all()
    k = Clock
    timeliness = {row[0]: row[1:] for row in session.execute(
        select(pd.key, _count_if(k.late.is_(False)),
               _count_if(or_(k.late.is_(True), _running_late(k, now))),
               _sum(index.handling_days(k)), func.count(k.stopped_day))
        .join(Case, Case.id == k.case_id).join(pd, pd.id == Case.definition_id)
        .where(k.kind == ClockKind.PROMISED, k.department_id.is_(None), k.element_id.is_(None), *period.where_day(k.started_day))
        .group_by(pd.key)
    )}
    names = definition_names(session)
    rows = []
    for key, cases, concluded in counts:
        # Rates are over the concluded cases that carry a promised clock; a 一件事 without one has none.
        on_time, overdue, days, timed = (int(v) for v in timeliness.get(key, (0, 0, 0, 0)))
        rows.append(Performance(key, names.get(key, key), int(cases), int(concluded), on_time, overdue, days, timed))
    return _graded(rows, thresholds)


def definition_names(session: Session) -> dict[str, str]:
    """The name of each 一件事 as its latest version spells it."""
    latest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version")).group_by(ProcessDefinition.key).subquery()
    return dict(session.execute(select(ProcessDefinition.key, ProcessDefinition.name).join(
        latest, and_(latest.c.key == ProcessDefinition.key, latest.c.version == ProcessDefinition.version))).all())


def reviewer_performance(
    session: Session, calendar: WorkingCalendar, now: datetime, period: Period = Period(),
    department_ids: Sequence[int] | None = None, thresholds: Mapping[str, float] = DEFAULT_GRADE_THRESHOLDS,
) -> list[Performance]:
    """Each person's steps: the ones they finished (the completion that stopped the step's clock,
    not a return for 补正), plus the ones claimed by them and still running. `cases` counts steps;
    `key` is the username."""
    index = DayIndex.for_period(session, calendar, now, period)
    t, k = Task, Clock
    if department_ids is None:
        department_ids = list(session.scalars(select(Department.id)))
    # Naming the departments lets the databases reach the tasks through ix_tasks_department_state.
    scope = [t.department_id.in_(list(department_ids))]
    finished = {row[0]: row[1:] for row in session.execute(
        select(t.completed_by_id, func.count(), _count_if(k.late.is_(False)), _count_if(k.late.is_(True)),
               _sum(index.handling_days(k)))
        .join(k, k.id == t.clock_id)
        .where(t.state == TaskState.COMPLETED, t.completed_by_id.is_not(None), *scope, *period.where_day(k.started_day),
               # A review returned for 补正 completed its row but only paused the step's clock.
               or_(t.outcome.is_(None), t.outcome != Outcome.RETURN))
        .group_by(t.completed_by_id)
    )}
    # Claimed steps are few: the period applies to the task row, so the database starts from them.
    running = {row[0]: row[1:] for row in session.execute(
        select(t.assignee_id, func.count(), _count_if(_running_late(k, now)))
        .join(k, k.id == t.clock_id)
        .where(t.state == TaskState.CLAIMED, t.assignee_id.is_not(None), *scope, *period.where(t.created_at))
        .group_by(t.assignee_id)
    )}
    ids = set(finished) | set(running)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    rows = []
    for user_id in ids:
        completed, on_time, late, days = finished.get(user_id, (0, 0, 0, 0))
        claimed, claimed_late = running.get(user_id, (0, 0))
        user = users[user_id]
        rows.append(Performance(user.username, user.display_name, int(completed) + int(claimed), int(completed),
                                int(on_time), int(late) + int(claimed_late), int(days), int(completed)))
    return _graded(rows, thresholds)


# --- 办件量 by month ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MonthlyCount:
    month: str  # YYYY-MM, office-local
    key: str
    name: str
    cases: int


def _month_text(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}"


def monthly_by_matter(session: Session, calendar: WorkingCalendar, now: datetime, period: Period = Period()) -> list[MonthlyCount]:
    """办件量: cases accepted per month and 一件事 (the versions of a 一件事 added up)."""
    index = DayIndex.for_period(session, calendar, now, period)
    month = index.month(Case.accepted_at).label("month")
    rows = session.execute(
        select(month, Case.definition_id, func.count(Case.id)).where(ACCEPTED, *period.where(Case.accepted_at))
        .group_by(month, Case.definition_id)
    ).all()
    keys = dict(session.execute(select(ProcessDefinition.id, ProcessDefinition.key)).all())
    counts: dict[tuple[int, str], int] = {}
    for m, definition_id, n in rows:
        counts[(m, keys[definition_id])] = counts.get((m, keys[definition_id]), 0) + int(n)
    names = definition_names(session)
    return [MonthlyCount(_month_text(m), key, names.get(key, key), n) for (m, key), n in sorted(counts.items())]


def monthly_by_department(
    session: Session, calendar: WorkingCalendar, now: datetime, period: Period = Period(),
    department_ids: Sequence[int] | None = None,
) -> list[MonthlyCount]:
    """办件量 per department: the steps (事项) it started, per month."""
    index = DayIndex.for_period(session, calendar, now, period)
    k = Clock
    month = index.month_at(index.position_of(k.started_day)).label("month")
    query = (select(month, k.department_id, func.count())
             .where(k.kind == ClockKind.TASK, k.department_id.is_not(None), *period.where_day(k.started_day))
             .group_by(month, k.department_id))
    if department_ids is not None:
        query = query.where(k.department_id.in_(list(department_ids)))
    departments = {d.id: d for d in session.scalars(select(Department))}
    rows = sorted((m, departments[d].code, departments[d].name, int(n)) for m, d, n in session.execute(query))
    return [MonthlyCount(_month_text(m), code, name, n) for m, code, name, n in rows]


# --- 一次办 / 网上办 / 马上办 and 好差评 ------------------------------------------------------------

@dataclass(frozen=True)
class Ratio:
    indicator: str
    numerator: int
    denominator: int

    @property
    def ratio(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def to_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {"indicator": self.indicator, "numerator": self.numerator, "denominator": self.denominator,
                "ratio": round(ratio, 4) if ratio is not None else None}


ONE_VISIT, ONLINE, ON_THE_SPOT = "one_visit", "online", "on_the_spot"
RATED, RECTIFIED = "rated", "rectified"


def channel_figures(
    session: Session, calendar: WorkingCalendar, now: datetime, period: Period = Period(),
) -> tuple[list[Ratio], dict[str, int]]:
    """一次办, 网上办 and 马上办 over the cases accepted in the period (see the module docstring), and the
    cases per channel (window / online / partner): one pass over the cases."""
    index = DayIndex.for_period(session, calendar, now, period)
    concluded = Case.completed_at.is_not(None)
    total, concluded_n, one_visit, on_the_spot, *by_channel = session.execute(
        select(func.count(Case.id), func.count(Case.completed_at), _count_if(and_(concluded, Case.visits <= 1)),
               _count_if(and_(concluded, index.same_day(Case.accepted_at, Case.completed_at))),
               *(_count_if(Case.channel == channel) for channel in Channel))
        .where(ACCEPTED, *period.where(Case.accepted_at))
    ).one()
    counts = {str(channel): int(n) for channel, n in zip(Channel, by_channel)}
    online = counts[Channel.ONLINE] + counts[Channel.PARTNER]
    return [Ratio(ONE_VISIT, int(one_visit), int(concluded_n)), Ratio(ONLINE, online, int(total)),
            Ratio(ON_THE_SPOT, int(on_the_spot), int(concluded_n))], counts


def channel_ratios(session: Session, calendar: WorkingCalendar, now: datetime, period: Period = Period()) -> list[Ratio]:
    return channel_figures(session, calendar, now, period)[0]


def channel_counts(session: Session, calendar: WorkingCalendar, now: datetime, period: Period = Period()) -> dict[str, int]:
    return channel_figures(session, calendar, now, period)[1]


def rating_figures(session: Session, period: Period = Period()) -> tuple[list[Ratio], dict[int, int]]:
    """主动评价率 and 差评整改率 over the cases accepted in the period, and their ratings by level 1–5."""
    r = Rating
    bad = r.level <= BAD_RATING_MAX
    levels = range(1, 6)
    concluded, rated, bad_n, rectified, *by_level = session.execute(
        select(func.count(Case.id), func.count(r.id), _count_if(bad), _count_if(and_(bad, r.rectified_at.is_not(None))),
               *(_count_if(r.level == level) for level in levels))
        .select_from(Case).outerjoin(r, r.case_id == Case.id)
        .where(ACCEPTED, Case.completed_at.is_not(None), *period.where(Case.accepted_at))
    ).one()
    return ([Ratio(RATED, int(rated), int(concluded)), Ratio(RECTIFIED, int(rectified), int(bad_n))],
            {level: int(n) for level, n in zip(levels, by_level)})


def rating_ratios(session: Session, period: Period = Period()) -> list[Ratio]:
    return rating_figures(session, period)[0]


def rating_levels(session: Session, period: Period = Period()) -> dict[int, int]:
    return rating_figures(session, period)[1]
