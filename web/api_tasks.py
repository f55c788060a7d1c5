"""API for the approval vocabulary on a task (extends /api/v1): one endpoint per operation."""
from __future__ import annotations

from typing import Any, Callable

from flask import g, jsonify, request

from engine.errors import InvalidInput
from engine.operations import (
    add_signer,
    batch_approve,
    copy_task,
    delegate_task,
    give_opinion,
    phrases_for,
    remove_signer,
    resolve_task,
    return_to_step,
    save_phrase,
    transfer_task,
    withdraw_task,
)
from engine.runtime import get_task
from engine.tasks import complete_task, unclaim_task
from engine.types import MAX_ROW_ID
from engine.vocab import Outcome
from web.api import TASK, authenticated, bp, json_body, task_json
from web.extensions import clock, db_session
from web.openapi import BOOL, STR, ApiDoc, array, documented, enum, payload

NAMES = array(STR)
# The request of each operation of `task_operation`, by its path segment.
OPERATION_DOCS = {
    "transfer": ApiDoc({200: TASK}, payload(["to", "reason"], to=STR, reason=STR)),
    "delegate": ApiDoc({200: TASK}, payload(["to"], to=STR)),
    "resolve": ApiDoc({200: TASK}, payload(opinion=STR), request_required=False),
    "add-signer": ApiDoc({200: TASK}, payload(["to", "position"], to=STR, position=enum("before", "after"))),
    "remove-signer": ApiDoc({200: TASK}, payload(["user"], user=STR)),
    "withdraw": ApiDoc({200: TASK}),
    "unclaim": ApiDoc({200: TASK}),
    "cc": ApiDoc({200: TASK}, payload(users=NAMES, departments=NAMES)),
}


def _body() -> dict[str, Any]:
    return json_body() if request.get_data() else {}


def _str(body: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{key} is required and must be a string")
    return value


def _names(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{key} must be a list of names")
    return value


def _answer(task_id: int) -> Any:
    return jsonify(task_json(get_task(db_session(), task_id)))


OPERATIONS: dict[str, Callable[[int, dict[str, Any]], Any]] = {
    "transfer": lambda t, b: transfer_task(db_session(), clock(), g.user, t, _str(b, "to"), _str(b, "reason")),
    "delegate": lambda t, b: delegate_task(db_session(), clock(), g.user, t, _str(b, "to")),
    "resolve": lambda t, b: resolve_task(db_session(), clock(), g.user, t, _str(b, "opinion", required=False)),
    "add-signer": lambda t, b: add_signer(db_session(), clock(), g.user, t, _str(b, "to"), _str(b, "position")),
    "remove-signer": lambda t, b: remove_signer(db_session(), clock(), g.user, t, _str(b, "user")),
    "withdraw": lambda t, b: withdraw_task(db_session(), clock(), g.user, t),
    "unclaim": lambda t, b: unclaim_task(db_session(), clock(), g.user, t),
    "cc": lambda t, b: copy_task(db_session(), clock(), g.user, t, _names(b, "users"), _names(b, "departments")),
}


@bp.post("/tasks/<int:task_id>/<any(transfer, delegate, resolve, 'add-signer', 'remove-signer', withdraw, unclaim, cc):op>")
@authenticated
@documented({200: TASK}, per_value=OPERATION_DOCS)
def task_operation(task_id: int, op: str) -> Any:
    """An operation on a task: 转办 (transfer), 委派 (delegate) and its resolution, 加签 / 减签, 撤回
    (withdraw one's completion), unclaim, 抄送 (cc)."""
    OPERATIONS[op](task_id, _body())
    return _answer(task_id)


@bp.post("/tasks/<int:task_id>/return")
@authenticated
@documented({200: TASK}, payload(["reason"], to_step=STR, reason=STR))
def return_task(task_id: int) -> Any:
    """退回: to a step already passed (`to_step`), or without one, 退回补正 to the applicant."""
    body = _body()
    to_step, reason = _str(body, "to_step", required=False), _str(body, "reason", required=False)
    if not (reason or "").strip():
        raise InvalidInput("a reason is required to return a task")
    if to_step:
        return_to_step(db_session(), clock(), g.user, task_id, to_step, reason or "")
    else:
        complete_task(db_session(), clock(), g.user, task_id, Outcome.RETURN, reason)
    return _answer(task_id)


@bp.post("/tasks/<int:task_id>/opinion")
@authenticated
@documented({200: TASK}, payload(["opinion"], opinion=STR, agree=BOOL))
def signer_opinion(task_id: int) -> Any:
    """An added signer's (加签) opinion on the task."""
    body = _body()
    agree = body.get("agree", True)
    if not isinstance(agree, bool):
        raise InvalidInput("agree must be true or false")
    give_opinion(db_session(), clock(), g.user, task_id, _str(body, "opinion") or "", agree)
    return _answer(task_id)


@bp.post("/tasks/batch-approve")
@authenticated
@documented({200: {"type": "object", "required": ["results"],
                   "properties": {"results": {"type": "object", "additionalProperties": STR,
                                              "description": "by task id: approved, or why not"}}}},
            payload(["ids", "opinion"], ids=array({"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID},
                                                  minItems=1, maxItems=200), opinion=STR))
def approve_many() -> Any:
    """Batch 通过 of routine tasks, each on its own: one refusal does not undo the others."""
    body = json_body()
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_ROW_ID
                                            for i in ids):
        raise InvalidInput("ids must be a list of task ids")
    results = batch_approve(db_session(), clock(), g.user, ids, _str(body, "opinion") or "")
    return jsonify({"results": {str(k): v for k, v in results.items()}})


@bp.get("/opinion-phrases")
@authenticated
@documented({200: NAMES})
def phrases() -> Any:
    """Reusable opinions (常用意见): one's own first, then the shared ones."""
    return jsonify(phrases_for(db_session(), g.user))


@bp.post("/opinion-phrases")
@authenticated
@documented({201: NAMES}, payload(["text"], text=STR))
def add_phrase() -> Any:
    """Save a reusable opinion of one's own."""
    save_phrase(db_session(), g.user, _str(json_body(), "text") or "")
    return jsonify(phrases_for(db_session(), g.user)), 201
