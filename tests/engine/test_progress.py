"""The applicant's progress view: found by number and query code only, plain statuses, masked data."""
from __future__ import annotations

import dataclasses

import pytest

from engine.cases import accept_case
from engine.delivery import deliver
from engine.progress import StepStatus, find_case, progress_of
from engine.ratings import rate_online
from engine.tasks import complete_task
from tests.factories import make_definition, make_staff
from tests.window_data import open_task_of, review_all


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


@pytest.fixture
def case(session, clock, staff):
    return accept_case(session, clock, staff["window"], "parallel_three",
                       {"name": "张三", "phone": "13800138000", "id_number": "110101199003071234"},
                       missing_materials=[{"name": "消防验收意见书", "promised_date": "2026-11-30"}])


def test_only_the_number_with_its_code_finds_the_case(session, case) -> None:
    assert find_case(session, case.number, case.query_code) is case
    assert find_case(session, f" {case.number.lower()} ", case.query_code.lower()) is case
    assert find_case(session, case.number, "") is None
    assert find_case(session, case.number, "ZZZZZZ") is None
    assert find_case(session, "YJS-20990101-0001", case.query_code) is None
    assert find_case(session, "", "") is None
    assert find_case(session, None, None) is None


def test_statuses_in_plain_words_through_the_case(session, clock, staff, case) -> None:
    progress = progress_of(session, case)
    assert progress.status == StepStatus.UNDER_REVIEW
    assert [(s.department, s.status) for s in progress.steps] == [
        ("综合窗口", StepStatus.ACCEPTED), ("甲局", StepStatus.UNDER_REVIEW), ("乙局", StepStatus.UNDER_REVIEW),
        ("丙局", StepStatus.UNDER_REVIEW)]
    assert [name for name, _day in progress.missing] == ["消防验收意见书"]

    complete_task(session, clock, staff["alpha"], open_task_of(session, case, "review_alpha").id, "return", "缺少租赁合同")
    progress = progress_of(session, case)
    assert progress.status == StepStatus.SUPPLEMENT_NEEDED and progress.steps[1].status == StepStatus.SUPPLEMENT_NEEDED
    complete_task(session, clock, staff["window"], open_task_of(session, case, "supplement_alpha").id)
    assert progress_of(session, case).steps[1].status == StepStatus.UNDER_REVIEW

    review_all(session, clock, staff, case)
    progress = progress_of(session, case)
    assert progress.status == StepStatus.APPROVED
    assert {s.status for s in progress.steps[1:]} == {StepStatus.APPROVED}
    deliver(session, clock, staff["window"], case.id, "ems", "EA123456789CN")
    progress = progress_of(session, case)
    assert progress.status == StepStatus.CONCLUDED and progress.steps[-1].status == StepStatus.CONCLUDED
    assert (progress.delivery_method, progress.tracking_number, progress.may_rate) == ("ems", "EA123456789CN", True)
    rate_online(session, clock, case.number, case.query_code, 4, "")
    progress = progress_of(session, case)
    assert (progress.rating, progress.may_rate) == (4, False)


def test_a_refusal_shows_as_refused(session, clock, staff, case) -> None:
    review_all(session, clock, staff, case, {"beta": "reject"})
    progress = progress_of(session, case)
    assert [s.status for s in progress.steps[1:]] == [StepStatus.APPROVED, StepStatus.REFUSED, StepStatus.APPROVED]


def test_no_opinion_or_personal_data_leaves_in_the_view(session, clock, staff, case) -> None:
    review_all(session, clock, staff, case, {"beta": "reject"})
    shown = repr(dataclasses.asdict(progress_of(session, case)))
    for secret in ("alpha 意见", "beta 意见", "13800138000", "110101199003071234", "张三", staff["beta"].username):
        assert secret not in shown
    assert "张*" in shown and "138****8000" in shown and "1101**********1234" in shown


def test_a_step_shows_its_latest_round_of_decisions() -> None:
    """A 会签's rows open together and count together; a review reopened after 补正 starts a new round."""
    from datetime import datetime, timedelta

    from engine.models import Task
    from engine.progress import _review_status, current_reviews

    t0 = datetime(2026, 11, 23, 1)

    def row(i: int, opened: int, state: str = "open", outcome: str | None = None, done: int | None = None) -> Task:
        return Task(id=i, element_id="review_x", kind="review", state=state, outcome=outcome,
                    created_at=t0 + timedelta(hours=opened), completed_at=t0 + timedelta(hours=done) if done is not None else None)

    countersign = [row(1, 0, "completed", "approve", 1), row(2, 0)]
    assert _review_status(current_reviews(countersign)["review_x"]) == StepStatus.UNDER_REVIEW
    countersign[1] = row(2, 0, "completed", "reject", 2)
    assert _review_status(current_reviews(countersign)["review_x"]) == StepStatus.REFUSED
    returned_then_reopened = [row(1, 0, "completed", "return", 1), row(2, 3)]
    assert [t.id for t in current_reviews(returned_then_reopened)["review_x"]] == [2]
    frozen_clock = [row(1, 0, "completed", "return", 0), row(2, 0, "completed", "approve", 0)]
    assert _review_status(current_reviews(frozen_clock)["review_x"]) == StepStatus.APPROVED
    withdrawn = [row(1, 0, "cancelled"), row(2, 0, "completed", "approve", 1)]
    assert [t.id for t in current_reviews(withdrawn)["review_x"]] == [2]
