"""Regenerate the `.bpmn` files beside this script: each is drawn and saved by bpmn-js's modeler in
Debian's chromium, driven by Playwright through the modeler's own API (see build.js).

    .venv/bin/python -m tests.engine.bpmn.modeler.generate        # needs `make assets` and chromium

The files are test data for what real modelers save: `isExecutable="false"`, unquoted timer
durations, `${...}` conditions, `camunda:candidateGroups`, conditions written only as labels, a
task with two outgoing flows, a 补正 loop straight back into a task, unsupported elements.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
VENDOR = ROOT / "web" / "static" / "vendor"
MODELER = VENDOR / "bpmn-js" / "bpmn-modeler.production.min.js"
CAMUNDA = VENDOR / "camunda-bpmn-moddle" / "camunda.json"

WINDOW, ALPHA, BETA = "综合窗口", "甲局", "乙局"
INTAKE_FORM = [{"id": "venue_name", "label": "场所名称", "type": "string", "defaultValue": "示例场所"}]


def _flow(id: str, a: str, b: str, **extra: object) -> dict:
    return {"id": id, "from": a, "to": b, **extra}


def _parallel(executable: bool | None, camunda: bool, intake_to_split: bool = True) -> dict:
    """start → intake → split → review_alpha ‖ review_beta → join → delivery → end, in lanes."""
    nodes = [
        {"id": "start", "type": "bpmn:StartEvent", "lane": WINDOW, "x": 180},
        {"id": "intake", "type": "bpmn:UserTask", "name": "受理", "lane": WINDOW, "x": 300},
        {"id": "review_alpha", "type": "bpmn:UserTask", "name": "甲局审查", "lane": ALPHA, "x": 600},
        {"id": "review_beta", "type": "bpmn:UserTask", "name": "乙局审查", "lane": BETA, "x": 600},
        {"id": "join", "type": "bpmn:ParallelGateway", "lane": WINDOW, "x": 800},
        {"id": "delivery", "type": "bpmn:UserTask", "name": "一窗出件", "lane": WINDOW, "x": 950},
        {"id": "end", "type": "bpmn:EndEvent", "lane": WINDOW, "x": 1100},
    ]
    if camunda:
        nodes[1]["form"] = INTAKE_FORM
        nodes[1]["props"] = {"timeLimitDays": 1}
        nodes[2]["props"] = {"timeLimitDays": 5, "legalBasis": "《甲条例》第一条"}
        nodes[3]["props"] = {"timeLimitDays": 3}
    flows = [_flow("f_start", "start", "intake")]
    if intake_to_split:
        nodes.insert(2, {"id": "split", "type": "bpmn:ParallelGateway", "lane": WINDOW, "x": 450})
        flows += [_flow("f_split", "intake", "split"), _flow("f_alpha", "split", "review_alpha"),
                  _flow("f_beta", "split", "review_beta")]
    else:
        flows += [_flow("f_alpha", "intake", "review_alpha"), _flow("f_beta", "intake", "review_beta")]
    flows += [_flow("f_alpha_join", "review_alpha", "join"), _flow("f_beta_join", "review_beta", "join"),
              _flow("f_deliver", "join", "delivery"), _flow("f_end", "delivery", "end")]
    spec = {"camunda": camunda, "processId": "modeler_flow", "processName": "建模器测试",
            "lanes": [WINDOW, ALPHA, BETA], "nodes": nodes, "flows": flows}
    if executable is not None:
        spec["executable"] = executable
    return spec


def _review_gateway(conditions: tuple[dict, dict]) -> dict:
    """start → intake → review_alpha → gw → (return: supplement_alpha → review_alpha) | delivery → end."""
    ret, ok = conditions
    return {
        "camunda": True, "executable": True, "processId": "modeler_loop", "processName": "补正回流",
        "lanes": [WINDOW, ALPHA],
        "nodes": [
            {"id": "start", "type": "bpmn:StartEvent", "lane": WINDOW, "x": 180},
            {"id": "intake", "type": "bpmn:UserTask", "name": "受理", "lane": WINDOW, "x": 300, "form": INTAKE_FORM},
            {"id": "review_alpha", "type": "bpmn:UserTask", "name": "甲局审查", "lane": ALPHA, "x": 500,
             "props": {"timeLimitDays": 5}},
            {"id": "gw_alpha", "type": "bpmn:ExclusiveGateway", "name": "需补正？", "lane": ALPHA, "x": 700},
            {"id": "supplement_alpha", "type": "bpmn:UserTask", "name": "补正材料", "lane": WINDOW, "x": 700,
             "props": {"taskKind": "supplement"}},
            {"id": "delivery", "type": "bpmn:UserTask", "name": "一窗出件", "lane": WINDOW, "x": 950},
            {"id": "end", "type": "bpmn:EndEvent", "lane": WINDOW, "x": 1100},
        ],
        "flows": [
            _flow("f_start", "start", "intake"), _flow("f_review", "intake", "review_alpha"),
            _flow("f_gw", "review_alpha", "gw_alpha"),
            _flow("f_return", "gw_alpha", "supplement_alpha", **ret),
            _flow("f_back", "supplement_alpha", "review_alpha"),
            _flow("f_ok", "gw_alpha", "delivery", **ok),
            _flow("f_end", "delivery", "end"),
        ],
    }


def _single(extra_nodes: list[dict], extra_flows: list[dict], camunda: bool = True, lanes: bool = True) -> dict:
    """start → intake → review_alpha → end, plus whatever the case adds."""
    lane = {"lane": ALPHA} if lanes else {"y": 300}
    window = {"lane": WINDOW} if lanes else {"y": 300}
    return {
        "camunda": camunda, "executable": True, "processId": "modeler_single", "processName": "单部门",
        "lanes": [WINDOW, ALPHA] if lanes else [],
        "nodes": [
            {"id": "start", "type": "bpmn:StartEvent", "x": 180, **window},
            {"id": "intake", "type": "bpmn:UserTask", "name": "受理", "x": 300, **window},
            {"id": "review_alpha", "type": "bpmn:UserTask", "name": "甲局审查", "x": 500, "props": {"timeLimitDays": 5}, **lane},
            {"id": "end", "type": "bpmn:EndEvent", "x": 1100, **window},
            *extra_nodes,
        ],
        "flows": [_flow("f_start", "start", "intake"), _flow("f_review", "intake", "review_alpha"),
                  _flow("f_end", "review_alpha", "end"), *extra_flows],
    }


FIXTURES: dict[str, dict] = {
    # A diagram as plain bpmn-js saves it: isExecutable="false", no extension elements at all.
    "plain_parallel.bpmn": _parallel(None, camunda=False),
    "designer_parallel.bpmn": _parallel(True, camunda=True),
    # The intake task forks straight into two department tasks, no gateway.
    "implicit_split.bpmn": _parallel(True, camunda=True, intake_to_split=False),
    # ${...} conditions; the 补正 task loops straight back into the review task.
    "el_loop_back.bpmn": _review_gateway(({"condition": '${outcome == "return"}', "label": "需补正"},
                                          {"condition": '${outcome != "return" && !(outcome == "reject")}'})),
    "el_not_convertible.bpmn": _review_gateway(({"condition": '${execution.getVariable("outcome") == "return"}'},
                                                {"isDefault": True})),
    # Conditions written only as labels: an expression, and plain words.
    "label_conditions.bpmn": _review_gateway(({"label": 'outcome == "return"'}, {"label": "outcome != 'return'"})),
    "label_words.bpmn": _review_gateway(({"label": "需补正"}, {"label": "材料齐全"})),
    "timer_unquoted.bpmn": _single(
        [{"id": "late", "type": "bpmn:BoundaryEvent", "attachTo": "review_alpha", "timer": "P10D"},
         {"id": "supervise", "type": "bpmn:UserTask", "name": "超期督办", "lane": BETA, "x": 700}],
        [_flow("f_late", "late", "supervise"), _flow("f_supervised", "supervise", "end")],
    ) | {"lanes": [WINDOW, ALPHA, BETA]},
    # No lanes: departments from camunda:candidateGroups (a code and a name).
    "candidate_groups.bpmn": {
        "camunda": True, "executable": True, "processId": "modeler_groups", "processName": "候选组",
        "nodes": [
            {"id": "start", "type": "bpmn:StartEvent", "x": 180, "y": 300},
            {"id": "intake", "type": "bpmn:UserTask", "name": "受理", "x": 300, "y": 300, "candidateGroups": "window"},
            {"id": "review_alpha", "type": "bpmn:UserTask", "name": "甲局审查", "x": 500, "y": 300, "candidateGroups": "alpha",
             "props": {"timeLimitDays": 4}},
            {"id": "review_beta", "type": "bpmn:UserTask", "name": "乙局审查", "x": 700, "y": 300, "candidateGroups": "乙局"},
            {"id": "end", "type": "bpmn:EndEvent", "x": 900, "y": 300},
        ],
        "flows": [_flow("f1", "start", "intake"), _flow("f2", "intake", "review_alpha"),
                  _flow("f3", "review_alpha", "review_beta"), _flow("f4", "review_beta", "end")],
    },
    "complex_gateway.bpmn": _single(
        [{"id": "gw_complex", "type": "bpmn:ComplexGateway", "lane": ALPHA, "x": 700}],
        [_flow("f_complex", "review_alpha", "gw_complex"), _flow("f_after", "gw_complex", "end")],
    ),
    "compensation.bpmn": _single(
        [{"id": "undo", "type": "bpmn:BoundaryEvent", "attachTo": "review_alpha", "eventDefinition": "bpmn:CompensateEventDefinition"}],
        [],
    ),
}


def main() -> int:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    if not MODELER.exists():
        print("run `make assets` first", file=sys.stderr)
        return 1
    chromium = shutil.which("chromium") or CHROMIUM
    descriptor = json.loads(CAMUNDA.read_text(encoding="utf-8"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_content('<div id="canvas" style="width:2200px;height:1200px"></div>')
        page.add_script_tag(path=str(MODELER))
        page.add_script_tag(path=str(HERE / "build.js"))
        for name, spec in FIXTURES.items():
            xml = page.evaluate("([spec, d]) => window.buildDiagram(spec, d)", [spec, descriptor])
            (HERE / name).write_text(xml + "\n", encoding="utf-8")
            print(f"wrote {name}")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
