"""The engine's own cost: accept a case, one reviewer action, a whole case, statements per action."""
from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator

from sqlalchemy import select

import engine.runtime
import engine.tasks
from engine.cases import accept_case
from engine.clock import Clock
from engine.db import Database
from engine.models import Case, Task
from engine.tasks import complete_task
from engine.vocab import TaskState
from bench import flows
from bench.common import StatementCounter, Staff, median, middle_indices, ms
from bench.raw_spiff import CaseRun

APPLICANT = {"name": "张三", "id_number": "110101199001011234", "phone": "13800138000"}
REVIEW_OPINION = "同意"
"""审批意见: the engine requires an opinion on every review decision."""


def open_tasks(db: Database, case_id: int) -> list[tuple[int, int]]:
    """(task id, department id) of the case's open tasks, in the order the engine opened them."""
    with db.reader.begin() as session:
        rows = session.execute(
            select(Task.id, Task.department_id)
            .where(Task.case_id == case_id, Task.state == TaskState.OPEN)
            .order_by(Task.id)
        )
        return [(r[0], r[1]) for r in rows]


def run_case(db: Database, clock: Clock, staff: Staff, n: int, counter: StatementCounter) -> CaseRun:
    """One whole case, each step in its own committed transaction; lookups between steps are not timed."""
    run = CaseRun()
    t0 = time.perf_counter()
    with db.writer.begin() as session:
        case = accept_case(session, clock, staff.clerk, flows.process_key(n), APPLICANT, dict(flows.INTAKE_DATA))
        case_id = case.id
    run.accept = time.perf_counter() - t0
    run.state_bytes = len(case.state.encode("utf-8"))

    reviews = open_tasks(db, case_id)
    assert len(reviews) == n, f"expected {n} open reviews, found {len(reviews)}"
    for task_id, department_id in reviews:
        actor = staff.reviewers[department_id]
        counter.reset()
        t0 = time.perf_counter()
        with db.writer.begin() as session:
            complete_task(session, clock, actor, task_id, "approve", REVIEW_OPINION)
        run.reviews.append(time.perf_counter() - t0)
        run.statements.append(counter.count)

    ((delivery_id, _),) = open_tasks(db, case_id)
    t0 = time.perf_counter()
    with db.writer.begin() as session:
        complete_task(session, clock, staff.clerk, delivery_id)
    run.delivery = time.perf_counter() - t0
    with db.reader.begin() as session:
        status = session.scalar(select(Case.status).where(Case.id == case_id))
    assert status == "completed", f"case {case_id} ended {status}"
    return run


@contextlib.contextmanager
def timed(module: Any, name: str, sink: list[float]) -> Iterator[None]:
    """Wrap `module.name` to add its wall time to sink[0] (bench process only; files are untouched)."""
    original: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            sink[0] += time.perf_counter() - t0

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


@contextlib.contextmanager
def writes_through_the_unit_of_work() -> Iterator[None]:
    """Flush an action's writes with the ORM instead of `engine.writeout` (the design before it), to
    show in the same run what the direct write saves."""
    def flush(session: Any) -> None:
        session.flush()

    saved = engine.tasks.write_changes, engine.runtime.write_changes
    engine.tasks.write_changes = engine.runtime.write_changes = flush
    try:
        yield
    finally:
        engine.tasks.write_changes, engine.runtime.write_changes = saved


def breakdown(db: Database, clock: Clock, staff: Staff, n: int, counter: StatementCounter, cases: int) -> dict[str, float]:
    """Median ms of each part of the middle review actions: deserialize, workflow run, serialize, SQL, rest.

    A separate pass from the timed runs (the wrappers cost a little). SQL is the time inside the
    driver plus BEGIN/COMMIT; `rest` is the ORM and the engine's own Python (checks, task mirroring).
    """
    load, step, dump = [0.0], [0.0], [0.0]
    parts: dict[str, list[float]] = {k: [] for k in ("deserialize", "run", "serialize", "sql", "rest", "total")}
    with timed(engine.runtime, "load_state", load), timed(engine.runtime, "dump_state", dump), \
            timed(engine.tasks, "complete_workflow_task", step):
        for _ in range(cases):
            with db.writer.begin() as session:
                case_id = accept_case(session, clock, staff.clerk, flows.process_key(n), APPLICANT, dict(flows.INTAKE_DATA)).id
            reviews = open_tasks(db, case_id)
            middle = middle_indices(len(reviews))
            for i, (task_id, department_id) in enumerate(reviews):
                load[0] = step[0] = dump[0] = 0.0
                counter.reset()
                t0 = time.perf_counter()
                with db.writer.begin() as session:
                    t1 = time.perf_counter()
                    complete_task(session, clock, staff.reviewers[department_id], task_id, "approve", REVIEW_OPINION)
                    t2 = time.perf_counter()
                total = time.perf_counter() - t0
                if i not in middle:
                    continue
                sql = counter.seconds + (total - (t2 - t1))  # driver time + session begin/commit
                values = {"deserialize": load[0], "run": step[0], "serialize": dump[0], "sql": sql, "total": total}
                values["rest"] = total - load[0] - step[0] - dump[0] - sql
                for key, value in values.items():
                    parts[key].append(value)
    return {key: ms(median(values)) for key, values in parts.items()}


def profile_top(db: Database, clock: Clock, staff: Staff, n: int, cases: int, top: int = 12) -> list[dict[str, Any]]:
    """cProfile of the middle review actions: the engine's own functions by cumulative ms per action.

    cProfile inflates Python-heavy code relative to C (SQLite, JSON), so read it for ranking, not totals.
    """
    import cProfile
    import pstats

    jobs = []
    for _ in range(cases):
        with db.writer.begin() as session:
            case_id = accept_case(session, clock, staff.clerk, flows.process_key(n), APPLICANT, dict(flows.INTAKE_DATA)).id
        reviews = open_tasks(db, case_id)
        jobs.append([(job, i in middle_indices(len(reviews))) for i, job in enumerate(reviews)])
    profiler = cProfile.Profile()
    profiled = 0
    for case_jobs in jobs:
        for (task_id, department_id), middle in case_jobs:
            if middle:
                profiler.enable()
            with db.writer.begin() as session:
                complete_task(session, clock, staff.reviewers[department_id], task_id, "approve", REVIEW_OPINION)
            if middle:
                profiler.disable()
                profiled += 1
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    engine_dir = str(engine.runtime.__file__).rsplit("/", 1)[0] + "/"
    rows = [
        {"function": f"engine/{file.removeprefix(engine_dir)}:{line} {name}", "ms_per_action": round(ms(cum / profiled), 3)}
        for (file, line, name), (_cc, _nc, _tt, cum, _callers) in stats.items()
        if file.startswith(engine_dir)
    ]
    rows.sort(key=lambda r: -r["ms_per_action"])
    return rows[:top]
