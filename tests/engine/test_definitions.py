"""Deploying definitions: versions by content, departments from lanes, element-level errors."""
from __future__ import annotations

import pytest

from engine.definitions import deploy_definition, latest_definition
from engine.errors import BpmnInvalid
from tests.factories import bpmn, make_definition, make_departments


@pytest.fixture
def departments(session, clock) -> None:
    make_departments(session, clock)


def test_deploy_resolves_lane_departments_and_task_data(session, clock, departments) -> None:
    definition = make_definition(session, clock)
    tasks = definition.catalog["tasks"]
    assert (definition.key, definition.version, definition.name) == ("parallel_three", 1, "三部门并联测试")
    assert tasks["review_alpha"] == {
        "name": "甲局审查", "department": "alpha", "kind": "review", "time_limit_days": 5,
        "item_name": "甲许可", "legal_basis": "《甲条例》第一条",
    }
    assert tasks["review_beta"]["department"] == "beta"  # lane named by department code
    assert tasks["intake"]["kind"] == "intake" and tasks["intake"]["department"] == "window"
    assert tasks["supplement_alpha"]["kind"] == "supplement"


def test_same_content_keeps_the_version_and_a_change_makes_a_new_one(session, clock, departments) -> None:
    first = make_definition(session, clock)
    again, created = deploy_definition(session, clock, bpmn("parallel_three.bpmn"))
    assert not created and again.id == first.id
    changed = bpmn("parallel_three.bpmn").replace(b'name="timeLimitDays" value="5"', b'name="timeLimitDays" value="7"')
    second, created = deploy_definition(session, clock, changed)
    assert created and second.version == 2 and second.sha256 != first.sha256
    assert latest_definition(session, "parallel_three").catalog["tasks"]["review_alpha"]["time_limit_days"] == 7


def test_unknown_lane_names_the_task_and_the_department(session, clock, departments) -> None:
    xml = bpmn("parallel_three.bpmn").replace('name="丙局"'.encode(), 'name="不存在局"'.encode())
    with pytest.raises(BpmnInvalid) as caught:
        deploy_definition(session, clock, xml)
    problem = caught.value.problems[0]
    assert problem.element_id == "review_gamma"
    assert "不存在局" in problem.message and "matches no department" in problem.message


def test_applicant_lane_goes_to_the_window(session, clock, departments) -> None:
    xml = bpmn("parallel_three.bpmn").replace('<bpmn:lane id="lane_gamma" name="丙局">'.encode(), '<bpmn:lane id="lane_gamma" name="申请人">'.encode())
    definition, _ = deploy_definition(session, clock, xml)
    assert definition.catalog["tasks"]["review_gamma"]["department"] == "window"


@pytest.mark.parametrize("bad_id", ["Start", "End"])
def test_reserved_element_ids_are_rejected(session, clock, departments, bad_id: str) -> None:
    xml = bpmn("parallel_three.bpmn").replace(b'id="start"', f'id="{bad_id}"'.encode()).replace(b'sourceRef="start"', f'sourceRef="{bad_id}"'.encode())
    with pytest.raises(BpmnInvalid) as caught:
        deploy_definition(session, clock, xml)
    assert caught.value.problems[0].element_id == bad_id
    assert "reserved" in caught.value.problems[0].message


def test_parser_errors_name_the_element(session, clock, departments) -> None:
    xml = bpmn("parallel_three.bpmn").replace(b'<bpmn:sequenceFlow id="f10" sourceRef="delivery" targetRef="end_ok"/>', b'')
    xml = xml.replace(b'<bpmn:exclusiveGateway id="gw_result" default="f_deliver"/>', b'<bpmn:exclusiveGateway id="gw_result"/>')
    with pytest.raises(BpmnInvalid) as caught:
        deploy_definition(session, clock, xml)
    assert caught.value.problems[0].element_id


def test_not_xml_and_not_bpmn_are_clear_errors(session, clock, departments) -> None:
    with pytest.raises(BpmnInvalid, match="not well-formed XML"):
        deploy_definition(session, clock, b"<bpmn:definitions")
    with pytest.raises(BpmnInvalid, match="root element must be bpmn:definitions"):
        deploy_definition(session, clock, b"<html/>")


def test_non_executable_process_is_deployed_as_executable_with_a_warning(session, clock, departments) -> None:
    # bpmn-js saves every new diagram with isExecutable="false" (see tests/engine/test_lint.py).
    xml = bpmn("parallel_three.bpmn").replace(b'isExecutable="true"', b'isExecutable="false"')
    definition, created = deploy_definition(session, clock, xml)
    assert created and definition.key == "parallel_three"
    with pytest.raises(BpmnInvalid, match="no process to run"):
        deploy_definition(session, clock, b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')


def test_bad_time_limit_names_the_task(session, clock, departments) -> None:
    xml = bpmn("parallel_three.bpmn").replace(b'name="timeLimitDays" value="3"', b'name="timeLimitDays" value="-2"')
    with pytest.raises(BpmnInvalid) as caught:
        deploy_definition(session, clock, xml)
    assert caught.value.problems[0].element_id == "review_beta"


def test_external_entities_and_entity_expansion_are_refused(session, clock, departments) -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>'
    laughs = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><d>&b;</d>'
    for xml in (xxe, laughs):
        with pytest.raises(BpmnInvalid, match="DOCTYPE and ENTITY declarations are not allowed"):
            deploy_definition(session, clock, xml)
    with pytest.raises(BpmnInvalid, match="larger than"):
        deploy_definition(session, clock, b" " * (3 * 1024 * 1024))


def test_unsafe_script_is_refused_at_deploy_naming_the_element(session, clock, departments) -> None:
    xml = bpmn("script_task.bpmn").replace(b"SCRIPT", b"__import__('os').system('true')")
    with pytest.raises(BpmnInvalid) as caught:
        deploy_definition(session, clock, xml)
    assert caught.value.problems[0].element_id == "compute_fee"
    assert "'__import__' is not allowed" in caught.value.problems[0].message
