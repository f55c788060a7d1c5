"""Time the supervisor's desk at 100,000 cases and ~500,000 steps, on SQLite and PostgreSQL.

Each page and API answer is requested through the Flask test client (the whole request: session,
queries, rendering), signed in as the `supervisor` demo user, at the seed's fixed `NOW`. Every row
is the median (and the slowest) of `--repeat` requests after one warm-up; "cold" is a fresh app's
first board without the scheduler, which also fills the per-process cache of step durations used for
predictions; in production the scheduler fills it at start (the "cache warmed" row).

The statistics' covering indexes (ix_clocks_stats, ix_cases_stats) come from the migrations.

    .venv/bin/python -m bench.stats_bench                      # seeds both on first run (~3 min)
    .venv/bin/python -m bench.stats_bench --repeat 7
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench.common import migrate
from bench.seed_stats import NOW, seed
from engine.calendar_store import load_calendar
from engine.clock import FrozenClock
from engine.db import connect
from engine.models import Case, Task
from tests.pgserver import PostgresServer, find_pg_bin
from tests.web.conftest import basic
from web.app import create_app
from web.supervisor import duration_cache

PAGES = (
    ("board", "/supervisor/"),
    ("board, one department", "/supervisor/?department=fire"),
    ("board, red only", "/supervisor/?warning=red"),
    ("board, open cases", "/supervisor/?view=cases"),
    ("board, predicted late", "/supervisor/?view=cases&predicted=late"),
    ("board export (xlsx, all open)", "/supervisor/?format=xlsx"),
    ("stats: departments (this year)", "/supervisor/stats"),
    ("stats: departments (all time)", "/supervisor/stats?period=all"),
    ("stats: matters", "/supervisor/stats/matters"),
    ("stats: reviewers (one department)", "/supervisor/stats/reviewers"),
    ("stats: monthly by matter", "/supervisor/stats/monthly"),
    ("stats: monthly by department", "/supervisor/stats/monthly?by=department"),
    ("stats: channels and ratings", "/supervisor/stats/channels"),
    ("API /board", "/api/v1/board"),
    ("API /stats/departments (all time)", "/api/v1/stats/departments"),
    ("API /stats/monthly (all time)", "/api/v1/stats/monthly"),
    ("API /stats/channels (all time)", "/api/v1/stats/channels"),
)


def ensure_seeded(url: str, cases: int) -> None:
    db = connect(url)
    try:
        migrate(db)
        with db.reader.begin() as session:
            present = session.scalar(select(func.count(Case.id)))
    finally:
        db.dispose()
    if not present:
        started = time.perf_counter()
        totals = seed(url, cases)
        print(f"  seeded {', '.join(f'{n:,} {k}' for k, n in totals.items())} in {time.perf_counter() - started:.0f} s")
    elif present != cases:
        raise SystemExit(f"{url} holds {present:,} cases, not {cases:,}; use another database")


class CpuMeter:
    """CPU seconds spent on a request: this process (Flask, the SQLite engine, psycopg) plus, on
    PostgreSQL, the server backends of the bench's database (read from /proc). On a shared, loaded
    machine wall-clock times mostly measure the neighbours; CPU time is what one idle core would take.
    PostgreSQL's parallel workers are turned off for the bench database so the backends do all the work.
    """

    def __init__(self, url: str) -> None:
        self.tick = os.sysconf("SC_CLK_TCK")
        # Its own connection, outside the app's pool, so it never takes the backend the app will use.
        self.probe = None if url.startswith("sqlite") else (
            connect(url).engine.connect().execution_options(isolation_level="AUTOCOMMIT"))

    def _backends(self) -> list[int]:
        if self.probe is None:
            return []
        return list(self.probe.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")))

    def close(self) -> None:
        if self.probe is not None:
            self.probe.close()

    def _server_seconds(self, pids: list[int]) -> float:
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / self.tick  # utime, stime
        return total

    def __call__(self, request: Any) -> float:
        pids = self._backends()
        before = time.process_time() + self._server_seconds(pids)
        request()
        return (time.process_time() + self._server_seconds(pids) - before) * 1000


def measure(url: str, repeat: int) -> dict[str, dict[str, float]]:
    db = connect(url)
    if not db.is_sqlite:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            database = connection.scalar(text("SELECT current_database()"))
            connection.execute(text(f'ALTER DATABASE "{database}" SET max_parallel_workers_per_gather = 0'))
        db.engine.dispose()  # the setting applies to connections opened from now on
    app = create_app({"TESTING": True, "DATABASE": db, "CLOCK": FrozenClock(NOW), "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.post("/login", data={"username": "supervisor", "password": "demo123"}).status_code == 302
    auth = basic("supervisor", "demo123")
    cpu = CpuMeter(url)
    results: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    cold_cpu = cpu(lambda: client.get("/supervisor/"))
    results["board, cold, no scheduler (fills the cache)"] = {"median": (time.perf_counter() - started) * 1000,
                                                              "cpu": cold_cpu}
    # In production the scheduler fills each process's cache at start and keeps it warm (web/scheduler.py).
    warmed = create_app({"TESTING": True, "DATABASE": db, "CLOCK": FrozenClock(NOW), "SECRET_KEY": "bench",
                         "WTF_CSRF_ENABLED": False})
    with db.reader.begin() as session:
        duration_cache(warmed).refresh(session, load_calendar(session), NOW)
    first = warmed.test_client()
    assert first.post("/login", data={"username": "supervisor", "password": "demo123"}).status_code == 302
    started = time.perf_counter()
    warm_cpu = cpu(lambda: first.get("/supervisor/"))
    results["board, first request, cache warmed by the scheduler"] = {
        "median": (time.perf_counter() - started) * 1000, "cpu": warm_cpu}
    for name, path in PAGES:
        headers = auth if path.startswith("/api/") else {}
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:500])
        times, cpus = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            cpus.append(cpu(lambda: client.get(path, headers=headers)))
            times.append((time.perf_counter() - started) * 1000)
        results[name] = {"median": statistics.median(times), "max": max(times), "cpu": statistics.median(cpus)}
    cpu.close()
    with db.reader.begin() as session:
        open_tasks = session.scalar(select(func.count(Task.id)).where(Task.state.in_(("open", "claimed"))))
    results["_open_tasks"] = {"median": float(open_tasks or 0)}
    if not db.is_sqlite:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" RESET max_parallel_workers_per_gather'))
    db.dispose()
    return results


def analyze(url: str) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map index-only scans need)."""
    db = connect(url)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE" if db.is_sqlite else "VACUUM (ANALYZE) clocks, cases, tasks"))
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--sqlite", default=os.path.join(tempfile.gettempdir(), "yjs-stats-bench.sqlite"),
                        help="SQLite file (seeded on first use, reused after)")
    parser.add_argument("--postgres-url", help="an existing PostgreSQL database (else a throwaway cluster is started)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()

    runs: dict[str, dict[str, dict[str, float]]] = {}
    targets = [("SQLite", f"sqlite:///{args.sqlite}")]
    server = None
    if not args.no_postgres:
        if args.postgres_url:
            targets.append(("PostgreSQL", args.postgres_url))
        elif find_pg_bin() is not None:
            server = PostgresServer(Path(tempfile.mkdtemp(prefix="yjs-stats-pg-")))
            server.start()
            targets.append(("PostgreSQL", server.create_database("stats_bench")))
        else:
            print("PostgreSQL server binaries not found: timing SQLite only")
    try:
        for label, url in targets:
            print(f"{label}: {url}")
            ensure_seeded(url, args.cases)
            analyze(url)
            runs[label] = measure(url, args.repeat)
    finally:
        if server is not None:
            server.stop()

    labels = list(runs)
    print(f"\n{args.cases:,} cases; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; open tasks: "
          + ", ".join(f"{label} {int(runs[label]['_open_tasks']['median'])}" for label in labels))
    for title, cell in (
        (f"wall clock, median of {args.repeat} (slowest), ms", lambda f: f"{f['median']:.0f}" + (f" ({f['max']:.0f})" if "max" in f else "")),
        ("CPU time (process + PostgreSQL backends, no parallel workers), median, ms", lambda f: f"{f['cpu']:.0f}"),
    ):
        print(f"\n{title}")
        width = max(len(name) for name in runs[labels[0]]) + 2
        print("| " + "endpoint".ljust(width) + " | " + " | ".join(label.ljust(20) for label in labels) + " |")
        print("|" + "-" * (width + 2) + "|" + "|".join("-" * 22 for _ in labels) + "|")
        for name in runs[labels[0]]:
            if not name.startswith("_"):
                print("| " + name.ljust(width) + " | " + " | ".join(cell(runs[label][name]).ljust(20) for label in labels) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": args.cases, "runs": runs}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
