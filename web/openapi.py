"""The OpenAPI 3.1 description of /api/v1, generated from the code, and its docs page (/api/docs).

Paths, path parameters (typed by their URL converters) and methods come from the app's URL map;
each operation's summary and description from its view's docstring; request and response
schemas from `@documented(...)` next to the view (or `document(endpoint, ...)` for a view
declared elsewhere). Every operation also answers 4xx as {"error": "..."} (web/errors.py), and
authenticated ones 401: those are added here once. A view of the API blueprint with no
declaration is still listed, flagged `x-undocumented`, and the tests fail on it.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Flask, render_template
from werkzeug.routing import AnyConverter, BaseConverter, Rule
from werkzeug.routing.converters import NumberConverter

Schema = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])

API_BLUEPRINT = "api"
TITLE = "一件事 API"
DOCUMENT_KEY = "yjs_openapi"

bp = Blueprint("api_docs", __name__)

_COMPONENTS: dict[str, Schema] = {}


def component(name: str, schema: Schema) -> Schema:
    """A schema shown once under its name in the document and referred to wherever it is used."""
    _COMPONENTS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


# Building blocks for schemas, so declarations stay one line each.
STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
ANY: Schema = {}
DATE: Schema = {"type": "string", "format": "date"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
OBJECT: Schema = {"type": "object"}
ERROR: Schema = component("Error", {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "string", "description": "what was refused and how to fix it"}},
})
OK: Schema = {"type": "object", "required": ["ok"], "properties": {"ok": {"const": True}}}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def record(**properties: Schema) -> Schema:
    """A JSON object the API answers: every key is always present."""
    return {"type": "object", "required": list(properties), "properties": properties}


def extended(schema: Schema, **properties: Schema) -> Schema:
    """A `record` with more keys, all present."""
    return {**schema, "required": [*schema["required"], *properties], "properties": {**schema["properties"], **properties}}


def payload(required: Iterable[str] = (), **properties: Schema) -> Schema:
    """A JSON object a client sends: the keys in `required` must be present, the others may be."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


@dataclass(frozen=True)
class Content:
    """A body in media types of its own (a file, a form, CSV…): {media type: schema}."""

    media: Mapping[str, Schema]


@dataclass(frozen=True)
class ApiDoc:
    """What the code cannot tell about one operation: its bodies, query and header parameters."""

    responses: Mapping[int, Schema | Content]
    request: Schema | Content | None = None
    request_required: bool = True
    query: Mapping[str, Schema] = field(default_factory=dict)
    required_query: tuple[str, ...] = ()
    headers: Mapping[str, Schema] = field(default_factory=dict)
    summary: str | None = None
    # A path variable with an any(...) converter makes one operation per value, each with its own doc.
    per_value: Mapping[str, ApiDoc] = field(default_factory=dict)


_DECLARED: dict[str, ApiDoc] = {}


def documented(
    responses: Mapping[int, Schema | Content], request: Schema | Content | None = None, *,
    request_required: bool = True, query: Mapping[str, Schema] | None = None, required_query: Iterable[str] = (),
    headers: Mapping[str, Schema] | None = None, per_value: Mapping[str, ApiDoc] | None = None,
) -> Callable[[F], F]:
    """Declare a view's request and response schemas, next to the view."""
    doc = ApiDoc(responses, request, request_required, query or {}, tuple(required_query), headers or {},
                 per_value=per_value or {})

    def decorator(view: F) -> F:
        view.api_doc = doc  # type: ignore[attr-defined]
        return view

    return decorator


def document(endpoint: str, doc: ApiDoc) -> None:
    """Declare a view's schemas from another module (for views whose module does not declare them)."""
    _DECLARED[endpoint] = doc


# Decorators that use functools.wraps (web.api.authenticated, idempotent) copy these attributes outwards.
def doc_of(app: Flask, endpoint: str) -> ApiDoc | None:
    return getattr(app.view_functions[endpoint], "api_doc", None) or _DECLARED.get(endpoint)


def requires_login(app: Flask, endpoint: str) -> bool:
    """Whether the view is wrapped in `web.api.authenticated` (which marks its wrapper)."""
    return bool(getattr(app.view_functions[endpoint], "api_authenticated", False))


def api_rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith(f"{API_BLUEPRINT}.")]


def openapi_document(app: Flask) -> dict[str, Any]:
    """The whole description, built once per app (the URL map does not change after start-up)."""
    if DOCUMENT_KEY not in app.extensions:
        app.extensions[DOCUMENT_KEY] = build_document(app)
    return app.extensions[DOCUMENT_KEY]


