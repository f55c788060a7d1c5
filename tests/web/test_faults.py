"""Crash consistency (issue #8): each action is one transaction, even when the server dies mid-request.

The real production server (gunicorn, two worker processes, `web.app:create_app()`) serves the
committed test database (SQLite, or PostgreSQL under TEST_DATABASE=postgres) on a loopback port. A
pool of client threads drives a burst of API actions at it: reviewers list their inbox, claim and
complete reviews, the window accepts new cases. At random moments (seeded) the whole server process
group — master and workers — is killed with SIGKILL, then restarted, and the burst goes on.

After the last kill, with the server down, the engine's own code checks the database as the crash
left it: for every case the stored workflow loads and its READY user tasks are exactly the open task
rows, its completed user tasks exactly the completed rows (with the same outcome and opinion), every
completion and opening is in the case file exactly once, the case's version counts its changes, the
delivery task exists iff the three reviews are done, the clocks agree, the hash chain is whole; and
every answer the clients got (a 200 for a completion or a claim, a 201 for a new case) is committed.
A request that got no answer may or may not have been applied — but as a whole.

Then the server is started once more: requests left unanswered are retried with their
Idempotency-Key (an applied one must replay its answer, never apply twice), every remaining review is
completed through the API, and the same checks run again with every case waiting for delivery.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState as SpiffState

from engine.calendar_store import load_calendar
from engine.clock import FrozenClock
from engine.db import Database
from engine.history import verify_chain
from engine.models import Case, CaseEvent, CaseNumberCounter, Task, User
from engine.runtime import open_workflow
from engine.vocab import OPEN_TASK_STATES, CaseStatus, TaskKind, TaskState
from tests.factories import PASSWORD, make_case, make_definition, make_staff, make_user

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = ("alpha", "beta", "gamma")
REVIEWS = tuple(f"review_{code}" for code in DEPARTMENTS)
REVIEWERS = tuple(name for code in DEPARTMENTS for name in (code, f"{code}_2", f"{code}_3"))
SEED = int(os.environ.get("YJS_FAULT_SEED", "8"))
CASES = 20
ROUNDS = 8  # kills, at most
MIN_ROUNDS = 3
# Each round the server serves a random number of answers (so a slow machine still gets work done) and
# at least a random time, at most BURST_MAX_SECONDS; then the kill waits (at most AIM_SECONDS) for a
# completion to be in flight, so it can land inside one.
BURST_ANSWERS = (2, 12)
BURST_SECONDS = (0.2, 1.0)
BURST_MAX_SECONDS = 5
AIM_SECONDS = 0.5
BURST_DEADLINE = 20  # no new round after this many seconds of burst (a loaded machine restarts slowly)
DOWN_SECONDS = (0.0, 0.3)  # how long the server stays dead
MAX_NEW_CASES = 12  # POST /cases requests by the window, in all
CLAIM_SHARE = 0.3
KEY_SHARE = 0.5  # share of requests sent with an Idempotency-Key
THINK_SECONDS = (0.0, 0.08)
REQUEST_TIMEOUT = 20
START_TIMEOUT = 30
DRAIN_SECONDS = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def basic(username: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()


class NoAnswer(Exception):
    """The request got no HTTP answer. `refused`: the server was not there (nothing was sent)."""

    def __init__(self, err: BaseException, refused: bool) -> None:
        super().__init__(f"{type(err).__name__}: {err}")
        self.refused = refused


def call(port: int, method: str, path: str, user: str, body: Any = None,
         key: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": basic(user), "Accept": "application/json"}
    payload = None
    if body is not None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except ConnectionRefusedError as err:
        raise NoAnswer(err, refused=True) from None
    except (OSError, http.client.HTTPException) as err:
        raise NoAnswer(err, refused=False) from None
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, raw.decode(errors="replace")


# --- the server -------------------------------------------------------------------------------------


class Server:
    """`gunicorn -c python:web.gunicorn_conf -w 2 'web.app:create_app()'` (the production settings, two
    workers) in its own session, so its whole process group can be killed."""

    def __init__(self, database_url: str, port: int, log_path: Path) -> None:
        self.port, self.log_path = port, log_path
        self.env = {**os.environ, "DATABASE_URL": database_url, "YJS_SCHEDULER": "0", "SECRET_KEY": "x",
                    "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.env.pop("FLASK_DEBUG", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []  # seconds each start took until it answered

    def start(self) -> None:
        assert self.proc is None
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf", "-w", "2", "-b", f"127.0.0.1:{self.port}", "--chdir", str(ROOT),
                 "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning", "web.app:create_app()"],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = began + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code, self.proc = self.proc.returncode, None
                pytest.fail(f"gunicorn exited during start-up (exit {code})\n{self.log_tail()}")
            try:
                status, _ = call(self.port, "GET", "/api/v1/departments", "admin")
                if status == 200:
                    self.starts.append(time.monotonic() - began)
                    return
            except NoAnswer:
                pass
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"gunicorn did not answer within {START_TIMEOUT}s\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(p) for p in children]

    def kill(self) -> None:
        """SIGKILL to the master and its workers at once (one process group)."""
        if self.proc is None:
            return
        workers = self.worker_pids()
        proc, self.proc = self.proc, None
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not any(_alive(pid) for pid in workers), f"gunicorn workers {workers} survived SIGKILL"

    def stop(self) -> None:
        """A graceful stop (SIGTERM), then SIGKILL if it hangs."""
        proc = self.proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
            self.proc = None
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its new parent to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


# --- the clients ------------------------------------------------------------------------------------


@dataclass
class Request:
    user: str
    action: str  # "claim", "complete", "create"
    target: int | None  # the task id; None for "create"
    body: Any
    key: str | None
    status: int | None = None  # None: no answer
    answer: Any = None
    refused: bool = False  # the connection was refused: the server was down, nothing was sent
    seconds: float = 0.0


@dataclass
class Burst:
    port: int
    seed: int
    up: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Request] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    answered: int = 0  # actions that got an answer
    lists: int = 0
    cases_requested: int = 0

    def send(self, method: str, path: str, request: Request) -> Request:
        with self.lock:
            self.in_flight[request.action] += 1
        began = time.monotonic()
        try:
            request.status, request.answer = call(self.port, method, path, request.user, request.body, request.key)
        except NoAnswer as err:
            request.refused = err.refused
        request.seconds = time.monotonic() - began
        with self.lock:
            self.in_flight[request.action] -= 1
            self.answered += request.status is not None
            self.requests.append(request)
        return request

    def completions_in_flight(self) -> int:
        with self.lock:
            return self.in_flight["complete"]

    def answers(self) -> int:
        with self.lock:
            return self.answered

    def pause_after_no_answer(self) -> None:
        time.sleep(0.05)
        self.up.wait(timeout=START_TIMEOUT)

    def reviewer(self, username: str, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        serial = 0
        while not self.stop.is_set():
            if not self.up.wait(timeout=0.2):
                continue
            try:
                status, tasks = call(self.port, "GET", "/api/v1/tasks?state=open", username)
            except NoAnswer:
                self.pause_after_no_answer()
                continue
            with self.lock:
                self.lists += 1
            assert status == 200, (username, status, tasks)
            candidates = [t["id"] for t in tasks if t["kind"] == TaskKind.REVIEW
                          and t["assignee"] in (None, username)]
            if not candidates:
                time.sleep(0.05)
                continue
            task_id = rng.choice(candidates[:3])
            if rng.random() < CLAIM_SHARE:
                claim = self.send("POST", f"/api/v1/tasks/{task_id}/claim", Request(username, "claim", task_id, None, None))
                if claim.status is None:
                    self.pause_after_no_answer()
                    continue
                assert claim.status in (200, 409), (claim.status, claim.answer)
                if claim.status != 200:
                    continue
            serial += 1
            body = {"outcome": "approve", "opinion": f"同意（{username}-{serial}）"}
            key = f"{username}-{serial}-{uuid.uuid4().hex[:8]}" if rng.random() < KEY_SHARE else None
            done = self.send("POST", f"/api/v1/tasks/{task_id}/complete", Request(username, "complete", task_id, body, key))
            if done.status is None:
                self.pause_after_no_answer()
                continue
            # 409: a colleague completed or claimed it first.
            assert done.status in (200, 409), (done.status, done.answer)
            time.sleep(rng.uniform(*THINK_SECONDS))

    def window(self) -> None:
        rng = random.Random(self.seed * 1000 + 999)
        while not self.stop.is_set() and self.cases_requested < MAX_NEW_CASES:
            if not self.up.wait(timeout=0.2):
                continue
            self.cases_requested += 1
            # The applicant's name marks the request, so the case it made (if any) can be found.
            body = {"definition": "parallel_three", "applicant": {"name": f"申请人{self.cases_requested:03d}",
                                                                  "phone": "13800138000"}, "data": {}}
            key = f"case-{self.cases_requested}-{uuid.uuid4().hex[:8]}" if rng.random() < KEY_SHARE else None
            created = self.send("POST", "/api/v1/cases", Request("window", "create", None, body, key))
            if created.status is None:
                self.pause_after_no_answer()
                continue
            assert created.status == 201, (created.status, created.answer)
            time.sleep(rng.uniform(0.1, 0.4))


# --- the checks, with the engine's own code ----------------------------------------------------------


def seed(db: Database, clock: FrozenClock) -> int:
    """Commit the staff, extra reviewers, the definition and CASES cases; return a new case's version."""
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        for name in REVIEWERS:
            if name not in staff:
                make_user(s, clock, name, ["reviewer"], name.split("_")[0])
        make_definition(s, clock)
        cases = [make_case(s, clock, staff["window"]) for _ in range(CASES)]
        s.flush()
        versions = {c.version for c in cases}
    assert len(versions) == 1
    return versions.pop()


