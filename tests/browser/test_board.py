"""The supervisor, in the browser: open the board, filter it to one department, download it as Excel."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.cases import accept_case
from engine.models import User
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def open_cases(db, clock, demo_site) -> list[str]:
    """Two 我要开网吧 cases waiting for market, fire, police and culture."""
    with db.writer.begin() as s:
        clerk = s.scalar(select(User).where(User.username == "window"))
        return [accept_case(s, clock, clerk, "wangba", {"name": name}, {"venue_name": "星空网吧"}).number
                for name in ("星空网络科技有限公司", "晨光网络会所")]


def test_supervisor_filters_the_board_and_exports_excel(page, open_cases, tmp_path) -> None:
    problems: list[str] = []  # script errors and Content-Security-Policy refusals
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Refused" in message.text else None)
    sign_in(page, "supervisor")
    page.goto("/supervisor/")
    assert page.locator("#board tbody tr[data-task]").count() == 8
    assert page.locator("#department-view .dept-block[data-department=fire] .n-open").inner_text() == "2"

    with page.expect_navigation():
        page.select_option("#board-filters select[name=department]", "fire")  # applied on change (js/board.js)
    rows = page.locator("#board tbody tr[data-task]")
    assert rows.count() == 2
    assert {rows.nth(i).get_attribute("data-department") for i in range(2)} == {"fire"}
    assert "department=fire" in page.url

    with page.expect_download() as download_info:
        page.click("a.export-xlsx")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    sheet = load_workbook(saved).active
    table = list(sheet.iter_rows(values_only=True))
    assert len(table) == 3
    numbers = {row[0] for row in table[1:]}
    assert numbers == set(open_cases)
    assert {row[3] for row in table[1:]} == {"区消防救援支队"}

    page.goto("/supervisor/stats?period=all")
    page.wait_for_selector(".chart[data-chart=chart-departments] canvas")  # ECharts drew under the CSP
    assert problems == []
