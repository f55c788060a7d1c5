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
from engine.vocab import Outcome
from web.api import authenticated, bp, json_body, task_json
from web.extensions import clock, db_session


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
def task_operation(task_id: int, op: str) -> Any:
    OPERATIONS[op](task_id, _body())
    return _answer(task_id)


@bp.post("/tasks/<int:task_id>/return")
@authenticated
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
def signer_opinion(task_id: int) -> Any:
    body = _body()
    agree = body.get("agree", True)
    if not isinstance(agree, bool):
        raise InvalidInput("agree must be true or false")
    give_opinion(db_session(), clock(), g.user, task_id, _str(body, "opinion") or "", agree)
    return _answer(task_id)


@bp.post("/tasks/batch-approve")
@authenticated
def approve_many() -> Any:
    body = json_body()
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidInput("ids must be a list of task ids")
    results = batch_approve(db_session(), clock(), g.user, ids, _str(body, "opinion") or "")
    return jsonify({"results": {str(k): v for k, v in results.items()}})


@bp.get("/opinion-phrases")
@authenticated
def phrases() -> Any:
    return jsonify(phrases_for(db_session(), g.user))


@bp.post("/opinion-phrases")
@authenticated
def add_phrase() -> Any:
    save_phrase(db_session(), g.user, _str(json_body(), "text") or "")
    return jsonify(phrases_for(db_session(), g.user)), 201
