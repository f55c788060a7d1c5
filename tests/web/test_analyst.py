"""Analysts on the web: the /api/v1 definition endpoints, the designer's JSON views, history and migration."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.factories import bpmn
from tests.web.conftest import basic, csrf_token, login

MODELER = Path(__file__).resolve().parents[1] / "engine" / "bpmn" / "modeler"
V2 = bpmn("parallel_three.bpmn").replace(b'name="timeLimitDays" value="5"', b'name="timeLimitDays" value="7"')


def start_case(client) -> int:
    body = {"definition": "parallel_three", "applicant": {"name": "张三"}, "data": {"venue_name": "星空网吧"}}
    created = client.post("/api/v1/cases", json=body, headers=basic("window"))
    assert created.status_code == 201
    return created.get_json()["id"]


def deploy_v2(client) -> None:
    deployed = client.post("/api/v1/definitions?comment=v2", data=V2, headers=basic("analyst"))
    assert deployed.status_code == 201 and deployed.get_json()["version"] == 2


# --- /api/v1 -------------------------------------------------------------------------------------


def test_validate_answers_errors_and_warnings_for_analysts_only(client, staff) -> None:
    ok = client.post("/api/v1/definitions/validate", data=(MODELER / "plain_parallel.bpmn").read_bytes(), headers=basic("analyst"))
    body = ok.get_json()
    assert ok.status_code == 200 and body["errors"] == [] and body["warnings"][0]["element_id"] == "modeler_flow"
    bad = client.post("/api/v1/definitions/validate", data=(MODELER / "label_words.bpmn").read_bytes(), headers=basic("admin"))
    assert bad.status_code == 200 and {e["element_id"] for e in bad.get_json()["errors"]} == {"f_return", "f_ok"}
    assert set(bad.get_json()["errors"][0]) >= {"element_id", "message"}
    assert client.post("/api/v1/definitions/validate", data=V2, headers=basic("alpha")).status_code == 403
    assert client.post("/api/v1/definitions/validate", data=V2).status_code == 401


@pytest.mark.parametrize("content", [
    b"", os.urandom(2048), bpmn("parallel_three.bpmn")[:900], b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    bpmn("parallel_three.bpmn").replace('name="受理"'.encode(), b'name="' + b"x" * 2_200_000 + b'"'),
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p" isExecutable="true">'
    b'<bpmn:sequenceFlow id="f" sourceRef="a" targetRef="b"/></bpmn:process></bpmn:definitions>',
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p" isExecutable="true">'
    b'<bpmn:startEvent id="s"/><bpmn:subProcess id="sub"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="sub"/>'
    b'<bpmn:callActivity id="c" calledElement="nowhere"/></bpmn:process></bpmn:definitions>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\xe9</bpmn:definitions>',
])
def test_no_uploaded_file_gets_a_500(client, staff, content: bytes) -> None:
    checked = client.post("/api/v1/definitions/validate", data=content, headers=basic("analyst"))
    assert checked.status_code == 200 and checked.get_json()["errors"], checked.get_json()
    deployed = client.post("/api/v1/definitions", data=content, headers=basic("analyst"))
    assert 400 <= deployed.status_code < 500 and "error" in deployed.get_json()


def test_versions_download_and_diff(client, staff) -> None:
    deploy_v2(client)
    versions = client.get("/api/v1/definitions/parallel_three/versions", headers=basic("analyst")).get_json()
    assert [(v["version"], v["author"], v["comment"]) for v in versions] == [(2, "analyst", "v2"), (1, None, "")]
    download = client.get("/api/v1/definitions/parallel_three/xml?version=1", headers=basic("analyst"))
    assert download.status_code == 200 and download.mimetype == "application/xml"
    assert "parallel_three-v1.bpmn" in download.headers["Content-Disposition"]
    assert download.data == bpmn("parallel_three.bpmn")
    assert client.get("/api/v1/definitions/parallel_three/xml", headers=basic("analyst")).data == V2
    assert client.get("/api/v1/definitions/parallel_three/xml?version=9", headers=basic("analyst")).status_code == 404
    diff = client.get("/api/v1/definitions/parallel_three/diff?from=1&to=2", headers=basic("analyst")).get_json()
    assert diff["changed"] == [{"element_id": "review_alpha", "type": "userTask", "name": "甲局审查",
                                "changes": [{"field": "time_limit_days", "from": 5, "to": 7}]}]
    assert client.get("/api/v1/definitions/parallel_three/diff?from=x&to=2", headers=basic("analyst")).status_code == 422
    assert client.get("/api/v1/definitions/parallel_three/versions", headers=basic("window")).status_code == 403


def test_simulate_a_version_or_a_draft(client, staff) -> None:
    url = "/api/v1/definitions/parallel_three/simulate"
    result = client.post(url, json={"outcomes": {"review_beta": "reject"}}, headers=basic("analyst")).get_json()
    assert result["path"][-1] == "end_rejected" and result["finished"]
    assert set(result["parallel"][1]["departments"]) == {"alpha", "beta", "gamma"}
    assert all(set(t) >= {"element_id", "department", "due_at"} for t in result["tasks"])
    draft = client.post(url, json={"xml": V2.decode()}, headers=basic("analyst")).get_json()
    alpha = next(t for t in draft["tasks"] if t["element_id"] == "review_alpha")
    assert alpha["time_limit_days"] == 7
    assert client.post(url, json={"outcomes": {"review_beta": "nope"}}, headers=basic("analyst")).status_code == 422
    assert client.post(url, json={"xml": "<bpmn"}, headers=basic("analyst")).status_code == 422
    assert client.get("/api/v1/cases/1", headers=basic("analyst")).status_code == 404  # no case was created


def test_migrate_previews_then_moves_open_cases(client, staff) -> None:
    case_id = start_case(client)
    deploy_v2(client)
    url = "/api/v1/definitions/parallel_three/migrate"
    preview = client.post(url, json={"from_version": 1, "to_version": 2, "dry_run": True}, headers=basic("analyst")).get_json()
    assert preview["dry_run"] and preview["migratable"] == 1 and preview["cases"][0]["case_id"] == case_id
    case = client.get(f"/api/v1/cases/{case_id}", headers=basic("supervisor")).get_json()
    assert case["definition"]["version"] == 1
    done = client.post(url, json={"from_version": 1, "to_version": 2, "dry_run": False}, headers=basic("analyst"))
    assert done.status_code == 200 and done.get_json()["migrated"] == 1
    case = client.get(f"/api/v1/cases/{case_id}", headers=basic("supervisor")).get_json()
    assert case["definition"]["version"] == 2 and case["events"][-1]["action"] == "migrated"
    alpha = next(t for t in case["tasks"] if t["department"] == "alpha")
    assert alpha["time_limit_days"] == 5  # the running step keeps the limit it started with
    assert client.post(url, json={"from_version": 1, "to_version": 2}, headers=basic("alpha")).status_code == 403
    assert client.post(url, json={"from_version": 2, "to_version": 2}, headers=basic("analyst")).status_code == 422


# --- the analyst's pages -------------------------------------------------------------------------


def test_designer_pages_are_for_analysts(client, staff) -> None:
    login(client, "alpha")
    assert client.get("/analyst/designer").status_code == 403
    assert client.get("/analyst/definitions/parallel_three/history").status_code == 403


def test_designer_opens_a_version_and_its_json_views_work(client, staff) -> None:
    login(client, "analyst")
    page = client.get("/analyst/designer?key=parallel_three&version=1").get_data(as_text=True)
    assert 'data-xml-url="/analyst/definitions/parallel_three/xml?version=1"' in page
    assert "bpmn-modeler.production.min.js" in page and "modeler.js" in page
    loaded = client.get("/analyst/definitions/parallel_three/xml?version=1").get_json()
    assert loaded["version"] == 1 and loaded["xml"].startswith("<?xml")
    token = csrf_token(client, "/analyst/designer")
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    checked = client.post("/analyst/designer/validate", json={"xml": V2.decode()}, headers=headers)
    assert checked.status_code == 200 and checked.get_json()["valid"]
    assert client.post("/analyst/designer/validate", json={"xml": V2.decode()}, headers={"Accept": "application/json"}).status_code == 400
    simulated = client.post("/analyst/designer/simulate", json={"xml": V2.decode(), "data": {}}, headers=headers)
    assert simulated.status_code == 200 and simulated.get_json()["finished"]
    refused = client.post("/analyst/designer/deploy", json={"xml": (MODELER / "label_words.bpmn").read_text()}, headers=headers)
    assert refused.status_code == 422 and {e["element_id"] for e in refused.get_json()["errors"]} == {"f_return", "f_ok"}
    deployed = client.post("/analyst/designer/deploy", json={"xml": V2.decode(), "comment": "甲局7日"}, headers=headers)
    assert deployed.status_code == 201 and deployed.get_json()["version"] == 2
    assert deployed.get_json()["history"] == "/analyst/definitions/parallel_three/history"


def test_template_makes_a_flow_that_deploys(client, staff) -> None:
    login(client, "analyst")
    xml = client.get("/analyst/designer/template.bpmn?key=new_thing&name=新事项&promised_days=8&departments=alpha&departments=gamma")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    token = csrf_token(client, "/analyst/designer")
    deployed = client.post("/analyst/designer/deploy", json={"xml": xml.get_data(as_text=True)},
                           headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["warnings"] == []
    versions = client.get("/api/v1/definitions/new_thing/versions", headers=basic("analyst")).get_json()
    assert versions[0]["name"] == "新事项"
    bad = client.get("/analyst/designer/template.bpmn?key=1bad&departments=alpha", headers={"Accept": "application/json"})
    assert bad.status_code == 422


def test_history_shows_the_diff_and_migrates_from_the_page(client, staff) -> None:
    case_id = start_case(client)
    deploy_v2(client)
    login(client, "analyst")
    page = client.get("/analyst/definitions/parallel_three/history").get_data(as_text=True)
    assert 'data-element="review_alpha" data-field="time_limit_days"' in page
    assert re.search(r'class="from">5<.*class="to">7<', page, re.S)
    preview = client.get("/analyst/definitions/parallel_three/history?from=1&to=2&preview=1").get_data(as_text=True)
    assert f'data-case="{case_id}"' in preview and 'id="run-migration"' in preview
    token = csrf_token(client, "/analyst/definitions/parallel_three/history")
    moved = client.post("/analyst/definitions/parallel_three/migrate", data={"from_version": 1, "to_version": 2, "csrf_token": token})
    assert moved.status_code == 302
    case = client.get(f"/api/v1/cases/{case_id}", headers=basic("supervisor")).get_json()
    assert case["definition"]["version"] == 2


def test_uploading_a_file_on_the_flows_page_shows_element_errors(client, staff) -> None:
    login(client, "analyst")
    token = csrf_token(client, "/analyst/")
    from io import BytesIO

    response = client.post("/analyst/deploy", data={"csrf_token": token, "bpmn": (BytesIO((MODELER / "complex_gateway.bpmn").read_bytes()), "x.bpmn")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "gw_complex" in response.get_data(as_text=True)
    response = client.post("/analyst/deploy", data={"csrf_token": token, "bpmn": (BytesIO((MODELER / "plain_parallel.bpmn").read_bytes()), "p.bpmn")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200 and "isExecutable" in response.get_data(as_text=True)
