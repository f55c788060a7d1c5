"""审管联动: a concluded case's results go once to the supervising department's feed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.definitions import deploy_definition
from engine.delivery import deliver
from engine.feed import feed_for, mark_feed_read, push_results
from engine.history import events_of
from engine.models import SupervisionFeedItem
from engine.tasks import complete_task
from tests.factories import bpmn, make_case, make_definition, make_staff
from tests.window_data import open_task_of, review_all


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


def test_a_concluded_case_is_pushed_once_to_the_supervising_department(session, clock, staff) -> None:
    deploy_definition(session, clock, bpmn("parallel_three.bpmn"), catalog={"supervising_department": "beta"})
    case = make_case(session, clock, staff["window"])
    assert push_results(session, case, clock.now()) is None  # still in progress
    review_all(session, clock, staff, case)
    deliver(session, clock, staff["window"], case.id, "pickup")
    item = push_results(session, case, clock.now())
    assert item is not None and push_results(session, case, clock.now()) is item
    assert session.scalar(select(func.count()).select_from(SupervisionFeedItem)) == 1
    assert (item.result, item.department_id) == ("completed", staff["beta"].department_id)
    assert item.summary["number"] == case.number and item.summary["applicant"] == "张*"
    assert [(r["department"], r["outcome"]) for r in item.summary["reviews"]] == [
        ("alpha", "approve"), ("beta", "approve"), ("gamma", "approve")]
    assert [e.details for e in events_of(session, case) if e.action == "result_pushed"] == [
        {"department": "beta", "result": "completed"}]


def test_a_refusal_is_pushed_as_rejected_with_the_decision_that_stands(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    complete_task(session, clock, staff["alpha"], open_task_of(session, case, "review_alpha").id, "return", "补材料")
    complete_task(session, clock, staff["window"], open_task_of(session, case, "supplement_alpha").id)
    review_all(session, clock, staff, case, {"gamma": "reject"})
    complete_task(session, clock, staff["window"], open_task_of(session, case, "notice_reject").id)
    item = push_results(session, case, clock.now())
    assert item.result == "rejected" and item.department_id == staff["alpha"].department_id  # first reviewer
    assert [r["outcome"] for r in item.summary["reviews"]] == ["approve", "approve", "reject"]


def test_the_feed_is_scoped_to_the_department(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    review_all(session, clock, staff, case)
    deliver(session, clock, staff["window"], case.id, "pickup")
    item = push_results(session, case, clock.now())
    assert feed_for(session, staff["alpha"]) == [item]
    assert feed_for(session, staff["beta"]) == [] and feed_for(session, staff["analyst"]) == []
    assert feed_for(session, staff["supervisor"]) == [item]
    mark_feed_read(session, staff["beta"], clock.now())
    session.refresh(item)
    assert item.read_at is None
    mark_feed_read(session, staff["alpha"], clock.now(), [item.id])
    session.refresh(item)
    assert item.read_at == clock.now() and feed_for(session, staff["alpha"], unread_only=True) == []
