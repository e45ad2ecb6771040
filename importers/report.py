"""The downloadable error report: the original rows of an import file plus a column of reasons (xlsx).

Pure: takes the rows as ``importers.source.load_sheets`` read them and the Issues of the preview, writes a
workbook to a path or binary stream. Text is always written as text (codes keep their leading zeros, and text
starting with = + - @ tab or CR is never a formula: OWASP CSV/formula injection).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from importers.cells import show
from importers.errors import Issue

ERROR_COLUMN = "错误原因"
SUMMARY_SHEET = "错误清单"
SUMMARY_HEADER = ("工作表", "行", "列", "值", "原因")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FILL = PatternFill("solid", fgColor="FFF2CC")
_BOLD = Font(bold=True)

Rows = Sequence[tuple[int, Sequence[Any]]]


def put(ws: Worksheet, row: int, column: int, value: Any, *, text_format: bool = False) -> None:
    """Write one cell: str always as a string cell (never a formula), Decimal as its exact text, dates as dates,
    anything else (an unreadable formula cell) as the text ``cells.show`` gives it.

    ``text_format`` also gives the cell Excel's text format ``@`` so what a user types there stays text.
    """
    cell = ws.cell(row=row, column=column)
    if isinstance(value, Decimal):
        value = format(value, "f")
    elif value is not None and not isinstance(value, (str, int, float, dt.date, dt.time)):
        value = show(value)  # e.g. cells.Unreadable (a formula without a cached value): its text
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.value = value
        cell.data_type = "s"  # openpyxl turns "=..." into a formula otherwise
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True  # Excel/WPS show and keep it as text when the cell is edited
    else:
        cell.value = value
        if isinstance(value, dt.date):
            cell.number_format = "yyyy-mm-dd"
    if text_format:
        cell.number_format = "@"


def issue_text(issues: Iterable[Issue]) -> str:
    """Several issues of one row joined: ``列：原因；列：原因``."""
    return "；".join(f"{i.column}：{i.message}" if i.column else i.message for i in issues)


def write_error_report(
    sheets: Sequence[tuple[str, Rows]],
    issues: Sequence[Issue],
    out: str | os.PathLike[str] | IO[bytes],
    *,
    header_rows: Mapping[str, int] | None = None,
    only_error_rows: bool = False,
) -> None:
    """Write the report to ``out``.

    ``sheets``: (sheet name, [(1-based row number, cell values)]) as read; for a CSV the name is the file name.
    ``issues``: errors (and warnings, if wanted) whose ``sheet``/``row`` locate them. Each sheet is copied with
    its rows at their original row numbers and an extra last column ``错误原因`` (its title on the sheet's
    header row from ``header_rows``, else on the first non-blank row). ``only_error_rows`` keeps just the rows
    up to the header row and the rows with issues (for very large feeds). A last sheet ``错误清单`` lists every
    issue, including those not tied to a row that exists (a missing sheet, a file-level check).
    """
    by_place: dict[tuple[str, int], list[Issue]] = {}
    for issue in issues:
        by_place.setdefault((issue.sheet, issue.row), []).append(issue)
    book = openpyxl.Workbook()
    book.remove(book.active)
    used_names: set[str] = set()
    for name, rows in sheets:
        ws = book.create_sheet(_sheet_title(name, used_names))
        header_row = (header_rows or {}).get(name) or _first_filled(rows)
        width = max((len(values) for _, values in rows), default=0)
        error_col = width + 1
        for row_no, values in rows:
            found = by_place.get((name, row_no))
            if only_error_rows and row_no > header_row and not found:
                continue
            for c, value in enumerate(values, start=1):
                if value is not None:
                    put(ws, row_no, c, value)
            if found:
                put(ws, row_no, error_col, issue_text(found))
                ws.cell(row=row_no, column=error_col).fill = _FILL
        put(ws, header_row, error_col, ERROR_COLUMN)
        ws.cell(row=header_row, column=error_col).font = _BOLD
        ws.column_dimensions[ws.cell(row=1, column=error_col).column_letter].width = 60
    summary = book.create_sheet(_sheet_title(SUMMARY_SHEET, used_names))
    for c, title in enumerate(SUMMARY_HEADER, start=1):
        put(summary, 1, c, title)
        summary.cell(row=1, column=c).font = _BOLD
    for r, issue in enumerate(issues, start=2):
        for c, value in enumerate((issue.sheet, issue.row, issue.column, issue.value, issue.message), start=1):
            put(summary, r, c, value)
    book.save(out)


def _first_filled(rows: Rows) -> int:
    for row_no, values in rows:
        if any(v is not None and str(v).strip() for v in values):
            return row_no
    return 1


def _sheet_title(name: str, used: set[str]) -> str:
    # Excel sheet titles: at most 31 characters, none of []:*?/\ ; unique in the book.
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    title, n = base, 1
    while title in used:
        n += 1
        title = f"{base[:28]}({n})"
    used.add(title)
    return title
