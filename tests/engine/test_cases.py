"""Accepting a case at the window fans it out to every department at once."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.calendar import OFFICE_TZ
from engine.cases import accept_case, get_case, list_cases
from engine.errors import InvalidInput, PermissionDenied, WorkflowFailed
from engine.history import events_of
from engine.vocab import CaseStatus, TaskState
from engine.bpmn import parse_definition
from engine.definitions import deploy_definition
from engine.directory import create_department
from engine.instances import new_workflow
from engine.runtime import complete_workflow_task
from engine.tasks import complete_task
from tests.factories import bpmn, make_case, make_definition, make_staff, make_user


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


def test_acceptance_opens_one_task_per_department_in_parallel(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"], venue_name="星空网吧")
    assert case.number == "YJS-20261123-0001"
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.data == {"venue_name": "星空网吧", "area": 100}
    by_element = {t.element_id: t for t in case.tasks}
    assert by_element["intake"].state == TaskState.COMPLETED
    assert by_element["intake"].completed_by_id == staff["window"].id
    open_reviews = sorted((t.department.code, t.time_limit_days) for t in case.tasks if t.state == TaskState.OPEN)
    assert open_reviews == [("alpha", 5), ("beta", 3), ("gamma", 10)]
    actions = [e.action for e in events_of(session, case)]
    assert actions[0] == "accepted" and actions.count("task_opened") == 4 and "task_completed" in actions


def test_case_numbers_are_dense_per_office_day(session, clock, staff) -> None:
    numbers = [make_case(session, clock, staff["window"]).number for _ in range(3)]
    assert numbers == ["YJS-20261123-0001", "YJS-20261123-0002", "YJS-20261123-0003"]
    clock.set(datetime(2026, 11, 24, 0, 5, tzinfo=OFFICE_TZ))  # just after midnight in Beijing
    assert make_case(session, clock, staff["window"]).number == "YJS-20261124-0001"


def test_only_the_window_accepts(session, clock, staff) -> None:
    with pytest.raises(PermissionDenied):
        make_case(session, clock, staff["alpha"])


@pytest.mark.parametrize(
    ("applicant", "data", "message"),
    [
        ({}, {}, "applicant name is required"),
        ({"name": "  "}, {}, "applicant name is required"),
        ("张三", {}, "applicant must be an object"),
        ({"name": "张三", "phone": 138}, {}, "phone must be a string"),
        ({"name": "张三"}, {"area": "large"}, "must be a long"),
        ({"name": "张三"}, {"outcome": "approve"}, "set by the engine"),
        ({"name": "张三"}, {"__class__": 1}, "not a valid field name"),
    ],
)
def test_bad_applications_are_refused_clearly(session, clock, staff, applicant, data, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        accept_case(session, clock, staff["window"], "parallel_three", applicant, data)


def test_unknown_definition_is_a_clear_error(session, clock, staff) -> None:
    with pytest.raises(InvalidInput, match="unknown definition 'nope'"):
        accept_case(session, clock, staff["window"], "nope", {"name": "张三"})


def test_reviewers_see_only_cases_of_their_department(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    create_department(session, clock, "delta", "丁局")
    outsider = make_user(session, clock, "delta", ["reviewer"], "delta")
    assert get_case(session, staff["alpha"], case.id) is case
    assert get_case(session, staff["supervisor"], case.id) is case
    assert [c.id for c in list_cases(session, staff["beta"])] == [case.id]
    with pytest.raises(PermissionDenied):
        get_case(session, outsider, case.id)
    assert list_cases(session, outsider) == []


def test_a_script_escape_at_run_time_fails_naming_the_element(session, clock, staff) -> None:
    """Deploy-time checks are the first line; the run-time engine refuses on its own too."""
    parsed = parse_definition(bpmn("script_task.bpmn").replace(b"SCRIPT", b"fee = 1"))
    workflow = new_workflow(parsed)
    workflow.do_engine_steps()
    intake = workflow.get_tasks(manual=True)[0]
    workflow.spec.task_specs["compute_fee"].script = "__import__('os').system('true')"
    with pytest.raises(WorkflowFailed) as caught:
        complete_workflow_task(workflow, intake, {})
    assert caught.value.element_id == "compute_fee"
    assert "'__import__' is not allowed" in caught.value.message


def test_a_condition_missing_its_data_is_a_clear_422_and_changes_nothing(session, clock, staff) -> None:
    xml = bpmn("parallel_three.bpmn").replace(b'outcome == "return"', b'permit_count > 2')
    deploy_definition(session, clock, xml)
    case = make_case(session, clock, staff["window"])
    task = next(t for t in case.tasks if t.element_id == "review_alpha")
    with pytest.raises(WorkflowFailed) as caught:
        complete_task(session, clock, staff["alpha"], task.id, "approve", "同意")
    assert caught.value.status == 422
    assert caught.value.element_id == "gw_alpha"
    assert "permit_count" in caught.value.message
