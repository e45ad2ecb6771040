"""Department feeds (市场监管, 税务, 人社, 资质名单, 信用) -> one observation per reported value.

Blank cells produce no observation: a value nobody reported is unknown, never 0. A row with any error is left
out entirely and reported with its sheet, row, column and value.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import pandas as pd

from importers import cells, codes
from importers.errors import Issue
from importers.feed_csv import open_csv
from importers.feed_fast import fast_chunk
from importers.feed_specs import (
    HEADER_PREFIXES,
    QUALIFICATION_FIELD,
    SPECS,
    FeedColumn,
    FeedSpec,
    foreign_columns,
    owner,
)
from importers.header import best_sheet, cell, data_rows, label, split_header
from importers.source import Limits, load_sheets
from rules import regions

OBSERVATION_COLUMNS = ["credit_code", "field", "value", "fiscal_year", "sheet", "row"]
# Feeds cover every enterprise of the province: far larger than item lists (importers.source.DEFAULT_LIMITS).
FEED_LIMITS = Limits(max_file_bytes=512 * 1024 * 1024, max_rows=2_000_000)
CHUNK_ROWS = 50_000
FAST_SOURCES = ("market", "tax", "hr")  # list feeds are small and keyed by more than the enterprise


@dataclass
class FeedImport:
    """Preview of one feed file (or of one chunk of it, from :class:`FeedReader`).

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


def read_feed(path: str | os.PathLike[str], source: str, limits: Limits = FEED_LIMITS) -> FeedImport:
    """Read a whole feed file of ``source`` ('market' | 'tax' | 'hr' | 'qualifications' | 'credit').

    Raises ValueError for an unknown source and ImportFileError (or a subclass) when the file is refused.
    """
    reader = FeedReader(path, source, limits)
    parts = list(reader.chunks())
    frame = pd.concat([p.observations for p in parts], ignore_index=True) if len(parts) > 1 else (
        parts[0].observations if parts else _frame([]))
    return FeedImport(source, frame, reader.covered_lists, reader.enterprises,
                      [e for p in parts for e in p.errors], [w for p in parts for w in p.warnings], reader.sheet_name)


