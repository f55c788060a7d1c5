"""Seed a database for the supervisor's desk benchmark: 100,000 cases and ~500,000 steps over 2025–2026.

Written with bulk INSERTs straight into the tables (not through the engine, which would take hours):
the departments, 一件事 definitions, demo users and calendar come from the engine's own set-up
services; the cases, their task rows, step and case clocks (with due dates computed by
`engine.deadlines.schedule_for`), pauses and ratings are generated with a fixed random seed.

The spread: acceptance on working days (online applications at any hour), the five catalogue
一件事 in realistic shares, each department step taking 0 to a few days over its limit, one step in
twelve paused for a 特别程序, a few cases stuck for months, and everything after `NOW` still open —
so the board sees a few thousand open cases and tasks, as a district centre has.

    .venv/bin/python -m bench.seed_stats --database sqlite:////tmp/stats.sqlite [--cases 100000]
"""
from __future__ import annotations

import argparse
import random
import time
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.common import migrate, password_cost
from engine.calendar import OFFICE_TZ, WorkingCalendar, office_day_number
from engine.calendar_store import load_calendar, seed_calendar
from engine.cases import accept_case
from engine.catalog import deploy_processes, ensure_departments
from engine.clock import FrozenClock
from engine.db import Database, connect
from engine.deadlines import DEFAULT_POLICY, level_of, next_warning_at, schedule_for
from engine.demo import ensure_demo_users
from engine.directory import create_user
from engine.instances import STATE_FORMAT
from engine.models import Case, Clock, ClockPause, Department, ProcessDefinition, Rating, Task, User, UserRole
from engine.vocab import CaseStatus, Channel, ClockKind, PauseKind, Role, TaskState

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=OFFICE_TZ)
FIRST_DAY = date(2025, 1, 2)
SHARES = {"linshi_zhanlu": 0.35, "dianli_guohu": 0.30, "wangba": 0.15, "yiliao_shebei": 0.10, "yishenqing_gongkai": 0.10}
SEQUENTIAL = {"yishenqing_gongkai"}
REVIEWERS_PER_DEPARTMENT = 3
CHUNK = 4000  # cases per INSERT batch


def local(day: date, minutes: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=OFFICE_TZ) + timedelta(minutes=minutes)


