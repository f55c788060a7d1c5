"""API of the supervisor's desk (extends /api/v1): the live board and the statistics.

Every table also answers as `?format=csv` or `?format=xlsx`, with the JSON field names as headers.
Supervisors and administrators see every department; a department's head and reviewers only
their own (the all-department statistics answer 403 unless they name their own department).
"""
from __future__ import annotations

from typing import Any

from flask import g, request

from engine.board import MAX_ROWS, BoardFilter, board_rows, department_loads, open_cases
from engine.calendar_store import load_calendar
from engine.errors import InvalidInput
from engine.stats import (
    Period, channel_ratios, department_performance, departments_in_scope, matter_performance, monthly_by_department,
    monthly_by_matter, rating_ratios, require_office_wide, reviewer_performance,
)
from engine.types import MAX_ROW_ID
from web.api import authenticated, bp
from web.exports import Column, table_response
from web.extensions import clock, db_session
from web.supervisor import (
    board_columns, case_columns, configured_thresholds, load_columns, monthly_columns, performance_columns,
    performance_dicts, ratio_columns, ratio_dicts, step_history,
)

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def _page() -> tuple[int, int]:
    limit = request.args.get("limit", DEFAULT_LIMIT, type=int)
    offset = request.args.get("offset", 0, type=int)
    if not 1 <= limit <= MAX_LIMIT or not 0 <= offset <= MAX_ROW_ID:
        raise InvalidInput(f"limit must be 1–{MAX_LIMIT} and offset 0–{MAX_ROW_ID}")
    return limit, offset


def _period() -> Period:
    return Period.parse(request.args.get("from"), request.args.get("to"))


@bp.get("/board")
@authenticated
def board() -> Any:
    """Open tasks with their warning level, working days left and their case's prediction, most urgent first."""
    session, now = db_session(), clock().now()
    filters = BoardFilter.parse(request.args)
    limit, offset = (MAX_ROWS, 0) if request.args.get("format") else _page()
    rows, total = board_rows(session, g.user, load_calendar(session), now, filters, limit, offset, step_history())
    return table_response([r.to_dict() for r in rows], board_columns(), "board", total)


@bp.get("/board/cases")
@authenticated
def board_cases() -> Any:
    """Open cases with their predicted completion; `predicted=late` keeps those predicted to miss their promise."""
    session, now = db_session(), clock().now()
    filters = BoardFilter.parse(request.args)
    limit, offset = (MAX_ROWS, 0) if request.args.get("format") else _page()
    rows, total = open_cases(session, g.user, load_calendar(session), now, filters,
                             request.args.get("predicted") == "late", limit, offset, step_history())
    return table_response([r.to_dict() for r in rows], case_columns(), "open-cases", total)


@bp.get("/board/departments")
@authenticated
def board_departments() -> Any:
    """The department view: open, at-risk and overdue tasks per department."""
    loads = department_loads(db_session(), g.user, clock().now(), BoardFilter.parse(request.args))
    return table_response([{"department": d.code, "department_name": d.name, "open": d.open, "at_risk": d.at_risk,
                    "overdue": d.overdue, "level": d.level, "counts": d.counts} for d in loads],
                  load_columns(), "departments")


@bp.get("/stats/departments")
@authenticated
def stats_departments() -> Any:
    session = db_session()
    scope = departments_in_scope(session, g.user, request.args.get("department") or None)
    rows = department_performance(session, load_calendar(session), clock().now(), _period(), scope, configured_thresholds())
    return table_response([{"department": d.pop("key"), **d} for d in performance_dicts(rows)],
                  [Column("department", "department"), *performance_columns("")[1:]], "departments")


@bp.get("/stats/matters")
@authenticated
def stats_matters() -> Any:
    require_office_wide(g.user)
    session = db_session()
    rows = matter_performance(session, load_calendar(session), clock().now(), _period(), configured_thresholds())
    return table_response([{"definition": d.pop("key"), **d} for d in performance_dicts(rows)],
                  [Column("definition", "definition"), *performance_columns("")[1:]], "matters")


@bp.get("/stats/reviewers")
@authenticated
def stats_reviewers() -> Any:
    session = db_session()
    scope = departments_in_scope(session, g.user, request.args.get("department") or None)
    rows = reviewer_performance(session, load_calendar(session), clock().now(), _period(), scope, configured_thresholds())
    return table_response([{"username": d.pop("key"), **d} for d in performance_dicts(rows)],
                  [Column("username", "username"), *performance_columns("")[1:]], "reviewers")


@bp.get("/stats/monthly")
@authenticated
def stats_monthly() -> Any:
    """办件量 by month and 一件事 (`by=department`: by month and department)."""
    session, now = db_session(), clock().now()
    by = request.args.get("by") or "matter"
    if by == "matter":
        require_office_wide(g.user)
        counts, key = monthly_by_matter(session, load_calendar(session), now, _period()), "definition"
    elif by == "department":
        scope = departments_in_scope(session, g.user, request.args.get("department") or None)
        counts, key = monthly_by_department(session, load_calendar(session), now, _period(), scope), "department"
    else:
        raise InvalidInput("by must be matter or department")
    rows = [{"month": c.month, key: c.key, "name": c.name, "cases": c.cases} for c in counts]
    columns = monthly_columns(key)
    return table_response(rows, [columns[0], Column(key, key), *columns[2:]], f"monthly-by-{by}")


@bp.get("/stats/channels")
@authenticated
def stats_channels() -> Any:
    """一次办 / 网上办 / 马上办 with their definitions."""
    require_office_wide(g.user)
    session = db_session()
    return table_response(ratio_dicts(channel_ratios(session, load_calendar(session), clock().now(), _period())),
                  ratio_columns(), "channels")


@bp.get("/stats/ratings")
@authenticated
def stats_ratings() -> Any:
    """好差评: 主动评价率 and 差评整改率 with their definitions."""
    require_office_wide(g.user)
    return table_response(ratio_dicts(rating_ratios(db_session(), _period())), ratio_columns(), "ratings")
