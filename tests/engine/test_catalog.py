"""Every 一件事 in processes/ deploys and can be walked to its end with its forms' defaults."""
from __future__ import annotations

import json

import pytest

from engine.catalog import PROCESSES_DIR, deploy_processes
from engine.tasks import complete_task, list_tasks
from engine.cases import accept_case, tasks_of
from engine.models import User
from engine.vocab import CaseStatus, TaskKind
from tests.factories import make_demo_site

PROCESS_KEYS = sorted(p.stem for p in PROCESSES_DIR.glob("*.bpmn"))


@pytest.fixture
def demo(session, clock) -> dict[str, User]:
    return make_demo_site(session, clock)


def test_processes_cover_the_reports_one_things() -> None:
    names = {e["key"]: e["name"] for e in json.loads((PROCESSES_DIR / "catalog.json").read_text(encoding="utf-8"))}
    assert {"wangba", "dianli_guohu", "linshi_zhanlu", "yiliao_shebei", "yishenqing_gongkai"} <= set(PROCESS_KEYS)
    assert names["wangba"] == "我要开网吧" and names["yishenqing_gongkai"] == "依申请公开"


def test_redeploying_unchanged_processes_creates_no_versions(session, clock, demo) -> None:
    assert all(not r.created and r.version == 1 for r in deploy_processes(session, clock))


def test_every_review_task_has_a_time_limit_and_legal_basis(session, clock, demo) -> None:
    from engine.definitions import latest_definition

    for key in PROCESS_KEYS:
        tasks = latest_definition(session, key).catalog["tasks"]
        reviews = [t for t in tasks.values() if t["kind"] == TaskKind.REVIEW]
        assert reviews, key
        for task in reviews:
            assert task["time_limit_days"] and task["time_limit_days"] > 0, (key, task["name"])
            assert task["legal_basis"], (key, task["name"])


@pytest.mark.parametrize("key", PROCESS_KEYS)
def test_each_flow_walks_to_its_end_with_defaults(session, clock, demo, key: str) -> None:
    case = accept_case(session, clock, demo["window"], key, {"name": "测试申请人"}, {})
    for _step in range(50):
        open_tasks = [t for t in tasks_of(session, case) if t.state == "open"]
        if not open_tasks:
            break
        task = open_tasks[0]
        actor = demo[task.department.code]
        outcome = "approve" if task.kind == TaskKind.REVIEW else None
        complete_task(session, clock, actor, task.id, outcome, "同意")
    assert case.status == CaseStatus.COMPLETED, [(t.name, t.state) for t in tasks_of(session, case)]


def test_parallel_flows_fan_out_to_several_departments(session, clock, demo) -> None:
    case = accept_case(session, clock, demo["window"], "wangba", {"name": "测试申请人"}, {})
    assert sorted(t.department.code for t in tasks_of(session, case) if t.state == "open") == ["culture", "fire", "market", "police"]
    assert {t.department.code for t in list_tasks(session, demo["fire"], state="open")} == {"fire"}


def test_start_up_does_not_undo_a_version_an_analyst_deployed(session, clock, demo) -> None:
    from engine.definitions import deploy_definition, latest_definition

    xml = (PROCESSES_DIR / "wangba.bpmn").read_bytes().replace(b'value="8"', b'value="9"', 1)
    analysts, created = deploy_definition(session, clock, xml, comment="designer")
    assert created and analysts.version == 2
    reports = {r.key: r for r in deploy_processes(session, clock)}
    assert not reports["wangba"].created and reports["wangba"].version == 1
    assert latest_definition(session, "wangba").version == 2
