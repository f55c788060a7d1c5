"""The raw SpiffWorkflow cost of the same steps, as a baseline for the engine.

Stock `BpmnWorkflowSerializer` with the Camunda config (the spec travels inside every state, as
the library ships it). One action = deserialize JSON → complete the ready user task
(`task.data.update`, `task.run()`) → `workflow.do_engine_steps()` → `serialize_json` → UPDATE one
text column of a one-table database of the same kind, committed.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench import flows

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))


class RawStore(Protocol):
    def insert(self, state: str) -> int: ...
    def update(self, row_id: int, state: str) -> None: ...
    def close(self) -> None: ...


class SqliteStore:
    """One table in its own SQLite file, configured like the engine's (WAL, synchronous=NORMAL)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")

    def insert(self, state: str) -> int:
        self.conn.execute("BEGIN")
        row_id = self.conn.execute("INSERT INTO instances (state) VALUES (?)", (state,)).lastrowid
        self.conn.execute("COMMIT")
        return int(row_id or 0)

    def update(self, row_id: int, state: str) -> None:
        self.conn.execute("BEGIN")
        self.conn.execute("UPDATE instances SET state = ? WHERE id = ?", (state, row_id))
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class PostgresStore:
    """One table in its own PostgreSQL database on the same server as the engine's, its state column
    stored like the engine's `cases.state` (lz4 where the server has it, migration 0008), so the
    baseline gets the same cheaper compression the engine does."""

    def __init__(self, conninfo: dict[str, Any]) -> None:
        import psycopg

        self.conn = psycopg.connect(**conninfo)
        self.conn.execute("CREATE TABLE IF NOT EXISTS instances (id serial PRIMARY KEY, state text NOT NULL)")
        compressions = self.conn.execute(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'").fetchone()
        if compressions is not None and "lz4" in compressions[0]:
            self.conn.execute("ALTER TABLE instances ALTER COLUMN state SET COMPRESSION lz4")
        self.conn.commit()

    def insert(self, state: str) -> int:
        row = self.conn.execute("INSERT INTO instances (state) VALUES (%s) RETURNING id", (state,)).fetchone()
        self.conn.commit()
        assert row is not None
        return int(row[0])

    def update(self, row_id: int, state: str) -> None:
        self.conn.execute("UPDATE instances SET state = %s WHERE id = %s", (state, row_id))
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


@dataclass
class RawFlow:
    """The parsed spec of one generated flow (parsed once, outside any timing)."""

    n: int
    spec: Any
    subprocess_specs: dict[str, Any]

    @classmethod
    def parse(cls, n: int) -> RawFlow:
        parser = CamundaParser()
        parser.add_bpmn_str(flows.bpmn_xml(n).encode("utf-8"))
        key = flows.process_key(n)
        return cls(n, parser.get_spec(key), parser.get_subprocess_specs(key))


@dataclass
class CaseRun:
    """Seconds per step of one case; shared with engine_bench so both sides report alike."""

    accept: float = 0.0
    reviews: list[float] = field(default_factory=list)
    delivery: float = 0.0
    statements: list[int] = field(default_factory=list)
    state_bytes: int = 0

    @property
    def whole(self) -> float:
        return self.accept + sum(self.reviews) + self.delivery


def _ready(workflow: BpmnWorkflow) -> list[Any]:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def review_values(element_id: str, department: str) -> dict[str, Any]:
    """What the engine writes into a review task's data (processes/README.md, "Review outcomes")."""
    return {
        "outcome": "approve",
        "opinion": "同意",
        "reviews": {element_id: {"outcome": "approve", "opinion": "同意", "department": department}},
    }


def raw_action(store: RawStore, row_id: int, state: str, task_id: UUID, values: dict[str, Any]) -> tuple[str, BpmnWorkflow]:
    """One persisted action, exactly the brief's steps; returns the new state and the live workflow."""
    workflow = SERIALIZER.deserialize_json(state)
    task = workflow.get_task_from_id(task_id)
    task.data.update(values)
    task.run()
    workflow.do_engine_steps()
    state = SERIALIZER.serialize_json(workflow)
    store.update(row_id, state)
    return state, workflow


def run_case(store: RawStore, flow: RawFlow) -> CaseRun:
    """One whole case, raw: start (+ intake), every review, delivery. Task lookups happen outside the timers."""
    run = CaseRun()
    t0 = time.perf_counter()
    workflow = BpmnWorkflow(flow.spec, flow.subprocess_specs)
    workflow.do_engine_steps()
    intake = _ready(workflow)[0]
    intake.data.update(flows.INTAKE_DATA)
    intake.run()
    workflow.do_engine_steps()
    state = SERIALIZER.serialize_json(workflow)
    row_id = store.insert(state)
    run.accept = time.perf_counter() - t0
    run.state_bytes = len(state.encode("utf-8"))

    pending = [(t.id, t.task_spec.bpmn_id) for t in _ready(workflow)]
    for task_id, element_id in pending:
        values = review_values(element_id, element_id.removeprefix("review_"))
        t0 = time.perf_counter()
        state, workflow = raw_action(store, row_id, state, task_id, values)
        run.reviews.append(time.perf_counter() - t0)

    (delivery,) = _ready(workflow)
    t0 = time.perf_counter()
    state, workflow = raw_action(store, row_id, state, delivery.id, {"delivery_method": "pickup"})
    run.delivery = time.perf_counter() - t0
    assert workflow.completed, "raw flow did not reach its end"
    return run


def breakdown(store: RawStore, flow: RawFlow, cases: int) -> dict[str, float]:
    """Median ms of each part of the middle review actions: deserialize, run, serialize, write."""
    from bench.common import median, middle_indices, ms

    parts: dict[str, list[float]] = {"deserialize": [], "run": [], "serialize": [], "write": []}
    for _ in range(cases):
        workflow = BpmnWorkflow(flow.spec, flow.subprocess_specs)
        workflow.do_engine_steps()
        intake = _ready(workflow)[0]
        intake.data.update(flows.INTAKE_DATA)
        intake.run()
        workflow.do_engine_steps()
        state = SERIALIZER.serialize_json(workflow)
        row_id = store.insert(state)
        pending = [(t.id, t.task_spec.bpmn_id) for t in _ready(workflow)]
        middle = middle_indices(len(pending))
        for i, (task_id, element_id) in enumerate(pending):
            t0 = time.perf_counter()
            workflow = SERIALIZER.deserialize_json(state)
            t1 = time.perf_counter()
            task = workflow.get_task_from_id(task_id)
            task.data.update(review_values(element_id, element_id.removeprefix("review_")))
            task.run()
            workflow.do_engine_steps()
            t2 = time.perf_counter()
            state = SERIALIZER.serialize_json(workflow)
            t3 = time.perf_counter()
            store.update(row_id, state)
            t4 = time.perf_counter()
            if i in middle:
                for name, value in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                    parts[name].append(value)
    return {name: ms(median(values)) for name, values in parts.items()}
