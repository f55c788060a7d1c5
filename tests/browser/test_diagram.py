"""The case page draws the case's own flow with bpmn-js, done and open tasks marked, within the CSP."""
from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in, sign_out

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/case_diagram.png"

# Injected by Playwright (not subject to the page's CSP): remembers every CSP violation and its element.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  var onclick = e.target && e.target.getAttribute ? e.target.getAttribute('onclick') : null;
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, onclick: onclick});
});
"""


def is_problem(msg) -> bool:
    if msg.type != "error":
        return False
    if msg.location.get("url", "").endswith("/favicon.ico"):
        return False  # Chromium asks for /favicon.ico by itself; the app has none.
    return True


def test_case_page_shows_the_flow_with_done_and_open_tasks(page) -> None:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if is_problem(msg) else None)
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    sign_in(page, "window")
    page.click("a.thing[data-key=wangba]")
    page.fill("input[name=applicant_name]", "星空网络科技有限公司")
    page.fill("input[name=venue_name]", "星空网吧")
    page.click("button.primary")
    number = page.inner_text(".case-number")
    sign_out(page)

    sign_in(page, "market")
    page.locator("#task-list tbody tr", has_text=number).locator("a.button").click()
    page.check("input[name=outcome][value=approve]")
    page.click("#complete-form [data-phrase]")  # a reusable phrase fills the required opinion
    page.click("#complete-form button.primary")
    sign_out(page)

    sign_in(page, "supervisor")
    page.locator("table.list tr", has_text=number).locator("a").first.click()
    page.wait_for_selector("#case-diagram[data-state=ready]")
    diagram = page.locator("#case-diagram")
    assert diagram.locator("svg").count() >= 1
    completed = diagram.locator("svg .djs-element.yjs-completed")
    active = diagram.locator("svg .djs-element.yjs-active")
    assert sorted(completed.evaluate_all("els => els.map(e => e.dataset.elementId)")) == ["intake", "review_market"]
    assert sorted(active.evaluate_all("els => els.map(e => e.dataset.elementId)")) == ["review_culture", "review_fire", "review_police"]
    assert diagram.locator("svg .djs-element.yjs-cancelled").count() == 0
    box = diagram.bounding_box()
    assert box is not None and 300 <= box["height"] <= 420
    # The fitted drawing lies inside the container (the intake task on the left is visible).
    intake = diagram.locator('svg .djs-element[data-element-id="intake"]').bounding_box()
    assert intake is not None and box["x"] <= intake["x"] and intake["x"] + intake["width"] <= box["x"] + box["width"]
    page.screenshot(path=SCREENSHOT, full_page=True)

    # On paper (narrower than the screen) the whole fitted drawing still shows, scaled down.
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 700, "height": 1000})
    assert diagram.is_visible() and diagram.locator("svg .djs-element.yjs-active").count() == 3
    paper = diagram.bounding_box()
    assert paper is not None and paper["width"] < box["width"]
    for element in diagram.locator("svg .djs-element.djs-shape").all():
        shape = element.bounding_box()
        if shape and shape["width"]:
            assert paper["x"] - 1 <= shape["x"] and shape["x"] + shape["width"] <= paper["x"] + paper["width"] + 1
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    page.emulate_media(media="screen")

    assert page.evaluate("window.__cspViolations") == []
    assert problems == []
