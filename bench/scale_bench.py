"""Inbox and open-task scan at scale: synthetic task rows bulk-loaded with SQL, queried as the engine does.

Rows go in directly (executemany on SQLite, COPY on PostgreSQL), not through the engine: a million
task rows would take hours as real actions. The shape is what a few years of service look like:
ten tasks per case, created_at rising with the id, almost everything old completed, most of the
last 10 % still open or claimed.
"""
from __future__ import annotations

import random
import sqlite3
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from sqlalchemy import bindparam, event, func, select, text
from sqlalchemy.orm import Session

from engine.db import Database
from engine.models import Department, ProcessDefinition, Task, User
from engine.tasks import list_tasks
from engine.types import UTCDateTime
from engine.vocab import OPEN_TASK_STATES
from bench.common import load_staff, median, ms

TASKS_PER_CASE = 10
TASK_COLUMNS = ("id", "case_id", "workflow_task_id", "element_id", "name", "kind", "department_id", "assignee_id",
                "state", "time_limit_days", "created_at", "completed_at", "completed_by_id", "outcome")
CASE_COLUMNS = ("id", "number", "definition_id", "applicant_name", "channel", "query_code", "status", "data",
                "accepted_at", "completed_at", "state", "state_format", "version")
SCAN_SQL = "SELECT count(*) FROM tasks WHERE state IN ('open', 'claimed') AND created_at < :t"


def _rows(total: int, now: datetime, departments: list[tuple[int, str]], reviewers: dict[int, int],
          definition_id: int) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """("case", row) and ("task", row) tuples in insertion order; deterministic (seeded)."""
    rng = random.Random(20261123)
    span = timedelta(days=730)
    start = now - span
    recent_from = int(total * 0.9)
    cases = -(-total // TASKS_PER_CASE)
    task_id = 0
    for case_id in range(1, cases + 1):
        accepted = start + span * ((case_id - 1) * TASKS_PER_CASE / total)
        recent = (case_id - 1) * TASKS_PER_CASE >= recent_from
        yield "case", (case_id, f"YJS-BULK-{case_id:07d}", definition_id, "张三", "window", "ABC123",
                       "in_progress" if recent else "completed", "{}", accepted, None if recent else accepted + timedelta(days=9),
                       "", 1, 1)
        for _ in range(TASKS_PER_CASE):
            if task_id >= total:
                break
            task_id += 1
            dept_id, code = departments[rng.randrange(len(departments))]
            created = accepted + timedelta(minutes=rng.randrange(60))
            roll = rng.random()
            if recent:
                state = "open" if roll < 0.6 else "claimed" if roll < 0.7 else "completed"
            else:
                state = "open" if roll < 0.005 else "cancelled" if roll < 0.05 else "completed"
            done = state == "completed"
            user = reviewers[dept_id] if state in ("claimed", "completed") else None
            yield "task", (task_id, case_id, str(uuid.UUID(int=rng.getrandbits(128))), f"review_{code}", "审查", "review",
                           dept_id, user, state, 5, created, created + timedelta(days=3) if done else None,
                           user if done else None, "approve" if done else None)


def _reference_data(db: Database) -> tuple[list[tuple[int, str]], dict[int, int], int, User]:
    staff = load_staff(db)
    with db.reader.begin() as session:
        departments = [(d.id, d.code) for d in session.scalars(select(Department).where(Department.code != "window").order_by(Department.id))]
        definition_id = session.scalar(select(ProcessDefinition.id).limit(1))
    reviewers = {dept: user.id for dept, user in staff.reviewers.items()}
    assert definition_id is not None
    return departments, reviewers, definition_id, staff.reviewers[departments[0][0]]


def load_sqlite(path: str, db: Database, total: int, now: datetime) -> float:
    """executemany in one transaction; datetimes as SQLAlchemy stores them on SQLite (naive UTC text)."""
    departments, reviewers, definition_id, _ = _reference_data(db)
    t0 = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB for the load only: random UUIDs hit the unique index everywhere

    def fmt(value: Any) -> Any:
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value

    conn.execute("BEGIN")
    case_sql = f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})"
    task_sql = f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}) VALUES ({', '.join('?' * len(TASK_COLUMNS))})"
    batch: dict[str, list[tuple[Any, ...]]] = {"case": [], "task": []}
    for kind, row in _rows(total, now, departments, reviewers, definition_id):
        batch[kind].append(tuple(fmt(v) for v in row))
        if len(batch["task"]) >= 50_000:
            conn.executemany(case_sql, batch["case"])
            conn.executemany(task_sql, batch["task"])
            batch = {"case": [], "task": []}
    conn.executemany(case_sql, batch["case"])
    conn.executemany(task_sql, batch["task"])
    conn.execute("COMMIT")
    conn.close()
    # No ANALYZE: the application never runs it on SQLite, so the planner works without statistics.
    return time.perf_counter() - t0


def load_postgres(conninfo: dict[str, Any], db: Database, total: int, now: datetime) -> float:
    """COPY both tables; FK triggers are skipped (the rows are consistent by construction), then
    VACUUM ANALYZE, which autovacuum would have done on a table that grew over years."""
    import psycopg

    departments, reviewers, definition_id, _ = _reference_data(db)
    t0 = time.perf_counter()
    with psycopg.connect(**conninfo) as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.cursor() as cur:
            cases: list[tuple[Any, ...]] = []  # a tenth of the rows: buffered, copied after the tasks
            with cur.copy(f"COPY tasks ({', '.join(TASK_COLUMNS)}) FROM STDIN") as copy:
                for kind, row in _rows(total, now, departments, reviewers, definition_id):
                    if kind == "task":
                        copy.write_row(row)
                    else:
                        cases.append(row)
            with cur.copy(f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
                for row in cases:
                    copy.write_row(row)
            for table in ("cases", "tasks"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE cases")
        conn.execute("VACUUM ANALYZE tasks")
    return time.perf_counter() - t0


def _explain(db: Database, statement: str, params: Any, analyze: bool = False) -> list[str]:
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE) " if analyze else "EXPLAIN "
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, params).all()
    return [str(r[-1]) for r in rows]


def _index_verdict(plan: list[str]) -> str:
    """Which index the plan uses, or that it scans the table."""
    joined = " | ".join(plan)
    for line in plan:
        if "USING" in line and "INDEX" in line and " tasks " in f" {line} ":
            return "index " + line.split("INDEX", 1)[1].split()[0] + (" + sort" if "TEMP B-TREE" in joined else "")
        if "Index" in line and " on " in line and (" tasks" in line or "ix_tasks" in line):
            return "index " + line.split(" on ", 1)[1].split()[0] + (" + sort" if "Sort" in joined else "")
    if "SCAN tasks" in joined or "Seq Scan on tasks" in joined:
        return "no index (full table scan)"
    return "see plan"


def _timed_query(db: Database, run: Callable[[Session], int], runs: int) -> tuple[float, int, str, Any]:
    """Median ms over `runs` (after one warm-up run), the row count, and the SQL the first run sent."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        captured.append((statement, parameters))

    times, rows = [], 0
    for i in range(runs + 1):
        if i == 0:
            event.listen(db.engine, "before_cursor_execute", capture)
        t0 = time.perf_counter()
        with db.reader.begin() as session:
            rows = run(session)
        elapsed = time.perf_counter() - t0
        if i == 0:
            event.remove(db.engine, "before_cursor_execute", capture)
        else:
            times.append(elapsed)
    statement, params = next((s, p) for s, p in captured if "tasks" in s)
    return ms(median(times)), rows, statement, params


def measure(db: Database, now: datetime, runs: int) -> dict[str, Any]:
    """Median ms of a department's inbox (first page of 50 open tasks) and of the open-task scan, with plans.

    `inbox` is the query as specified (ORM `select(Task)`, so the eager joins the model declares come
    with it); `engine_inbox` is whatever `engine.tasks.list_tasks` does today, for comparison.
    """
    _, _, _, reviewer = _reference_data(db)
    department_id = reviewer.department_id
    threshold = now - timedelta(days=5)
    scan = text(SCAN_SQL).bindparams(bindparam("t", type_=UTCDateTime()))

    def inbox(session: Session) -> int:
        query = (select(Task).where(Task.department_id == department_id, Task.state.in_(OPEN_TASK_STATES))
                 .order_by(Task.created_at, Task.id).limit(50))
        return len(list(session.scalars(query).unique()))

    def engine_inbox(session: Session) -> int:
        return len(list_tasks(session, reviewer, state="open", limit=50))

    def open_scan(session: Session) -> int:
        return int(session.execute(scan, {"t": threshold}).scalar_one())

    out: dict[str, Any] = {"runs": runs}
    for name, fn in (("inbox", inbox), ("engine_inbox", engine_inbox), ("scan", open_scan)):
        elapsed, rows, statement, params = _timed_query(db, fn, runs)
        plan = _explain(db, statement, params)
        out[name] = {"ms": round(elapsed, 3), "rows": rows, "index": _index_verdict(plan), "plan": plan,
                     "sql": " ".join(statement.split())}
        if not db.is_sqlite:
            # The server's own execution time, to tell query cost from fetching and ORM loading.
            analyzed = _explain(db, statement, params, analyze=True)
            out[name]["server_ms"] = float(next(l for l in analyzed if l.startswith("Execution Time")).split()[2])
    with db.reader.begin() as session:
        out["open_in_department"] = session.scalar(
            select(func.count()).select_from(Task).where(Task.department_id == department_id, Task.state.in_(OPEN_TASK_STATES)))
    return out
