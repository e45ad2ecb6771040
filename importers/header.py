"""Find the header row of a sheet by known column names and their synonyms.

Header texts are normalised (NFKC, all spaces removed, ``*`` required markers stripped) and a unit suffix such
as （万元） is split off and kept as the column's unit. The header may sit below title and filler rows, and may
be the lower row of a two-row grouped header: a blank cell there takes the name from the row above (cells merged
vertically across both rows are already filled by the reader).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from importers.cells import Unreadable, compact, show
from importers.errors import EmptyFileError, ImportFileError, MissingColumnsError, NoHeaderError
from importers.source import Sheet

# A unit stated for the whole table above the header: "金额单位：万元", "单位:元".
_TABLE_UNIT = re.compile(r"单位(?:为|:)?(亿元|万元|元)")
_UNIT_SUFFIX = re.compile(r"^(.+?)\((亿元|万元|元|万|亿|人|户|家|个|月|天|%)\)$")
HEADER_SCAN_ROWS = 30


@dataclass(frozen=True)
class Column:
    """A column the reader knows: ``field`` code, accepted header ``names`` (the first is canonical)."""

    field: str
    names: tuple[str, ...]
    required: bool = False


@dataclass
class Header:
    """Where the header is and what each known field's column is."""

    row: int  # 1-based row number of the (lower) header row
    index: int  # position of that row in Sheet.rows
    columns: dict[str, int]  # field -> 0-based column
    labels: dict[str, str]  # field -> header text as written in the file
    units: dict[str, str | None]  # field -> unit from the header suffix
    duplicates: list[str] = field(default_factory=list)
    table_unit: str | None = None  # money unit stated above the header ("金额单位：万元"), for unit-less columns


def plain(value: Any) -> str:
    """``compact`` text of any cell, an Unreadable one included (shown as its formula or error code)."""
    return compact(show(value)) if isinstance(value, Unreadable) else compact(value)


def split_header(value: Any, prefixes: Sequence[str] = ()) -> tuple[str, str | None]:
    """Normalised header name and its unit: ``'单户上限（万元）*'`` -> ``('单户上限', '万元')``.

    NFKC folds full-width brackets and ``＊``; NBSP, ideographic and other spaces are removed; ``*`` required
    markers anywhere and a trailing colon are dropped.
    """
    name = plain(value).replace("*", "").rstrip(":")
    unit = None
    m = _UNIT_SUFFIX.match(name)
    if m:
        name, unit = m.group(1), m.group(2)
    for prefix in prefixes:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix):]
            break
    return name, unit


def find_header(sheet: Sheet, columns: Sequence[Column], prefixes: Sequence[str] = ()) -> Header:
    """The best header row among the first rows of ``sheet``.

    Raises EmptyFileError for a sheet without any value, NoHeaderError when no row has at least two known
    names (the message quotes the first filled row), MissingColumnsError when the best row lacks a required
    column.
    """
    if not any(plain(v) for _, values in sheet.rows for v in values):
        raise EmptyFileError(f"工作表 {sheet.name} 是空的，没有任何数据")
    lookup = {name: col.field for col in columns for name in col.names}
    best: Header | None = None
    previous: list[Any] = []
    for index, (row_no, values) in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        header = Header(row=row_no, index=index, columns={}, labels={}, units={})
        for c, raw in enumerate(values):
            source = raw
            if plain(raw) == "" and c < len(previous):
                source = previous[c]  # two-row header: the group row carries this column's name
            name, unit = split_header(source, prefixes)
            fld = lookup.get(name)
            if fld is None:
                continue
            if fld in header.columns:
                header.duplicates.append(show(source))
                continue
            if unit is None and source is raw and c < len(previous):
                unit = split_header(previous[c], prefixes)[1]  # group row "资金安排（万元）" over 单户上限
            header.columns[fld] = c
            header.labels[fld] = show(source).strip()
            header.units[fld] = unit
        if best is None or len(header.columns) > len(best.columns):
            best = header
        previous = values
    if best is None or len(best.columns) < 2:
        names = "、".join(col.names[0] for col in columns if col.required)
        first = next((n, [show(v).strip() for v in vs if plain(v)]) for n, vs in sheet.rows if any(map(plain, vs)))
        seen = "、".join(first[1][:6]) + ("…" if len(first[1]) > 6 else "")
        raise NoHeaderError(f"工作表 {sheet.name} 前 {HEADER_SCAN_ROWS} 行中找不到表头行（应包含 {names} 等列；"
                            f"第 {first[0]} 行是“{seen}”）。请确认上传的是正确的表格，表头文字与模板一致")
    for _, values in sheet.rows[:best.index]:
        m = next((m for m in (_TABLE_UNIT.search(plain(v)) for v in values) if m), None)
        best.table_unit = m.group(1) if m else best.table_unit
    missing = tuple(col.names[0] for col in columns if col.required and col.field not in best.columns)
    if missing:
        raise MissingColumnsError(
            f"工作表 {sheet.name} 第 {best.row} 行的表头缺少必需列：{'、'.join(missing)}", missing
        )
    return best


