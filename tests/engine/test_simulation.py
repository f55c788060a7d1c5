"""流程预测: a dry run shows the path, the parallel tasks by department and the calendar's due dates."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.calendar import OFFICE_TZ
from engine.calendar_store import load_calendar
from engine.definitions import deploy_definition
from engine.errors import BpmnInvalid, InvalidInput
from engine.models import Case, CaseEvent, Task
from engine.simulation import simulate_flow
from tests.factories import bpmn, make_definition, make_departments

MODELER = Path(__file__).resolve().parent / "bpmn" / "modeler"


@pytest.fixture
def departments(session, clock) -> None:
    make_departments(session, clock)


def rows(session) -> int:
    return sum(session.scalar(select(func.count()).select_from(m)) for m in (Case, Task, CaseEvent))


def test_parallel_departments_overlap_and_the_join_waits_for_the_slowest(session, clock, departments) -> None:
    deploy_definition(session, clock, bpmn("parallel_three.bpmn"), catalog={"promised_days": 12})
    before = rows(session)
    result = simulate_flow(session, clock, "parallel_three")
    calendar = load_calendar(session)
    assert result.finished and rows(session) == before
    by_id = {t.element_id: t for t in result.tasks}
    intake = by_id["intake"]
    assert (intake.department, intake.opened_at, intake.due_at) == ("window", clock.now(), calendar.due_at(clock.now(), 1))
    reviews = [by_id[k] for k in ("review_alpha", "review_beta", "review_gamma")]
    # Handed over at the close of office hours on the intake's due day (Tuesday): the limits add up.
    handover = datetime(2026, 11, 24, 17, 30, tzinfo=OFFICE_TZ)
    assert {t.wave for t in reviews} == {2} and all(t.opened_at == handover for t in reviews)
    assert [t.due_at for t in reviews] == [calendar.due_at(clock.now(), d) for d in (6, 4, 11)]
    assert by_id["delivery"].opened_at == datetime(2026, 12, 8, 17, 30, tzinfo=OFFICE_TZ) == result.ended_at
    assert result.path[:3] == ["start", "intake", "split"] and result.path[-2:] == ["delivery", "end_ok"]
    assert {"review_alpha", "gw_alpha", "join", "gw_result"} <= set(result.path)
    wave = result.parallel()[1]
    assert set(wave["departments"]) == {"alpha", "beta", "gamma"}
    assert result.late() == []  # 1 + 10 working days fit in 12
    as_json = result.to_dict()
    assert as_json["promised_due_at"] == calendar.due_at(clock.now(), 12).isoformat()


def test_late_steps_are_flagged_against_the_promised_limit(session, clock, departments) -> None:
    deploy_definition(session, clock, bpmn("parallel_three.bpmn"), catalog={"promised_days": 6})
    result = simulate_flow(session, clock, "parallel_three")
    assert result.late() == ["review_gamma", "delivery"]


def test_outcomes_choose_the_path_including_a_supplement_round(session, clock, departments) -> None:
    make_definition(session, clock)
    result = simulate_flow(session, clock, "parallel_three", outcomes={"review_alpha": ["return", "approve"]})
    alpha = [t for t in result.tasks if t.element_id == "review_alpha"]
    assert [t.outcome for t in alpha] == ["return", "approve"]
    assert "supplement_alpha" in result.path and result.path[-1] == "end_ok"
    refused = simulate_flow(session, clock, "parallel_three", outcomes={"review_beta": "reject"})
    assert refused.path[-2:] == ["notice_reject", "end_rejected"]


def test_a_draft_is_simulated_before_it_is_deployed(session, clock, departments) -> None:
    xml = (MODELER / "implicit_split.bpmn").read_text(encoding="utf-8")
    result = simulate_flow(session, clock, "modeler_flow", xml=xml, data={"venue_name": "星空网吧"})
    assert sorted(t.element_id for t in result.tasks if t.wave == 2) == ["review_alpha", "review_beta"]
    assert rows(session) == 0
    with pytest.raises(InvalidInput, match="not 'other'"):
        simulate_flow(session, clock, "other", xml=xml)
    with pytest.raises(BpmnInvalid):
        simulate_flow(session, clock, "modeler_loop", xml=(MODELER / "label_words.bpmn").read_text(encoding="utf-8"))


def test_a_timer_due_before_the_step_ends_fires(session, clock, departments) -> None:
    # Three working days, not the P10D written beside them, run out before the five-day review.
    xml = bpmn("timer.bpmn").replace(b"CANCEL", b"true").replace(
        b"WORKING_DAYS", b'<camunda:property name="workingDays" value="3"/>')
    deploy_definition(session, clock, xml)
    result = simulate_flow(session, clock, "timer_flow")
    assert "late" in result.path and "supervise" in [t.element_id for t in result.tasks]
    assert "review_alpha" not in [t.element_id for t in result.tasks]  # withdrawn by the timer, never completed
    calm = deploy_definition(session, clock, bpmn("timer.bpmn").replace(b"CANCEL", b"true").replace(b"WORKING_DAYS", b""))[0]
    result = simulate_flow(session, clock, "timer_flow", version=calm.version)
    assert "late" not in result.path and result.path[-1] == "end_ok"


def test_bad_requests_are_refused(session, clock, departments) -> None:
    make_definition(session, clock)
    with pytest.raises(InvalidInput, match="outcome for review_alpha"):
        simulate_flow(session, clock, "parallel_three", outcomes={"review_alpha": "maybe"})
    with pytest.raises(InvalidInput, match="data must be an object"):
        simulate_flow(session, clock, "parallel_three", data=["x"])
    with pytest.raises(InvalidInput, match="did not finish"):
        simulate_flow(session, clock, "parallel_three", outcomes={"review_alpha": ["return"] * 300})
