"""A restricted script engine for BPMN conditions and script tasks.

SpiffWorkflow evaluates conditions and scripts with plain `eval`/`exec`. Definitions are written by
analysts and uploaded through the browser, so their code must not reach the host: every
expression is checked before it runs (no imports, no names or attributes starting with `_`, which
closes the `().__class__.__bases__` family of escapes, no `format` attribute tricks) and runs with
a small set of safe builtins.
"""
from __future__ import annotations

import ast
import builtins
import sys
import time
from contextlib import contextmanager
from functools import lru_cache
from types import CodeType
from typing import Any, Iterator

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from engine.calendar import WorkingCalendar
from engine.clock import Clock, SystemClock
from engine.errors import ScriptRejected

_SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int", "isinstance",
    "len", "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum",
    "tuple", "zip", "ValueError", "KeyError", "Exception",
)
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}

# Attributes that reach interpreter internals without a leading underscore.
_FORBIDDEN_ATTRIBUTES = frozenset(
    {"format", "format_map", "mro", "gi_frame", "gi_code", "f_globals", "f_locals", "f_builtins",
     "cr_frame", "ag_frame", "tb_frame", "func_globals"}
)
_FORBIDDEN_NODES = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await)


def check_source(source: str, mode: str) -> ast.AST:
    """Parse `source` and refuse anything that could leave the sandbox."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise ScriptRejected(f"syntax error on line {err.lineno}: {err.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, _FORBIDDEN_NODES):
            raise ScriptRejected(f"{type(node).__name__.lower()} statements are not allowed in BPMN scripts")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ScriptRejected(f"name '{node.id}' is not allowed: names starting with '_' are reserved")
        if isinstance(node, ast.Attribute) and (
            node.attr.startswith("_") or node.attr in _FORBIDDEN_ATTRIBUTES
        ):
            raise ScriptRejected(f"attribute '.{node.attr}' is not allowed in BPMN scripts")
        if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.ClassDef)) and getattr(node, "name", "").startswith("_"):
            raise ScriptRejected("definitions starting with '_' are not allowed")
    return tree


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> CodeType:
    return compile(check_source(source, mode), "<string>", mode)


TIME_LIMIT_SECONDS = 1.0


@contextmanager
def time_limit(seconds: float = TIME_LIMIT_SECONDS) -> Iterator[None]:
    """Stop BPMN code that runs too long. A trace function sees every line and call, works in any
    thread (signals only reach the main thread), and costs nothing once the code returns."""
    deadline = time.monotonic() + seconds
    previous = sys.gettrace()

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise ScriptRejected(f"the script ran longer than {seconds:g} s and was stopped")
        return tracer

    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


class RestrictedEnvironment(TaskDataEnvironment):
    """Evaluates over task data with safe builtins only, within a time limit."""

    def __init__(self) -> None:
        super().__init__({})

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        code = _compile(expression.strip(), "eval")
        scope = {"__builtins__": SAFE_BUILTINS, **(external_context or {}), **context}
        with time_limit():
            return eval(code, scope)  # noqa: S307 - checked and sandboxed above

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        code = _compile(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        context.update(external_context or {})
        context["__builtins__"] = SAFE_BUILTINS
        try:
            with time_limit():
                exec(code, context)  # noqa: S102 - checked and sandboxed above
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


class WorkflowScriptEngine(PythonScriptEngine):
    """The restricted engine, carrying the clock and calendar that timers read (see `engine.timers`)."""

    def __init__(self, clock: Clock | None = None, calendar: WorkingCalendar | None = None) -> None:
        super().__init__(environment=RestrictedEnvironment())
        self.clock: Clock = clock or SystemClock()
        self.calendar: WorkingCalendar = calendar or WorkingCalendar()


def restricted_script_engine(clock: Clock | None = None, calendar: WorkingCalendar | None = None) -> WorkflowScriptEngine:
    return WorkflowScriptEngine(clock, calendar)
