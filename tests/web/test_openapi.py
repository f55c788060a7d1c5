"""The OpenAPI description of /api/v1 (web/openapi.py): valid, complete, and true of the running API.

The last tests run schemathesis over every operation, in-process through the WSGI app, once as an
administrator and once as a reviewer: no answer may be a 5xx, and every answer must match the
description (status code and body schema).
"""
from __future__ import annotations

import itertools
import re
import traceback
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
from sqlalchemy import select

from engine.db import Database
from engine.models import Task, User
from engine.supervision import issue_order
from engine.tokens import create_token
from tests.factories import make_case
from tests.web.conftest import basic
from web.openapi import api_rules, doc_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_PER_OPERATION = 20
SLOW_EXAMPLES = 5
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _operations_of_url_map(app: Flask) -> set[tuple[str, str]]:
    """(method, path) for every rule of the API blueprint, any(...) variables spelled out."""
    found = set()
    for rule in api_rules(app):
        paths = [re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))]
        match = re.search(r"<any\(([^)]*)\):(\w+)>", rule.rule)
        if match:
            values = [v.strip().strip("'") for v in match.group(1).split(",")]
            paths = [re.sub(r"\{" + match.group(2) + r"\}", v, re.sub(r"<any\([^)]*\):(\w+)>", r"{\1}", p))
                     for p in paths for v in values]
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.update((method.lower(), p) for p in paths)
    return found


def test_the_description_is_valid_openapi_3(client: FlaskClient) -> None:
    document = _document(client)
    assert document["openapi"].startswith("3.")
    assert [str(e) for e in OPENAPI_31_VALIDATOR.iter_errors(document)] == []
    schemathesis.openapi.from_dict(document).validate()
    schemes = document["components"]["securitySchemes"]
    assert schemes["basic"] == {"type": "http", "scheme": "basic", "description": schemes["basic"]["description"]}
    assert schemes["bearer"]["scheme"] == "bearer"


