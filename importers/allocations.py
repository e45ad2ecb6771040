"""The sheet 分市额度 of a provincial item list: each city's slots and/or money for an item."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from importers import cells
from importers.errors import ImportFileError, Issue
from importers.header import Column, cell, data_rows, find_header, label
from importers.source import Sheet
from rules import regions

if TYPE_CHECKING:
    from importers.items import ItemRecord

ALLOCATION_SHEET = "分市额度"

ALLOCATION_COLUMNS = (
    Column("item_code", ("事项编码", "项目编码", "事项代码"), required=True),
    Column("city_name", ("地市", "城市", "所属地市", "市")),
    Column("city_code", ("行政区划代码", "区划代码", "地市代码")),
    Column("slots", ("名额", "分市名额")),
    Column("amount", ("资金额度", "分市额度", "额度", "资金")),
)
_BY_FIELD = {c.field: c for c in ALLOCATION_COLUMNS}


@dataclass(frozen=True)
class Allocation:
    """A city's share of a provincial item: ``slots`` (enterprises) and/or ``amount`` (Decimal 元)."""

    item_code: str
    city_code: str
    slots: int | None
    amount: Decimal | None
    sheet: str
    row: int


@dataclass
class AllocationResult:
    allocations: list[Allocation] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


def read_allocations(sheet: Sheet, items: list[ItemRecord], all_codes: set[str]) -> AllocationResult:
    """Allocations of ``sheet``, checked against the item rows of the same file.

    ``items`` are the valid item records, ``all_codes`` every item code seen (valid or not). An allocation of
    an item that was rejected is left out with a warning; one of an unknown item code is an error.
    """
    out = AllocationResult()
    try:
        header = find_header(sheet, ALLOCATION_COLUMNS)
    except ImportFileError as exc:
        out.errors.append(Issue(sheet.name, 1, "", "", exc.message))
        return out
    if "city_name" not in header.columns and "city_code" not in header.columns:
        out.errors.append(Issue(sheet.name, header.row, "", "", "分市额度表缺少“地市”或“行政区划代码”列"))
        return out
    valid = {r.values["code"]: r for r in items}
    seen: dict[tuple[str, str], int] = {}
    totals: dict[str, Decimal] = {}
    for row_no, values in data_rows(sheet, header):
        problems: list[Issue] = []

        def err(fld: str, message: str, raw: Any, row_no: int = row_no, problems: list[Issue] = problems) -> None:
            problems.append(Issue(sheet.name, row_no, label(header, _BY_FIELD[fld]), cells.show(raw), message))

        raw_code = cell(values, header, "item_code")
        try:
            code = cells.compact(raw_code) or None
        except cells.CellError as exc:
            code = None
            err("item_code", f"事项编码{exc.message}", raw_code)
        if code is None and not problems:
            err("item_code", "事项编码为必填项", raw_code)
        elif code not in all_codes:
            err("item_code", f"事项编码 {code} 不在事项清单工作表中", raw_code)
        city = _city(values, header, err)
        slots = amount = None
        try:
            slots = cells.integer(cell(values, header, "slots"), "名额（家数）")
        except cells.CellError as exc:
            err("slots", f"名额{exc.message}", cell(values, header, "slots"))
        try:
            amount = cells.amount(cell(values, header, "amount"), header.units.get("amount") or header.table_unit)
        except cells.CellError as exc:
            err("amount", f"资金额度{exc.message}", cell(values, header, "amount"))
        if slots is None and amount is None and not problems:
            err("slots", "名额和资金额度至少填写一项", None)
        if code and city and not problems:
            if (code, city) in seen:
                err("item_code", f"事项 {code} 在 {city} 的额度重复（首次出现在第 {seen[code, city]} 行）", raw_code)
            seen[code, city] = row_no
        out.errors += problems
        if problems or code is None or city is None:
            continue
        if code not in valid:
            out.warnings.append(Issue(sheet.name, row_no, label(header, _BY_FIELD["item_code"]), code,
                                      "该事项因错误未导入，其分市额度一并略过"))
            continue
        out.allocations.append(Allocation(code, city, slots, amount, sheet.name, row_no))
        totals[code] = totals.get(code, Decimal(0)) + (amount or 0)
    for code, total in totals.items():
        budget = valid[code].values.get("budget")
        if budget is not None and total > budget:
            out.warnings.append(Issue(sheet.name, header.row, label(header, _BY_FIELD["amount"]), str(total),
                                      f"事项 {code} 分市资金额度合计 {total} 元，超过资金规模 {budget} 元"))
    return out


def _city(values: list[Any], header: Any, err: Any) -> str | None:
    raw_code, raw_name = cell(values, header, "city_code"), cell(values, header, "city_name")
    by_code = by_name = None
    try:
        if raw_code is not None:
            text = cells.code_text(raw_code, 6, "行政区划代码")
            by_code = regions.resolve(text or "")
    except (cells.CellError, regions.RegionError) as exc:
        err("city_code", getattr(exc, "message", None) or str(exc), raw_code)
        return None
    try:
        if raw_name is not None:
            by_name = regions.resolve(cells.compact(raw_name))
    except (cells.CellError, regions.RegionError) as exc:
        err("city_name", getattr(exc, "message", None) or str(exc), raw_name)
        return None
    if by_code and by_name and by_code != by_name:
        err("city_code", f"行政区划代码 {by_code} 与地市名称“{cells.show(raw_name)}”（{by_name}）不一致", raw_code)
        return None
    city = by_code or by_name
    if city is None:
        err("city_name", "地市或行政区划代码为必填项", raw_name)
    elif regions.level_of(city) != "city":
        err("city_code" if by_code else "city_name", f"{city} 不是地市级区划，分市额度应按地市填写", raw_code or raw_name)
        return None
    return city
