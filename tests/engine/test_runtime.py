"""engine.runtime's own helpers, on workflows driven directly (no database)."""
from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState as SpiffState

from engine.bpmn import parse_definition
from engine.instances import new_workflow
from engine.runtime import ready_task_ids
from tests.factories import bpmn

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
PARALLEL_COUNTERSIGN = bpmn("countersign.bpmn").replace(b"SEQUENTIAL", b'isSequential="false"').replace(b"CONDITION", b"")


@pytest.mark.parametrize("source, steps, most_subprocesses", [
    (bpmn("parallel_three.bpmn"), 5, 0),
    (PARALLEL_COUNTERSIGN, 5, 0),  # 会签: three instances of one step ready at once
    ((PROCESSES / "qiye_xiangmu.bpmn").read_bytes(), 13, 5),  # five stages as embedded sub-processes
], ids=["parallel", "countersign", "project-subprocesses"])
def test_ready_task_ids_is_the_tree_walks_set_at_every_step(source: bytes, steps: int, most_subprocesses: int) -> None:
    """The fast scan of the task maps finds exactly the ready user tasks SpiffWorkflow's own walk
    finds, inside sub-processes too, from the start of the flow to its end."""
    workflow = new_workflow(parse_definition(source))
    workflow.do_engine_steps()
    completed, subprocesses = 0, 0
    while ready := workflow.get_tasks(state=SpiffState.READY, manual=True):
        assert ready_task_ids(workflow) == {str(task.id) for task in ready}
        subprocesses = max(subprocesses, len(workflow.subprocesses))
        task = ready[-1]
        task.data.update(outcome="approve", opinion="同意", reviews={}, signers=["alpha", "beta", "gamma"])
        task.run()
        workflow.do_engine_steps()
        completed += 1
    assert ready_task_ids(workflow) == set()
    assert workflow.completed
    assert (completed, subprocesses) == (steps, most_subprocesses)
