"""The designer in a real browser: bpmn-js Modeler under the CSP, the domain panel, validate, deploy, diff."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine.cases import accept_case
from engine.db import Database
from engine.definitions import latest_definition
from engine.instances import spec_cache
from engine.models import Case, Task, User
from engine.versions import validate_definition
from tests.browser.conftest import sign_in
from tests.browser.test_diagram import RECORD_CSP_VIOLATIONS, is_problem

pytestmark = pytest.mark.browser

MODELER = Path(__file__).resolve().parents[1] / "engine" / "bpmn" / "modeler"
SCREENSHOT = "/tmp/designer.png"


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if is_problem(msg) else None)
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 500 or (r.status >= 400 and "/designer/" not in r.url and not r.url.endswith("/favicon.ico")) else None)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    return problems


def accept(db: Database, clock, venue: str) -> int:
    with db.writer.begin() as s:
        window = s.scalar(select(User).where(User.username == "window"))
        return accept_case(s, clock, window, "wangba", {"name": "星空网络科技有限公司"}, {"venue_name": venue}).id


def fire_task(db: Database, case_id: int) -> tuple[int, int]:
    with db.reader.begin() as s:
        case = s.get(Case, case_id)
        task = s.scalar(select(Task).where(Task.case_id == case_id, Task.element_id == "review_fire"))
        return case.definition.version, task.time_limit_days


def select_element(page, element_id: str) -> None:
    """Click a shape on the canvas; a sequence flow (a thin SVG path) is selected through the modeler."""
    element = page.locator(f'.djs-element[data-element-id="{element_id}"]').first
    if "djs-connection" in (element.get_attribute("class") or ""):
        page.evaluate("id => { const m = window.yjsDesigner.modeler;"
                      " m.get('selection').select(m.get('elementRegistry').get(id)); }", element_id)
    else:
        element.click()
    page.wait_for_selector(f'#properties[data-element="{element_id}"]')


def test_change_a_time_limit_deploy_version_2_and_see_it_in_the_diff(page, db, clock) -> None:
    problems = watch(page)
    before = accept(db, clock, "老网吧")
    assert fire_task(db, before) == (1, 5)

    sign_in(page, "analyst")
    page.goto("/analyst/designer?key=wangba")
    page.wait_for_selector("#designer[data-state=ready]")
    assert page.locator("#modeler-canvas .djs-palette").count() == 1  # the modeler, not a viewer
    select_element(page, "review_fire")
    assert page.input_value("#prop-timeLimitDays") == "5"
    assert page.input_value("#prop-legalBasis").startswith("《中华人民共和国消防法》")
    page.fill("#prop-timeLimitDays", "7")
    page.press("#prop-timeLimitDays", "Tab")
    page.click("#validate")
    page.wait_for_selector("#designer[data-validated=valid]")
    page.fill("#deploy-comment", "消防检查时限调整为7个工作日")
    page.click("#deploy")
    page.wait_for_selector("#designer[data-deployed='2']")
    assert "wangba" in page.inner_text("#designer-status") and "2" in page.inner_text("#designer-status")
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.click("#history-link")
    row = page.locator('#diff-table tr[data-element="review_fire"][data-field="time_limit_days"]')
    assert row.locator("td.from").inner_text() == "5" and row.locator("td.to").inner_text() == "7"
    assert page.locator("#diff-table tbody tr").count() == 1
    latest = page.locator('#versions tr[data-version="2"]')
    assert "消防检查时限调整为7个工作日" in latest.inner_text() and "流程分析员" in latest.inner_text()

    # The case accepted before keeps version 1 and its limit; a new case gets version 2's.
    assert fire_task(db, before) == (1, 5)
    assert fire_task(db, accept(db, clock, "新网吧")) == (2, 7)
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []


def test_problems_are_listed_and_highlighted_and_files_round_trip(page, db, clock) -> None:
    problems = watch(page)
    sign_in(page, "analyst")
    page.goto("/analyst/designer")
    page.wait_for_selector("#designer[data-state=ready]")

    # A file saved by bpmn-js with conditions written only as words on the flows.
    page.set_input_files("#upload-bpmn", str(MODELER / "label_words.bpmn"))
    page.wait_for_selector('.djs-element[data-element-id="f_return"]', state="attached")
    page.click("#validate")
    page.wait_for_selector("#designer[data-validated=invalid]")
    listed = page.locator("#problem-list li.error").evaluate_all("els => els.map(e => e.dataset.element)")
    assert sorted(listed) == ["f_ok", "f_return"]
    marked = page.locator(".djs-element.yjs-error").evaluate_all("els => els.map(e => e.dataset.elementId)")
    assert sorted(marked) == ["f_ok", "f_return"]
    page.click('#problem-list [data-select="f_return"]')
    page.wait_for_selector('#properties[data-element="f_return"]')
    page.fill("#prop-condition", 'outcome == "return"')
    page.press("#prop-condition", "Tab")
    select_element(page, "f_ok")
    page.check("#prop-default")
    page.click("#validate")
    # Its lanes name departments this office does not have (甲局): the task is named and marked.
    page.wait_for_selector('#problem-list li.error[data-element="review_alpha"]')
    assert page.locator(".djs-element.yjs-error").evaluate_all("els => els.map(e => e.dataset.elementId)") == ["review_alpha"]
    select_element(page, "review_alpha")
    page.select_option("#prop-department", "fire")
    page.click("#validate")
    page.wait_for_selector("#designer[data-validated=valid]")
    assert page.locator(".djs-element.yjs-error").count() == 0

    # Drafts stay in this browser; a reload offers them back.
    page.click("#save-draft")
    page.reload()
    page.wait_for_selector("#designer[data-state=ready]")
    page.set_input_files("#upload-bpmn", str(MODELER / "label_words.bpmn"))
    page.wait_for_selector("#restore-draft:not([hidden])")
    page.click("#restore-draft")
    page.click("#validate")
    page.wait_for_selector("#designer[data-validated=valid]")

    # The panel writes departments, limits and forms that deploy; simulation shows the path.
    select_element(page, "delivery")
    page.select_option("#prop-taskKind", "delivery")
    page.click("#add-field")
    row = page.locator(".form-table tbody tr").last
    row.locator("[data-field=id]").fill("tracking_number")
    row.locator("[data-field=label]").fill("邮件单号")
    row.locator("[data-field=label]").press("Tab")
    select_element(page, "review_alpha")
    page.fill("#prop-timeLimitDays", "4")
    page.press("#prop-timeLimitDays", "Tab")
    page.fill("#sim-outcomes", '{"review_alpha": ["return", "approve"]}')
    page.click("#simulate")
    page.wait_for_selector(".sim-path")
    assert "supplement_alpha" in page.inner_text(".sim-path")
    assert page.locator('.sim-table tr[data-element="review_alpha"]').count() == 2

    with page.expect_download() as download:
        page.click("#download-bpmn")
    saved = Path(download.value.path()).read_bytes()
    with db.reader.begin() as s:
        result = validate_definition(s, saved)
    assert result.valid, result.errors
    tasks = result.parsed.tasks
    assert (tasks["review_alpha"].department, tasks["review_alpha"].time_limit_days) == ("fire", 4)
    assert tasks["delivery"].kind == "delivery" and [f.id for f in tasks["delivery"].form] == ["tracking_number"]
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []


def test_a_new_flow_from_the_template_deploys(page, db) -> None:
    problems = watch(page)
    sign_in(page, "analyst")
    page.goto("/analyst/designer")
    page.wait_for_selector("#designer[data-state=ready]")
    page.fill("#template-form input[name=key]", "kaiguan")
    page.fill("#template-form input[name=name]", "我要开馆")
    page.fill("#template-form input[name=promised_days]", "10")
    page.check("#template-form input[value=fire]")
    page.check("#template-form input[value=culture]")
    page.click("#template-form button[type=submit]")
    page.wait_for_selector('.djs-element[data-element-id="review_culture"]')
    # A timer on the fire review (as the palette would attach it), its duration set in working days.
    page.evaluate("""() => {
      const m = window.yjsDesigner.modeler, registry = m.get('elementRegistry'), host = registry.get('review_fire');
      const timer = m.get('elementFactory').createShape({type: 'bpmn:BoundaryEvent', eventDefinitionType: 'bpmn:TimerEventDefinition'});
      const shape = m.get('modeling').createShape(timer, {x: host.x + host.width, y: host.y + host.height}, host, {attach: true});
      m.get('modeling').updateProperties(shape, {id: 'fire_late', cancelActivity: false});
    }""")
    select_element(page, "fire_late")
    page.fill("#prop-workingDays", "3")
    page.press("#prop-workingDays", "Tab")
    assert page.input_value("#prop-timeDuration") == "P3D"
    page.click("#deploy")
    page.wait_for_selector("#designer[data-deployed='1']")
    with db.reader.begin() as s:
        definition = latest_definition(s, "kaiguan")
        assert definition.catalog["promised_days"] == 10
        assert {t["department"] for t in definition.catalog["tasks"].values()} == {"window", "fire", "culture"}
        late = spec_cache.get(definition).spec.task_specs["fire_late"]
        assert late.extensions == {"workingDays": "3"} and late.event_definition.expression == '"P3D"'
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []
