"""The provincial platform's event feed: our case file in its vocabulary, paged without gaps or repeats.

The concurrency proof (a late-committing lower id) is in tests/web/test_api_events.py, end to end.
"""
from __future__ import annotations

import pytest

from engine.cases import accept_case, refuse_application
from engine.delivery import deliver
from engine.errors import PermissionDenied
from engine.platform_feed import platform_events, settled_through
from engine.ratings import rate_online
from engine.suspensions import pause_task, resume_task
from engine.tasks import complete_task
from tests.factories import make_definition, make_staff
from tests.window_data import open_task_of, review_all


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


def _walk_a_case(session, clock, staff):
    """受理 online, 补正 and back, a 特别程序, every review, 一窗出件 (办结), then the applicant's rating."""
    case = accept_case(session, clock, staff["window"], "parallel_three", {"name": "张三", "phone": "13800138000"},
                       channel="online")
    complete_task(session, clock, staff["alpha"], open_task_of(session, case, "review_alpha").id, "return", "缺少租赁合同")
    complete_task(session, clock, staff["window"], open_task_of(session, case, "supplement_alpha").id)
    beta_review = open_task_of(session, case, "review_beta").id
    pause_task(session, clock, staff["beta"], beta_review, "special_procedure", "专家评审", "expert_review")
    resume_task(session, clock, staff["beta"], beta_review)
    review_all(session, clock, staff, case)
    deliver(session, clock, staff["window"], case.id, "pickup")
    rate_online(session, clock, case.number, case.query_code, 5, "很满意")
    session.flush()
    return case


def test_the_case_file_in_the_platforms_vocabulary(session, clock, staff) -> None:
    case = _walk_a_case(session, clock, staff)
    page = platform_events(session, staff["supervisor"], 0, 100)
    assert [e.type for e in page.events] == ["受理", "补正开始", "补正结束", "特别程序开始", "特别程序结束", "办结", "评价"]
    assert {(e.case_number, e.definition) for e in page.events} == {(case.number, "parallel_three")}
    accepted, supplement, _resumed, special, special_end, concluded, rated = page.events
    assert accepted.details == {"channel": "online", "version": 1}
    assert (supplement.department, supplement.details["reason"], supplement.details["step"]) == ("alpha", "缺少租赁合同", "review_alpha")
    assert (special.department, special.details["procedure"]) == ("beta", "expert_review")
    assert special_end.details["working_days"] == 0
    assert concluded.details == {"result": "completed"}
    assert rated.details == {"level": 5, "comment": "很满意", "channel": "online"}
    assert page.next_cursor >= rated.id
    # Nothing personal leaves for the platform.
    assert "13800138000" not in repr(page) and "张三" not in repr(page)


def test_pages_follow_each_other_without_gaps_or_repeats(session, clock, staff) -> None:
    _walk_a_case(session, clock, staff)
    everything = platform_events(session, staff["admin"], 0, 1000).events
    seen, cursor = [], 0
    while True:
        page = platform_events(session, staff["admin"], cursor, 2)
        if not page.events:
            assert page.next_cursor == cursor  # caught up: the same cursor again
            break
        assert len(page.events) <= 2 and page.next_cursor > cursor
        seen += page.events
        cursor = page.next_cursor
    assert [e.id for e in seen] == [e.id for e in everything]
    assert platform_events(session, staff["admin"], cursor, 2).events == []


def test_only_oversight_reads_the_feed(session, clock, staff) -> None:
    with pytest.raises(PermissionDenied):
        platform_events(session, staff["alpha"], 0, 10)
    with pytest.raises(PermissionDenied):
        platform_events(session, staff["window"], 0, 10)


def test_an_empty_or_settled_range_ends_where_it_is(session) -> None:
    assert settled_through(session, 5, 5) == 5
    assert settled_through(session, 5, 3) == 5


def test_an_application_not_accepted_reaches_the_platform_with_its_reasons(session, clock, staff) -> None:
    case = refuse_application(session, clock, staff["window"], "parallel_three", {"name": "张三"}, ["不属于本机关职权范围"])
    session.flush()
    (event,) = platform_events(session, staff["supervisor"], 0, 100).events
    assert (event.type, event.case_number, event.details) == (
        "不予受理", case.number, {"channel": "window", "reasons": ["不属于本机关职权范围"]})
