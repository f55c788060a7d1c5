"""One endpoint per operation on a task: POST /api/v1/tasks/<id>/<op>."""
from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.web.conftest import basic


@pytest.fixture
def case(client, db, clock, staff) -> dict:
    with db.writer.begin() as s:
        make_user(s, clock, "alpha2", ["reviewer"], "alpha")
        make_user(s, clock, "alpha_head", ["department_head", "reviewer"], "alpha")
    created = client.post("/api/v1/cases", json={"definition": "parallel_three", "applicant": {"name": "张三"}}, headers=basic("window"))
    return created.get_json()


def task_of(client, case: dict, element_id: str) -> dict:
    tasks = client.get(f"/api/v1/cases/{case['id']}", headers=basic("supervisor")).get_json()["tasks"]
    return [t for t in tasks if t["element_id"] == element_id][-1]


def post(client, task_id: int, op: str, actor: str, **body):
    return client.post(f"/api/v1/tasks/{task_id}/{op}", json=body, headers=basic(actor))


def test_transfer_delegate_resolve(client, case) -> None:
    task = task_of(client, case, "review_alpha")
    assert post(client, task["id"], "transfer", "alpha", to="alpha2").status_code == 422  # reason required
    moved = post(client, task["id"], "transfer", "alpha", to="alpha2", reason="出差")
    assert moved.status_code == 200 and moved.get_json()["assignee"] == "alpha2"
    assert post(client, task["id"], "transfer", "alpha2", to="beta", reason="x").status_code == 403
    assert post(client, task["id"], "delegate", "alpha2", to="alpha").get_json()["assignee"] == "alpha"
    assert post(client, task["id"], "resolve", "alpha", opinion="已核查").get_json()["assignee"] == "alpha2"
    done = post(client, task["id"], "complete", "alpha2", outcome="approve", opinion="同意")
    assert done.status_code == 200


def test_return_to_a_step_and_to_the_applicant(client, case) -> None:
    task = task_of(client, case, "review_alpha")
    assert post(client, task["id"], "return", "alpha").status_code == 422
    assert post(client, task["id"], "return", "alpha", to_step="nowhere", reason="x").status_code == 422
    supplement = post(client, task["id"], "return", "alpha", reason="缺少平面图")
    assert supplement.status_code == 200 and supplement.get_json()["outcome"] == "return"
    assert task_of(client, case, "supplement_alpha")["state"] == "open"
    beta = task_of(client, case, "review_beta")
    back = post(client, beta["id"], "return", "beta", to_step="intake", reason="申请表有误")
    assert back.status_code == 200 and back.get_json()["state"] == "cancelled"
    assert task_of(client, case, "intake")["state"] == "open"


def test_withdraw_cc_and_lists(client, case) -> None:
    task = task_of(client, case, "review_alpha")
    assert post(client, task["id"], "withdraw", "alpha").status_code == 409
    post(client, task["id"], "complete", "alpha", outcome="approve", opinion="同意")
    assert post(client, task["id"], "withdraw", "alpha").get_json()["state"] == "claimed"
    assert post(client, task["id"], "cc", "alpha").status_code == 422
    assert post(client, task["id"], "cc", "alpha", users=["gamma"], departments=["beta"]).status_code == 200
    cc = client.get("/api/v1/tasks?view=cc", headers=basic("gamma")).get_json()
    assert [t["id"] for t in cc] == [task["id"]]
    todo = client.get("/api/v1/tasks?view=todo", headers=basic("alpha")).get_json()
    assert [t["id"] for t in todo] == [task["id"]]
    assert client.get("/api/v1/tasks?view=started", headers=basic("window")).get_json()
    assert client.get("/api/v1/tasks?view=sideways", headers=basic("alpha")).status_code == 422


def test_signers_batch_and_phrases(client, case) -> None:
    task = task_of(client, case, "review_alpha")
    assert post(client, task["id"], "add-signer", "alpha", to="beta", position="before").status_code == 200
    assert post(client, task["id"], "complete", "alpha", outcome="approve", opinion="同意").status_code == 409
    signer = client.get("/api/v1/tasks?view=todo", headers=basic("beta")).get_json()
    cosign = next(t for t in signer if t["kind"] == "cosign")
    assert post(client, cosign["id"], "opinion", "beta", opinion="无异议").status_code == 200
    assert post(client, task["id"], "add-signer", "alpha", to="gamma", position="before").status_code == 200
    assert post(client, task["id"], "remove-signer", "alpha", user="gamma").status_code == 200
    result = client.post("/api/v1/tasks/batch-approve", json={"ids": [task["id"], task_of(client, case, "review_beta")["id"]], "opinion": "同意"}, headers=basic("alpha")).get_json()
    assert result["results"][str(task["id"])] == "approved" and "department" in result["results"][str(task_of(client, case, "review_beta")["id"])]
    assert "同意。" in client.get("/api/v1/opinion-phrases", headers=basic("alpha")).get_json()
    added = client.post("/api/v1/opinion-phrases", json={"text": "经核查符合条件"}, headers=basic("alpha"))
    assert added.status_code == 201 and added.get_json()[0] == "经核查符合条件"
