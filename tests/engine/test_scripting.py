"""BPMN conditions and scripts run in a restricted environment."""
from __future__ import annotations

import pytest

from engine.errors import ScriptRejected
from engine.scripting import RestrictedEnvironment, check_source

ESCAPES = [
    "__import__('os').system('id')",
    "().__class__.__bases__[0].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "open('/etc/passwd').read()",
    "eval('1+1')",
    "exec('x = 1')",
    "getattr((), '__class__')",
    "'{0.__class__}'.format(1)",
    "(lambda: 0).__globals__",
    "globals()",
    "type(1)",
    "compile('1', 'x', 'eval')",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_escape_payloads_fail(payload: str) -> None:
    env = RestrictedEnvironment()
    with pytest.raises((ScriptRejected, NameError)):
        env.evaluate(payload, {})


def test_import_statement_is_refused_with_a_clear_reason() -> None:
    with pytest.raises(ScriptRejected, match="import statements are not allowed"):
        RestrictedEnvironment().execute("import os\nos.system('id')", {})


def test_dunder_import_names_the_problem() -> None:
    with pytest.raises(ScriptRejected, match="'__import__' is not allowed"):
        check_source("__import__('os')", "eval")


def test_ordinary_conditions_work_over_task_data() -> None:
    env = RestrictedEnvironment()
    reviews = {"a": {"outcome": "approve"}, "b": {"outcome": "reject"}}
    assert env.evaluate('any(r["outcome"] == "reject" for r in reviews.values())', {"reviews": reviews}) is True
    assert env.evaluate('outcome == "return"', {"outcome": "approve"}) is False
    assert env.evaluate("len(items) > 2 and max(items) == 9", {"items": [1, 9, 3]}) is True


def test_scripts_can_set_task_data() -> None:
    data = {"area": 120}
    RestrictedEnvironment().execute("large = area > 100\nfee = round(area * 1.5)", data)
    assert data["large"] is True and data["fee"] == 180
    assert "__builtins__" not in data


def test_a_runaway_script_is_stopped() -> None:
    with pytest.raises(ScriptRejected, match="longer than"):
        RestrictedEnvironment().execute("x = 0\nwhile True:\n    x += 1", {})


def test_a_runaway_condition_is_stopped() -> None:
    with pytest.raises(ScriptRejected, match="longer than"):
        RestrictedEnvironment().evaluate("sum(i for i in range(10**12))", {})


def test_escapes_through_generators_and_frames_fail() -> None:
    for payload in ["(x for x in [1]).gi_frame.f_globals", "[].__class__.__mro__"]:
        with pytest.raises(ScriptRejected):
            RestrictedEnvironment().evaluate(payload, {})
