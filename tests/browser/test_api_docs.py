"""The API docs page (/api/docs) renders /api/v1/openapi.json with our own script, within the CSP."""
from __future__ import annotations

import pytest

from tests.browser.test_diagram import RECORD_CSP_VIOLATIONS, is_problem

pytestmark = pytest.mark.browser


def test_the_docs_page_lists_every_operation(page) -> None:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if is_problem(msg) else None)
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    page.goto("/api/docs")
    page.wait_for_selector("#api-docs section h2")
    document = page.evaluate("fetch('/api/v1/openapi.json').then((r) => r.json())")
    operations = sum(len(item) for item in document["paths"].values())
    assert page.locator("#api-docs section:not(#schemas) details").count() == operations
    assert page.locator("#schemas details").count() == len(document["components"]["schemas"])
    events = page.locator("details#events")
    assert "/api/v1/events" in events.inner_text()
    events.locator("summary").click()
    assert "next_cursor" in events.inner_text() and "PlatformEvent" in events.inner_text()
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []
