"""Write reward items back out in the import format (xlsx or CSV), so that importing the file changes nothing.

Pure: takes item dicts keyed by DESIGN.md item field names and writes a file. The headers are the canonical
names of ``importers.items.ITEM_COLUMNS``; amounts are written in 元 (header suffix （元）) as exact decimal text,
codes as text, enumerations by their Chinese names.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl

from importers.allocations import ALLOCATION_SHEET
from importers.items import ITEM_COLUMNS, MODES, PERIODS, STATUSES
from importers.report import FORMULA_STARTS, put

ITEM_SHEET = "事项清单"
MONEY_FIELDS = ("cap", "budget")
ALLOCATION_HEADER = ("事项编码", "行政区划代码", "名额", "资金额度（元）")
_REVERSED = {"mode": {v: k for k, v in MODES.items()}, "period": {v: k for k, v in PERIODS.items()},
             "status": {v: k for k, v in STATUSES.items()}}


class ExportError(ValueError):
    """The items cannot be written in the requested format; ``message`` is Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def item_header() -> list[str]:
    """Header texts in column order; money columns carry the unit （元）."""
    return [c.names[0] + ("（元）" if c.field in MONEY_FIELDS else "") for c in ITEM_COLUMNS]


def cell_value(field: str, value: Any) -> Any:
    """One item value as written to the file: str/int/date, None for blank. Money ``Decimal`` 元 -> "1234.50"."""
    if value is None:
        return None
    if field in _REVERSED:
        return _REVERSED[field][value]
    if field == "commitment_allowed":
        return "是" if value else "否"
    if field in MONEY_FIELDS:
        return f"{Decimal(value):.2f}"
    return value


def item_rows(items: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows (without the header) for ``items``; each dict holds the fields of ``ITEM_COLUMNS`` (DESIGN.md names,
    cap/budget as Decimal 元, apply_start/apply_end as dates, mode/period/status as stored codes)."""
    return [[cell_value(c.field, item.get(c.field)) for c in ITEM_COLUMNS] for item in items]


def write_items(path: str | os.PathLike[str], items: Sequence[Mapping[str, Any]],
                allocations: Sequence[Mapping[str, Any]] = ()) -> str:
    """Write ``items`` to ``path``: xlsx when the suffix is .xlsx, CSV (UTF-8 with BOM) when .csv.

    ``allocations``: dicts ``{item_code, city_code, slots (int|None), amount (Decimal 元|None)}`` written to
    the sheet 分市额度 (xlsx only). Returns the format written ('xlsx' | 'csv'). Raises ExportError for another
    suffix, or for CSV when there are allocations (a CSV has one sheet).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    rows = item_rows(items)
    if suffix == ".xlsx":
        _write_xlsx(path, rows, allocations)
        return "xlsx"
    if suffix == ".csv":
        if allocations:
            raise ExportError("有事项带分市额度，CSV 只能容纳一张表，请导出为 .xlsx")
        path.write_bytes(csv_bytes(rows))
        return "csv"
    raise ExportError(f"不支持的导出格式“{suffix or '无扩展名'}”，请使用 .xlsx 或 .csv")


def csv_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    """The CSV file: the header and ``rows``, UTF-8 with BOM (Excel opens it as Chinese).

    A text starting with = + - or @ gets one leading space, so spreadsheet programs do not run it as a formula;
    the importer strips surrounding spaces, so the value reads back unchanged.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(item_header())
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return " " + text if text.startswith(FORMULA_STARTS) else text


def _write_xlsx(path: Path, rows: list[list[Any]], allocations: Sequence[Mapping[str, Any]]) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = ITEM_SHEET
    for c, title in enumerate(item_header(), start=1):
        put(ws, 1, c, title)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            if value is not None:
                put(ws, r, c, value, text_format=isinstance(value, str))
    if allocations:
        alloc = book.create_sheet(ALLOCATION_SHEET)
        for c, title in enumerate(ALLOCATION_HEADER, start=1):
            put(alloc, 1, c, title)
        ordered = sorted(allocations, key=lambda a: (a["item_code"], a["city_code"]))
        for r, a in enumerate(ordered, start=2):
            amount = None if a.get("amount") is None else f"{Decimal(a['amount']):.2f}"
            for c, value in enumerate((a["item_code"], a["city_code"], a.get("slots"), amount), start=1):
                if value is not None:
                    put(alloc, r, c, value, text_format=isinstance(value, str))
    book.save(path)