def build_document(app: Flask) -> dict[str, Any]:
    prefix = app.blueprints[API_BLUEPRINT].url_prefix or ""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(api_rules(app), key=lambda r: r.rule):
        for path, fixed, parameters in _expand(rule, prefix):
            for method in sorted(_methods(rule)):
                paths.setdefault(path, {})[method.lower()] = _operation(app, rule, path, method, fixed, parameters)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE, "version": "1",
            "description": "The JSON API of the service centre. Sign in with HTTP Basic (a user's credentials) "
                           "or a bearer token (POST /tokens). Every refusal answers {\"error\": \"...\"}.",
        },
        "servers": [{"url": prefix or "/"}],
        "security": [{"basic": []}, {"bearer": []}],
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "A user's username and password."},
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token issued by an administrator."},
            },
            "schemas": dict(sorted(_COMPONENTS.items())),
        },
        "paths": paths,
    }


_VARIABLE = re.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _expand(rule: Rule, prefix: str) -> list[tuple[str, dict[str, str], list[Schema]]]:
    """(OpenAPI path, the any(...) values fixed in it, its path parameters), one per any(...) value."""
    path = _VARIABLE.sub(lambda m: "{" + m.group(1) + "}", rule.rule).removeprefix(prefix) or "/"
    variants: list[tuple[str, dict[str, str]]] = [(path, {})]
    parameters = []
    # Werkzeug keeps a rule's converters only in this private mapping (name -> converter instance).
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            variants = [(p.replace("{" + name + "}", value), {**fixed, name: value})
                        for p, fixed in variants for value in sorted(converter.items)]
        else:
            parameters.append({"name": name, "in": "path", "required": True, "schema": _converter_schema(converter)})
    return [(p, fixed, parameters) for p, fixed in variants]


def _converter_schema(converter: BaseConverter) -> Schema:
    if isinstance(converter, NumberConverter):
        schema: Schema = {"type": "integer"}
        schema["minimum"] = converter.min if converter.min is not None else (None if converter.signed else 0)
        if converter.max is not None:
            schema["maximum"] = converter.max
        return {k: v for k, v in schema.items() if v is not None}
    return {"type": "string", "pattern": "^[^/]+$"}


def _methods(rule: Rule) -> set[str]:
    return (rule.methods or set()) - {"HEAD", "OPTIONS"}


def _operation(
    app: Flask, rule: Rule, path: str, method: str, fixed: dict[str, str], path_parameters: list[Schema],
) -> dict[str, Any]:
    declared = doc_of(app, rule.endpoint)
    doc = declared or ApiDoc(responses={200: ANY})
    for value in fixed.values():
        doc = doc.per_value.get(value, doc)
    name = rule.endpoint.removeprefix(f"{API_BLUEPRINT}.")
    # The docstring's first paragraph is the summary, the rest the description.
    first, _, description = inspect.cleandoc(app.view_functions[rule.endpoint].__doc__ or "").partition("\n\n")
    summary = doc.summary or " ".join(first.split()) or name.replace("_", " ")
    method_suffix = [method.lower()] if len(_methods(rule)) > 1 else []
    operation: dict[str, Any] = {
        "operationId": "_".join([name, *fixed.values(), *method_suffix]).replace("-", "_"),
        "summary": summary,
        "tags": [path.split("/")[1]],
        "parameters": [
            *path_parameters,
            *({"name": n, "in": "query", "required": n in doc.required_query, "schema": s} for n, s in doc.query.items()),
            *({"name": n, "in": "header", "required": False, "schema": s} for n, s in doc.headers.items()),
        ],
        "responses": _responses(doc, requires_login(app, rule.endpoint)),
    }
    if description.strip():
        operation["description"] = description.strip()
    if doc.request is not None:
        operation["requestBody"] = {"required": doc.request_required, "content": _content(doc.request)}
    if not requires_login(app, rule.endpoint):
        operation["security"] = []
    if declared is None:
        operation["x-undocumented"] = True
    return operation


def _responses(doc: ApiDoc, login: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {str(code): {"description": _STATUS_TEXT.get(code, "OK"), "content": _content(schema)}
                               for code, schema in sorted(doc.responses.items())}
    if login:
        answers["401"] = {"description": "No or wrong credentials.", "content": _content(ERROR),
                          "headers": {"WWW-Authenticate": {"schema": STR}}}
    answers["4XX"] = {"description": "Refused: bad input (422), not allowed (403), not found (404), "
                                     "conflicting state (409)…", "content": _content(ERROR)}
    return answers


def _content(schema: Schema | Content) -> dict[str, Any]:
    media = schema.media if isinstance(schema, Content) else {"application/json": schema}
    return {media_type: {"schema": s} for media_type, s in media.items()}


_STATUS_TEXT = {200: "OK", 201: "Created"}


@bp.get("/api/docs")
def docs_page() -> Any:
    """The API described for people: a page of our own that renders /api/v1/openapi.json."""
    return render_template("api/docs.html")

