"""Validation before deploy: what bpmn-js and Camunda Modeler save, each lint rule, safe XML parsing.

Files under bpmn/modeler/ were drawn and saved by bpmn-js in Chromium (see generate.py there).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.bpmn import parse_definition
from engine.clock import FrozenClock
from engine.definitions import deploy_definition
from engine.errors import BpmnInvalid
from engine.expressions import NotConvertible, condition_from_label, el_to_python
from engine.versions import deploy_version, validate_definition
from tests.factories import bpmn, make_departments

MODELER = Path(__file__).resolve().parent / "bpmn" / "modeler"


def modeler_file(name: str) -> bytes:
    return (MODELER / name).read_bytes()


@pytest.fixture
def departments(session, clock: FrozenClock) -> None:
    make_departments(session, clock)


def problems_of(xml: bytes | str) -> list[tuple[str | None, str]]:
    with pytest.raises(BpmnInvalid) as caught:
        parse_definition(xml, "test.bpmn")
    return [(p.element_id, p.message) for p in caught.value.problems]


def flow(body: str, lanes: str = "", executable: str = "true", process_extra: str = "") -> str:
    """A minimal process around `body`; the window lane holds nothing unless `lanes` says so."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d">
  <bpmn:process id="lint_flow" name="检查" isExecutable="{executable}">{process_extra}
    <bpmn:laneSet id="ls">{lanes}</bpmn:laneSet>
    {body}
  </bpmn:process>
