"""Department feeds (市场监管, 税务, 人社, 资质名单, 信用) -> one observation per reported value.

Blank cells produce no observation: a value nobody reported is unknown, never 0. A row with any error is left
out entirely and reported with its sheet, row, column and value.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from importers import cells
from importers.errors import Issue
from importers.feed_specs import HEADER_PREFIXES, QUALIFICATION_FIELD, SPECS, FeedColumn, FeedSpec
from importers.header import best_sheet, cell, data_rows, label
from importers.source import DEFAULT_LIMITS, Limits, load_sheets
from rules import regions

OBSERVATION_COLUMNS = ["credit_code", "field", "value", "fiscal_year", "sheet", "row"]


@dataclass
class FeedImport:
    """Preview of one feed file.

    ``observations``: DataFrame, one row per reported value: credit_code (str), field (str, vocabulary code, or
    'qualification_recognition' whose value is {"name": str, "recognized_on": date, "valid_until": date|None}),
    value (object: Decimal 元 for money, int, date, bool or str), fiscal_year (Int64; NA for snapshot fields),
    sheet (str), row (int, 1-based).
    """

    source: str
    observations: pd.DataFrame
    covered_lists: frozenset[str]
    enterprises: int
    errors: list[Issue]
    warnings: list[Issue] = field(default_factory=list)
    sheet_used: str = ""


def read_feed(path: str | os.PathLike[str], source: str, limits: Limits = DEFAULT_LIMITS) -> FeedImport:
    """Read a feed file of ``source`` ('market' | 'tax' | 'hr' | 'qualifications' | 'credit').

    Raises ValueError for an unknown source and ImportFileError (or a subclass) when the file is refused.
    """
    if source not in SPECS:
        raise ValueError(f"unknown feed source {source!r}; expected one of {sorted(SPECS)}")
    spec = SPECS[source]
    sheet, header = best_sheet(load_sheets(path, limits), spec.columns, HEADER_PREFIXES)
    errors: list[Issue] = []
    warnings: list[Issue] = [Issue(sheet.name, header.row, d, d, "重复的列，已使用左侧第一列") for d in header.duplicates]
    records: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    lists: set[str] = set()
    for row_no, values in data_rows(sheet, header):
        row = _Row(spec, sheet.name, header, row_no, values, sheet.epoch)
        found = row.read()
        if not row.errors:
            key = (row.code, row.year, found.get("name") if source == "qualifications" else None,
                   found.get("recognized_on") if source == "qualifications" else None)
            if key in seen:
                what = "企业与年度" if spec.yearly else ("企业、资质与认定日期" if source == "qualifications" else "企业")
                row.error(spec.columns[0], row.code, f"重复记录：{what}与第 {seen[key]} 行相同")
            else:
                seen[key] = row_no
        errors += row.errors
        warnings += row.warnings
        if row.errors:
            continue
        year = row.year if spec.yearly else pd.NA
        if source == "qualifications":
            lists.add(found["name"])
            value = {"name": found["name"], "recognized_on": found["recognized_on"],
                     "valid_until": found.get("valid_until")}
            found = {QUALIFICATION_FIELD: value}
        elif source == "credit" and "serious_dishonest" not in header.columns:
            found = {"serious_dishonest": True}  # being on the list is the report
        for fld, value in found.items():
            records.append({"credit_code": row.code, "field": fld, "value": value, "fiscal_year": year,
                            "sheet": sheet.name, "row": row_no})
    frame = _frame(records)
    return FeedImport(source, frame, frozenset(lists), int(frame["credit_code"].nunique()), errors, warnings,
                      sheet.name)


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame({
        "credit_code": pd.Series([r["credit_code"] for r in records], dtype=object),
        "field": pd.Series([r["field"] for r in records], dtype=object),
        "value": pd.Series([r["value"] for r in records], dtype=object),
        "fiscal_year": pd.array([r["fiscal_year"] for r in records], dtype="Int64"),
        "sheet": pd.Series([r["sheet"] for r in records], dtype=object),
        "row": pd.Series([r["row"] for r in records], dtype="int64"),
    })
    return frame[OBSERVATION_COLUMNS]


@cache
def industry_divisions() -> frozenset[str]:
    """Valid 2-digit divisions of GB/T 4754-2017, from the sections table shipped with ``rules``."""
    text = resources.files("rules").joinpath("data/industry_sections_gbt4754_2017.csv").read_text(encoding="utf-8")
    out: set[str] = set()
    for row in csv.DictReader(text.splitlines()):
        out.update(f"{d:02d}" for d in range(int(row["first_division"]), int(row["last_division"]) + 1))
    return frozenset(out)


class _Row:
    def __init__(self, spec: FeedSpec, sheet: str, header: Any, row_no: int, values: list[Any], epoch: Any):
        self.spec, self.sheet, self.header, self.row_no, self.values, self.epoch = (
            spec, sheet, header, row_no, values, epoch)
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.code: str | None = None
        self.year: int | None = None

    def error(self, col: FeedColumn, raw: Any, message: str) -> None:
        self.errors.append(Issue(self.sheet, self.row_no, label(self.header, col), cells.show(raw), message))

    def read(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for col in self.spec.columns:
            raw = cell(self.values, self.header, col.field)
            if col.kind == "ignore":
                continue
            if cells.is_blank(raw):
                if col.required:
                    self.error(col, raw, f"{col.names[0]}为必填项")
                continue
            try:
                value = self._convert(col, raw)
            except cells.CellError as exc:
                self.error(col, raw, f"{col.names[0]}{exc.message}")
                continue
            if col.kind == "credit_code":
                self.code = value
            elif col.kind == "year":
                self.year = value
            elif value is not None:
                found[col.field] = value
        until, since = found.get("valid_until"), found.get("recognized_on")
        if isinstance(until, date) and isinstance(since, date) and until < since:
            col = next(c for c in self.spec.columns if c.field == "valid_until")
            self.error(col, until, f"有效期至 {until} 早于认定日期 {since}")
        return found

    def _convert(self, col: FeedColumn, raw: Any) -> Any:
        kind = col.kind
        if kind == "credit_code":
            return _credit_code(raw)
        if kind == "year":
            return cells.year(raw)
        if kind == "money":
            return cells.amount(raw, self.header.units.get(col.field) or col.default_unit)
        if kind == "int":
            return cells.integer(raw)
        if kind == "date":
            return cells.to_date(raw, self.epoch)
        if kind == "bool":
            return cells.boolean(raw)
        if kind == "region":
            code = cells.code_text(raw, 6, "行政区划代码")
            if code not in regions.regions():
                raise cells.CellError(f" {code} 不在山西省区划表中，应为6位县级区划代码")
            if regions.regions()[code].level != "county":
                self.warnings.append(Issue(self.sheet, self.row_no, label(self.header, col), code,
                                           "注册地区划应为县级区划代码，此处为地市或省级代码"))
            return code
        if kind == "industry":
            code = cells.code_text(raw, 4, "行业代码")
            if not (code and len(code) == 4 and code.isdigit()):
                raise cells.CellError("应为4位数字的国民经济行业（GB/T 4754-2017）小类代码")
            if code[:2] not in industry_divisions():
                raise cells.CellError(f" {code} 的大类 {code[:2]} 不是 GB/T 4754-2017 中的有效大类（01-97）")
            return code
        if kind == "enum":
            value = cells.compact(raw).upper() if col.field == "tax_credit_rating" else cells.compact(raw)
            if value not in col.choices:
                raise cells.CellError(f"“{value}”不是可选值，应为：{'、'.join(col.choices)}")
            return value
        return cells.text(raw)


def _credit_code(raw: Any) -> str:
    if not isinstance(raw, str):
        raise cells.CellError("以数字存储，可能已丢失位数；统一社会信用代码应为18位文本，请将该列设为文本格式")
    code = cells.compact(raw).upper()
    try:
        return uscc.validate(code)
    except InvalidChecksum:
        expected = uscc.calc_check_digit(code[:17])
        raise cells.CellError(f"校验位错误：末位为 {code[-1]}，按 GB 32100 应为 {expected}") from None
    except ValidationError:
        raise cells.CellError("格式错误，应为18位（数字或大写字母，不含 I、O、Z、S、V），末位为校验位") from None