def inconsistencies(db: Database, clock: FrozenClock, accepted_version: int, finished: bool = False) -> list[str]:
    """Everything that disagrees, for every case (empty when the database is consistent)."""
    problems: list[str] = []
    with db.reader.begin() as s:
        calendar = load_calendar(s)
        for case in s.scalars(select(Case).order_by(Case.id)):
            where = f"case {case.id} ({case.number})"
            rows = list(s.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)))
            events = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
            by_id = {t.id: t for t in rows}
            try:
                workflow = open_workflow(case, clock, calendar)
            except Exception as err:  # noqa: BLE001 - reported
                problems.append(f"{where}: the stored workflow does not load: {type(err).__name__}: {err}")
                continue

            # Task rows mirror the workflow: READY user tasks = open rows, COMPLETED ones = completed rows.
            ready = {str(t.id) for t in workflow.get_tasks(state=SpiffState.READY, manual=True)}
            open_rows = {t.workflow_task_id for t in rows if t.state in OPEN_TASK_STATES}
            if ready != open_rows:
                problems.append(f"{where}: READY user tasks {sorted(ready)} != open task rows {sorted(open_rows)}")
            done = {str(t.id): t for t in workflow.get_tasks(state=SpiffState.COMPLETED, manual=True)}
            done_rows = {t.workflow_task_id: t for t in rows if t.state == TaskState.COMPLETED}
            if set(done) != set(done_rows):
                problems.append(f"{where}: COMPLETED user tasks {sorted(done)} != completed rows {sorted(done_rows)}")
            for wid, row in done_rows.items():
                if row.kind == TaskKind.REVIEW and wid in done:
                    data = done[wid].data
                    if (data.get("outcome"), data.get("opinion")) != (row.outcome, row.opinion):
                        problems.append(f"{where}: task {row.id} row says {row.outcome}/{row.opinion}, "
                                        f"the workflow {data.get('outcome')}/{data.get('opinion')}")
            if [t for t in rows if t.state == TaskState.CANCELLED]:
                problems.append(f"{where}: cancelled task rows")

            # One row per element: no review twice, the join fired at most once.
            elements = Counter(t.element_id for t in rows)
            expected = Counter(["intake", *REVIEWS])
            if elements - Counter(["delivery"]) != expected or elements["delivery"] > 1:
                problems.append(f"{where}: task rows per element {dict(elements)}")
            reviews = [t for t in rows if t.kind == TaskKind.REVIEW]
            reviewed = sum(1 for t in reviews if t.state == TaskState.COMPLETED)
            all_reviewed = len(reviews) == len(REVIEWS) and reviewed == len(REVIEWS)
            if (elements["delivery"] == 1) != all_reviewed:
                problems.append(f"{where}: delivery rows {elements['delivery']} with {reviewed} of 3 reviews completed")
            if finished and not all_reviewed:
                problems.append(f"{where}: still {len(REVIEWS) - reviewed} reviews open after the drain")
            for t in rows:
                if t.element_id == "delivery" and t.state != TaskState.OPEN:
                    problems.append(f"{where}: delivery task {t.id} is {t.state}")

            # The case file: each opening and each completion once, each matching its row.
            completed_events = [e for e in events if e.action == "task_completed"]
            if Counter(e.task_id for e in completed_events) != Counter(t.id for t in rows if t.state == TaskState.COMPLETED):
                problems.append(f"{where}: task_completed events for tasks {sorted(e.task_id for e in completed_events)}, "
                                f"completed rows {sorted(t.id for t in rows if t.state == TaskState.COMPLETED)}")
            for e in completed_events:
                row = by_id.get(e.task_id)
                if row is not None and (e.actor_id != row.completed_by_id or e.details.get("opinion") != row.opinion):
                    problems.append(f"{where}: event {e.id} ({e.actor_id}, {e.details.get('opinion')}) disagrees "
                                    f"with task {row.id} ({row.completed_by_id}, {row.opinion})")
            opened = Counter(e.task_id for e in events if e.action == "task_opened")
            if opened != Counter(list(by_id)):
                problems.append(f"{where}: task_opened events for tasks {sorted(opened.elements())}, task rows {sorted(by_id)}")
            if Counter(e.action for e in events)["accepted"] != 1:
                problems.append(f"{where}: not exactly one 'accepted' event")
            for e in events:
                if e.action in ("task_cancelled", "case_concluded"):
                    problems.append(f"{where}: unexpected event {e.action}")
            claims = [e for e in events if e.action == "task_claimed"]
            for e in claims:
                row = by_id.get(e.task_id)
                if row is None or row.assignee_id != e.actor_id or row.state not in (TaskState.CLAIMED, TaskState.COMPLETED):
                    problems.append(f"{where}: claim event {e.id} by user {e.actor_id} but task {e.task_id} is "
                                    f"{row.state if row else None} for user {row.assignee_id if row else None}")
            claimed_by = {(e.task_id, e.actor_id) for e in claims}
            for t in rows:
                if t.state == TaskState.CLAIMED and (t.id, t.assignee_id) not in claimed_by:
                    problems.append(f"{where}: task {t.id} claimed without a claim event")

            # The case row: one version per committed change after acceptance: each claim (its event), each
            # review completion, and one more for the completion that joined (it writes the case before
            # opening the next step's rows, then with the saved state).
            joined = 1 if any(t.element_id == "delivery" for t in rows) else 0
            if case.version != accepted_version + len(claims) + reviewed + joined:
                problems.append(f"{where}: version {case.version}, expected {accepted_version} + {len(claims)} claims "
                                f"+ {reviewed} completions + {joined} join")
            # The case row holds the head of its history chain.
            if events and case.last_event_hash != events[-1].hash:
                problems.append(f"{where}: the case row's chain head is not its last event's hash")
            if case.status != CaseStatus.IN_PROGRESS:
                problems.append(f"{where}: status {case.status}")

            # The step clocks stopped exactly for the completed tasks.
            for t in rows:
                if t.clock is not None and (t.clock.stopped_at is not None) != (t.state == TaskState.COMPLETED):
                    problems.append(f"{where}: task {t.id} is {t.state} but its clock stopped_at={t.clock.stopped_at}")

        # Case numbers: unique and dense per day, the counter at the last one handed out.
        numbers: dict[str, list[int]] = defaultdict(list)
        for number in s.scalars(select(Case.number)):
            _prefix, day, serial = number.split("-")
            numbers[day].append(int(serial))
        counters = {c.day: c.last for c in s.scalars(select(CaseNumberCounter))}
        for day, serials in numbers.items():
            if sorted(serials) != list(range(1, len(serials) + 1)) or counters.get(day) != len(serials):
                problems.append(f"case numbers of {day}: {sorted(serials)}, counter {counters.get(day)}")

        checked, broken = verify_chain(s)
        if broken is not None:
            problems.append(f"history chain broken after {checked} events: {broken}")
    return problems


