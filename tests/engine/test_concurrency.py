"""Concurrency proof (issue #7): several OS processes, each with several threads, act on a shared set
of cases, and the scheduler's single-runner lease holds across processes.

Every worker acts as its own reviewer, in its own transaction per action, on the real database
(SQLite, or PostgreSQL under TEST_DATABASE=postgres). The workers race on purpose: for the same task
(colleagues of one department) and for sibling parallel tasks of the same case (departments).
Afterwards the database must show every completion exactly once, every join fired exactly once, no
lost update (in the task rows, the case file and the workflow state) and no deadlock.
"""
from __future__ import annotations

import multiprocessing
import queue as queue_module
import random
import threading
import time
import traceback
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Callable

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.util.task import TaskState as SpiffState

from engine.calendar import OFFICE_TZ
from engine.calendar_store import load_calendar
from engine.cases import accept_case
from engine.clock import FrozenClock
from engine.db import Database, connect
from engine.definitions import deploy_definition
from engine.errors import Conflict
from engine.history import verify_chain
from engine.jobs import LEASE_TTL, run_due_jobs
from engine.models import Case, CaseEvent, Task, User
from engine.runtime import lock_case, open_workflow
from engine.tasks import claim_task, complete_task, list_tasks
from engine.vocab import CaseStatus, TaskKind, TaskState
from tests.factories import bpmn, make_case, make_definition, make_staff, make_user

DEPARTMENTS = ("alpha", "beta", "gamma")
REVIEWS = tuple(f"review_{code}" for code in DEPARTMENTS)
CASES = 12
PROCESSES = 3
THREADS = 4  # per process; 12 workers = 4 reviewers in each of the 3 departments
PICK_AMONG = 3  # each pick is among the department's 3 most urgent open tasks, so workers collide
MAX_ATTEMPTS = 8  # tries of one action that keeps failing with a serialization failure or deadlock
WORK_SECONDS = 40  # a worker gives up after this long (the whole run takes a few seconds)
JOIN_SECONDS = 90

# SQLSTATEs PostgreSQL asks the client to retry; SQLite's writers queue on BEGIN IMMEDIATE instead.
TRANSIENT = {"40001": "serialization_failures", "40P01": "deadlocks"}


def spawn() -> multiprocessing.context.SpawnContext:
    return multiprocessing.get_context("spawn")


# --- the reviewers ---------------------------------------------------------------------------------


def reviewer_name(department: str, number: int) -> str:
    return department if number == 0 else f"{department}_{number + 1}"


def worker_names(process: int) -> list[str]:
    """Worker i (of all processes) reviews for department i % 3 as that department's reviewer i // 3,
    so every process holds threads of several departments and every department spans processes."""
    names = []
    for thread in range(THREADS):
        i = process * THREADS + thread
        names.append(reviewer_name(DEPARTMENTS[i % len(DEPARTMENTS)], i // len(DEPARTMENTS)))
    return names


def opinion_of(username: str) -> str:
    return f"{username}：同意"


def transient_kind(err: BaseException) -> str | None:
    """The counter a retryable database error goes to, or None if it is not retryable."""
    if isinstance(err, StaleDataError):
        return "stale_versions"  # a writer that did not lock the case; retried, but reported
    if isinstance(err, DBAPIError):
        sqlstate = getattr(err.orig, "sqlstate", None)
        if sqlstate in TRANSIENT:
            return TRANSIENT[sqlstate]
        if "database is locked" in str(err.orig):
            return "busy"
    return None


class Reviewer:
    """One thread: its own user, its own transactions, its own counts."""

    def __init__(self, db: Database, clock: FrozenClock, username: str, claim_share: float, seed: int) -> None:
        self.db, self.clock, self.username, self.claim_share = db, clock, username, claim_share
        self.rng = random.Random(seed)
        self.stats: dict[str, Any] = {
            "user": username, "completed": [], "claimed": [], "claim_lost": [], "conflicts": 0, "retries": 0,
            "deadlocks": 0, "serialization_failures": 0, "busy": 0, "stale_versions": 0, "errors": [],
        }

    def open_reviews(self) -> list[int]:
        with self.db.reader.begin() as s:
            me = s.scalar(select(User).where(User.username == self.username))
            return [t.id for t in list_tasks(s, me, state="open") if t.kind == TaskKind.REVIEW]

    def still_open(self, task_id: int) -> bool:
        with self.db.reader.begin() as s:
            return s.scalar(select(Task.state).where(Task.id == task_id)) in (TaskState.OPEN, TaskState.CLAIMED)

    def attempt(self, task_id: int, action: Callable[[Session, User], object]) -> str:
        """Run `action` in its own writer transaction: "ok", or "conflict" when someone else got there
        first. A serialization failure or deadlock is retried while the task is still open."""
        for _ in range(MAX_ATTEMPTS):
            try:
                with self.db.writer.begin() as s:
                    action(s, s.scalar(select(User).where(User.username == self.username)))
                return "ok"
            except Conflict:
                self.stats["conflicts"] += 1
                return "conflict"
            except (DBAPIError, StaleDataError) as err:
                kind = transient_kind(err)
                if kind is None:
                    raise
                self.stats[kind] += 1
                if not self.still_open(task_id):
                    self.stats["conflicts"] += 1
                    return "conflict"
                self.stats["retries"] += 1
                time.sleep(self.rng.uniform(0, 0.05))
        raise RuntimeError(f"task {task_id}: still failing after {MAX_ATTEMPTS} attempts")

    def run(self, barrier: Any, results: Any) -> None:
        started = time.monotonic()
        try:
            barrier.wait(timeout=JOIN_SECONDS)
            while time.monotonic() - started < WORK_SECONDS:
                candidates = self.open_reviews()
                if not candidates:
                    break  # approvals never reopen a review: this department's work is done
                task_id = self.rng.choice(candidates[:PICK_AMONG])
                if self.rng.random() < self.claim_share:
                    if self.attempt(task_id, lambda s, me: claim_task(s, self.clock, me, task_id)) != "ok":
                        continue
                    self.stats["claimed"].append(task_id)
                done = self.attempt(task_id, lambda s, me: complete_task(
                    s, self.clock, me, task_id, "approve", opinion_of(self.username)))
                if done == "ok":
                    self.stats["completed"].append(task_id)
                elif task_id in self.stats["claimed"]:
                    self.stats["claim_lost"].append(task_id)  # claimed, yet someone else completed it
        except BaseException:  # noqa: BLE001 - reported to the test, which fails on it
            self.stats["errors"].append(traceback.format_exc())
        self.stats["seconds"] = round(time.monotonic() - started, 2)
        results.put(self.stats)


def reviewer_process(url: str, moment: str, process: int, claim_share: float, barrier: Any, results: Any) -> None:
    """One OS process: its own engine and connection pool, THREADS reviewer threads."""
    db = connect(url)
    clock = FrozenClock(datetime.fromisoformat(moment))
    try:
        reviewers = [Reviewer(db, clock, name, claim_share, seed=process * 100 + i)
                     for i, name in enumerate(worker_names(process))]
        threads = [threading.Thread(target=r.run, args=(barrier, results), name=r.username) for r in reviewers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        db.dispose()


def seed_cases(db: Database, clock: FrozenClock) -> dict[int, int]:
    """Commit the staff (four reviewers per department) and CASES cases; return each case's version."""
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        for code in DEPARTMENTS:
            for number in range(1, PROCESSES * THREADS // len(DEPARTMENTS)):
                make_user(s, clock, reviewer_name(code, number), ["reviewer"], code)
        make_definition(s, clock)
        cases = [make_case(s, clock, staff["window"]) for _ in range(CASES)]
        s.flush()
        return {case.id: case.version for case in cases}


def run_reviewers(database_url: str, clock: FrozenClock, claim_share: float) -> list[dict[str, Any]]:
    ctx = spawn()
    barrier, results = ctx.Barrier(PROCESSES * THREADS), ctx.Queue()
    processes = [ctx.Process(target=reviewer_process, name=f"reviewers-{p}",
                             args=(database_url, clock.now().isoformat(), p, claim_share, barrier, results))
                 for p in range(PROCESSES)]
    for p in processes:
        p.start()
    try:
        stats = []
        deadline = time.monotonic() + JOIN_SECONDS
        while len(stats) < PROCESSES * THREADS:
            try:
                stats.append(results.get(timeout=max(0.1, deadline - time.monotonic())))
            except queue_module.Empty:
                exits = {p.name: p.exitcode for p in processes}
                pytest.fail(f"only {len(stats)} of {PROCESSES * THREADS} workers reported (exit codes {exits})")
        for p in processes:
            p.join(timeout=JOIN_SECONDS)
        assert [p.exitcode for p in processes] == [0] * PROCESSES
        return stats
    finally:
        for p in processes:
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)


def assert_every_review_recorded_once(db: Database, clock: FrozenClock, versions: dict[int, int],
                                      stats: list[dict[str, Any]]) -> None:
    completed_by_worker = Counter(task_id for s in stats for task_id in s["completed"])
    worker_of = {task_id: s["user"] for s in stats for task_id in s["completed"]}
    assert max(completed_by_worker.values()) == 1, "a task two workers both saw succeed"

    with db.reader.begin() as s:
        users = {u.id: u.username for u in s.scalars(select(User))}
        calendar = load_calendar(s)
        review_rows = 0
        for case_id, seeded_version in versions.items():
            case = s.get(Case, case_id)
            rows = list(s.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.id)))
            events = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))
            where = f"case {case.number}"

            # One row per element: no review completed twice, the join fired exactly once.
            assert Counter(t.element_id for t in rows) == Counter(["intake", *REVIEWS, "delivery"]), where
            reviews = [t for t in rows if t.kind == TaskKind.REVIEW]
            review_rows += len(reviews)
            for t in reviews:
                assert t.state == TaskState.COMPLETED and t.outcome == "approve", where
                # The row holds one transaction's write, whole: the reporting worker, its opinion.
                assert worker_of.get(t.id) == users[t.completed_by_id], f"{where}: {t.element_id}"
                assert t.opinion == opinion_of(users[t.completed_by_id]) and t.assignee_id == t.completed_by_id
                assert t.clock is not None and t.clock.stopped_at == clock.now()
            (delivery,) = [t for t in rows if t.element_id == "delivery"]
            assert delivery.state == TaskState.OPEN and case.status == CaseStatus.IN_PROGRESS, where

            # The case file records each completion once, by the one who completed it.
            completions = [e for e in events if e.action == "task_completed"]
            assert len(completions) == sum(1 for t in rows if t.state == TaskState.COMPLETED) == 4, where
            assert Counter(e.task_id for e in completions) == Counter(t.id for t in rows if t.state == TaskState.COMPLETED)
            by_task = {t.id: t for t in rows}
            assert all(e.actor_id == by_task[e.task_id].completed_by_id for e in completions), where
            opened = Counter(by_task[e.task_id].element_id for e in events if e.action == "task_opened")
            assert opened == Counter(["intake", *REVIEWS, "delivery"]), where
            assert not [e for e in events if e.action in ("task_cancelled", "case_concluded")], where

            # Every committed change of the case counted once, nothing overwritten, nothing lost: one per
            # claim (its event), one per completion, and one more for the completion that joined (it
            # writes the case before opening the next step's rows, then with the saved state).
            claims = sum(1 for e in events if e.action == "task_claimed")
            assert case.version == seeded_version + len(REVIEWS) + 1 + claims, where
            # The case row holds the head of its history chain.
            assert case.last_event_hash == events[-1].hash, where

            # The workflow state agrees with the rows, and its join merged all three reviews.
            workflow = open_workflow(case, clock, calendar)
            ready = workflow.get_tasks(state=SpiffState.READY, manual=True)
            assert {str(t.id) for t in ready} == {delivery.workflow_task_id}, where
            merged = ready[0].data["reviews"]
            assert set(merged) == set(REVIEWS), where
            for t in reviews:
                assert merged[t.element_id]["outcome"] == "approve"
                assert merged[t.element_id]["opinion"] == t.opinion, f"{where}: the state lost {t.element_id}'s update"

        # Every success a worker saw is in the database, and nothing else is.
        assert review_rows == CASES * len(REVIEWS)
        assert sum(completed_by_worker.values()) == review_rows
        assert set(completed_by_worker) == set(s.scalars(select(Task.id).where(Task.kind == TaskKind.REVIEW)))

        # A claim recorded is a claim honoured: the claimer completed the task.
        claims = list(s.scalars(select(CaseEvent).where(CaseEvent.action == "task_claimed")))
        assert Counter(e.task_id for e in claims) == Counter(t for st in stats for t in st["claimed"])
        for e in claims:
            assert s.get(Task, e.task_id).completed_by_id == e.actor_id, f"task {e.task_id}: claim lost"


