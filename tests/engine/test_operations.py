"""The reviewer's vocabulary: each operation's rules (who may, when) and what it records."""
from __future__ import annotations

import pytest

from engine.cases import accept_case, tasks_of
from engine.definitions import deploy_definition
from engine.errors import Conflict, InvalidInput, PermissionDenied
from engine.history import events_of
from engine.models import Task
from engine.operations import (
    add_signer,
    batch_approve,
    copy_task,
    delegate_task,
    give_opinion,
    phrases_for,
    remove_signer,
    resolve_task,
    return_to_step,
    save_phrase,
    tasks_in_view,
    transfer_task,
    withdraw_task,
)
from engine.tasks import claim_task, complete_task
from engine.vocab import TaskState
from tests.factories import bpmn, make_case, make_definition, make_staff, make_user


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    users["alpha2"] = make_user(session, clock, "alpha2", ["reviewer"], "alpha")
    users["alpha_head"] = make_user(session, clock, "alpha_head", ["department_head", "reviewer"], "alpha")
    make_definition(session, clock)
    return users


def review(session, case, element_id: str = "review_alpha") -> Task:
    return next(t for t in tasks_of(session, case) if t.element_id == element_id and t.state in ("open", "claimed"))


def actions(session, case) -> list[str]:
    return [e.action for e in events_of(session, case)]


class TestTransfer:
    def test_within_the_department(self, session, clock, staff) -> None:
        case = make_case(session, clock, staff["window"])
        task = review(session, case)
        transfer_task(session, clock, staff["alpha"], task.id, "alpha2", "休假")
        assert (task.assignee_id, task.state) == (staff["alpha2"].id, TaskState.CLAIMED)
        with pytest.raises(Conflict):
            complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")
        complete_task(session, clock, staff["alpha2"], task.id, "approve", "同意")
        assert "task_transferred" in actions(session, case)

    def test_leaving_the_department_needs_the_head(self, session, clock, staff) -> None:
        case = make_case(session, clock, staff["window"])
        task = review(session, case)
        with pytest.raises(PermissionDenied, match="department head"):
            transfer_task(session, clock, staff["alpha"], task.id, "beta", "不属本部门")
        transfer_task(session, clock, staff["alpha_head"], task.id, "beta", "不属本部门职责")
        assert task.department.code == "beta" and task.assignee_id == staff["beta"].id

    def test_needs_a_reason_and_a_real_colleague(self, session, clock, staff) -> None:
        task = review(session, make_case(session, clock, staff["window"]))
        with pytest.raises(InvalidInput, match="reason"):
            transfer_task(session, clock, staff["alpha"], task.id, "alpha2", "")
        with pytest.raises(InvalidInput):
            transfer_task(session, clock, staff["alpha"], task.id, "alpha", "x")


