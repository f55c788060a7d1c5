"""Shared helpers: databases with the real schema, seeded staff, statement counting, timing, RSS."""
from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, select

import engine.directory as directory
from engine.clock import Clock, SystemClock
from engine.db import Database, connect
from engine.definitions import deploy_definition
from engine.models import User
from bench import flows

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-pass-123"
CLERK = "bench_clerk"


def migrate(db: Database) -> None:
    """Build the schema with the project's Alembic migrations (as tests/conftest.py does)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextlib.contextmanager
def password_cost(n: int) -> Iterator[None]:
    """Hash passwords created inside with scrypt N=`n`; hashes record their parameters, so login still verifies.

    Only the bench process's module attribute changes (tests/conftest.py does the same); no file is touched.
    """
    saved = directory._SCRYPT_N
    directory._SCRYPT_N = n
    try:
        yield
    finally:
        directory._SCRYPT_N = saved


@dataclass
class Staff:
    """Detached users (roles and department loaded), reusable across sessions because expire_on_commit=False."""

    clerk: User
    reviewers: dict[int, User] = field(default_factory=dict)  # department id -> reviewer
    by_name: dict[str, User] = field(default_factory=dict)


def seed(db: Database, clock: Clock, ns: tuple[int, ...], prefix: str = "r_", scrypt_n: int | None = 2**10) -> None:
    """Departments (window + all generated ones), a clerk, one reviewer per department, a definition per N.

    `scrypt_n=None` keeps the production password cost; the engine-only benches never log in, so they
    use a cheap one to save seeding time.
    """
    cost = password_cost(scrypt_n) if scrypt_n else contextlib.nullcontext()
    with cost, db.writer.begin() as session:
        existing = {d.code for d in directory.list_departments(session)}
        for code, name in [flows.WINDOW, *flows.departments(flows.MAX_DEPARTMENTS)]:
            if code not in existing:
                directory.create_department(session, clock, code, name)
        directory.create_user(session, clock, prefix + "clerk", PASSWORD, ["window"], "window")
        for code, _name in flows.departments(flows.MAX_DEPARTMENTS):
            directory.create_user(session, clock, prefix + code, PASSWORD, ["reviewer"], code)
        for n in ns:
            deploy_definition(session, clock, flows.bpmn_xml(n).encode(), filename=f"{flows.process_key(n)}.bpmn")


def load_staff(db: Database, prefix: str = "r_") -> Staff:
    with db.reader.begin() as session:
        users = list(session.scalars(select(User).where(User.username.like(prefix + "%"))))
    clerk = next(u for u in users if u.username == prefix + "clerk")
    staff = Staff(clerk=clerk)
    for user in users:
        staff.by_name[user.username] = user
        if user is not clerk and user.department_id is not None:
            staff.reviewers[user.department_id] = user
    return staff


def open_database(url: str, ns: tuple[int, ...], **seed_options: Any) -> Database:
    db = connect(url)
    migrate(db)
    seed(db, SystemClock(), ns, **seed_options)
    return db


class StatementCounter:
    """Counts statements the engine sends to the database (a `before_cursor_execute` listener).

    BEGIN is left out: SQLite's writer issues `BEGIN IMMEDIATE` as a statement, PostgreSQL's begin is
    implicit, and neither is work the engine chose to do. An executemany counts once (one round trip).
    Also sums the time spent inside the driver (before → after cursor execute).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.seconds = 0.0
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip()[:5].upper() == "BEGIN":
            self.count += 1
        self._started = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        self.seconds += time.perf_counter() - self._started

    def reset(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def middle_indices(n: int) -> range:
    """Review actions in the middle third of a case (at least one), so tree sizes are representative."""
    lo = n // 3
    hi = max(lo + 1, n - n // 3)
    return range(lo, hi)


def calibration_ms() -> float:
    """Median ms of a fixed pure-Python loop: compare runs (and sections) to see other load on the machine."""
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        total = 0
        for i in range(300_000):
            total += i * i % 7
        times.append(time.perf_counter() - t0)
    return round(ms(median(times)), 2)


def rss_mib() -> float:
    """VmRSS of this process from /proc/self/status (no psutil, no resource)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("VmRSS not found in /proc/self/status")
