"""Department tasks: claim, complete with an outcome, the 补正 loop, and concurrent reviewers."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from engine.cases import tasks_of
from engine.db import Database
from engine.errors import Conflict, EngineError, InvalidInput, PermissionDenied
from engine.models import Case, CaseEvent, Task, User
from engine.tasks import claim_task, complete_task, list_done_by, list_tasks, unclaim_task
from engine.vocab import CaseStatus, TaskState
from tests.factories import make_case, make_definition, make_staff, make_user


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


def open_task(session, user: User) -> Task:
    return list_tasks(session, user, state="open")[0]


def finish_reviews(session, clock, staff, outcome: str = "approve") -> None:
    for code in ("alpha", "beta", "gamma"):
        complete_task(session, clock, staff[code], open_task(session, staff[code]).id, outcome, "意见")


def test_all_departments_approve_then_the_window_delivers(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    finish_reviews(session, clock, staff)
    delivery = open_task(session, staff["window"])
    assert (delivery.element_id, delivery.kind) == ("delivery", "delivery")
    with pytest.raises(InvalidInput, match="takes no outcome"):
        complete_task(session, clock, staff["window"], delivery.id, "approve")
    complete_task(session, clock, staff["window"], delivery.id, data={"delivery_method": "ems"})
    assert case.status == CaseStatus.COMPLETED and case.completed_at == clock.now()
    assert [t.state for t in tasks_of(session, case)] == [TaskState.COMPLETED] * 5


def test_one_refusal_ends_with_a_refusal_notice(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    complete_task(session, clock, staff["alpha"], open_task(session, staff["alpha"]).id, "reject", "不符合条件")
    for code in ("beta", "gamma"):
        complete_task(session, clock, staff[code], open_task(session, staff[code]).id, "approve", "同意")
    notice = open_task(session, staff["window"])
    assert notice.element_id == "notice_reject"
    complete_task(session, clock, staff["window"], notice.id)
    assert case.status == CaseStatus.REJECTED


def test_return_for_supplement_loops_back_to_the_same_department(session, clock, staff) -> None:
    make_case(session, clock, staff["window"])
    first = open_task(session, staff["alpha"])
    complete_task(session, clock, staff["alpha"], first.id, "return", "缺少营业执照复印件")
    supplement = open_task(session, staff["window"])
    assert supplement.element_id == "supplement_alpha" and supplement.kind == "supplement"
    assert list_tasks(session, staff["alpha"], state="open") == []
    complete_task(session, clock, staff["window"], supplement.id)
    again = open_task(session, staff["alpha"])
    assert again.element_id == "review_alpha" and again.id != first.id
    assert first.outcome == "return" and first.opinion == "缺少营业执照复印件"


@pytest.mark.parametrize("outcome", ["reject", "return"])
def test_refusing_or_returning_needs_a_reason(session, clock, staff, outcome: str) -> None:
    make_case(session, clock, staff["window"])
    task = open_task(session, staff["alpha"])
    with pytest.raises(InvalidInput, match="reason is required"):
        complete_task(session, clock, staff["alpha"], task.id, outcome, "  ")
    assert task.state == TaskState.OPEN


def test_an_opinion_is_required(session, clock, staff) -> None:
    make_case(session, clock, staff["window"])
    with pytest.raises(InvalidInput, match="opinion"):
        complete_task(session, clock, staff["alpha"], open_task(session, staff["alpha"]).id, "approve")


def test_unknown_outcome_is_refused(session, clock, staff) -> None:
    make_case(session, clock, staff["window"])
    with pytest.raises(InvalidInput, match="outcome must be one of"):
        complete_task(session, clock, staff["alpha"], open_task(session, staff["alpha"]).id, "maybe")


def test_a_reviewer_cannot_act_on_another_departments_task(session, clock, staff) -> None:
    make_case(session, clock, staff["window"])
    task = open_task(session, staff["alpha"])
    with pytest.raises(PermissionDenied):
        complete_task(session, clock, staff["beta"], task.id, "approve", "同意")
    with pytest.raises(PermissionDenied):
        claim_task(session, clock, staff["beta"], task.id)
    with pytest.raises(PermissionDenied):
        list_tasks(session, staff["beta"], department="alpha")
    assert [t.department.code for t in list_tasks(session, staff["beta"])] == ["beta"]
    assert {t.department.code for t in list_tasks(session, staff["supervisor"], state="open")} == {"alpha", "beta", "gamma"}


def test_claim_blocks_colleagues_until_unclaimed(session, clock, staff) -> None:
    make_case(session, clock, staff["window"])
    task = open_task(session, staff["alpha"])
    claim_task(session, clock, staff["alpha"], task.id)
    assert (task.state, task.assignee_id) == (TaskState.CLAIMED, staff["alpha"].id)
    colleague = make_user(session, clock, "alpha2", ["reviewer"], "alpha")
    with pytest.raises(Conflict, match="claimed"):
        claim_task(session, clock, colleague, task.id)
    with pytest.raises(Conflict, match="claimed by"):
        complete_task(session, clock, colleague, task.id, "approve", "同意")
    unclaim_task(session, clock, staff["alpha"], task.id)
    claim_task(session, clock, colleague, task.id)
    complete_task(session, clock, colleague, task.id, "approve", "同意")
    assert list_done_by(session, colleague) == [task]


def test_completing_twice_is_a_conflict(session, clock, staff) -> None:
    make_case(session, clock, staff["window"])
    task = open_task(session, staff["alpha"])
    complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")
    with pytest.raises(Conflict, match="already been completed"):
        complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")


def _run_together(db: Database, clock, jobs: list[tuple[str, int, str]]) -> list[object]:
    """Run each (username, task id, outcome) completion in its own thread and transaction, all at once."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def work(index: int, username: str, task_id: int, outcome: str) -> None:
        barrier.wait()
        try:
            with db.writer.begin() as s:
                user = s.scalar(select(User).where(User.username == username))
                complete_task(s, clock, user, task_id, outcome, "同意")
            results[index] = "ok"
        except EngineError as err:
            results[index] = err

    threads = [threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_sibling_tasks_completed_at_the_same_moment_join_exactly_once(db: Database, clock) -> None:
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        make_definition(s, clock)
        case_id = make_case(s, clock, staff["window"]).id
        jobs = [(t.department.code, t.id, "approve") for t in s.scalars(select(Task).where(Task.state == "open"))]
    results = _run_together(db, clock, jobs)
    assert results == ["ok", "ok", "ok"]
    with db.reader.begin() as s:
        rows = list(s.scalars(select(Task).where(Task.case_id == case_id)))
        assert Counter(t.element_id for t in rows) == Counter(
            {"intake": 1, "review_alpha": 1, "review_beta": 1, "review_gamma": 1, "delivery": 1}
        )
        assert sum(1 for t in rows if t.state == TaskState.OPEN) == 1
        completions = s.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.action == "task_completed"))
        assert completions == 4  # intake + three reviews, each recorded once
        assert s.get(Case, case_id).version >= 4


def test_the_same_task_completed_twice_at_once_succeeds_once(db: Database, clock) -> None:
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        make_definition(s, clock)
        make_case(s, clock, staff["window"])
        task_id = s.scalar(select(Task.id).where(Task.element_id == "review_alpha"))
    results = _run_together(db, clock, [("alpha", task_id, "approve"), ("alpha", task_id, "approve")])
    assert sorted(map(str, results)) == ["ok", "this task has already been completed"]