</bpmn:definitions>"""


LANES = """<bpmn:lane id="l_window" name="综合窗口"><bpmn:flowNodeRef>intake</bpmn:flowNodeRef></bpmn:lane>
<bpmn:lane id="l_alpha" name="甲局"><bpmn:flowNodeRef>a</bpmn:flowNodeRef></bpmn:lane>
<bpmn:lane id="l_beta" name="乙局"><bpmn:flowNodeRef>b</bpmn:flowNodeRef></bpmn:lane>"""


def limit(days: str) -> str:
    return f'<bpmn:extensionElements><camunda:properties><camunda:property name="timeLimitDays" value="{days}"/></camunda:properties></bpmn:extensionElements>'


def parallel(join_kind: str = "parallelGateway", a_limit: str = "5", b_limit: str = "3") -> str:
    return flow(f"""
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="intake" name="受理"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:userTask id="a" name="甲局审查">{limit(a_limit)}</bpmn:userTask>
    <bpmn:userTask id="b" name="乙局审查">{limit(b_limit)}</bpmn:userTask>
    <bpmn:{join_kind} id="join"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="intake"/>
    <bpmn:sequenceFlow id="f2" sourceRef="intake" targetRef="split"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="a"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="b"/>
    <bpmn:sequenceFlow id="f5" sourceRef="a" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="b" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="end"/>""", LANES)


# --- what real modelers save -------------------------------------------------------------------


def test_plain_bpmn_js_diagram_is_executable_with_a_warning_naming_the_process(session, departments) -> None:
    result = validate_definition(session, modeler_file("plain_parallel.bpmn"))
    assert result.valid, result.errors
    assert [(w.element_id, "isExecutable" in w.message) for w in result.warnings][0] == ("modeler_flow", True)


def test_a_task_with_two_outgoing_flows_is_a_parallel_split(session, departments) -> None:
    parsed = parse_definition(modeler_file("implicit_split.bpmn"))
    assert any(w.element_id == "intake" and "run in parallel" in w.message for w in parsed.warnings)
    assert "intake_fork" in parsed.spec.task_specs  # the inserted gateway; the stored XML is untouched


def test_a_task_with_conditional_outgoing_flows_needs_a_gateway() -> None:
    xml = parallel().replace('<bpmn:sequenceFlow id="f2" sourceRef="intake" targetRef="split"/>',
                             '<bpmn:sequenceFlow id="f2" sourceRef="intake" targetRef="split"/>'
                             '<bpmn:sequenceFlow id="f2b" sourceRef="intake" targetRef="end">'
                             '<bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>')
    assert any(e == "intake" and "exclusive gateway" in m for e, m in problems_of(xml))


def test_el_conditions_become_python_and_a_loop_back_into_a_task_is_accepted(session, departments) -> None:
    result = validate_definition(session, modeler_file("el_loop_back.bpmn"))
    assert result.valid, result.errors
    conditions = {cond.args[0] for spec in result.parsed.spec.task_specs.values()
                  for cond, _target in getattr(spec, "cond_task_specs", ()) if cond is not None}
    assert conditions == {'outcome == "return"', 'outcome != "return" and not (outcome == "reject")'}


def test_an_el_expression_that_cannot_be_converted_names_the_flow() -> None:
    found = problems_of(modeler_file("el_not_convertible.bpmn"))
    assert found == [("f_return", found[0][1])]
    assert "execution" in found[0][1]


def test_conditions_written_only_as_labels(session, departments) -> None:
    result = validate_definition(session, modeler_file("label_conditions.bpmn"))
    assert result.valid, result.errors
    assert {w.element_id for w in result.warnings} >= {"f_return", "f_ok"}
    found = problems_of(modeler_file("label_words.bpmn"))
    assert {e for e, _m in found} == {"f_return", "f_ok"}
    assert all("write a condition" in m for _e, m in found)


def test_unquoted_timer_duration_runs(session, departments) -> None:
    parsed = parse_definition(modeler_file("timer_unquoted.bpmn"))
    assert parsed.spec.task_specs["late"].event_definition.expression == '"P10D"'


def test_candidate_groups_name_the_department_when_there_is_no_lane(session, clock, departments) -> None:
    definition, created, _warnings = deploy_version(session, clock, modeler_file("candidate_groups.bpmn"), None)
    tasks = definition.catalog["tasks"]
    assert created and {k: v["department"] for k, v in tasks.items()} == {"intake": "window", "review_alpha": "alpha", "review_beta": "beta"}


def test_candidate_groups_with_several_groups_is_an_error() -> None:
    xml = modeler_file("candidate_groups.bpmn").replace(b'camunda:candidateGroups="alpha"', b'camunda:candidateGroups="alpha,beta"')
    assert [e for e, _m in problems_of(xml)] == ["review_alpha"]


@pytest.mark.parametrize(("name", "element", "words"), [
    ("complex_gateway.bpmn", "gw_complex", "complex gateways are not supported"),
    ("compensation.bpmn", "undo", "compensation is not supported"),
])
def test_element_types_the_engine_cannot_run_are_named(name: str, element: str, words: str) -> None:
    assert any(e == element and words in m for e, m in problems_of(modeler_file(name)))


def test_designer_file_deploys_with_its_time_limits(session, clock, departments) -> None:
    definition, _created, warnings = deploy_version(session, clock, modeler_file("designer_parallel.bpmn"), None)
    # 一窗出件 sits in the window's lane with no taskKind: the engine takes it for a review.
    assert {w.element_id for w in warnings} == {"delivery"}
    assert any("set its task kind" in w.message for w in warnings)
    assert definition.catalog["tasks"]["review_alpha"] == {
        "name": "甲局审查", "department": "alpha", "kind": "review", "time_limit_days": 5, "item_name": None,
        "legal_basis": "《甲条例》第一条"}


# --- each rule ---------------------------------------------------------------------------------


def test_every_user_task_needs_a_known_department(session, departments) -> None:
    result = validate_definition(session, parallel().replace('name="乙局"', 'name="不存在局"'))
    assert [(e.element_id, "matches no department" in e.message) for e in result.errors] == [("b", True)]
    no_lane = parallel().replace("<bpmn:flowNodeRef>b</bpmn:flowNodeRef>", "")
    assert [e.element_id for e in validate_definition(session, no_lane).errors] == ["b"]


def test_time_limits_must_be_positive_and_every_bad_one_is_named() -> None:
    assert {e for e, _m in problems_of(parallel(a_limit="0", b_limit="two"))} == {"a", "b"}


def test_department_limits_must_fit_the_promised_limit(session, departments) -> None:
    promised = '<bpmn:extensionElements><camunda:properties><camunda:property name="promisedDays" value="6"/></camunda:properties></bpmn:extensionElements>'
    fits = parallel(a_limit="5", b_limit="6").replace('isExecutable="true">', f'isExecutable="true">{promised}')
    assert validate_definition(session, fits).valid
    too_long = parallel(a_limit="7", b_limit="3").replace('isExecutable="true">', f'isExecutable="true">{promised}')
    errors = validate_definition(session, too_long).errors
    assert [e.element_id for e in errors] == ["a"] and "promised 6" in errors[0].message
    # Sequential steps add up: 1 (intake) + 5 (甲局) > 5 although each alone fits.
    sequential = parallel(a_limit="5", b_limit="3").replace('name="受理"/>', f'name="受理">{limit("1")}</bpmn:userTask>')
    sequential = sequential.replace('value="6"', 'value="5"').replace('isExecutable="true">', f'isExecutable="true">{promised.replace("6", "5")}')
    errors = validate_definition(session, sequential).errors
    assert len(errors) == 1 and "longest path takes 6 working days" in errors[0].message and errors[0].element_id == "a"


def test_promised_limit_comes_from_the_deployed_catalog(session, clock, departments) -> None:
    deploy_definition(session, clock, parallel(), catalog={"promised_days": 4})
    errors = validate_definition(session, parallel(a_limit="5")).errors
    assert [e.element_id for e in errors] == ["a"]


def test_a_parallel_split_needs_a_matching_join() -> None:
    found = problems_of(parallel(join_kind="exclusiveGateway"))
    assert [e for e, _m in found] == ["split"] and "not a parallel gateway" in found[0][1]
    separate = parallel().replace('targetRef="join"/>\n    <bpmn:sequenceFlow id="f6" sourceRef="b" targetRef="join"/>',
                                  'targetRef="end"/>\n    <bpmn:sequenceFlow id="f6" sourceRef="b" targetRef="end2"/><bpmn:endEvent id="end2"/>')
    found = problems_of(separate)
    assert [e for e, _m in found] == ["split"] and "no matching join" in found[0][1]


def test_exclusive_gateway_branches_need_a_condition_or_the_default() -> None:
    xml = bpmn("parallel_three.bpmn").replace(b' default="f_alpha_ok"', b"")
    found = problems_of(xml)
    assert [e for e, _m in found] == ["f_alpha_ok"] and "no condition" in found[0][1]
    xml = bpmn("parallel_three.bpmn").replace(b'default="f_alpha_ok"', b'default="f9"')
    assert ("gw_alpha", True) in [(e, "does not leave it" in m) for e, m in problems_of(xml)]


@pytest.mark.parametrize(("element", "words"), [
    ('<bpmn:manualTask id="x"/>', "manual tasks are not supported"),
    ('<bpmn:serviceTask id="x"/>', "service tasks are not supported"),
    ('<bpmn:receiveTask id="x"/>', "receive tasks are not supported"),
    ('<bpmn:businessRuleTask id="x"/>', "business rule"),
    ('<bpmn:intermediateCatchEvent id="x"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>', "message events"),
    ('<bpmn:intermediateCatchEvent id="x"><bpmn:linkEventDefinition name="l"/></bpmn:intermediateCatchEvent>', "link events"),
    ('<bpmn:intermediateCatchEvent id="x"><bpmn:conditionalEventDefinition/></bpmn:intermediateCatchEvent>', "conditional events"),
    ('<bpmn:complexGateway id="x"/>', "complex gateways"),
    ('<bpmn:transaction id="x"><bpmn:startEvent id="ts"/></bpmn:transaction>', "transaction"),
    ('<bpmn:userTask id="x" isForCompensation="true"/>', "compensation"),
])
def test_unsupported_element_types_say_which(element: str, words: str) -> None:
    xml = parallel().replace('<bpmn:endEvent id="end"/>', f'<bpmn:endEvent id="end"/>{element}')
    assert any(e == "x" and words in m for e, m in problems_of(xml))


def test_a_plain_task_is_a_warning(session, departments) -> None:
    xml = parallel().replace('<bpmn:userTask id="intake" name="受理"/>', '<bpmn:task id="intake" name="受理"/>')
    result = validate_definition(session, xml)
    assert result.valid and any(w.element_id == "intake" and "plain task" in w.message for w in result.warnings)


def test_timers_need_a_duration_and_working_days_are_positive(session, departments) -> None:
    timer = bpmn("timer.bpmn")
    no_duration = timer.replace(b"<bpmn:timeDuration>P10D</bpmn:timeDuration>", b"").replace(b"WORKING_DAYS", b"")
    assert [e for e, _m in problems_of(no_duration)] == ["late"]
    bad_days = timer.replace(b"WORKING_DAYS", b'<camunda:property name="workingDays" value="-1"/>')
    assert [e for e, _m in problems_of(bad_days)] == ["late"]
    only_days = no_duration.replace(b"<camunda:properties></camunda:properties>",
                                    b'<camunda:properties><camunda:property name="workingDays" value="3"/></camunda:properties>')
    parsed = parse_definition(only_days)
    assert parsed.spec.task_specs["late"].event_definition.expression == '"P3D"'


def test_unknown_task_kind_is_named() -> None:
    xml = parallel().replace(limit("3"), '<bpmn:extensionElements><camunda:properties><camunda:property name="taskKind" value="boss"/></camunda:properties></bpmn:extensionElements>')
    assert [e for e, _m in problems_of(xml)] == ["b"]


def test_the_process_id_must_be_a_usable_key() -> None:
    xml = parallel().replace('id="lint_flow"', 'id="流程 1"')
    assert any("process id" in m for _e, m in problems_of(xml))


def test_loop_back_straight_into_a_task_gives_no_error(session, departments) -> None:
    result = validate_definition(session, bpmn("parallel_three.bpmn"))
    assert result.valid and not [w for w in result.warnings if w.element_id == "review_alpha"]


# --- expressions -------------------------------------------------------------------------------


@pytest.mark.parametrize(("el", "python"), [
    ('${outcome == "return"}', 'outcome == "return"'),
    ("${a > 1 && b}", "a > 1 and b"),
    ("#{!approved || area ge 100}", "not approved or area >= 100"),
    ("${x eq 'y' and not empty note}", "x == 'y' and not not note"),
    ("${count mod 2 == 0}", "count % 2 == 0"),
    ("${flag == true}", "flag == True"),
])
def test_simple_el_forms_convert(el: str, python: str) -> None:
    assert el_to_python(el) == python


@pytest.mark.parametrize("el", [
    '${execution.getVariable("x")}', "${a ? b : c}", "${list[0] == 1}", "${a} and ${b}", "${__import__('os')}",
    "${a +}", "${x.y}",
])
def test_other_el_forms_are_refused(el: str) -> None:
    with pytest.raises(NotConvertible):
        el_to_python(el)


def test_labels_become_conditions_only_when_they_read_as_one() -> None:
    assert condition_from_label('outcome == "return"') == 'outcome == "return"'
    assert condition_from_label("${approved && area > 50}") == "approved and area > 50"
    for words in ("是", "需补正", "approved", "Yes, go on", "1"):
        assert condition_from_label(words) is None


# --- safe parsing ------------------------------------------------------------------------------

BPMN_ROOT = b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'


@pytest.mark.parametrize(("content", "words"), [
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + BPMN_ROOT + b"&x;</bpmn:definitions>",
     "DOCTYPE and ENTITY declarations are not allowed"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;">]><d>&c;</d>',
     "DOCTYPE and ENTITY declarations are not allowed"),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><bpmn:definitions '
     'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>'.encode("utf-16"),
     "DOCTYPE and ENTITY declarations are not allowed"),
    (b"<a>" * 3000 + b"</a>" * 3000, "not well-formed XML"),
    (b" " * (3 * 1024 * 1024), "larger than"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not well-formed XML"),
    (bpmn("parallel_three.bpmn")[:700], "not well-formed XML"),
    (b"<html><body>hello</body></html>", "root element must be bpmn:definitions"),
    (BPMN_ROOT + b"</bpmn:definitions>", "no process to run"),
])
def test_unsafe_or_broken_files_get_a_clear_error(content: bytes, words: str) -> None:
    with pytest.raises(BpmnInvalid) as caught:
        parse_definition(content)
    assert words in caught.value.problems[0].message


def test_a_huge_attribute_and_a_mangled_flow_are_errors_not_crashes(session, departments) -> None:
    huge = bpmn("parallel_three.bpmn").replace('name="受理"'.encode(), b'name="' + b"x" * 1_500_000 + b'"')
    assert validate_definition(session, huge).valid  # big but under the size limit: fine
    too_big = bpmn("parallel_three.bpmn").replace('name="受理"'.encode(), b'name="' + b"x" * 2_500_000 + b'"')
    assert "larger than" in validate_definition(session, too_big).errors[0].message
    dangling = bpmn("parallel_three.bpmn").replace(b'sourceRef="delivery" targetRef="end_ok"', b'sourceRef="delivery" targetRef="nowhere"')
    errors = validate_definition(session, dangling).errors
    assert errors and errors[0].element_id == "f10"
    not_utf8 = bpmn("parallel_three.bpmn").replace(b'encoding="UTF-8"', b'encoding="GBK"').decode("utf-8").encode("gbk")
    assert "UTF-8" in validate_definition(session, not_utf8).errors[0].message
