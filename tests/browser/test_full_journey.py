"""Issue 6's walk, as one case in the browser: intake with an upload → 退回补正 → resubmission at the
window → 转办 → 会签 by two departments → 一窗出件 by EMS → the applicant rates it online."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.definitions import deploy_definition
from tests.browser.conftest import sign_in, sign_out
from tests.window_data import PDF

pytestmark = pytest.mark.browser
JOURNEY = Path(__file__).with_name("journey.bpmn")


@pytest.fixture
def journey(db, clock, demo_site) -> None:
    with db.writer.begin() as s:
        deploy_definition(s, clock, JOURNEY.read_bytes(), catalog={"name": "联合审查一件事", "promised_days": 8,
                                                                   "statutory_days": 20, "supervising_department": "market"})


def open_from_inbox(page, number: str) -> None:
    page.click("text=我的待办")
    page.locator("#task-list tbody tr", has_text=number).first.locator("a.button").click()


def decide(page, number: str, outcome: str, opinion: str) -> None:
    open_from_inbox(page, number)
    page.check(f"input[name=outcome][value={outcome}]")
    page.fill("textarea[name=opinion]", opinion)
    page.click("#complete-form button.primary")
    assert page.locator("#task-list tbody tr", has_text=number).count() == 0


def test_one_case_through_the_whole_vocabulary(page, journey) -> None:
    sign_in(page, "window")
    page.click("a.thing[data-key=joint_review]")
    page.fill("input[name=applicant_name]", "王五")
    page.fill("input[name=applicant_phone]", "13700001111")
    page.set_input_files("input[name=materials]", files=[{"name": "申请书.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("#apply-form button.primary")
    number, code = page.inner_text(".case-number"), page.inner_text(".query-code")
    assert re.fullmatch(r"YJS-\d{8}-\d{4}", number)
    sign_out(page)

    sign_in(page, "market")
    decide(page, number, "return", "请补充场地产权证明")
    sign_out(page)

    sign_in(page, "window")  # the applicant brings the missing paper; the window resubmits
    open_from_inbox(page, number)
    page.set_input_files("#material-upload input[type=file]", files=[{"name": "产权证明.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.fill("#material-upload input[name=name]", "场地产权证明")
    page.click("#material-upload button[type=submit]")
    open_from_inbox(page, number)
    page.click("#complete-form button.primary")
    sign_out(page)

    sign_in(page, "market")  # 转办 to the head of the department
    open_from_inbox(page, number)
    page.click("#operations details:has(#transfer-form) summary")
    page.fill("#transfer-form input[name=to]", "market_head")
    page.fill("#transfer-form input[name=reason]", "涉及重大事项，请负责人审查")
    page.click("#transfer-form button[type=submit]")
    assert "market_head" in page.inner_text("#history") or "转办" in page.inner_text("#history")
    sign_out(page)
    sign_in(page, "market_head")
    decide(page, number, "approve", "同意")
    sign_out(page)

    for department in ("fire", "police"):  # 会签: one instance per department, all must sign
        sign_in(page, department)
        open_from_inbox(page, number)
        assert "联合会签" in page.inner_text("h1")
        page.check("input[name=outcome][value=approve]")
        page.fill("textarea[name=opinion]", f"{department} 会签同意")
        page.click("#complete-form button.primary")
        sign_out(page)

    sign_in(page, "window")
    page.goto("/window/deliveries")
    page.locator("#delivery-list tbody tr", has_text=number).locator("a.button").click()
    page.check("#delivery-form input[name=method][value=ems]")
    page.fill("#delivery-form input[name=tracking_number]", "EA000111222CN")
    page.click("#delivery-form button.primary")
    assert page.locator(".badge.status-completed").count() >= 1
    history = page.inner_text("#history")
    assert "fire 会签同意" in history and "police 会签同意" in history
    sign_out(page)

    page.goto("/progress")
    page.fill("#progress-form input[name=number]", number)
    page.fill("#progress-form input[name=code]", code)
    page.click("#progress-form button.primary")
    assert page.get_attribute("#progress", "data-status") == "concluded"
    page.check("#rating-form input[name=level][value='4']")
    page.fill("#rating-form textarea[name=comment]", "办理顺畅")
    page.click("#rating-form button.primary")
    assert page.locator("#rated").count() == 1
