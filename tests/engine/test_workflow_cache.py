"""The per-process cache of hot cases' workflows (engine.instances.WorkflowCache, used by engine.runtime).

Two caches stand for two processes sharing one database: a workflow cached by one must never be used
once the other has changed the case, nor after a rolled-back action, nor for a row that merely has
the same id and version (tables emptied, a restore).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

import engine.instances
import engine.runtime
from engine.calendar_store import calendar_on_demand
from engine.clock import FrozenClock
from engine.db import Database
from engine.history import verify_chain
from engine.instances import HotWorkflow, WorkflowCache
from engine.models import Case, CaseEvent, Task, User
from engine.runtime import lock_case, open_workflow
from engine.tasks import complete_task
from engine.vocab import CaseStatus, TaskState
from tests.factories import accepted_parallel_case


class Process:
    """One process's view: its own workflow cache, and a count of the workflows it deserialized."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cache = WorkflowCache(2**26)
        self.loads = 0
        self._monkeypatch = monkeypatch

    def act(self, db: Database, clock: FrozenClock, username: str, outcome: str | None = "approve") -> Task:
        """Complete the user's open task of the case, in its own committed transaction, as this process."""
        self._monkeypatch.setattr(engine.runtime, "workflow_cache", self.cache)
        with db.writer.begin() as session:
            user = session.scalar(select(User).where(User.username == username))
            task = session.scalar(select(Task).where(Task.department_id == user.department_id,
                                                     Task.state == TaskState.OPEN).order_by(Task.id))
            assert task is not None, f"{username} has nothing to do"
            return complete_task(session, clock, user, task.id, outcome, "同意" if outcome else None)


@pytest.fixture
def count_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times a workflow was deserialized from its row."""
    loads = [0]
    original = engine.runtime.load_state

    def counting(*args: Any, **kwargs: Any) -> Any:
        loads[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(engine.runtime, "load_state", counting)
    yield loads


@pytest.fixture
def case_id(db: Database, clock: FrozenClock) -> int:
    return accepted_parallel_case(db, clock)


def case_row(db: Database, case_id: int) -> Case:
    with db.reader.begin() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


def test_an_action_after_this_process_committed_the_case_does_not_deserialize(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, case_id: int, count_loads: list[int]
) -> None:
    one = Process(monkeypatch)
    one.act(db, clock, "alpha")  # accepted by another "process": this one must read the row
    assert count_loads[0] == 1
    one.act(db, clock, "beta")
    one.act(db, clock, "gamma")
    one.act(db, clock, "window", outcome=None)
    assert count_loads[0] == 1
    assert case_row(db, case_id).status == CaseStatus.COMPLETED


def test_a_case_changed_by_another_process_is_read_again(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, case_id: int, count_loads: list[int]
) -> None:
    one, two = Process(monkeypatch), Process(monkeypatch)
    one.act(db, clock, "alpha")
    version_cached_by_one = one.cache._entries[case_id].version
    two.act(db, clock, "beta")  # two has never seen the case: it reads the row, and bumps the version
    assert count_loads[0] == 2
    assert case_row(db, case_id).version != version_cached_by_one
    # One's copy predates beta's review: using it would lose that review and never fire the join.
    one.act(db, clock, "gamma")
    assert count_loads[0] == 3, "process one used a workflow older than the row"
    delivery = one.act(db, clock, "window", outcome=None)  # the join fired: delivery was open
    assert delivery.element_id == "delivery"
    with db.reader.begin() as session:
        reviews = session.scalars(select(Task).where(Task.case_id == case_id, Task.element_id.like("review_%")))
        assert sorted((t.element_id, t.state) for t in reviews) == [
            ("review_alpha", TaskState.COMPLETED), ("review_beta", TaskState.COMPLETED), ("review_gamma", TaskState.COMPLETED)]
        completed = list(session.scalars(select(CaseEvent.task_id).where(
            CaseEvent.case_id == case_id, CaseEvent.action == "task_completed")))
        assert len(completed) == len(set(completed)) == 5  # intake, three reviews, delivery: each once
        assert verify_chain(session)[1] is None
    assert case_row(db, case_id).status == CaseStatus.COMPLETED


def test_a_rolled_back_action_leaves_nothing_in_the_cache(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, case_id: int, count_loads: list[int]
) -> None:
    one = Process(monkeypatch)
    one.act(db, clock, "alpha")
    assert case_id in one.cache._entries

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the database went away after the workflow advanced")

    with monkeypatch.context() as patch:
        patch.setattr(engine.runtime, "conclude_if_finished", fail)
        patch.setattr("engine.tasks.conclude_if_finished", fail)
        with pytest.raises(RuntimeError):
            one.act(db, clock, "beta")
    assert case_id not in one.cache._entries  # taken by the failed action, never given back
    one.act(db, clock, "beta")  # beta's task is still open: the advanced copy was thrown away
    assert count_loads[0] == 2


def test_same_id_and_version_with_other_content_is_not_a_hit(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, case_id: int
) -> None:
    """Ids and versions repeat when tables are emptied or a backup is restored; the state text does not."""
    one = Process(monkeypatch)
    one.act(db, clock, "alpha")
    entry = one.cache._entries[case_id]
    one.cache.put(HotWorkflow(entry.case_id, entry.version, entry.definition_id, entry.state + " ", entry.workflow))
    monkeypatch.setattr(engine.runtime, "workflow_cache", one.cache)
    with db.writer.begin() as session:
        case = lock_case(session, case_id)
        assert case.version == entry.version
        workflow = open_workflow(case, clock, calendar_on_demand(session))
    assert workflow is not entry.workflow
    assert one.cache.misses == 2 and one.cache.hits == 0


def test_the_cache_is_bounded_least_recently_used_first(db: Database, clock: FrozenClock, case_id: int) -> None:
    case = case_row(db, case_id)
    workflow = engine.instances.load_state(case.state, case.state_format, engine.runtime.spec_cache.get(case.definition))
    cost = 4 * len(case.state)
    cache = WorkflowCache(3 * cost)
    for fake_id in range(1, 6):
        cache.put(HotWorkflow(fake_id, 1, case.definition_id, case.state, workflow))
    assert list(cache._entries) == [3, 4, 5] and cache.bytes == 3 * cost
    assert cache.take(3, 1, case.definition_id, case.state) is not None
    assert cache.take(3, 1, case.definition_id, case.state) is None  # taken: one user at a time
    assert cache.take(4, 2, case.definition_id, case.state) is None  # another version
    assert cache.bytes == cost


def test_threads_never_share_a_cached_workflow(db: Database, clock: FrozenClock, case_id: int) -> None:
    case = case_row(db, case_id)
    workflow = engine.instances.load_state(case.state, case.state_format, engine.runtime.spec_cache.get(case.definition))
    cache = WorkflowCache(2**26)
    entry = HotWorkflow(case_id, 1, case.definition_id, case.state, workflow)
    cache.put(entry)
    holders: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def grab() -> None:
        start.wait()
        for _ in range(200):
            got = cache.take(case_id, 1, case.definition_id, case.state)
            if got is not None:
                with lock:
                    holders.append(threading.get_ident())
                    assert len(holders) == 1, "two threads hold the same workflow"
                with lock:
                    holders.pop()
                cache.put(got)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 1
