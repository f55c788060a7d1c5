"""Schemas of the supervisor's-desk API (web/api_stats.py), declared from outside that module while
it is being reworked; move them next to its views as `@documented` when it settles.

Rows are described as objects without listing their fields yet: their columns are still changing.
"""
from __future__ import annotations

from engine.types import MAX_ROW_ID
from engine.vocab import Channel, WarningLevel
from web.exports import FORMATS, XLSX_MIME
from web.openapi import DATE, OBJECT, STR, ApiDoc, Content, array, document, enum

TABLE = Content({
    "application/json": array(OBJECT),
    "text/csv": {"type": "string", "description": "the same rows as CSV (UTF-8 with BOM), JSON keys as headers"},
    XLSX_MIME: {"type": "string", "format": "binary", "description": "the same rows as an Excel workbook"},
})
PERIOD = {"from": DATE, "to": DATE}
FORMAT = {"format": enum(*FORMATS)}
PAGE = {"limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        "offset": {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID, "default": 0}}
BOARD_FILTER = {
    "department": STR, "definition": STR, "assignee": STR, "channel": enum(*Channel),
    "warning": {"type": "string", "description": f"comma-separated levels among {', '.join(WarningLevel)}"},
    **PERIOD, "sort": enum("remaining", "-remaining"),
}

document("api.board", ApiDoc({200: TABLE}, query={**BOARD_FILTER, **PAGE, **FORMAT}))
document("api.board_cases", ApiDoc({200: TABLE}, query={**BOARD_FILTER, **PAGE, **FORMAT, "predicted": enum("late")}))
document("api.board_departments", ApiDoc({200: TABLE}, query={**BOARD_FILTER, **FORMAT}))
document("api.stats_departments", ApiDoc({200: TABLE}, query={**PERIOD, "department": STR, **FORMAT},
                                         summary="Performance by department: 按时办结率, average working days, ratings."))
document("api.stats_matters", ApiDoc({200: TABLE}, query={**PERIOD, **FORMAT},
                                     summary="Performance by 一件事 (supervisors, administrators)."))
document("api.stats_reviewers", ApiDoc({200: TABLE}, query={**PERIOD, "department": STR, **FORMAT},
                                       summary="Performance by reviewer."))
document("api.stats_monthly", ApiDoc({200: TABLE}, query={**PERIOD, "by": enum("matter", "department"), "department": STR,
                                                          **FORMAT}))
document("api.stats_channels", ApiDoc({200: TABLE}, query={**PERIOD, **FORMAT}))
document("api.stats_ratings", ApiDoc({200: TABLE}, query={**PERIOD, **FORMAT}))
