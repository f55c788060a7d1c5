"""A new user, in the browser: accept a 我要开网吧 case and have four departments complete it."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import sign_in, sign_out

pytestmark = pytest.mark.browser


def test_window_accepts_and_four_departments_review_in_parallel(page) -> None:
    sign_in(page, "window")
    page.click("a.thing[data-key=wangba]")
    page.fill("input[name=applicant_name]", "星空网络科技有限公司")
    page.fill("input[name=applicant_phone]", "13912345678")
    page.fill("input[name=venue_name]", "星空网吧")
    page.click("button.primary")
    number = page.inner_text(".case-number")
    assert re.fullmatch(r"YJS-\d{8}-\d{4}", number)
    assert "受理通知书" in page.content()
    for department in ("区市场监督管理局", "区消防救援支队", "区公安分局", "区文化和旅游局"):
        assert department in page.content()
    sign_out(page)

    for reviewer in ("market", "fire", "police", "culture"):
        sign_in(page, reviewer)
        row = page.locator("#task-list tbody tr", has_text=number)
        row.locator("a.button").click()
        page.check("input[name=outcome][value=approve]")
        page.fill("textarea[name=opinion]", f"{reviewer} 同意")
        page.click("#complete-form button.primary")
        assert page.locator("#task-list tbody tr", has_text=number).count() == 0
        sign_out(page)

    sign_in(page, "window")
    page.click("text=我的待办")
    page.locator("#task-list tbody tr", has_text=number).locator("a.button").click()
    # the 一窗出件 task opens the delivery page: free EMS mail with a tracking number
    case_id = re.search(r"/window/cases/(\d+)/delivery", page.url).group(1)
    page.check("#delivery-form input[name=method][value=ems]")
    page.fill("#delivery-form input[name=tracking_number]", "EA987654321CN")
    page.click("#delivery-form button.primary")
    sign_out(page)

    sign_in(page, "supervisor")
    page.goto(f"/cases/{case_id}")
    assert page.locator(".badge.status-completed").count() >= 1
    history = page.inner_text("#history")
    for reviewer in ("market", "fire", "police", "culture"):
        assert f"{reviewer} 同意" in history
