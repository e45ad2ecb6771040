"""Reward-item lists (奖补事项清单) from xlsx or CSV: typed item records plus row-level errors and warnings.

Columns and defaults follow DESIGN.md "Reward items". A row with any error is left out of ``items``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from importers import cells
from importers._rules import rule_problem
from importers.allocations import ALLOCATION_SHEET, Allocation, read_allocations
from importers.errors import Issue
from importers.header import (
    Column,
    Header,
    best_sheet,
    cell,
    data_rows,
    label,
    sheet_note,
    split_header,
    total_rows,
)
from importers.source import DEFAULT_LIMITS, Limits, Sheet, load_sheets
from rules import regions

CATEGORIES = ("财政补贴", "奖励", "税收减免", "行政给付", "贴息", "其他")
MODES = {"免申即享": "apply_free", "即申即享": "instant_apply", "依申请": "on_application"}
PERIODS = {"每年": "yearly", "一次性": "once"}
STATUSES = {"上架": "listed", "草稿": "draft", "下架": "delisted"}

ITEM_COLUMNS = (
    Column("code", ("事项编码", "项目编码", "事项代码"), required=True),
    Column("name", ("事项名称", "项目名称"), required=True),
    Column("policy_title", ("政策名称",)),
    Column("policy_doc_no", ("政策文号", "文号", "政策依据")),
    Column("department", ("主管部门", "兑现部门", "责任部门")),
    Column("region_code", ("适用区域", "适用地区", "行政区划"), required=True),
    Column("category", ("扶持类型",), required=True),
    Column("mode", ("兑现方式", "兑付方式", "享受方式"), required=True),
    Column("conditions_text", ("申报条件",)),
    Column("eligibility", ("资格规则", "匹配规则")),
    Column("standard_text", ("奖补标准",)),
    Column("amount_formula", ("金额公式", "计算公式")),
    Column("cap", ("单户上限", "单户最高", "最高限额")),
    Column("budget", ("资金规模", "资金总额", "预算金额")),
    Column("funding_source", ("资金来源",)),
    Column("fiscal_year", ("考核年度",), required=True),
    Column("apply_start", ("申报开始", "开始日期"), required=True),
    Column("apply_end", ("申报截止", "截止日期"), required=True),
    Column("contact", ("联系电话",)),
    Column("period", ("兑现频次",)),
    Column("exclusive_group", ("不重复享受分组",)),
    Column("commitment_allowed", ("可告知承诺",)),
    Column("notice_days", ("公示天数",)),
    Column("status", ("状态",)),
)
_BY_FIELD = {c.field: c for c in ITEM_COLUMNS}
_TEXT_FIELDS = ("name", "policy_title", "policy_doc_no", "department", "conditions_text", "standard_text",
                "funding_source", "contact", "exclusive_group")


@dataclass(frozen=True)
class ItemRecord:
    """One valid item row. ``values`` is keyed by DESIGN.md item field names (see ``read_items``)."""

    sheet: str
    row: int
    values: dict[str, Any]


@dataclass
class ItemImport:
    """Preview of an item file: valid items, per-city allocations, and issues."""

    items: list[ItemRecord]
    allocations: list[Allocation]
    errors: list[Issue]
    warnings: list[Issue]
    sheet_used: str
    allocations_sheet: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    sheet_note: str | None = None  # which sheet was read, when the file has several (Chinese)


def read_items(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> ItemImport:
    """Read an item list (xlsx, legacy xls or CSV; chosen by content) into typed records.

    With several sheets, the one whose header matches is read (``sheet_used``; ``sheet_note`` says so in
    Chinese) and a sheet named 分市额度 gives ``allocations``. 合计 rows are skipped with a warning; a money
    unit stated above the header (金额单位：万元) applies to money columns whose header has none, with a warning.

    ``values`` of an ItemRecord: code, name, policy_title, policy_doc_no, department (str|None), region_code
    (str, 6-digit division code), category (one of CATEGORIES), mode ('apply_free' | 'instant_apply' |
    'on_application'), eligibility, conditions_text, amount_formula, standard_text (str|None), cap and budget
    (Decimal 元 | None; a 万元 header unit applied once), funding_source (str|None), paying_agency ('财政' |
    '失业保险基金' | '税务'), fiscal_year (int), apply_start, apply_end (date), contact (str|None), period
    ('yearly' | 'once'), exclusive_group (str|None), commitment_allowed (bool), notice_days (int), status
    ('listed' | 'draft' | 'delisted').

    Raises ImportFileError (or a subclass: EmptyFileError, FileTooLargeError, ZipBombError,
    UnsupportedFormatError, UndecodableFileError, NoHeaderError, MissingColumnsError) when the file is refused
    as a whole.
    """
    sheets = load_sheets(path, limits)
    alloc_sheet = next((s for s in sheets if split_header(s.name)[0] == ALLOCATION_SHEET), None)
    sheet, header = best_sheet([s for s in sheets if s is not alloc_sheet] or sheets, ITEM_COLUMNS)
    errors: list[Issue] = []
    warnings: list[Issue] = [
        Issue(sheet.name, header.row, dup, dup, "重复的列，已使用左侧第一列") for dup in header.duplicates
    ]
    warnings += [Issue(sheet.name, n, "", "合计", "合计行不是事项，未导入") for n in total_rows(sheet, header)]
    if header.table_unit:
        plain_money = [label(header, _BY_FIELD[f]) for f in ("cap", "budget")
                       if f in header.columns and not header.units.get(f)]
        warnings += [Issue(sheet.name, header.row, name, "", f"表头上方注明金额单位为{header.table_unit}，"
                           f"本列未注明单位的金额按{header.table_unit}读取") for name in plain_money]
    items: list[ItemRecord] = []
    seen: dict[tuple[str, str], int] = {}
    all_codes: set[str] = set()
    shared_budget = _merged_over_rows(sheet, header, "budget")
    for row_no, values in data_rows(sheet, header):
        row = _RowReader(sheet, header, row_no, values)
        record = row.read()
        if row_no in shared_budget:
            first, last = shared_budget[row_no]
            row.error("budget", f"资金规模是跨第 {first}–{last} 行的合并单元格：合并会让每个事项都计入同一笔资金，"
                                "总额成倍放大；请拆分单元格，逐行填写各事项自己的资金规模")
        if record.get("code"):
            all_codes.add(record["code"])
        key = (record.get("region_code"), record.get("code"))
        if None not in key and not row.errors:
            if key in seen:
                row.error("code", f"同一文件中区划 {key[0]} 的事项编码 {key[1]} 重复（首次出现在第 {seen[key]} 行）")
            else:
                seen[key] = row_no
        errors += row.errors
        warnings += row.warnings
        if not row.errors:
            items.append(ItemRecord(sheet.name, row_no, record))
    allocations: list[Allocation] = []
    if alloc_sheet is not None:
        result = read_allocations(alloc_sheet, items, all_codes)
        allocations, errors, warnings = result.allocations, errors + result.errors, warnings + result.warnings
    return ItemImport(items, allocations, errors, warnings, sheet.name,
                      alloc_sheet.name if alloc_sheet else None,
                      sheet_note=sheet_note([s for s in sheets if s is not alloc_sheet], sheet))


def _merged_over_rows(sheet: Sheet, header: Header, fld: str) -> dict[int, tuple[int, int]]:
    """Data rows whose ``fld`` cell lies in a merged range spanning several rows: row -> (first, last).

    A merged 政策名称 may rightly repeat; a merged budget would give each item the whole pot (money invented).
    """
    col = header.columns.get(fld)
    if col is None:
        return {}
    spans = [(lo, hi) for lo, hi, c0, c1 in sheet.merged if c0 <= col + 1 <= c1 and hi > lo and hi > header.row]
    return {r: (lo, hi) for lo, hi in spans for r in range(max(lo, header.row + 1), hi + 1)}


class _RowReader:
    """Reads one item row, collecting errors and warnings against the right column."""

    def __init__(self, sheet: Sheet, header: Header, row_no: int, values: list[Any]):
        self.sheet, self.header, self.row_no, self.values = sheet, header, row_no, values
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def raw(self, fld: str) -> Any:
        return cell(self.values, self.header, fld)

    def _issue(self, fld: str, message: str, value: Any = None) -> Issue:
        shown = cells.show(self.raw(fld) if value is None else value)
        return Issue(self.sheet.name, self.row_no, label(self.header, _BY_FIELD[fld]), shown, message)

    def error(self, fld: str, message: str, value: Any = None) -> None:
        self.errors.append(self._issue(fld, message, value))

    def parse(self, fld: str, parser: Callable[[Any], Any], required: bool = False) -> Any:
        raw = self.raw(fld)
        try:
            value = parser(raw)
        except cells.CellError as exc:
            self.error(fld, f"{_BY_FIELD[fld].names[0]}{exc.message}")
            return None
        if value is None and required:
            self.error(fld, f"{_BY_FIELD[fld].names[0]}为必填项")
        return value

    def choice(self, fld: str, options: dict[str, str], default: str | None = None) -> str | None:
        try:
            raw = cells.compact(self.raw(fld))
        except cells.CellError as exc:
            self.error(fld, f"{_BY_FIELD[fld].names[0]}{exc.message}")
            return None
        if not raw:
            if default is None:
                self.error(fld, f"{_BY_FIELD[fld].names[0]}为必填项，可选值：{'、'.join(options)}")
            return default
        if raw not in options:
            self.error(fld, f"{_BY_FIELD[fld].names[0]}“{raw}”不是可选值，应为：{'、'.join(options)}")
            return None
        return options[raw]

    def read(self) -> dict[str, Any]:
        v: dict[str, Any] = {fld: self.parse(fld, cells.text, required=fld == "name") for fld in _TEXT_FIELDS}
        v["code"] = self.parse("code", self._code, required=True)
        v["region_code"] = self._region()
        v["category"] = self.choice("category", {c: c for c in CATEGORIES})
        v["mode"] = self.choice("mode", MODES)
        v["eligibility"] = self.parse("eligibility", cells.raw_text)
        v["amount_formula"] = self.parse("amount_formula", cells.raw_text)
        for fld in ("cap", "budget"):
            unit = self.header.units.get(fld) or self.header.table_unit
            v[fld] = self.parse(fld, lambda x, u=unit: cells.amount(x, u))
        v["fiscal_year"] = self.parse("fiscal_year", cells.year, required=True)
        v["apply_start"] = self.parse("apply_start", lambda x: cells.to_date(x, self.sheet.epoch), required=True)
        v["apply_end"] = self.parse("apply_end", lambda x: cells.to_date(x, self.sheet.epoch), required=True)
        v["period"] = self.choice("period", PERIODS, "yearly")
        v["commitment_allowed"] = bool(self.parse("commitment_allowed", cells.boolean))
        v["notice_days"] = self.parse("notice_days", lambda x: cells.integer(x, "天数")) or 0
        v["status"] = self.choice("status", STATUSES, "listed")
        v["paying_agency"] = _paying_agency(v["category"], v["funding_source"])
        self._check(v)
        return v

    def _code(self, raw: Any) -> str | None:
        # label "": parse() prefixes the column name to the message.
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            text = cells.code_text(raw, len(cells.show(raw)), "")  # raises when digits were lost
            self.warnings.append(self._issue("code", "事项编码以数字存储，已按文本读取；请确认未丢失前导零"))
            return text
        return cells.code_text(raw, label="")

    def _region(self) -> str | None:
        raw = self.raw("region_code")
        if cells.is_blank(raw):
            self.error("region_code", "适用区域为必填项，应为区划名称（如 太原市、阳泉市城区）或6位区划代码")
            return None
        try:
            return regions.resolve(cells.compact(raw))
        except cells.CellError as exc:
            self.error("region_code", f"适用区域{exc.message}")
        except regions.RegionError as exc:
            self.error("region_code", str(exc))
        return None

    def _has_error(self, fld: str) -> bool:
        return any(e.column == label(self.header, _BY_FIELD[fld]) for e in self.errors)

    def _check(self, v: dict[str, Any]) -> None:
        start, end = v["apply_start"], v["apply_end"]
        if isinstance(start, date) and isinstance(end, date) and end < start:
            self.error("apply_end", f"申报截止 {end.isoformat()} 早于申报开始 {start.isoformat()}，截止日期应不早于开始日期")
        if v["mode"] in ("apply_free", "instant_apply"):
            mode_cn = "免申即享" if v["mode"] == "apply_free" else "即申即享"
            if v["eligibility"] is None and not self._has_error("eligibility"):
                self.error("eligibility", f"{mode_cn}事项必须填写资格规则")
            if v["amount_formula"] is None and v["category"] != "税收减免" and not self._has_error("amount_formula"):
                self.error("amount_formula", f"{mode_cn}事项必须填写金额公式（以元计）")
        for fld, kind in (("eligibility", "rule"), ("amount_formula", "amount")):
            if v[fld] is not None:
                problem = rule_problem(v[fld], kind)
                if problem:
                    self.error(fld, problem)


def _paying_agency(category: str | None, funding_source: str | None) -> str:
    """Who pays: 税收减免 items are the tax office's; 失业保险 money is the fund's; everything else 财政."""
    if category == "税收减免":
        return "税务"
    if funding_source and "失业保险" in funding_source:
        return "失业保险基金"
    return "财政"

