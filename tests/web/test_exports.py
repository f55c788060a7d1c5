"""CSV and Excel downloads (web/exports.py)."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from web.exports import Column, csv_bytes, xlsx_bytes


def test_text_with_control_characters_still_makes_a_workbook() -> None:
    """Found by schemathesis: a department named with a control character made every .xlsx a 500."""
    columns = [Column("department", "部门"), Column("open", "在办", "int")]
    rows = [{"department": "甲\x1c局\x00", "open": 3}]
    book = load_workbook(io.BytesIO(xlsx_bytes(columns, rows, "departments")))
    assert [[c.value for c in row] for row in book.active.iter_rows()] == [["部门", "在办"], ["甲局", 3]]
    assert "甲\x1c局" in csv_bytes(columns, rows).decode("utf-8-sig")
