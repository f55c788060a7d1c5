"""双公示: each approval decision reaches the credit feed once, within 7 working days."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.cases import accept_case, tasks_of
from engine.credit_feed import FIELDS, feed_items
from engine.errors import PermissionDenied
from engine.jobs import publish_credit_decisions, run_due_jobs
from engine.models import CreditFeedItem, User
from engine.tasks import complete_task
from engine.vocab import TaskKind
from tests.factories import make_demo_site


@pytest.fixture
def demo(db, clock) -> dict[str, int]:
    with db.writer.begin() as session:
        return {name: u.id for name, u in make_demo_site(session, clock).items()}


def decide(db, clock, demo, key: str, applicant: dict, refuse: bool = False) -> int:
    """Accept a case and walk it to its end (one department refusing when `refuse`); return its id."""
    with db.writer.begin() as session:
        users = {name: session.get(User, uid) for name, uid in demo.items()}
        case = accept_case(session, clock, users["window"], key, applicant, {})
        for _ in range(30):
            open_tasks = [t for t in tasks_of(session, case) if t.state == "open"]
            if not open_tasks:
                break
            task = open_tasks[0]
            outcome = None
            if task.kind == TaskKind.REVIEW:
                outcome = "reject" if refuse else "approve"
            complete_task(session, clock, users[task.department.code], task.id, outcome, "不符合条件" if refuse else "同意")
        assert case.status in ("completed", "rejected")
        return case.id


def test_a_decision_appears_once_and_within_seven_working_days(db, clock, demo) -> None:
    case_id = decide(db, clock, demo, "wangba", {"name": "某某网络科技有限公司", "id_number": "91120000MA05T8XX1A"})
    refused = decide(db, clock, demo, "dianli_guohu", {"name": "张三", "id_number": "120101199001011234"}, refuse=True)
    decide(db, clock, demo, "yishenqing_gongkai", {"name": "李四"})  # not a 行政许可: never in the feed
    clock.advance(minutes=1)
    run = run_due_jobs(db, clock, "test")
    assert run.ran and run.credit_published == 2
    clock.advance(days=3)
    assert publish_credit_decisions(db, clock) == 0  # a second run adds nothing
    with db.reader.begin() as session:
        assert session.scalar(select(func.count()).select_from(CreditFeedItem)) == 2
        items = feed_items(session, session.get(User, demo["supervisor"]))
        assert [i.case_id for i in items] == [case_id, refused]
        licence, refusal = items
        assert licence.published_at <= licence.due_by and licence.due_by - licence.decided_at < timedelta(days=12)
        assert set(licence.record) == set(FIELDS)
        assert licence.record["许可决定"] == "准予许可" and licence.record["统一社会信用代码"] == "91120000MA05T8XX1A"
        assert licence.record["行政相对人类别"] == "法人及非法人组织" and "区消防救援支队" in licence.record["许可机关"]
        # A natural person's ID number is not published whole.
        assert refusal.record["许可决定"] == "不予许可" and refusal.record["法定代表人证件号码"] == "1201**********1234"
        assert feed_items(session, session.get(User, demo["supervisor"]), after=licence.id) == [refusal]
        with pytest.raises(PermissionDenied):
            feed_items(session, session.get(User, demo["fire"]))
