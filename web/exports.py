"""CSV and Excel (openpyxl) downloads of the tables on the supervisor's desk and in the API.

A table is a list of `Column`s and rows (mappings by column key). Both formats carry the same
cells: CSV in UTF-8 with a byte-order mark (so Excel on a Chinese Windows opens it as UTF-8),
Excel as real numbers, percentages and dates rather than text.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Response, jsonify, request
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from engine.calendar import OFFICE_TZ
from engine.errors import InvalidInput

FORMATS = ("csv", "xlsx")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, float, ratio (0–1), datetime (aware), date

    def cell(self, value: Any) -> Any:
        """The value as a spreadsheet cell: local naive datetimes (Excel has no zones), and text without
        the control characters a worksheet cannot hold (openpyxl refuses the whole file otherwise)."""
        if isinstance(value, datetime):
            return value.astimezone(OFFICE_TZ).replace(tzinfo=None)
        if isinstance(value, str):
            return defused(ILLEGAL_CHARACTERS_RE.sub("", value))
        return value

    def text(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return "1" if value else "0"
        if self.kind == "ratio":
            return f"{value:.4f}"
        if self.kind == "float":
            return f"{value:.2f}"
        return defused(str(value)) if isinstance(value, str) else str(value)


# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection):
# an applicant's name "=HYPERLINK(...)" must reach the supervisor's Excel as text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def defused(text: str) -> str:
    """Text a spreadsheet shows as typed: a leading apostrophe stops formula evaluation (OWASP)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


NUMBER_FORMATS = {"ratio": "0.00%", "float": "0.00", "datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}


def requested_format(value: str | None) -> str | None:
    if not value:
        return None
    if value not in FORMATS:
        raise InvalidInput("format must be csv or xlsx")
    return value


def csv_bytes(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], header: str = "label") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([getattr(c, header) for c in columns])
    for row in rows:
        writer.writerow([c.text(row.get(c.key)) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], title: str, header: str = "label") -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(title))
    for number, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = max(10, min(40, len(str(getattr(column, header))) * 2 + 4))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=getattr(column, header))
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        cells = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=column.cell(row.get(column.key)))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever openpyxl guesses from the text
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    for bad in "[]:*?/\\":
        title = title.replace(bad, " ")
    return title[:31] or "Sheet1"


def download(fmt: str, filename: str, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], title: str,
             header: str = "label") -> Response:
    """The table as an attachment; `header` picks the column labels (pages) or keys (the API)."""
    if fmt == "csv":
        body, mimetype = csv_bytes(columns, rows, header), "text/csv; charset=utf-8"
    else:
        body, mimetype = xlsx_bytes(columns, rows, title, header), XLSX_MIME
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def table_response(rows: list[dict[str, Any]], columns: Sequence[Column], name: str, total: int | None = None) -> Response:
    """An API table: JSON, or with `?format=csv|xlsx` the same rows as a download with the JSON keys as
    headers; `total` (the rows of every page) goes in `X-Total-Count`."""
    fmt = requested_format(request.args.get("format"))
    if fmt:
        return download(fmt, name, columns, rows, name, header="key")
    response = jsonify(rows)
    if total is not None:
        response.headers["X-Total-Count"] = str(total)
    return response
