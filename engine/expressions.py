"""Conditions as modelers write them, turned into the Python the restricted script engine runs.

Camunda Modeler and its users write JUEL: `${outcome == "return"}`, `${a > 1 && !b}`, `#{x eq 'y'}`.
The simple forms — names, literals, comparisons, `&&`/`||`/`!`, arithmetic, `empty` — have a
direct Python spelling; anything else (method calls, property access, ternaries) has none the
engine could run safely, so it is refused with the reason, for the analyst to rewrite.
"""
from __future__ import annotations

import ast
import re

from engine.errors import ScriptRejected
from engine.scripting import check_source

_WRAPPED = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<name>[^\W\d]\w*)
      | (?P<op>&&|\|\||==|!=|<=|>=|<|>|!|\(|\)|\+|-|\*|/|%|\.|\[|\]|\?|:|,)
    )""",
    re.X | re.U,
)
_WORDS = {
    "and": "and", "or": "or", "not": "not", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=",
    "div": "/", "mod": "%", "true": "True", "false": "False", "null": "None",
}
_SYMBOLS = {"&&": "and", "||": "or", "!": "not"}
_SIMPLE_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Add,
    ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In,
    ast.NotIn, ast.Name, ast.Load, ast.Constant,
)


class NotConvertible(ValueError):
    """The expression has no safe Python spelling; the message says what to change."""


def is_el(text: str) -> bool:
    """Whether `text` is written as a `${...}` / `#{...}` expression (or contains one)."""
    return "${" in text or "#{" in text


def el_to_python(text: str) -> str:
    """`${outcome == "return" && !late}` → `outcome == "return" and not late`."""
    match = _WRAPPED.match(text)
    if match is None or is_el(match.group("body")):
        raise NotConvertible("write one whole expression such as ${outcome == \"return\"}, not text around or between ${...}")
    return simple_expression(match.group("body"))


def simple_expression(text: str) -> str:
    """Convert a JUEL- or Python-like expression built only from the simple forms; else refuse."""
    out: list[str] = []
    pos, text = 0, text.strip()
    if not text:
        raise NotConvertible("the expression is empty")
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise NotConvertible(f"cannot read the expression from '{text[pos:pos + 20]}'")
        pos = match.end()
        kind = match.lastgroup
        token = match.group(kind)
        if kind == "name":
            if token == "empty":
                out.append("not")
            elif token in _WORDS:
                out.append(_WORDS[token])
            elif token in ("instanceof", "execution", "task"):
                raise NotConvertible(f"'{token}' has no meaning in this engine; compare form data instead")
            else:
                out.append(token)
        elif kind == "op":
            if token in (".", "[", "]", "?", ":", ","):
                raise NotConvertible(
                    f"'{token}' (property access, method calls, indexing or ?: choices) cannot be converted; "
                    "write a comparison of form data, e.g. outcome == \"return\""
                )
            out.append(_SYMBOLS.get(token, token))
        else:
            out.append(token)
    source = " ".join(out).replace("( ", "(").replace(" )", ")")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise NotConvertible(f"'{text}' is not a valid expression") from None
    for node in ast.walk(tree):
        if not isinstance(node, _SIMPLE_NODES):
            raise NotConvertible(f"'{text}' uses {type(node).__name__}; only names, literals, comparisons and and/or/not convert")
    try:
        check_source(source, "eval")
    except ScriptRejected as err:
        raise NotConvertible(str(err)) from None
    return source


def condition_from_label(label: str) -> str | None:
    """A flow's label used as its condition when it reads as one (`outcome == "return"`), else None.

    A bare word (`是`, `需补正`, `approved`) is not taken: it reads as a name, and a name the form
    never sets stops the case with an error at run time.
    """
    text = label.strip()
    try:
        source = el_to_python(text) if is_el(text) else simple_expression(text)
    except NotConvertible:
        return None
    tree = ast.parse(source, mode="eval").body
    if isinstance(tree, (ast.Compare, ast.BoolOp)) or (isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not)):
        return source
    return None
