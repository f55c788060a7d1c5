"""Time the supervisor's desk at 100,000 cases and ~500,000 steps, on SQLite and PostgreSQL.

Each page and API answer is requested through the Flask test client (the whole request: session,
queries, rendering), signed in as the `supervisor` demo user, at the seed's fixed `NOW`. Every row
is the median (and the slowest) of `--repeat` requests after one warm-up; "cold" is a fresh app's
first board, which also fills the per-process cache of step durations used for predictions.

With `--indexes` each database is timed again after creating `RECOMMENDED_INDEXES` (the schema is
owned by the migrations, so the bench only proposes them).

    .venv/bin/python -m bench.stats_bench                      # seeds both on first run (~3 min)
    .venv/bin/python -m bench.stats_bench --indexes --repeat 7
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text

from bench.common import migrate
from bench.seed_stats import NOW, seed
from engine.clock import FrozenClock
from engine.db import connect
from engine.models import Case, Task
from tests.pgserver import PostgresServer, find_pg_bin
from tests.web.conftest import basic
from web.app import create_app

RECOMMENDED_INDEXES = (
    # Department / step statistics and step durations read only this index, grouped in its order.
    "CREATE INDEX ix_clocks_stats ON clocks (kind, department_id, element_id, started_at, stopped_at, due_at, "
    "paused_days, paused_since, level, case_id)",
    # Case statistics by period read this instead of the case rows, which carry the workflow state.
    "CREATE INDEX ix_cases_stats ON cases (accepted_at, definition_id, channel, visits, completed_at)",
)

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


def measure(url: str, repeat: int) -> dict[str, dict[str, float]]:
    db = connect(url)
    app = create_app({"TESTING": True, "DATABASE": db, "CLOCK": FrozenClock(NOW), "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.post("/login", data={"username": "supervisor", "password": "demo123"}).status_code == 302
    auth = basic("supervisor", "demo123")
    results: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    assert client.get("/supervisor/").status_code == 200
    results["board, cold (fills the duration cache)"] = {"median": (time.perf_counter() - started) * 1000}
    for name, path in PAGES:
        headers = auth if path.startswith("/api/") else {}
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:500])
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
        results[name] = {"median": statistics.median(times), "max": max(times)}
    with db.reader.begin() as session:
        open_tasks = session.scalar(select(func.count(Task.id)).where(Task.state.in_(("open", "claimed"))))
    results["_open_tasks"] = {"median": float(open_tasks or 0)}
    db.dispose()
    return results


def set_indexes(url: str, present: bool) -> None:
    """Create (or drop) RECOMMENDED_INDEXES, so a reused database is timed as asked."""
    db = connect(url)
    with db.engine.begin() as connection:
        for statement in RECOMMENDED_INDEXES:
            connection.execute(text(f"DROP INDEX IF EXISTS {statement.split()[2]}"))
            if present:
                connection.execute(text(statement))
        connection.execute(text("ANALYZE"))
    if not db.is_sqlite:  # index-only scans need the visibility map
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) clocks, cases"))
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--sqlite", default=os.path.join(tempfile.gettempdir(), "yjs-stats-bench.sqlite"),
                        help="SQLite file (seeded on first use, reused after)")
    parser.add_argument("--postgres-url", help="an existing PostgreSQL database (else a throwaway cluster is started)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--indexes", action="store_true", help="also time with RECOMMENDED_INDEXES")
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
            set_indexes(url, False)
            runs[label] = measure(url, args.repeat)
            if args.indexes:
                set_indexes(url, True)
                runs[f"{label} + indexes"] = measure(url, args.repeat)
    finally:
        if server is not None:
            server.stop()

    labels = list(runs)
    print(f"\n{args.cases:,} cases; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
          f"median of {args.repeat} (max) in ms; open tasks: "
          + ", ".join(f"{label} {int(runs[label]['_open_tasks']['median'])}" for label in labels))
    width = max(len(name) for name in runs[labels[0]]) + 2
    print("| " + "endpoint".ljust(width) + " | " + " | ".join(label.ljust(20) for label in labels) + " |")
    print("|" + "-" * (width + 2) + "|" + "|".join("-" * 22 for _ in labels) + "|")
    for name in runs[labels[0]]:
        if name.startswith("_"):
            continue
        cells = []
        for label in labels:
            figure = runs[label][name]
            cell = f"{figure['median']:.0f}" + (f" ({figure['max']:.0f})" if "max" in figure else "")
            cells.append(cell.ljust(20))
        print("| " + name.ljust(width) + " | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": args.cases, "runs": runs}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
