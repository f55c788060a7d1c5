"""Versions: deploy with author and comment, history, diff, and migrating open cases."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.cases import tasks_of
from engine.db import Database
from engine.definitions import definition_version, deploy_definition, latest_definition
from engine.errors import BpmnInvalid, InvalidInput
from engine.history import events_of
from engine.migration import migrate_case, migrate_open_cases, preview_migration
from engine.models import Case, Task
from engine.tasks import complete_task, list_tasks
from engine.versions import deploy_version, diff_versions, versions_of
from engine.vocab import CaseStatus, TaskState
from tests.factories import bpmn, make_case, make_definition, make_staff

V1 = bpmn("parallel_three.bpmn")


def with_limits(xml: bytes = V1, **limits: int) -> bytes:
    """parallel_three with other time limits: review_alpha=5, review_beta=3, review_gamma=10 in v1."""
    old = {"review_alpha": 5, "review_beta": 3, "review_gamma": 10}
    text = xml.decode()
    for element, days in limits.items():
        start = text.index(f'<bpmn:userTask id="{element}"')
        end = text.index("</bpmn:userTask>", start)
        text = text[:start] + text[start:end].replace(f'value="{old[element]}"', f'value="{days}"') + text[end:]
    return text.encode()


WITHOUT_GAMMA = (V1.replace(b'<bpmn:sequenceFlow id="f5" sourceRef="split" targetRef="review_gamma"/>', b"")
                 .replace(b'<bpmn:sequenceFlow id="f8" sourceRef="review_gamma" targetRef="join"/>', b"")
                 .replace(b"<bpmn:flowNodeRef>review_gamma</bpmn:flowNodeRef>", b""))
WITHOUT_GAMMA = WITHOUT_GAMMA[:WITHOUT_GAMMA.index(b'<bpmn:userTask id="review_gamma"')] + WITHOUT_GAMMA[
    WITHOUT_GAMMA.index(b"</bpmn:userTask>", WITHOUT_GAMMA.index(b'<bpmn:userTask id="review_gamma"')) + len(b"</bpmn:userTask>"):]


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


def open_task(session, user) -> Task:
    return list_tasks(session, user, state="open")[0]


# --- deploy, list, diff ------------------------------------------------------------------------


def test_each_deploy_is_a_version_with_author_time_and_comment(session, clock, staff) -> None:
    clock.advance(hours=1)
    v2, created, warnings = deploy_version(session, clock, with_limits(review_alpha=7), staff["analyst"], "甲局时限调整为7日")
    assert created and warnings == [] and v2.version == 2
    again, created, _ = deploy_version(session, clock, with_limits(review_alpha=7), staff["analyst"], "again")
    assert not created and again.id == v2.id
    listed = versions_of(session, "parallel_three")
    assert [(v.definition.version, v.author, v.definition.comment) for v in listed] == [
        (2, "analyst", "甲局时限调整为7日"), (1, None, "")]
    assert listed[0].to_dict()["deployed_at"] == clock.now().isoformat()


def test_a_new_version_keeps_the_catalog_and_the_process_can_override_it(session, clock, staff) -> None:
    deploy_definition(session, clock, with_limits(review_alpha=4), catalog={"promised_days": 12, "statutory_days": 20, "name": "三部门"})
    v3, _, _ = deploy_version(session, clock, with_limits(review_alpha=6), staff["analyst"])
    assert (v3.catalog["promised_days"], v3.catalog["statutory_days"]) == (12, 20)
    override = with_limits(review_alpha=6).replace(
        b'isExecutable="true">',
        b'isExecutable="true"><bpmn:extensionElements><camunda:properties><camunda:property name="promisedDays" value="11"/>'
        b"</camunda:properties></bpmn:extensionElements>")
    v4, _, _ = deploy_version(session, clock, override, staff["analyst"])
    assert v4.catalog["promised_days"] == 11 and v4.version == 4
    with pytest.raises(BpmnInvalid) as caught:  # the lint runs on deploy: 1 + 10 > 10
        deploy_version(session, clock, override.replace(b'value="11"', b'value="10"'), staff["analyst"])
    assert caught.value.problems[0].element_id == "review_gamma"


def test_diff_lists_elements_added_removed_and_changed(session, clock, staff) -> None:
    moved = with_limits(review_alpha=7).replace('<bpmn:lane id="lane_gamma" name="丙局">'.encode(), '<bpmn:lane id="lane_gamma" name="甲局">'.encode())
    deploy_version(session, clock, moved, staff["analyst"])
    deploy_version(session, clock, WITHOUT_GAMMA, staff["analyst"])
    diff = diff_versions(session, "parallel_three", 1, 2)
    changed = {(c["element_id"], ch["field"]): (ch["from"], ch["to"]) for c in diff["changed"] for ch in c["changes"]}
    assert changed == {("review_alpha", "time_limit_days"): (5, 7), ("review_gamma", "department"): ("gamma", "alpha")}
    assert diff["added"] == diff["removed"] == []
    gone = diff_versions(session, "parallel_three", 1, 3)
    assert {e["element_id"] for e in gone["removed"]} == {"review_gamma", "f5", "f8"}
    back = diff_versions(session, "parallel_three", 3, 1)
    assert {e["element_id"] for e in back["added"]} == {"review_gamma", "f5", "f8"}
    assert back["added"][0]["type"] in ("userTask", "sequenceFlow")


# --- migration ---------------------------------------------------------------------------------


def test_an_open_case_moves_keeping_its_task_rows_and_clocks(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    complete_task(session, clock, staff["beta"], open_task(session, staff["beta"]).id, "approve", "同意")
    before = {t.element_id: (t.id, t.workflow_task_id, t.clock_id, t.time_limit_days)
              for t in tasks_of(session, case) if t.state == TaskState.OPEN}
    v2, _, _ = deploy_version(session, clock, with_limits(review_alpha=7, review_gamma=8), staff["analyst"])
    plan = preview_migration(session, clock, "parallel_three", 1, 2)
    assert [(c.number, c.migratable) for c in plan.cases] == [(case.number, True)]
    assert any("time limit 5 → 7" in change for change in plan.cases[0].changes)
    assert case.definition.version == 1  # a preview changes nothing

    clock.advance(hours=2)
    result = migrate_case(session, clock, staff["analyst"], case.id, case.definition_id, v2.id)
    assert result.status == "migrated", result.blockers
    assert case.definition.version == 2
    after = {t.element_id: (t.id, t.workflow_task_id, t.clock_id, t.time_limit_days)
             for t in tasks_of(session, case) if t.state == TaskState.OPEN}
    assert after == before  # same rows, same workflow tasks, the running clocks keep their limits
    migrated = [e for e in events_of(session, case) if e.action == "migrated"]
    assert len(migrated) == 1 and migrated[0].details["from_version"] == 1 and migrated[0].details["to_version"] == 2
    assert migrated[0].actor_id == staff["analyst"].id

    for code in ("alpha", "gamma"):
        complete_task(session, clock, staff[code], open_task(session, staff[code]).id, "approve", "同意")
    delivery = open_task(session, staff["window"])
    complete_task(session, clock, staff["window"], delivery.id)
    assert case.status == CaseStatus.COMPLETED


def test_a_case_cannot_move_when_a_waiting_task_is_gone(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    v2, _, _ = deploy_version(session, clock, WITHOUT_GAMMA, staff["analyst"])
    plan = preview_migration(session, clock, "parallel_three", 1, 2)
    assert not plan.cases[0].migratable
    assert any("review_gamma" in b for b in plan.cases[0].blockers)
    result = migrate_case(session, clock, staff["analyst"], case.id, case.definition_id, v2.id)
    assert result.status == "skipped" and case.definition.version == 1
    assert not [e for e in events_of(session, case) if e.action == "migrated"]


def test_a_case_cannot_move_when_a_step_it_ran_leads_elsewhere(session, clock, staff) -> None:
    make_case(session, clock, staff["window"])
    # v2 adds a fourth branch to the parallel split every open case has already passed.
    extra = V1.replace(b'<bpmn:sequenceFlow id="f5" ', b'<bpmn:sequenceFlow id="f_extra" sourceRef="split" targetRef="review_delta"/>'
                       b'<bpmn:sequenceFlow id="f_extra2" sourceRef="review_delta" targetRef="join"/><bpmn:sequenceFlow id="f5" ')
    extra = extra.replace(b'<bpmn:parallelGateway id="join"/>', b'<bpmn:userTask id="review_delta" name="\xe4\xb9\x99\xe5\xb1\x80\xe5\xa4\x8d\xe6\xa0\xb8"/><bpmn:parallelGateway id="join"/>')
    extra = extra.replace(b"<bpmn:flowNodeRef>review_beta</bpmn:flowNodeRef>", b"<bpmn:flowNodeRef>review_beta</bpmn:flowNodeRef><bpmn:flowNodeRef>review_delta</bpmn:flowNodeRef>")
    deploy_version(session, clock, extra, staff["analyst"])
    plan = preview_migration(session, clock, "parallel_three", 1, 2)
    assert any("changes where it leads" in b for b in plan.cases[0].blockers)
    with pytest.raises(InvalidInput):
        preview_migration(session, clock, "parallel_three", 2, 2)


def test_a_waiting_bpmn_timer_keeps_its_due_time(session, clock, staff) -> None:
    xml = bpmn("timer.bpmn").replace(b"CANCEL", b"true").replace(
        b"WORKING_DAYS", b'<camunda:property name="workingDays" value="3"/>')
    deploy_definition(session, clock, xml)
    case = make_case(session, clock, staff["window"], key="timer_flow")
    due = case.next_timer_at
    assert due is not None
    clock.advance(days=1)
    v2, _, _ = deploy_version(session, clock, xml.replace(b'name="timeLimitDays" value="5"', b'name="timeLimitDays" value="4"'),
                              staff["analyst"])
    result = migrate_case(session, clock, staff["analyst"], case.id, case.definition_id, v2.id)
    assert result.status == "migrated", result.blockers
    assert case.next_timer_at == due


def test_migrate_open_cases_runs_one_transaction_per_case(db: Database, clock) -> None:
    with db.writer.begin() as s:
        staff = make_staff(s, clock)
        make_definition(s, clock)
        first = make_case(s, clock, staff["window"]).id
        second = make_case(s, clock, staff["window"]).id
        complete_task(s, clock, staff["alpha"], list_tasks(s, staff["alpha"], state="open")[0].id, "reject", "不符合")
        for code in ("beta", "gamma"):
            for task in list_tasks(s, staff[code], state="open"):
                complete_task(s, clock, staff[code], task.id, "approve", "同意")
        deploy_version(s, clock, with_limits(review_beta=2), staff["analyst"])
        analyst_id = staff["analyst"].id
    plan = migrate_open_cases(db, clock, analyst_id, "parallel_three", 1, 2)
    assert sorted((c.case_id, c.status) for c in plan.cases) == [(first, "migrated"), (second, "migrated")]
    with db.reader.begin() as s:
        versions = {c.id: c.definition.version for c in s.scalars(select(Case))}
        assert versions == {first: 2, second: 2}
        # The refused case waits at the window for its notice, the other for 甲局; rows still match the workflows.
        waiting = {(t.case_id, t.element_id) for t in s.scalars(select(Task).where(Task.state == TaskState.OPEN))}
        assert waiting == {(first, "notice_reject"), (second, "review_alpha")}
    assert plan.to_dict()["migrated"] == 2


def test_versions_of_unknown_key_is_not_found(session, clock, staff) -> None:
    from engine.errors import NotFound

    with pytest.raises(NotFound):
        versions_of(session, "nope")
    with pytest.raises(NotFound):
        definition_version(session, "parallel_three", 9)
    assert latest_definition(session, "parallel_three").version == 1
