"""One 我要开网吧 case in the browser, from the applicant's files to the applicant's rating:
intake with an upload → 退回补正 → resubmission at the window → every department approves →
delivery by EMS (转办 and 会签 are walked in test_full_journey.py) → the applicant follows the case and rates it on the public page."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import sign_in, sign_out
from tests.window_data import PDF

pytestmark = pytest.mark.browser

APPLICANT = "李四"


def open_from_inbox(page, number: str) -> None:
    page.click("text=我的待办")
    page.locator("#task-list tbody tr", has_text=number).locator("a.button").click()


def decide(page, reviewer: str, number: str, outcome: str, opinion: str) -> None:
    sign_in(page, reviewer)
    open_from_inbox(page, number)
    page.check(f"input[name=outcome][value={outcome}]")
    page.fill("textarea[name=opinion]", opinion)
    page.click("#complete-form button.primary")
    assert page.locator("#task-list tbody tr", has_text=number).count() == 0
    sign_out(page)


def test_applicant_journey_from_upload_to_rating(page) -> None:
    # 一窗受理 with one set of materials
    sign_in(page, "window")
    page.click("a.thing[data-key=wangba]")
    page.fill("input[name=applicant_name]", APPLICANT)
    page.fill("input[name=applicant_phone]", "13912345678")
    page.fill("input[name=venue_name]", "星空网吧")
    page.set_input_files("input[name=materials]", files=[
        {"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("#apply-form button.primary")
    number, code = page.inner_text(".case-number"), page.inner_text(".query-code")
    assert re.fullmatch(r"YJS-\d{8}-\d{4}", number) and re.fullmatch(r"[0-9A-F]{6}", code)
    page.click("#full-notice")
    assert "营业执照" in page.inner_text("#notice-acceptance")
    sign_out(page)

    # 退回补正 by one department, through the task page's existing form
    decide(page, "market", number, "return", "请补充房屋租赁合同")

    # resubmission at the window: the missing file is uploaded, the notice lists the reason, the 补正 task is done
    sign_in(page, "window")
    open_from_inbox(page, number)
    assert "补正" in page.inner_text("h1")
    page.click("#supplement-notice-link")
    assert "请补充房屋租赁合同" in page.inner_text("#supplement-items")
    page.go_back()
    page.set_input_files("#material-upload input[type=file]", files=[
        {"name": "租赁合同.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.fill("#material-upload input[name=name]", "房屋租赁合同")
    page.click("#material-upload button[type=submit]")
    assert "房屋租赁合同" in page.inner_text("#case-materials")
    open_from_inbox(page, number)
    page.click("#complete-form button.primary")
    sign_out(page)

    # every department approves (market reviews the resubmission)
    for reviewer in ("market", "fire", "police", "culture"):
        decide(page, reviewer, number, "approve", f"{reviewer} 同意")

    # 一窗出件 by free EMS mail with a tracking number
    sign_in(page, "window")
    page.goto("/window/deliveries")
    page.locator("#delivery-list tbody tr", has_text=number).locator("a.button").click()
    page.check("#delivery-form input[name=method][value=ems]")
    page.fill("#delivery-form input[name=tracking_number]", "EA123456789CN")
    page.click("#delivery-form button.primary")
    assert page.locator(".badge.status-completed").count() >= 1
    sign_out(page)

    # the applicant, without an account: progress by number and query code, then a rating
    page.goto("/progress")
    page.fill("#progress-form input[name=number]", number)
    page.fill("#progress-form input[name=code]", "000000")
    page.click("#progress-form button.primary")
    assert page.locator("#not-found").count() == 1 and page.locator("#progress").count() == 0
    page.fill("#progress-form input[name=number]", number)
    page.fill("#progress-form input[name=code]", code)
    page.click("#progress-form button.primary")
    assert page.get_attribute("#progress", "data-status") == "concluded"
    assert page.inner_text("#applicant-name") == "李*" and page.inner_text("#applicant-phone") == "139****5678"
    assert page.inner_text("#tracking-number") == "EA123456789CN"
    steps = page.locator("#progress-steps tbody tr")
    assert steps.count() == 6  # accepted, four departments, handed out
    assert "同意" not in page.inner_text("#progress-steps")  # opinions stay inside
    page.check("#rating-form input[name=level][value='5']")
    page.fill("#rating-form textarea[name=comment]", "一次办好，还免费邮寄")
    page.click("#rating-form button.primary")
    assert page.locator("#rated").count() == 1
