"""Seed ~900 enterprise projects (600+ major) through the engine and time the projects overview.

Every project is registered with `engine.projects.register_project` (its case starts, its plan is
locked) and walked a random number of steps with `engine.tasks.complete_task`, some of them late,
so the overview has every stage, steps behind plan and stalled projects, as in the report
(about 900 projects, over 600 of them major). Then the overview is timed three ways: the engine
service, the JSON API and the HTML page (median of several runs, milliseconds).

    .venv/bin/python -m bench.projects_bench [--database sqlite:////tmp/projects.sqlite] [--projects 900]
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bench.common import migrate, password_cost
from engine.calendar import OFFICE_TZ
from engine.catalog import deploy_processes, ensure_departments
from engine.clock import FrozenClock
from engine.db import connect
from engine.demo import DEMO_PASSWORD, ensure_demo_users
from engine.models import Task, User
from engine.projects import overview, register_project
from engine.tasks import complete_task
from engine.vocab import TaskState

START = datetime(2025, 3, 3, 9, 0, tzinfo=OFFICE_TZ)


def seed(url: str, count: int, rng: random.Random) -> FrozenClock:
    db = connect(url)
    migrate(db)
    clock = FrozenClock(START)
    with password_cost(2**10), db.writer.begin() as s:
        ensure_departments(s, clock)
        deploy_processes(s, clock)
        ensure_demo_users(s, clock)
    for n in range(count):
        clock.set(START + timedelta(hours=9 * n))  # registrations spread over about a year
        with db.writer.begin() as s:
            users = {u.username: u for u in s.scalars(select(User))}
            major = rng.random() < 0.68
            project = register_project(s, clock, users["window"], {
                "name": f"项目{n:04d}", "enterprise_name": f"企业{n:04d}有限公司",
                "kind": "investment" if rng.random() < 0.7 else "upgrade",
                "investment_yuan": rng.randint(5_000_000, 900_000_000) if major else rng.randint(300_000, 4_900_000),
                "contact_name": "联系人", "contact_phone": "13800138000"})
            local = FrozenClock(clock.now())
            for _ in range(rng.randint(0, 12)):
                task = s.scalar(select(Task).where(Task.case_id == project.case_id, Task.state == TaskState.OPEN)
                                .order_by(Task.id).limit(1))
                if task is None:
                    break
                local.advance(days=rng.choice([1, 3, 7, 14, 30]))
                complete_task(s, local, users[task.department.code], task.id, "approve", "同意")
    clock.set(START + timedelta(days=400))
    db.dispose()
    return clock


def timed(fn, runs: int = 7) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database")
    parser.add_argument("--projects", type=int, default=900)
    args = parser.parse_args()
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'projects.sqlite'}"
    began = time.perf_counter()
    clock = seed(url, args.projects, random.Random(9))
    print(f"seeded {args.projects} projects in {time.perf_counter() - began:.1f} s ({url})")

    from web.app import create_app

    db = connect(url)
    app = create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "SECRET_KEY": "bench", "SCHEDULER_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    with db.reader.begin() as s:
        supervisor = s.scalar(select(User).where(User.username == "supervisor"))
        summary = overview(s, supervisor, clock.now())
        print(f"projects {summary.total}, major {summary.major}, behind {summary.projects_behind}, "
              f"steps behind {summary.steps_behind}, stalled {len(summary.stalled)}")
        print(f"engine overview: {timed(lambda: overview(s, supervisor, clock.now())):.0f} ms median")
    client = app.test_client()
    import base64
    headers = {"Authorization": "Basic " + base64.b64encode(f"supervisor:{DEMO_PASSWORD}".encode()).decode()}
    assert client.get("/api/v1/projects/overview", headers=headers).status_code == 200
    print(f"GET /api/v1/projects/overview: {timed(lambda: client.get('/api/v1/projects/overview', headers=headers)):.0f} ms median")
    print(f"GET /api/v1/projects: {timed(lambda: client.get('/api/v1/projects', headers=headers)):.0f} ms median")
    client.post("/login", data={"username": "supervisor", "password": DEMO_PASSWORD})
    page = client.get("/projects/overview")
    assert page.status_code == 200, page.status_code
    print(f"GET /projects/overview (page): {timed(lambda: client.get('/projects/overview')):.0f} ms median")
    print(f"GET /projects/ (register): {timed(lambda: client.get('/projects/')):.0f} ms median")
    db.dispose()


if __name__ == "__main__":
    main()
