"""Leadership, in the browser: the projects overview with its charts, then the register and one project's plan."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import User
from engine.projects import register_project
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def projects(db, clock, demo_site) -> list[int]:
    with db.writer.begin() as s:
        clerk = s.scalar(select(User).where(User.username == "window"))
        return [register_project(s, clock, clerk, {
            "name": name, "enterprise_name": f"{name}有限公司", "kind": kind, "investment_yuan": amount,
            "contact_name": "王经理", "contact_phone": "13800138000"}).id
            for name, kind, amount in (("新能源电池", "investment", 80_000_000), ("包装线改造", "upgrade", 2_000_000))]


def test_leadership_opens_the_overview_and_the_register(page, projects, clock) -> None:
    problems: list[str] = []  # script errors and Content-Security-Policy refusals
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Refused" in message.text else None)
    clock.advance(days=40)  # nobody has acted since: the first steps are behind plan and the projects stalled
    sign_in(page, "supervisor")
    page.click("#projects-link")
    assert "/projects/overview" in page.url
    # ECharts draws into a canvas once the vendored library loaded (make assets).
    page.wait_for_selector(".chart[data-chart=chart-project-stages] canvas")
    assert page.locator("#stage-table tbody tr").count() == 6
    assert page.locator("#stalled-table tbody tr").count() == 2
    page.click("#stage-table tbody tr:first-child a")
    assert page.locator("#projects-table tbody tr").count() == 2
    page.click("#projects-table tbody tr:has-text('新能源电池') a")
    assert page.locator("#steps-table tbody tr").count() == 12
    assert page.locator("#steps-table .behind").count() >= 1
    assert problems == []