class FeedReader:
    """A feed file read chunk by chunk with bounded memory (plain CSV of market/tax/hr), or in one chunk.

    Iterate :meth:`chunks`; afterwards ``enterprises`` and ``covered_lists`` hold the whole file's totals.
    Duplicate records are found across chunks. ``fast=False`` forces the per-row reader (same results, for
    tests). Raises as :func:`read_feed`.
    """

    def __init__(self, path: str | os.PathLike[str], source: str, limits: Limits = FEED_LIMITS,
                 chunk_rows: int = CHUNK_ROWS, *, fast: bool = True):
        if source not in SPECS:
            raise ValueError(f"unknown feed source {source!r}; expected one of {sorted(SPECS)}")
        self.source, self.spec, self.chunk_rows = source, SPECS[source], chunk_rows
        self.table = (open_csv(path, self.spec.columns, HEADER_PREFIXES, limits)
                      if fast and source in FAST_SOURCES else None)
        if self.table is not None:
            self.sheet, self.header = self.table.sheet, self.table.header
        else:
            self.sheet, self.header = best_sheet(load_sheets(path, limits), self.spec.columns, HEADER_PREFIXES)
        self.sheet_name = self.sheet.name
        self.seen: dict[Any, int] = {}
        self.codes: set[str] = set()
        self.lists: set[str] = set()

    @property
    def enterprises(self) -> int:
        return len(self.codes)

    @property
    def covered_lists(self) -> frozenset[str]:
        return frozenset(self.lists)

    def chunks(self) -> Iterator[FeedImport]:
        """One FeedImport per chunk of rows; the first carries the header warnings."""
        head = header_warnings(self.spec, self.sheet, self.header)
        if self.table is None:
            yield self._chunk(data_rows(self.sheet, self.header), head)
            return
        for first, frame, lines in self.table.chunks(self.chunk_rows):
            yield self._fast_chunk(first, frame, lines, head)
            head = []

    def _chunk(self, rows, warnings: list[Issue]) -> FeedImport:
        records: list[dict[str, Any]] = []
        errors: list[Issue] = []
        warnings = list(warnings)
        for row_no, values in rows:
            row_records: list[dict[str, Any]] = []
            row, key = self.read_row(row_no, values, row_records)
            if key is not None:
                self._duplicate(row, key)
            if not row.errors:
                records += row_records
            errors += row.errors
            warnings += row.warnings
        return self.done(_frame(records), errors, warnings)

    @staticmethod
    def frame(records: list[dict[str, Any]]) -> pd.DataFrame:
        return _frame(records)

    @property
    def divisions(self) -> frozenset[str]:
        return industry_divisions()

    def done(self, frame: pd.DataFrame, errors: list[Issue], warnings: list[Issue]) -> FeedImport:
        self.codes.update(frame["credit_code"].unique())
        return FeedImport(self.source, frame, self.covered_lists, self.enterprises, errors, warnings,
                          self.sheet_name)

    def _key(self, row: _Row, found: dict[str, Any]) -> tuple[Any, ...]:
        quals = self.source == "qualifications"
        return (row.code, row.year, found.get("name") if quals else None,
                found.get("recognized_on") if quals else None)

    def _duplicate(self, row: _Row, key: tuple[Any, ...]) -> None:  # per-row path; feed_fast has its own
        if key in self.seen:
            spec = self.spec
            what = "企业与年度" if spec.yearly else ("企业、资质与认定日期" if self.source == "qualifications" else "企业")
            row.error(spec.columns[0], row.code, f"重复记录：{what}与第 {self.seen[key]} 行相同")
        else:
            self.seen[key] = row.row_no

    def read_row(self, row_no: int, values: list[Any], records: list[dict[str, Any]]
                 ) -> tuple[_Row, tuple[Any, ...] | None]:
        """Read one row; append its observations to ``records``. Returns the row (errors, warnings) and its
        duplicate key, None when the row has errors."""
        row = _Row(self.spec, self.sheet.name, self.header, row_no, values, self.sheet.epoch)
        found = row.read()
        if row.errors:
            return row, None
        key = self._key(row, found)
        year = row.year if self.spec.yearly else pd.NA
        if self.source == "qualifications":
            self.lists.add(found["name"])
            value = {"name": found["name"], "recognized_on": found["recognized_on"],
                     "valid_until": found.get("valid_until")}
            found = {QUALIFICATION_FIELD: value}
        elif self.source == "credit" and "serious_dishonest" not in self.header.columns:
            found = {"serious_dishonest": True}  # being on the list is the report
        for fld, value in found.items():
            records.append({"credit_code": row.code, "field": fld, "value": value, "fiscal_year": year,
                            "sheet": self.sheet.name, "row": row_no})
        return row, key

    def _fast_chunk(self, first: int, frame: pd.DataFrame, lines: list[list[str]], head: list[Issue]
                    ) -> FeedImport:
        return fast_chunk(self, first, frame, lines, head)


def header_warnings(spec: FeedSpec, sheet: Any, header: Any) -> list[Issue]:
    """Duplicate columns, and columns another department owns: ignored, or kept only as a cross-check."""
    out = [Issue(sheet.name, header.row, d, d, "重复的列，已使用左侧第一列") for d in header.duplicates]
    for col in spec.columns:
        owner_source = owner(spec.source, col.field)
        if col.field in header.columns and col.cross_check:
            text = header.labels[col.field]
            out.append(Issue(sheet.name, header.row, text, "",
                             f"“{text}”由{SPECS[owner_source].title}部门负责：本列作为{spec.title}报送值保存，仅用于核对，"
                             f"不会覆盖{SPECS[owner_source].title}数据；两者不一致时列入数据冲突报告"))
    foreign = foreign_columns(spec.source)
    _, values = sheet.rows[header.index]
    known = set(header.columns.values())
    for c, raw in enumerate(values):
        name, _unit = split_header(raw, HEADER_PREFIXES)
        if c in known or name not in foreign:
            continue
        owner_source = foreign[name][1]
        out.append(Issue(sheet.name, header.row, cells.show(raw).strip(), "",
                         f"“{name}”是{SPECS[owner_source].title}部门负责的数据，{spec.title}数据不能更新它，本列已忽略"))
    return out


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
    """Valid 2-digit divisions of GB/T 4754-2017 (``importers.codes``)."""
    return frozenset(codes.industry_divisions())


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
    return codes.credit_code(raw) or ""