def unacknowledged_answers(db: Database, requests: list[Request]) -> list[str]:
    """Every answer a client got is committed, exactly as answered; unanswered requests left no trace or a whole one."""
    problems = []
    with db.reader.begin() as s:
        users = {u.username: u.id for u in s.scalars(select(User))}
        tasks = {t.id: t for t in s.scalars(select(Task))}
        claims = {(e.task_id, e.actor_id) for e in s.scalars(select(CaseEvent).where(CaseEvent.action == "task_claimed"))}
        cases_by_name = defaultdict(list)
        for case in s.scalars(select(Case)):
            cases_by_name[case.applicant_name].append(case)
        for r in requests:
            if r.action == "complete":
                task = tasks[r.target]
                mine = task.completed_by_id == users[r.user] and task.opinion == r.body["opinion"]
                if r.status == 200 and not (task.state == TaskState.COMPLETED and mine):
                    problems.append(f"{r.user} got 200 completing task {r.target}, but it is {task.state} "
                                    f"by {task.completed_by_id} with '{task.opinion}'")
            elif r.action == "claim":
                if r.status == 200 and (r.target, users[r.user]) not in claims:
                    problems.append(f"{r.user} got 200 claiming task {r.target}, but no claim is recorded")
            elif r.action == "create":
                made = cases_by_name.get(r.body["applicant"]["name"], [])
                if len(made) > 1:
                    problems.append(f"request {r.body['applicant']['name']} made {len(made)} cases")
                if r.status == 201 and [c.id for c in made] != [r.answer["id"]]:
                    problems.append(f"window got 201 for case {r.answer['id']}, but the database has {[c.id for c in made]}")
    return problems