def best_sheet(
    sheets: Sequence[Sheet], columns: Sequence[Column], prefixes: Sequence[str] = ()
) -> tuple[Sheet, Header]:
    """The sheet whose header recognises most columns (the first on a tie); empty sheets are passed over.

    Raises, when no sheet has a usable header: MissingColumnsError of a sheet whose header lacks a required
    column, else NoHeaderError (naming every sheet tried when there are several), else EmptyFileError.
    """
    found: list[tuple[Sheet, Header]] = []
    errors: list[ImportFileError] = []
    for sheet in sheets:
        try:
            found.append((sheet, find_header(sheet, columns, prefixes)))
        except (NoHeaderError, MissingColumnsError, EmptyFileError) as exc:
            errors.append(exc)
    if found:
        return max(found, key=lambda pair: len(pair[1].columns))
    for kind in (MissingColumnsError, NoHeaderError):
        tried = [e for e in errors if type(e) is kind]
        if kind is NoHeaderError and len(tried) > 1:
            names = "、".join(s.name for s, e in zip(sheets, errors, strict=True) if type(e) is kind)
            raise NoHeaderError(f"所有工作表（{names}）中都找不到表头行。{tried[0].message}")
        if tried:
            raise tried[0]
    raise errors[0] if errors else EmptyFileError("文件中没有工作表")


def sheet_note(sheets: Sequence[Sheet], chosen: Sheet) -> str | None:
    """Chinese note saying which sheet was read when the file has several; None for a single sheet."""
    if len(sheets) < 2:
        return None
    others = "、".join(s.name for s in sheets if s is not chosen)
    return f"文件有 {len(sheets)} 个工作表，已读取表头匹配的工作表“{chosen.name}”（未读取：{others}）"


def label(header: Header, column: Column) -> str:
    """Header text for an Issue: as written in the file, or the canonical name when the column is absent."""
    return header.labels.get(column.field, column.names[0])


REMARK_PREFIXES = ("备注", "注:", "注：", "说明", "填表说明", "填报说明")
TOTAL_WORDS = frozenset({"合计", "总计", "小计", "总合计"})


def row_kind(values: list[Any]) -> str:
    """'blank', 'remark' (first filled cell starts with 备注/注:/说明…), 'total' (first filled cell is exactly
    合计/总计/小计) or 'data'."""
    filled = [t for t in (plain(v) for v in values) if t]
    if not filled:
        return "blank"
    if filled[0].startswith(REMARK_PREFIXES):
        return "remark"
    return "total" if filled[0] in TOTAL_WORDS else "data"


def data_rows(sheet: Sheet, header: Header) -> list[tuple[int, list[Any]]]:
    """Rows below the header, without blank, remark (备注…) and total (合计) rows."""
    return [(row_no, values) for row_no, values in sheet.rows[header.index + 1:] if row_kind(values) == "data"]


def total_rows(sheet: Sheet, header: Header) -> list[int]:
    """Row numbers of the 合计/总计/小计 rows below the header, which ``data_rows`` leaves out."""
    return [row_no for row_no, values in sheet.rows[header.index + 1:] if row_kind(values) == "total"]


def cell(values: list[Any], header: Header, fld: str) -> Any:
    """The raw value of ``fld`` in one row, None when the column is absent or the row is short."""
    c = header.columns.get(fld)
    if c is None or c >= len(values):
        return None
    value = values[c]
    return None if isinstance(value, str) and compact(value) == "" else value
