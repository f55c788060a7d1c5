"""Instance state is saved without the spec and restored from the cached definition."""
from __future__ import annotations

import json

from SpiffWorkflow.util.task import TaskState as SpiffState

from engine.bpmn import parse_definition
from engine.instances import STATE_FORMAT, dump_state, load_state, new_workflow
from tests.factories import bpmn


def ready_names(workflow) -> list[str]:
    return sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=SpiffState.READY, manual=True))


def test_state_has_no_spec_and_round_trips_as_the_case_advances() -> None:
    parsed = parse_definition(bpmn("parallel_three.bpmn"))
    workflow = new_workflow(parsed)
    workflow.do_engine_steps()
    steps = [("intake", {"area": 5}), ("review_beta", {"outcome": "approve", "reviews": {"review_beta": {"outcome": "approve"}}})]
    for element_id, data in steps:
        state = dump_state(workflow)
        dct = json.loads(state)
        assert "spec" not in dct and "subprocess_specs" not in dct
        workflow = load_state(state, STATE_FORMAT, parsed)
        task = next(t for t in workflow.get_tasks(state=SpiffState.READY, manual=True) if t.task_spec.bpmn_id == element_id)
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
    restored = load_state(dump_state(workflow), STATE_FORMAT, parsed)
    assert ready_names(restored) == ["review_alpha", "review_gamma"]
    gamma = next(t for t in restored.get_tasks(state=SpiffState.READY, manual=True) if t.task_spec.bpmn_id == "review_gamma")
    assert gamma.data["area"] == 5


def test_stored_state_is_much_smaller_than_the_stock_serializer() -> None:
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG

    parsed = parse_definition(bpmn("parallel_three.bpmn"))
    workflow = new_workflow(parsed)
    workflow.do_engine_steps()
    stock = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG)).serialize_json(workflow)
    assert len(dump_state(workflow)) < len(stock) / 2