def applied(db: Database, r: Request) -> bool:
    """Whether an unanswered request took effect (it may have committed before the kill)."""
    with db.reader.begin() as s:
        if r.action == "create":
            return s.scalar(select(Case.id).where(Case.applicant_name == r.body["applicant"]["name"])) is not None
        user_id = s.scalar(select(User.id).where(User.username == r.user))
        if r.action == "claim":
            return s.scalar(select(CaseEvent.id).where(CaseEvent.action == "task_claimed", CaseEvent.task_id == r.target,
                                                       CaseEvent.actor_id == user_id)) is not None
        task = s.get(Task, r.target)
        return task.completed_by_id == user_id and task.opinion == r.body["opinion"]


# --- the test -----------------------------------------------------------------------------------------


def test_killing_the_server_mid_burst_leaves_every_case_consistent(
    db: Database, clock: FrozenClock, database_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    accepted_version = seed(db, clock)
    rng = random.Random(SEED)
    server = Server(database_url, free_port(), tmp_path / "gunicorn.log")
    burst = Burst(server.port, SEED)
    kills: list[dict[str, Any]] = []
    try:
        server.start()
        seeded = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(REVIEWERS) + 1, thread_name_prefix="client") as pool:
            futures = [pool.submit(burst.reviewer, name, i) for i, name in enumerate(REVIEWERS)]
            futures.append(pool.submit(burst.window))
            try:
                for round_no in range(ROUNDS):
                    burst.up.set()
                    round_began, answers_before = time.monotonic(), burst.answers()
                    want_answers, want_seconds = rng.randint(*BURST_ANSWERS), rng.uniform(*BURST_SECONDS)
                    while time.monotonic() - round_began < BURST_MAX_SECONDS and (
                            burst.answers() - answers_before < want_answers or time.monotonic() - round_began < want_seconds):
                        time.sleep(0.005)
                    aim = time.monotonic() + AIM_SECONDS
                    while burst.completions_in_flight() == 0 and time.monotonic() < aim:
                        time.sleep(0.002)
                    workers = server.worker_pids()
                    with burst.lock:
                        answered, completing = burst.answered, burst.in_flight["complete"]
                    server.kill()
                    burst.up.clear()
                    kills.append({"workers": len(workers), "answered": answered, "completions_in_flight": completing})
                    for f in futures:
                        if f.done():
                            f.result()  # a client's failed assertion stops the test here
                    if round_no < ROUNDS - 1 and (round_no < MIN_ROUNDS - 1 or time.monotonic() - seeded < BURST_DEADLINE):
                        time.sleep(rng.uniform(*DOWN_SECONDS))
                        server.start()
                    else:
                        break
            finally:
                burst.stop.set()
                burst.up.set()  # release clients waiting for the server
            for f in futures:
                f.result(timeout=REQUEST_TIMEOUT + START_TIMEOUT)
        burst_done = time.monotonic()

        # The database as the last kill left it.
        requests = list(burst.requests)
        crash_problems = inconsistencies(db, clock, accepted_version) + unacknowledged_answers(db, requests)

        # Recovery: the server starts again, unanswered requests are retried with their key, the work finishes.
        server.start()
        unanswered = [r for r in requests if r.status is None and not r.refused]
        was_applied = {id(r): applied(db, r) for r in unanswered}
        retried = []
        for r in unanswered:
            if r.key is None or r.action == "claim":
                continue
            path = "/api/v1/cases" if r.action == "create" else f"/api/v1/tasks/{r.target}/complete"
            status, answer = call(server.port, "POST", path, r.user, r.body, r.key)
            retried.append((r, status, answer))
        retry_problems = []
        for r, status, answer in retried:
            if r.action == "create":
                if status != 201:
                    retry_problems.append(f"retrying case request {r.key}: {status} {answer}")
            elif was_applied[id(r)] and status != 200:
                retry_problems.append(f"retrying applied completion {r.key} of task {r.target}: {status} {answer} "
                                      "(the Idempotency-Key should replay the first answer)")
            elif status not in (200, 409):
                retry_problems.append(f"retrying completion {r.key} of task {r.target}: {status} {answer}")
            elif status == 200 and not applied(db, r):
                retry_problems.append(f"retried completion {r.key} of task {r.target} answered 200 but is not recorded")
        retry_problems += unacknowledged_answers(
            db, [Request(r.user, r.action, r.target, r.body, r.key, status, answer) for r, status, answer in retried])

        def finish(task_id: int, user: str) -> None:
            status, answer = call(server.port, "POST", f"/api/v1/tasks/{task_id}/complete", user,
                                  {"outcome": "approve", "opinion": "同意"})
            assert status == 200, (task_id, user, status, answer)

        deadline = time.monotonic() + DRAIN_SECONDS
        drained = 0
        while time.monotonic() < deadline:
            with db.reader.begin() as s:
                left = [(t.id, t.assignee.username if t.assignee else t.department.code)
                        for t in s.scalars(select(Task).where(Task.kind == TaskKind.REVIEW, Task.state.in_(OPEN_TASK_STATES)))]
            if not left:
                break
            with ThreadPoolExecutor(max_workers=4, thread_name_prefix="drain") as pool:
                for f in [pool.submit(finish, task_id, user) for task_id, user in left]:
                    f.result()
            drained += len(left)
        status, _ = call(server.port, "GET", "/api/v1/tasks?state=open", "window")
        assert status == 200
        # The production access log keeps paths, never query strings (the progress query carries a code).
        status, _ = call(server.port, "GET", "/api/v1/progress?number=YJS-20261123-9999&code=SECRET", "window")
        assert status == 404
        server.stop()
        access_log = server.log_path.read_text(errors="replace")
        assert '"GET /api/v1/progress HTTP/1.1" 404' in access_log and "SECRET" not in access_log
        finished_problems = inconsistencies(db, clock, accepted_version, finished=True)
    finally:
        server.kill()
        burst.stop.set()
        burst.up.set()
    ended = time.monotonic()

    by_action: dict[str, Counter[str]] = defaultdict(Counter)
    for r in requests:
        by_action[r.action]["refused" if r.refused else str(r.status) if r.status else "no answer"] += 1
    applied_unanswered = sum(1 for r in unanswered if was_applied[id(r)])
    with db.reader.begin() as s:
        case_count = len(s.scalars(select(Case.id)).all())
    print(f"\n[{db.engine.dialect.name}, seed {SEED}] {ended - began:.1f}s in all: seeding+first start {seeded - began:.1f}s, "
          f"burst with {len(kills)} kills {burst_done - seeded:.1f}s, recovery {ended - burst_done:.1f}s; "
          f"server starts {', '.join(f'{t:.2f}' for t in server.starts)}s")
    print(f"  kills: {len(kills)}, workers alive at each: {[k['workers'] for k in kills]}, completions in flight "
          f"at each: {[k['completions_in_flight'] for k in kills]}, answers before each: {[k['answered'] for k in kills]}")
    print(f"  requests: {len(requests)} actions + {burst.lists} inbox lists; "
          + "; ".join(f"{a}: {dict(c)}" for a, c in sorted(by_action.items())))
    answered_seconds = sorted(r.seconds for r in requests if r.status is not None)
    if answered_seconds:
        print(f"  answered actions took median {answered_seconds[len(answered_seconds) // 2]:.3f}s, "
              f"max {answered_seconds[-1]:.3f}s")
    print(f"  in flight at a kill: {len(unanswered)} ({applied_unanswered} had committed before the kill); "
          f"retried with their key: {len(retried)} -> {dict(Counter(st for _, st, _ in retried))}; "
          f"drained {drained} reviews; {case_count} cases")

    assert crash_problems == [], "after the last kill:\n" + "\n".join(crash_problems)
    assert retry_problems == [], "retries:\n" + "\n".join(retry_problems)
    assert finished_problems == [], "after recovery:\n" + "\n".join(finished_problems)
    assert len(kills) >= MIN_ROUNDS
    assert by_action["complete"]["200"] > 0, "no completion was answered during the burst: it proved nothing"