def summary(stats: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("conflicts", "retries", "deadlocks", "serialization_failures", "busy", "stale_versions")
    total = {k: sum(s[k] for s in stats) for k in keys}
    total["completed"] = sum(len(s["completed"]) for s in stats)
    total["claimed"] = sum(len(s["claimed"]) for s in stats)
    return total


@pytest.mark.parametrize("claim_share", [0.0, 0.5], ids=["complete", "claim_then_complete"])
def test_reviewers_in_several_processes_complete_each_task_exactly_once(
    db: Database, clock: FrozenClock, database_url: str, claim_share: float
) -> None:
    versions = seed_cases(db, clock)
    started = time.monotonic()
    stats = run_reviewers(database_url, clock, claim_share)
    elapsed = time.monotonic() - started
    totals = summary(stats)
    print(f"\n[{db.engine.dialect.name}, claim share {claim_share}] {elapsed:.1f}s: {totals}; per worker: "
          + ", ".join(f"{s['user']}={len(s['completed'])}/{s['conflicts']}c/{s['retries']}r" for s in stats))

    assert [e for s in stats for e in s["errors"]] == []
    assert all(s["seconds"] < WORK_SECONDS for s in stats), "a worker ran out of time"
    assert_every_review_recorded_once(db, clock, versions, stats)
    assert totals["completed"] == CASES * len(REVIEWS)
    assert totals["conflicts"] > 0, "the workers never raced; the test proved nothing"
    assert [s["claim_lost"] for s in stats if s["claim_lost"]] == []
    assert totals["stale_versions"] == 0  # every writer locked the case before changing it
    # Claims and completions both lock the case row first and then only that case's rows: no lock
    # cycle, and under READ COMMITTED no serialization failure either.
    assert totals["deadlocks"] == totals["serialization_failures"] == totals["retries"] == 0


# --- a claim racing a completion of the same task ---------------------------------------------------


class DeadlockObserved(AssertionError):
    pass


def alpha_review_with_two_reviewers(db: Database, clock: FrozenClock) -> tuple[int, int]:
    """A case whose alpha review either of two alpha reviewers (alpha, alpha_2) may take: (case id, task id)."""
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        make_user(s, clock, "alpha_2", ["reviewer"], "alpha")
        make_definition(s, clock)
        case_id = make_case(s, clock, staff["window"]).id
        return case_id, s.scalar(select(Task.id).where(Task.case_id == case_id, Task.element_id == "review_alpha"))


def test_a_claim_racing_a_completion_does_not_deadlock(db: Database, clock: FrozenClock) -> None:
    """Deterministic interleaving: the completer holds the case lock (complete_task's first step),
    a colleague's claim runs, then the completion goes on. One must win, the other get a Conflict."""
    case_id, task_id = alpha_review_with_two_reviewers(db, clock)

    outcome: dict[str, object] = {}

    def claim() -> None:
        try:
            with db.writer.begin() as s:
                claim_task(s, clock, s.scalar(select(User).where(User.username == "alpha_2")), task_id)
            outcome["claim"] = "ok"
        except Exception as err:  # noqa: BLE001
            outcome["claim"] = err

    with db.writer() as s:
        s.begin()
        lock_case(s, case_id)  # what complete_task does first; it is re-entrant within the transaction
        claimer = threading.Thread(target=claim)
        claimer.start()
        claimer.join(timeout=0.5)  # the claim now waits for this transaction (on SQLite: for the write lock)
        try:
            complete_task(s, clock, s.scalar(select(User).where(User.username == "alpha")), task_id, "approve", "同意")
            s.commit()
            outcome["complete"] = "ok"
        except Exception as err:  # noqa: BLE001
            s.rollback()
            outcome["complete"] = err
    claimer.join(timeout=60)

    deadlocked = [r for r in outcome.values() if isinstance(r, BaseException) and transient_kind(r) == "deadlocks"]
    if deadlocked:
        raise DeadlockObserved(f"{outcome}")
    results = sorted(("ok" if r == "ok" else type(r).__name__) for r in outcome.values())
    assert results == ["Conflict", "ok"], outcome
    with db.reader.begin() as s:
        task = s.get(Task, task_id)
        assert task.state == TaskState.COMPLETED
        claims = s.scalars(select(CaseEvent.actor_id).where(CaseEvent.action == "task_claimed")).all()
        assert claims in ([], [task.completed_by_id])


@pytest.mark.parametrize("claimer", ["alpha_2", "alpha"], ids=["colleague", "same_reviewer"])
def test_a_completion_that_waited_for_the_case_lock_acts_on_what_the_holder_committed(
    db: Database, clock: FrozenClock, claimer: str
) -> None:
    """The other interleaving: a claim holds the case lock when the completion starts. On PostgreSQL
    the completion's one statement began before the claim committed, so what it read besides the
    locked case row is older than the claim; it must notice (the case's version moved) and read again.
    A colleague's claim then refuses the completion; the reviewer's own claim lets it through, and
    either way the history chain stays one line."""
    case_id, task_id = alpha_review_with_two_reviewers(db, clock)

    outcome: dict[str, object] = {}

    def complete() -> None:
        try:
            with db.writer.begin() as s:
                complete_task(s, clock, s.scalar(select(User).where(User.username == "alpha")), task_id, "approve", "同意")
            outcome["complete"] = "ok"
        except Exception as err:  # noqa: BLE001
            outcome["complete"] = err

    with db.writer() as s:
        s.begin()
        claim_task(s, clock, s.scalar(select(User).where(User.username == claimer)), task_id)
        completer = threading.Thread(target=complete)
        completer.start()
        completer.join(timeout=0.5)  # the completion now waits for this transaction's case lock
        assert completer.is_alive(), outcome
        s.commit()
    completer.join(timeout=60)

    if claimer == "alpha":
        assert outcome == {"complete": "ok"}
    else:
        assert isinstance(outcome["complete"], Conflict) and "claimed by" in str(outcome["complete"]), outcome
    with db.reader.begin() as s:
        task = s.get(Task, task_id)
        assert (task.state, task.assignee.username) == (
            (TaskState.COMPLETED, "alpha") if claimer == "alpha" else (TaskState.CLAIMED, "alpha_2"))
        events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
        assert [e.action for e in events][-2:] == (
            ["task_claimed", "task_completed"] if claimer == "alpha" else ["task_opened", "task_claimed"])
        assert verify_chain(s) == (len(s.scalars(select(CaseEvent)).all()), None)
        assert s.get(Case, case_id).last_event_hash == events[-1].hash


# --- the scheduler lease across processes -----------------------------------------------------------


def scheduler_process(url: str, holder: str, barrier: Any, commands: Any, results: Any) -> None:
    """Each round: wait for the others, then (if active) try to run the jobs at the round's moment."""
    db = connect(url)
    try:
        while (command := commands.get(timeout=JOIN_SECONDS)) is not None:
            round_no, moment, active = command
            barrier.wait(timeout=JOIN_SECONDS)
            if not active:
                results.put((round_no, holder, None, 0, None))
                continue
            try:
                run = run_due_jobs(db, FrozenClock(datetime.fromisoformat(moment)), holder)
                results.put((round_no, holder, run.ran, run.warnings, None))
            except BaseException:  # noqa: BLE001
                results.put((round_no, holder, None, 0, traceback.format_exc()))
    finally:
        db.dispose()


def test_the_scheduler_lease_has_one_runner_across_processes(db: Database, clock: FrozenClock,
                                                            database_url: str) -> None:
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        make_user(s, clock, "alpha_head", ["department_head"], "alpha")
        deploy_definition(s, clock, bpmn("one_review.bpmn").replace(b"LIMIT", b"1"))
        case_id = accept_case(s, clock, staff["window"], "one_review", {"name": "张三"}, {}).id
    base = datetime(2026, 11, 26, 10, tzinfo=OFFICE_TZ)  # the one-day review is overdue: a red card to record

    holders = [f"host-{i}" for i in range(4)]
    ctx = spawn()
    barrier, results = ctx.Barrier(len(holders)), ctx.Queue()
    commands = {h: ctx.Queue() for h in holders}
    workers = [ctx.Process(target=scheduler_process, args=(database_url, h, barrier, commands[h], results))
               for h in holders]
    for w in workers:
        w.start()
    round_counter = iter(range(1000))

    def play(moment: datetime, active: set[str]) -> list[str]:
        """One round; returns the holders that ran the jobs."""
        round_no = next(round_counter)
        for h in holders:
            commands[h].put((round_no, moment.isoformat(), h in active))
        answers = [results.get(timeout=JOIN_SECONDS) for _ in holders]
        assert {a[0] for a in answers} == {round_no}
        assert [a[4] for a in answers if a[4]] == []
        warnings.extend(a[3] for a in answers)
        return sorted(h for _, h, ran, _, _ in answers if ran)

    warnings: list[int] = []
    try:
        # Ten rounds, all four at the same moment: one runner, and the same one while it renews.
        rounds = [play(base + timedelta(seconds=10 * r), set(holders)) for r in range(10)]
        assert all(len(r) == 1 for r in rounds), rounds
        (first,) = {r[0] for r in rounds}
        expires = base + timedelta(seconds=90) + LEASE_TTL

        # The runner dies. Until its lease expires nobody else runs the jobs; then exactly one takes over.
        others = set(holders) - {first}
        assert play(expires - timedelta(seconds=1), others) == []
        takeover = [play(expires + timedelta(seconds=1 + 10 * r), others) for r in range(3)]
        assert all(len(r) == 1 for r in takeover), takeover
        (second,) = {r[0] for r in takeover}
        assert second != first

        # The first comes back while the new lease is valid: it does not take the jobs back.
        assert play(expires + timedelta(seconds=60), set(holders)) == [second]
    finally:
        for h in holders:
            commands[h].put(None)
        for w in workers:
            w.join(timeout=JOIN_SECONDS)
            if w.is_alive():
                w.terminate()
    assert [w.exitcode for w in workers] == [0] * len(workers)

    # The jobs did their work once: each warning recorded once, by whichever runner saw it first.
    with db.reader.begin() as s:
        recorded = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "warning")).all()
    assert len(recorded) == sum(warnings) >= 1