def test_delegate_then_resolve_then_confirm(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    task = review(session, case)
    delegate_task(session, clock, staff["alpha"], task.id, "alpha2")
    with pytest.raises(Conflict, match="delegated"):
        complete_task(session, clock, staff["alpha2"], task.id, "approve", "同意")
    with pytest.raises(Conflict):
        resolve_task(session, clock, staff["alpha"], task.id)
    resolve_task(session, clock, staff["alpha2"], task.id, "已核实现场")
    assert task.assignee_id == staff["alpha"].id and task.delegation == "resolved"
    complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")
    assert actions(session, case).count("task_delegated") == 1 and "task_resolved" in actions(session, case)


def test_return_to_a_step_already_passed(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    complete_task(session, clock, staff["beta"], review(session, case, "review_beta").id, "approve", "同意")
    task = review(session, case)
    with pytest.raises(InvalidInput, match="already passed"):
        return_to_step(session, clock, staff["alpha"], task.id, "delivery", "x")
    return_to_step(session, clock, staff["alpha"], task.id, "intake", "申请表填写有误，请窗口重新受理")
    rows = tasks_of(session, case)
    assert task.state == TaskState.CANCELLED and task.opinion.startswith("申请表")
    open_rows = [t.element_id for t in rows if t.state in ("open", "claimed")]
    assert open_rows == ["intake"]  # every department's work after intake is redone
    assert "task_returned" in actions(session, case)
    intake = review(session, case, "intake")
    complete_task(session, clock, staff["window"], intake.id)
    assert sorted(t.element_id for t in tasks_of(session, case) if t.state == "open") == ["review_alpha", "review_beta", "review_gamma"]


class TestWithdraw:
    def test_while_the_next_step_has_not_started(self, session, clock, staff) -> None:
        case = make_case(session, clock, staff["window"])
        for code in ("beta", "gamma"):
            complete_task(session, clock, staff[code], review(session, case, f"review_{code}").id, "approve", "同意")
        task = review(session, case)
        complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")
        delivery = review(session, case, "delivery")
        withdraw_task(session, clock, staff["alpha"], task.id)
        assert task.state == TaskState.CLAIMED and task.assignee_id == staff["alpha"].id
        assert session.get(Task, delivery.id).state == TaskState.CANCELLED
        complete_task(session, clock, staff["alpha"], task.id, "reject", "消防条件不符")
        assert review(session, case, "notice_reject")

    def test_refused_once_the_next_step_started_or_by_someone_else(self, session, clock, staff) -> None:
        case = make_case(session, clock, staff["window"])
        for code in ("beta", "gamma", "alpha"):
            complete_task(session, clock, staff[code], review(session, case, f"review_{code}").id, "approve", "同意")
        alpha = next(t for t in tasks_of(session, case) if t.element_id == "review_alpha")
        with pytest.raises(Conflict, match="only the person"):
            withdraw_task(session, clock, staff["alpha2"], alpha.id)
        claim_task(session, clock, staff["window"], review(session, case, "delivery").id)
        with pytest.raises(Conflict, match="already started"):
            withdraw_task(session, clock, staff["alpha"], alpha.id)

    def test_refused_past_a_join_another_branch_completed(self, session, clock, staff) -> None:
        case = make_case(session, clock, staff["window"])
        for code in ("alpha", "beta", "gamma"):
            complete_task(session, clock, staff[code], review(session, case, f"review_{code}").id, "approve", "同意")
        alpha = next(t for t in tasks_of(session, case) if t.element_id == "review_alpha")
        with pytest.raises(Conflict, match="join"):
            withdraw_task(session, clock, staff["alpha"], alpha.id)

    def test_an_early_branch_can_be_withdrawn_before_the_join(self, session, clock, staff) -> None:
        case = make_case(session, clock, staff["window"])
        alpha = review(session, case)
        complete_task(session, clock, staff["alpha"], alpha.id, "approve", "同意")
        withdraw_task(session, clock, staff["alpha"], alpha.id)
        for code in ("alpha", "beta", "gamma"):
            complete_task(session, clock, staff[code], review(session, case, f"review_{code}").id, "approve", "同意")
        assert [t.element_id for t in tasks_of(session, case)].count("delivery") == 1


def test_cc_shows_in_the_copied_lists(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    task = review(session, case)
    with pytest.raises(PermissionDenied):
        copy_task(session, clock, staff["beta"], task.id, users=["gamma"])
    copy_task(session, clock, staff["alpha"], task.id, users=["gamma"], departments=["beta"])
    assert [t.id for t in tasks_in_view(session, staff["gamma"], "cc")] == [task.id]
    assert [t.id for t in tasks_in_view(session, staff["beta"], "cc")] == [task.id]
    assert tasks_in_view(session, staff["alpha2"], "cc") == []
    assert [t.case_id for t in tasks_in_view(session, staff["window"], "started")][:1] == [case.id]


class TestAddedSigners:
    def test_before_blocks_the_decision_until_the_opinion(self, session, clock, staff) -> None:
        case = make_case(session, clock, staff["window"])
        task = review(session, case)
        signer_task = add_signer(session, clock, staff["alpha"], task.id, "beta", "before")
        with pytest.raises(Conflict, match="not given their opinion"):
            complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")
        with pytest.raises(PermissionDenied):
            give_opinion(session, clock, staff["gamma"], signer_task.id, "同意")
        give_opinion(session, clock, staff["beta"], signer_task.id, "无异议")
        complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")
        assert task.state == TaskState.COMPLETED

    def test_after_holds_the_decision_until_the_signer_agrees(self, session, clock, staff) -> None:
        case = make_case(session, clock, staff["window"])
        task = review(session, case)
        signer_task = add_signer(session, clock, staff["alpha"], task.id, "alpha_head", "after")
        with pytest.raises(Conflict, match="once the reviewer has decided"):
            give_opinion(session, clock, staff["alpha_head"], signer_task.id, "同意")
        complete_task(session, clock, staff["alpha"], task.id, "approve", "拟同意")
        assert task.state == TaskState.CLAIMED and task.held_completion["outcome"] == "approve"
        give_opinion(session, clock, staff["alpha_head"], signer_task.id, "同意")
        assert task.state == TaskState.COMPLETED and task.completed_by_id == staff["alpha"].id
        assert {"completion_held", "signer_opinion", "task_completed"} <= set(actions(session, case))

    def test_remove_a_signer(self, session, clock, staff) -> None:
        case = make_case(session, clock, staff["window"])
        task = review(session, case)
        add_signer(session, clock, staff["alpha"], task.id, "beta", "before")
        with pytest.raises(Conflict):
            remove_signer(session, clock, staff["alpha"], task.id, "gamma")
        remove_signer(session, clock, staff["alpha"], task.id, "beta")
        with pytest.raises(InvalidInput, match="position"):
            add_signer(session, clock, staff["alpha"], task.id, "beta", "sideways")
        complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")


def test_batch_approve_reports_each_task(session, clock, staff) -> None:
    cases = [make_case(session, clock, staff["window"]) for _ in range(3)]
    ids = [review(session, c).id for c in cases] + [review(session, cases[0], "review_beta").id]
    results = batch_approve(session, clock, staff["alpha"], ids, "材料齐全，同意")
    assert [results[i] for i in ids[:3]] == ["approved"] * 3
    assert "another department" in results[ids[3]]
    assert all(session.get(Task, i).state == TaskState.COMPLETED for i in ids[:3])


def test_phrases(session, clock, staff) -> None:
    assert "同意。" in phrases_for(session, staff["alpha"])
    save_phrase(session, staff["alpha"], "经现场核查，符合条件。")
    assert phrases_for(session, staff["alpha"])[0] == "经现场核查，符合条件。"


def test_field_permissions_protect_read_only_fields(session, clock, staff) -> None:
    xml = bpmn("parallel_three.bpmn").replace(
        b'<camunda:property name="timeLimitDays" value="3"/>',
        b'<camunda:property name="timeLimitDays" value="3"/><camunda:property name="fieldPermissions" value="area:read"/>')
    deploy_definition(session, clock, xml)
    case = make_case(session, clock, staff["window"])
    beta = review(session, case, "review_beta")
    with pytest.raises(InvalidInput, match="read-only"):
        complete_task(session, clock, staff["beta"], beta.id, "approve", "同意", {"area": 5})
    complete_task(session, clock, staff["beta"], beta.id, "approve", "同意")


@pytest.mark.parametrize(
    ("sequential", "condition", "outcomes", "finished_after"),
    [
        ("", "", ["approve", "approve", "approve"], 3),                                             # 会签: all
        ("", '<bpmn:completionCondition>outcome == "approve"</bpmn:completionCondition>', ["approve"], 1),  # 或签: any one
        ("", "<bpmn:completionCondition>nr_approved * 2 &gt;= nr_instances</bpmn:completionCondition>", ["approve", "approve"], 2),  # ratio
        ('isSequential="true"', "", ["approve", "approve", "approve"], 3),                          # 依次审批
    ],
)
def test_multi_instance_countersign(session, clock, staff, sequential, condition, outcomes, finished_after) -> None:
    make_user(session, clock, "alpha3", ["reviewer"], "alpha")
    xml = bpmn("countersign.bpmn").replace(b"SEQUENTIAL", sequential.encode()).replace(b"CONDITION", condition.encode())
    deploy_definition(session, clock, xml)
    case = accept_case(session, clock, staff["window"], "countersign", {"name": "张三"}, {"signers": ["alpha", "alpha2", "alpha3"]})
    signed = 0
    for outcome in outcomes:
        mine = [t for t in tasks_of(session, case) if t.element_id == "joint_review" and t.state == "claimed"]
        assert mine and all(t.assignee is not None for t in mine)
        if sequential:
            assert len(mine) == 1 and mine[0].assignee.username == ["alpha", "alpha2", "alpha3"][signed]
        complete_task(session, clock, mine[0].assignee, mine[0].id, outcome, "同意")
        signed += 1
    assert signed == finished_after
    rows = tasks_of(session, case)
    assert any(t.element_id == "delivery" and t.state == "open" for t in rows)
    assert not any(t.element_id == "joint_review" and t.state in ("open", "claimed") for t in rows)
