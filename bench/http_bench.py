"""Reviewer actions over HTTP against the production server (gunicorn, PostgreSQL).

`POST /api/v1/tasks/<id>/complete` with HTTP Basic from concurrent client threads on loopback.
Every request verifies the user's scrypt password hash, so the run is done twice: with users
hashed at the production cost, and (a diagnostic) with a credential that needs no scrypt, which
shows what the rest of the request costs: the engine's bearer tokens (a SHA-256 lookup) when it
has them, else users hashed at the test suite's cheap scrypt cost. CPU seconds of gunicorn, PostgreSQL and the client
are read from /proc, and py-spy (if installed) samples the workers.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

import engine.directory
import engine.runtime
import engine.tasks
from engine.cases import accept_case
from engine.clock import SystemClock
from engine.db import Database, connect
from engine.models import Task
from engine.vocab import TaskState
from bench import flows
from bench.common import PASSWORD, ROOT, StatementCounter, load_staff, median, ms, password_cost, percentile, seed
from bench.engine_bench import APPLICANT, REVIEW_OPINION, timed

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes, from /proc/<pid>/stat."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def self_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


class Gunicorn:
    """`gunicorn -w 2 --threads 4 -b 127.0.0.1:<port> 'web.app:create_app()'` with DATABASE_URL set."""

    def __init__(self, url: str, log_path: Path, workers: int = 2, threads: int = 4) -> None:
        self.port = free_port()
        self.log_path = log_path
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=secrets.token_hex(32))
        # Keep-alive above gunicorn's 2 s default: the measured run reuses the connections warmed before it.
        cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(workers), "--threads", str(threads),
               "--keep-alive", "10", "-b", f"127.0.0.1:{self.port}", "web.app:create_app()"]
        self.log = log_path.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_path.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/departments")  # no credentials: a quick 401, no hashing
                if conn.getresponse().status == 401:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful stop of the master we started
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass
class Job:
    task_id: int
    auth: str


@dataclass
class DriveResult:
    actions: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    profile: dict[str, float] | None = None


def basic(username: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()


def prepare_jobs(db: Database, n: int, cases: int, prefix: str, auth: dict[str, str] | None = None) -> list[Job]:
    """Accept `cases` cases in-process; return their review tasks, round by round, so that concurrent
    clients work on different cases (siblings of one case serialize on the case's row lock).

    `auth` maps a username to its Authorization header; HTTP Basic by default."""
    clock = SystemClock()
    staff = load_staff(db, prefix)
    auth = auth or {}
    per_case: list[list[Job]] = []
    for _ in range(cases):
        with db.writer.begin() as session:
            case = accept_case(session, clock, staff.clerk, flows.process_key(n), APPLICANT, dict(flows.INTAKE_DATA))
            rows = session.execute(
                select(Task.id, Task.department_id).where(Task.case_id == case.id, Task.state == TaskState.OPEN).order_by(Task.id)
            ).all()
        per_case.append([Job(task_id, auth.get(staff.reviewers[dept].username) or basic(staff.reviewers[dept].username))
                         for task_id, dept in rows])
    return [jobs[r] for r in range(n) for jobs in per_case]


def warmed_connections(port: int, clients: int, auths: set[str]) -> list[http.client.HTTPConnection]:
    """One keep-alive connection per client, each already used once with every credential.

    A gunicorn worker keeps the connections it accepted, and verifies a user's Basic credentials with
    scrypt once, then remembers them for minutes (web/auth.py). In production that first check is long
    past; here it would land in the measured seconds, for whichever worker a new connection reaches.
    So each connection the clients will use sends a cheap authenticated GET for every credential first.
    """
    connections = []
    for _ in range(clients):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for auth in sorted(auths):
            conn.request("GET", "/api/v1/departments", headers={"Authorization": auth})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"warm-up GET answered {response.status}")
        connections.append(conn)
    return connections


def drive(port: int, jobs: list[Job], clients: int, deadline_s: float,
          connections: list[http.client.HTTPConnection] | None = None) -> DriveResult:
    """Complete the jobs from `clients` threads with keep-alive connections (`connections`, else new
    ones); stops when done or at the deadline."""
    work: queue.Queue[Job] = queue.Queue()
    for job in jobs:
        work.put(job)
    result = DriveResult()
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s
    body = json.dumps({"outcome": "approve", "opinion": REVIEW_OPINION}).encode()

    def client(conn: http.client.HTTPConnection) -> None:
        while time.monotonic() < stop_at:
            try:
                job = work.get_nowait()
            except queue.Empty:
                break
            t0 = time.perf_counter()
            try:
                conn.request("POST", f"/api/v1/tasks/{job.task_id}/complete", body=body,
                             headers={"Authorization": job.auth, "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 0
            elapsed = time.perf_counter() - t0
            with lock:
                result.statuses[status] += 1
                if status == 200:
                    result.actions += 1
                    result.latencies.append(elapsed)
        conn.close()

    connections = connections or [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(clients)]
    threads = [threading.Thread(target=client, args=(conn,)) for conn in connections]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - t0
    return result


def bearer_tokens(db: Database) -> dict[str, str]:
    """{username: "Bearer …"} for every r_ reviewer, if this engine has API tokens; else {}."""
    try:
        from engine.tokens import create_token
    except ImportError:
        return {}
    from engine import directory

    clock = SystemClock()
    with password_cost(2**10), db.writer.begin() as session:
        admin = directory.create_user(session, clock, "bench_admin", PASSWORD, ["admin"])
        names = [u.username for u in load_staff(db, "r_").reviewers.values()]
        return {name: "Bearer " + create_token(session, clock, admin, name, "bench")[1] for name in names}


def find_py_spy() -> str | None:
    """py-spy from $PY_SPY, PATH or the project's virtualenv; optional."""
    candidates = [os.environ.get("PY_SPY"), shutil.which("py-spy"), str(ROOT / ".venv" / "bin" / "py-spy")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


# Innermost-first categories for py-spy stacks: the first pattern found in a stack names it.
_CATEGORIES = (
    ("scrypt", ("password_matches", "hash_password")),
    ("deserialize", ("load_state",)),
    ("serialize", ("dump_state",)),
    ("workflow", ("complete_workflow_task",)),
    ("psycopg incl. waits", ("psycopg/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
)


def summarise_py_spy(raw_path: Path) -> dict[str, float]:
    """Share of active worker samples per category, from py-spy's collapsed ("raw") output."""
    totals: Counter[str] = Counter()
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        name = next((label for label, patterns in _CATEGORIES if any(p in stack for p in patterns)),
                    "other")
        totals[name] += int(count)
    all_samples = sum(totals.values()) or 1
    return {name: round(100.0 * count / all_samples, 1) for name, count in totals.most_common()}


def measured_run(server: Gunicorn, jobs: list[Job], clients: int, deadline_s: float, pg_pid: int,
                 py_spy: str | None, spy_out: Path) -> DriveResult:
    workers = server.worker_pids()
    connections = warmed_connections(server.port, clients, {job.auth for job in jobs})
    spy = None
    if py_spy:
        spy = subprocess.Popen(
            [py_spy, "record", "--pid", str(server.proc.pid), "--subprocesses", "--rate", "250", "--format", "raw",
             "--output", str(spy_out), "--nonblocking", "--duration", str(int(deadline_s) + 5)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # let it attach before the clock starts
    before = (cpu_seconds(workers), cpu_seconds([pg_pid, *children_of(pg_pid)]), self_cpu_seconds())
    result = drive(server.port, jobs, clients, deadline_s, connections)
    pg_pids = [pg_pid, *children_of(pg_pid)]
    after = (cpu_seconds(workers), cpu_seconds(pg_pids), self_cpu_seconds())
    if result.actions:
        result.cpu = {name: ms((a - b) / result.actions) for name, a, b in zip(("gunicorn", "postgres", "client"), after, before)}
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
        if spy_out.exists():
            result.profile = summarise_py_spy(spy_out)
    return result


def in_process_breakdown(db: Database, n: int, prefix: str, count: int) -> dict[str, float]:
    """Median ms per part of one API request, single-threaded through Flask's test client (no gunicorn)."""
    from web.app import create_app

    # No background scheduler in the bench process: it would outlive the throwaway server.
    app = create_app({"DATABASE": db, "TESTING": False, "SCHEDULER_ENABLED": False})
    client = app.test_client()
    jobs = prepare_jobs(db, n, max(1, count // n + 1), prefix)[:count]
    counter = StatementCounter(db.engine)
    sinks = {k: [0.0] for k in ("password", "deserialize", "run", "serialize")}
    parts: dict[str, list[float]] = {k: [] for k in (*sinks, "sql", "rest", "total")}
    statements: list[float] = []
    try:
        with timed(engine.directory, "password_matches", sinks["password"]), \
                timed(engine.runtime, "load_state", sinks["deserialize"]), \
                timed(engine.runtime, "dump_state", sinks["serialize"]), \
                timed(engine.tasks, "complete_workflow_task", sinks["run"]):
            for job in jobs:
                for sink in sinks.values():
                    sink[0] = 0.0
                counter.reset()
                t0 = time.perf_counter()
                response = client.post(f"/api/v1/tasks/{job.task_id}/complete", json={"outcome": "approve", "opinion": REVIEW_OPINION},
                                       headers={"Authorization": job.auth})
                total = time.perf_counter() - t0
                assert response.status_code == 200, response.get_data(as_text=True)
                values = {k: s[0] for k, s in sinks.items()}
                values["sql"] = counter.seconds
                values["total"] = total
                values["rest"] = total - sum(values[k] for k in (*sinks, "sql"))
                for key, value in values.items():
                    parts[key].append(value)
                statements.append(counter.count)
    finally:
        counter.close()
    return {**{key: ms(median(values)) for key, values in parts.items()}, "statements": median(statements)}


def run(pg: Any, workdir: Path, n: int, actions: int, cheap_actions: int, clients: int, deadline_s: float) -> dict[str, Any]:
    """Create and migrate a database with the alembic CLI, seed it, serve it with gunicorn, drive it."""
    url = pg.create_database("bench_http")
    subprocess.run([str(ROOT / ".venv" / "bin" / "alembic"), "-x", f"url={url}", "upgrade", "head"],
                   cwd=ROOT, check=True, capture_output=True)
    db = connect(url)
    try:
        # Production password cost for the measured users; the cheap set isolates the rest of the request.
        seed(db, SystemClock(), (n,), prefix="r_", scrypt_n=None)
        tokens = bearer_tokens(db)
        if tokens:
            diagnostic = "bearer tokens (no scrypt)"
            cheap_jobs = prepare_jobs(db, n, -(-cheap_actions // n), "r_", tokens)[:cheap_actions]
        else:
            diagnostic = "users hashed with scrypt N=2^10 (test cost) instead of 2^14"
            seed(db, SystemClock(), (n,), prefix="c_", scrypt_n=2**10)
            cheap_jobs = prepare_jobs(db, n, -(-cheap_actions // n), "c_")[:cheap_actions]
        warm = prepare_jobs(db, n, max(1, (4 * clients) // n), "r_")
        prod_jobs = prepare_jobs(db, n, -(-actions // n), "r_")[:actions]
        py_spy = find_py_spy()
        pg_pid = pg._proc.pid  # the postmaster; its children are the backends serving gunicorn
        server = Gunicorn(url, workdir / "gunicorn.log")
        try:
            drive(server.port, warm, clients, deadline_s)  # imports, spec cache, pools in both workers
            prod = measured_run(server, prod_jobs, clients, deadline_s, pg_pid, py_spy, workdir / "spy-prod.txt")
            cheap = measured_run(server, cheap_jobs, clients, deadline_s, pg_pid, py_spy, workdir / "spy-cheap.txt")
        finally:
            server.stop()
        try:
            breakdown: dict[str, float] = in_process_breakdown(db, n, "r_", 40 if actions >= 200 else 12)
            breakdown_error = None
        except Exception as err:  # e.g. web/ caught mid-edit; the gunicorn numbers above still stand
            breakdown, breakdown_error = {}, f"{type(err).__name__}: {err}"
    finally:
        db.dispose()

    def summary(r: DriveResult) -> dict[str, Any]:
        return {
            "actions": r.actions, "seconds": round(r.seconds, 2),
            "actions_per_s": round(r.actions / r.seconds, 1) if r.seconds else 0.0,
            "latency_ms_p50": round(ms(median(r.latencies)), 1), "latency_ms_p95": round(ms(percentile(r.latencies, 0.95)), 1),
            "statuses": {str(k): v for k, v in sorted(r.statuses.items())},
            "cpu_ms_per_action": {k: round(v, 2) for k, v in r.cpu.items()},
            "py_spy_share_pct": r.profile,
        }

    out = {
        "n": n, "clients": clients, "server": "gunicorn -w 2 --threads 4", "py_spy": py_spy,
        "production_hash": summary(prod), "cheap_hash": summary(cheap), "diagnostic": diagnostic,
        "in_process_ms": {k: round(v, 3) for k, v in breakdown.items()},
    }
    if breakdown_error:
        out["in_process_error"] = breakdown_error
    if set(prod.statuses) | set(cheap.statuses) != {200}:
        # Keep the server's own account of the failures; the temp dir is removed after the run.
        out["server_log_tail"] = (workdir / "gunicorn.log").read_text(errors="replace")[-4000:]
    return out