def test_every_api_route_is_described_and_documented(app: Flask, client: FlaskClient) -> None:
    document = _document(client)
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert described == _operations_of_url_map(app)
    # A new view without a declaration next to it (or a docstring) fails here.
    assert [r.endpoint for r in api_rules(app) if doc_of(app, r.endpoint) is None] == []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert "x-undocumented" not in operation, where
            assert operation["summary"], where
            assert any(code.startswith("2") for code in operation["responses"]), where
            assert operation["responses"]["4XX"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, where
    assert len({o["operationId"] for item in document["paths"].values() for o in item.values()}) == len(described)


def test_path_parameters_carry_their_converter_types(client: FlaskClient) -> None:
    paths = _document(client)["paths"]
    case_id = paths["/cases/{case_id}"]["get"]["parameters"][0]
    assert case_id["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    assert paths["/definitions/{key}/versions"]["get"]["parameters"][0]["schema"]["type"] == "string"
    transfer = paths["/tasks/{task_id}/transfer"]["post"]
    assert transfer["requestBody"]["content"]["application/json"]["schema"]["required"] == ["to", "reason"]
    assert "requestBody" not in paths["/tasks/{task_id}/withdraw"]["post"]


def test_public_operations_need_no_credentials(client: FlaskClient) -> None:
    paths = _document(client)["paths"]
    assert paths["/progress"]["get"]["security"] == []
    assert paths["/openapi.json"]["get"]["security"] == []
    assert "security" not in paths["/cases"]["post"]
    assert "401" in paths["/cases"]["post"]["responses"]


def test_a_number_too_large_for_an_id_is_a_404_not_an_overflow(client: FlaskClient, staff) -> None:
    response = client.get(f"/api/v1/cases/{2**31}", headers=basic("admin"))
    assert response.status_code == 404
    assert "error" in response.get_json()
    assert client.get(f"/api/v1/cases/{2**64}", headers=basic("admin")).status_code == 404


def test_the_docs_page_renders_the_description_with_our_own_script(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-src="/api/v1/openapi.json"' in html
    assert '<script src="/static/js/api-docs.js" defer></script>' in html
    # No inline script and nothing from another origin: the page lives under `default-src 'self'`.
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html)
    assert "http://" not in html and "https://" not in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/static/js/api-docs.js").status_code == 200


@pytest.fixture
def known_rows(db: Database, clock, staff: dict[str, int]) -> dict[str, list[Any]]:
    """Rows for the generated requests to find: three cases with their tasks, a 督办单, a token."""
    with db.writer.begin() as s:
        clerk, supervisor, admin = (s.get(User, staff[name]) for name in ("window", "supervisor", "admin"))
        cases = [make_case(s, clock, clerk) for _ in range(3)]
        order = issue_order(s, clock, supervisor, cases[0].id, "alpha", 3, "请加快办理")
        token, _plain = create_token(s, clock, admin, "supervisor", "provincial platform")
        tasks = s.scalars(select(Task.id).where(Task.case_id.in_([c.id for c in cases]))).all()
        return {"case_id": [c.id for c in cases], "task_id": list(tasks), "order_id": [order.id], "token_id": [token.id],
                "year": [2026], "key": ["parallel_three"]}


def _valid_bodies(known: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """A valid body for some operations, sent (with existing rows in the path) beside the generated ones,
    so the run also walks the success paths and checks their answers against the description."""
    return {
        "POST /cases": {"definition": "parallel_three", "applicant": {"name": "李四", "phone": "13900139000"}, "data": {}},
        "POST /tasks/{task_id}/complete": {"outcome": "approve", "opinion": "同意"},
        "POST /tasks/{task_id}/return": {"reason": "材料不全"},
        "POST /tasks/{task_id}/pause": {"kind": "special_procedure", "reason": "专家评审", "procedure": "expert_review"},
        "POST /tasks/{task_id}/transfer": {"to": "beta", "reason": "不属本部门"},
        "POST /tasks/{task_id}/cc": {"departments": ["beta"]},
        "POST /tasks/{task_id}/add-signer": {"to": "beta", "position": "before"},
        "POST /tasks/{task_id}/urge": {"message": "请加快办理"},
        "POST /tasks/batch-approve": {"ids": known["task_id"], "opinion": "同意"},
        "POST /supervision-orders": {"case_id": known["case_id"][0], "department": "alpha", "reply_within_days": 3,
                                     "text": "请说明进度"},
        "POST /supervision-orders/{order_id}/reply": {"text": "已办理"},
        "POST /departments": {"code": "delta", "name": "丁局"},
        "POST /users": {"username": "delta", "password": "secret123", "roles": ["reviewer"], "department": "alpha"},
        "POST /tokens": {"user": "supervisor", "name": "省级平台"},
        "POST /definitions/{key}/simulate": {"data": {}},
        "POST /definitions/{key}/migrate": {"from_version": 1, "to_version": 1},
    }


def _strategy(operation: schemathesis.APIOperation, known: dict[str, list[Any]]) -> st.SearchStrategy:
    """Generated requests, valid and invalid ones; valid ones with existing rows in the path, and with a
    valid body where one is listed."""
    names = re.findall(r"\{(\w+)\}", operation.path)
    rows = [dict(zip(names, values)) for values in itertools.product(*(known.get(n, []) for n in names))] if names else []
    strategies = [operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)]
    if rows:
        strategies.append(st.sampled_from(rows).flatmap(lambda row: operation.as_strategy(path_parameters=row)))
    body = _valid_bodies(known).get(operation.label)
    if body is not None:
        strategies.append(st.sampled_from(rows or [{}]).flatmap(
            lambda row: operation.as_strategy(path_parameters=row or None, body=body)))
    return st.one_of(strategies)


def _examples(operation: schemathesis.APIOperation) -> int:
    # The statistics build a per-day index over the whole period asked for, and generated periods span
    # centuries: a few seconds a request (reported against engine/stats.py), so fewer of them.
    return SLOW_EXAMPLES if operation.path.startswith("/stats/") else EXAMPLES_PER_OPERATION


def _run_schemathesis(app: Flask, known: dict[str, list[Any]], username: str) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = basic(username)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        # Derandomized: the same requests on every run, so a failure here is a regression, not luck.
        @given(case=_strategy(operation, known))
        @settings(max_examples=_examples(operation), deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{operation.label} as {username}: {_explain(failure)}")
    return failures


def _explain(failure: BaseException) -> str:
    """A check's own report, or for an exception the app raised (a 500 under TESTING) where it was raised."""
    if isinstance(failure, AssertionError) or type(failure).__module__.startswith("schemathesis"):
        return str(failure)
    frames = [f for f in traceback.extract_tb(failure.__traceback__)
              if f.filename.startswith(str(ROOT)) and not f.filename.startswith(str(ROOT / ".venv"))]
    where = f" at {frames[-1].filename}:{frames[-1].lineno} ({frames[-1].line})" if frames else ""
    return f"{type(failure).__name__}: {failure}{where}"


@pytest.mark.parametrize("username", ["admin", "alpha"])
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_description(
    app: Flask, known_rows: dict[str, list[Any]], username: str,
) -> None:
    failures = _run_schemathesis(app, known_rows, username)
    assert failures == [], "\n\n".join(failures)


# Found by schemathesis: both were 500s.
@pytest.mark.parametrize("url", ["/api/v1/stats/channels?from=0001-01-01", "/api/v1/stats/matters?to=9999-12-31",
                                 "/api/v1/board?from=0001-01-01"])
def test_a_period_at_the_ends_of_the_calendar_is_refused(client: FlaskClient, staff, url: str) -> None:
    assert client.get(url, headers=basic("admin")).status_code == 422


def test_an_offset_too_large_for_the_database_is_refused(client: FlaskClient, staff) -> None:
    assert client.get(f"/api/v1/board?offset={2**70}", headers=basic("admin")).status_code == 422