class Generator:
    def __init__(self, calendar: WorkingCalendar, definitions: dict[str, Any], departments: dict[str, int],
                 reviewers: dict[int, list[int]], clerk_id: int, seed: int) -> None:
        self.calendar, self.definitions, self.departments = calendar, definitions, departments
        self.reviewers, self.clerk_id = reviewers, clerk_id
        self.rng = random.Random(seed)
        self.now = NOW
        self.working_days = [d for d in (FIRST_DAY + timedelta(days=i) for i in range((NOW.date() - FIRST_DAY).days + 1))
                             if calendar.is_working_day(d)]
        self.ids = {"case": 0, "task": 0, "clock": 0, "pause": 0, "rating": 0}
        self.counters: dict[str, int] = {}

    def next_id(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    def office_time(self, day: date) -> datetime:
        return local(day, self.rng.randint(9 * 60, 17 * 60 + 20))

    def finish(self, start: datetime, working_days: int) -> datetime:
        """A moment `working_days` working days after `start`'s local day, in office hours (later the same day for 0)."""
        if working_days == 0:
            return start + timedelta(minutes=self.rng.randint(5, 240))
        day = self.calendar.add_working_days(start.astimezone(OFFICE_TZ).date(), working_days)
        return self.office_time(day)

    def clock_row(self, case_id: int, kind: str, limit: int, started: datetime, stopped: datetime | None,
                  paused_days: int = 0, extended: int = 0, paused_since: datetime | None = None,
                  element_id: str | None = None, department_id: int | None = None) -> dict[str, Any]:
        clock = SimpleNamespace(started_at=started, limit_days=limit, paused_days=paused_days, extended_days=extended,
                                stopped_at=stopped, paused_since=paused_since, level="normal")
        schedule = schedule_for(clock, self.calendar, DEFAULT_POLICY)  # type: ignore[arg-type]
        clock.due_at, clock.notice_at, clock.yellow_at = schedule.due_at, schedule.notice_at, schedule.yellow_at
        level = level_of(clock, self.now) if stopped is None and paused_since is None else "normal"  # type: ignore[arg-type]
        clock.level = str(level)
        return {"id": self.next_id("clock"), "case_id": case_id, "kind": kind, "element_id": element_id,
                "department_id": department_id, "limit_days": limit, "started_at": started, "paused_since": paused_since,
                "paused_days": paused_days, "extended_days": extended, "due_at": schedule.due_at,
                "notice_at": schedule.notice_at, "yellow_at": schedule.yellow_at, "stopped_at": stopped,
                "level": clock.level, "next_warning_at": next_warning_at(clock),  # type: ignore[arg-type]
                "unconfirmed": schedule.unconfirmed,
                # What engine.models derives on every ORM flush (bulk INSERTs bypass the ORM).
                "started_day": office_day_number(started),
                "stopped_day": office_day_number(stopped) if stopped is not None else None,
                "late": stopped > schedule.due_at if stopped is not None else None}

    def case(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        rng = self.rng
        key = rng.choices(list(SHARES), weights=list(SHARES.values()))[0]
        definition = self.definitions[key]
        channel = rng.choices([Channel.WINDOW, Channel.ONLINE, Channel.PARTNER], weights=[60, 35, 5])[0]
        day = rng.choice(self.working_days)
        if channel == Channel.WINDOW:
            accepted = self.office_time(day)
        else:  # online applications arrive at any hour, weekends included
            accepted = local(day + timedelta(days=rng.choice((0, 0, 0, 1, 2))), rng.randint(0, 24 * 60 - 1))
        if accepted >= self.now:
            accepted = self.now - timedelta(minutes=rng.randint(1, 600))
        case_id = self.next_id("case")
        stamp = accepted.astimezone(OFFICE_TZ).strftime("%Y%m%d")
        self.counters[stamp] = self.counters.get(stamp, 0) + 1
        stuck = rng.random() < 0.004
        tasks: list[dict[str, Any]] = []

        def step(element: str, meta: dict[str, Any], start: datetime, days: int, paused: int = 0, extended: int = 0,
                 instant: bool = False) -> datetime:
            if instant:
                stop = start
            elif stuck and meta["kind"] == "review":
                stop = self.now + timedelta(days=400)  # forgotten in an inbox: open and red for months
            else:
                stop = self.finish(start, days + paused)
            department_id = self.departments[meta["department"]]
            done = stop <= self.now
            pause_start = self.finish(start, days) if paused else None
            paused_since = pause_start if paused and not done and pause_start < self.now else None
            clock = self.clock_row(case_id, ClockKind.TASK, meta["time_limit_days"], start, stop if done else None,
                                   paused if done else 0, extended, paused_since, element, department_id)
            rows["clocks"].append(clock)
            if pause_start is not None and (done or paused_since is not None):
                rows["clock_pauses"].append({
                    "id": self.next_id("pause"), "case_id": case_id, "clock_id": clock["id"], "task_id": None,
                    "kind": PauseKind.SPECIAL_PROCEDURE, "procedure": "site_survey", "reason": "现场踏勘",
                    "started_at": min(pause_start, stop), "ended_at": stop if done else None,
                    "working_days": paused if done else None})
            people = self.reviewers.get(department_id) or [self.clerk_id]
            person = self.clerk_id if meta["kind"] == "intake" else rng.choice(people)
            state = TaskState.COMPLETED if done else rng.choice((TaskState.OPEN, TaskState.CLAIMED))
            tasks.append({"id": self.next_id("task"), "case_id": case_id, "workflow_task_id": f"seed-{self.ids['task']:012d}",
                          "element_id": element, "name": meta["name"], "kind": meta["kind"], "department_id": department_id,
                          "assignee_id": person if state != TaskState.OPEN else None, "state": state,
                          "time_limit_days": meta["time_limit_days"], "created_at": start,
                          "claimed_at": start if state != TaskState.OPEN else None,
                          "completed_at": stop if done else None, "completed_by_id": person if done else None,
                          "outcome": "approve" if done and meta["kind"] == "review" else None, "opinion": None,
                          "clock_id": clock["id"]})
            return stop

        tasks_meta = definition["tasks"]
        step("intake", tasks_meta["intake"], accepted, 0, instant=True)
        reviews = [(e, m) for e, m in tasks_meta.items() if m["kind"] == "review"]
        ends, start = [], accepted
        for element, meta in reviews:
            limit = meta["time_limit_days"]
            days = rng.choices(range(0, limit + 4), weights=[3 if d <= limit else 0.35 for d in range(0, limit + 4)])[0]
            paused = rng.randint(1, 5) if rng.random() < 1 / 12 else 0
            extended = rng.choice((3, 5)) if rng.random() < 0.01 else 0
            stop = step(element, meta, start if key in SEQUENTIAL else accepted, days, paused, extended)
            ends.append(stop)
            if key in SEQUENTIAL:
                if stop > self.now:
                    break
                start = stop
        finished = max(ends)
        if finished <= self.now and "delivery" in tasks_meta:
            finished = step("delivery", tasks_meta["delivery"], finished, rng.choice((0, 0, 0, 1)))
        concluded = finished <= self.now and len(ends) == len(reviews)
        visits = (1 if channel == Channel.WINDOW else rng.choice((0, 1))) + (rng.random() < 0.03)
        rows["cases"].append({
            "id": case_id, "number": f"YJS-{stamp}-{self.counters[stamp]:04d}", "definition_id": definition["id"],
            "applicant_name": f"申请人{case_id}", "channel": channel, "query_code": f"{case_id % 0xFFFFFF:06X}",
            "visits": visits, "status": (CaseStatus.REJECTED if rng.random() < 0.04 else CaseStatus.COMPLETED) if concluded else CaseStatus.IN_PROGRESS,
            "data": {}, "created_by_id": self.clerk_id, "accepted_at": accepted, "completed_at": finished if concluded else None,
            "state": definition["state"], "state_format": STATE_FORMAT, "version": 1})
        paused_most = max(c["paused_days"] for c in rows["clocks"][-len(tasks):])
        for kind, days in ((ClockKind.PROMISED, definition["promised_days"]), (ClockKind.STATUTORY, definition["statutory_days"])):
            rows["clocks"].append(self.clock_row(case_id, kind, days, accepted, finished if concluded else None,
                                                 paused_most if concluded else 0))
        rows["tasks"].extend(tasks)
        if concluded and rng.random() < 0.97:
            level = rng.choices((5, 4, 3, 2, 1), weights=(85, 10, 3, 1.5, 0.5))[0]
            rated = finished + timedelta(hours=rng.randint(1, 72))
            if rated < self.now:
                rows["ratings"].append({
                    "id": self.next_id("rating"), "case_id": case_id, "level": level, "comment": "" if level > 2 else "等待时间长",
                    "channel": "online", "rated_at": rated, "department_id": None, "rectification_task_id": None,
                    "rectified_at": rated + timedelta(days=rng.randint(1, 10)) if level <= 2 and rng.random() < 0.95 else None})


def set_up(db: Database, cases: int) -> tuple[WorkingCalendar, dict, dict, dict, int]:
    clock = FrozenClock(NOW)
    with password_cost(2**10), db.writer.begin() as session:
        seed_calendar(session, clock, range(2024, 2028))
        ensure_departments(session, clock)
        deploy_processes(session, clock)
        ensure_demo_users(session, clock)
        existing = set(session.scalars(select(User.username)))
        for department in session.scalars(select(Department)):
            for n in range(1, REVIEWERS_PER_DEPARTMENT + 1):
                username = f"{department.code}_{n}"
                if username not in existing:
                    create_user(session, clock, username, "bench-pass-123", [Role.REVIEWER], department.code,
                                f"{department.name}审查员{n}")
    with db.reader.begin() as session:
        calendar = load_calendar(session)
        definitions = {}
        for d in session.scalars(select(ProcessDefinition)):
            if not {"tasks", "promised_days", "statutory_days"} <= d.catalog.keys():
                continue  # not a 一件事 with time limits (the enterprise project and ticket flows)
            definitions[d.key] = {"id": d.id, "tasks": d.catalog["tasks"], "promised_days": d.catalog["promised_days"],
                                  "statutory_days": d.catalog["statutory_days"]}
    # Rows as wide as real ones: each case carries the workflow state of a real case of its 一件事
    # (accepted through the engine, then rolled back), 4–11 KB. On SQLite that state shares the row.
    with db.writer() as session:
        session.begin()
        clerk = session.scalar(select(User).where(User.username == "window"))
        for key, definition in definitions.items():
            definition["state"] = accept_case(session, clock, clerk, key, {"name": "样例"}, {"venue_name": "样例"}).state
        session.rollback()
        departments = {d.code: d.id for d in session.scalars(select(Department))}
        reviewers: dict[int, list[int]] = {}
        for user_id, department_id in session.execute(
                select(User.id, User.department_id).join(UserRole).where(UserRole.role == Role.REVIEWER)):
            reviewers.setdefault(department_id, []).append(user_id)
        clerk_id = session.scalar(select(User.id).where(User.username == "window"))
        if session.scalar(select(func.count(Case.id))):
            raise SystemExit("the database already holds cases; seed an empty one")
    return calendar, definitions, departments, reviewers, clerk_id


def seed(url: str, cases: int = 100_000, seed_value: int = 20261120) -> dict[str, int]:
    db = connect(url)
    migrate(db)
    generator = Generator(*set_up(db, cases), seed=seed_value)
    tables = {"cases": Case.__table__, "clocks": Clock.__table__, "tasks": Task.__table__,
              "clock_pauses": ClockPause.__table__, "ratings": Rating.__table__}
    totals = dict.fromkeys(tables, 0)
    done = 0
    while done < cases:
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        for _ in range(min(CHUNK, cases - done)):
            generator.case(rows)
        done += min(CHUNK, cases - done)
        with db.engine.begin() as connection:
            for name in ("cases", "clocks", "tasks", "clock_pauses", "ratings"):
                if rows[name]:
                    connection.execute(insert(tables[name]), rows[name])
                    totals[name] += len(rows[name])
    with db.engine.begin() as connection:
        if db.is_sqlite:
            connection.execute(text("ANALYZE"))
        else:
            for name in tables:
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"))
            connection.execute(text("ANALYZE"))
    db.dispose()
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="SQLAlchemy URL of an empty database")
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    started = time.perf_counter()
    totals = seed(args.database, args.cases)
    print(", ".join(f"{n:,} {name}" for name, n in totals.items()), f"in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
