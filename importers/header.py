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

from importers.cells import compact, show
from importers.errors import ImportFileError, MissingColumnsError, NoHeaderError
from importers.source import Sheet

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


def split_header(value: Any, prefixes: Sequence[str] = ()) -> tuple[str, str | None]:
    """Normalised header name and its unit: ``'单户上限（万元）*'`` -> ``('单户上限', '万元')``."""
    name = compact(value).replace("*", "").replace("＊", "").rstrip(":")
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

    Raises NoHeaderError when no row has at least two known names, MissingColumnsError when the best row lacks
    a required column.
    """
    lookup = {name: col.field for col in columns for name in col.names}
    best: Header | None = None
    previous: list[Any] = []
    for index, (row_no, values) in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        header = Header(row=row_no, index=index, columns={}, labels={}, units={})
        for c, raw in enumerate(values):
            source = raw
            if compact(raw) == "" and c < len(previous):
                source = previous[c]  # two-row header: the group row carries this column's name
            name, unit = split_header(source, prefixes)
            fld = lookup.get(name)
            if fld is None:
                continue
            if fld in header.columns:
                header.duplicates.append(show(source))
                continue
            header.columns[fld] = c
            header.labels[fld] = show(source).strip()
            header.units[fld] = unit
        if best is None or len(header.columns) > len(best.columns):
            best = header
        previous = values
    if best is None or len(best.columns) < 2:
        names = "、".join(col.names[0] for col in columns if col.required)
        raise NoHeaderError(f"工作表 {sheet.name} 前 {HEADER_SCAN_ROWS} 行中找不到表头行（应包含 {names} 等列）")
    missing = tuple(col.names[0] for col in columns if col.required and col.field not in best.columns)
    if missing:
        raise MissingColumnsError(
            f"工作表 {sheet.name} 第 {best.row} 行的表头缺少必需列：{'、'.join(missing)}", missing
        )
    return best


def best_sheet(
    sheets: Sequence[Sheet], columns: Sequence[Column], prefixes: Sequence[str] = ()
) -> tuple[Sheet, Header]:
    """The sheet whose header recognises most columns (the first on a tie).

    Raises the first sheet's NoHeaderError or MissingColumnsError when no sheet has a usable header.
    """
    found: list[tuple[Sheet, Header]] = []
    first_error: ImportFileError | None = None
    for sheet in sheets:
        try:
            found.append((sheet, find_header(sheet, columns, prefixes)))
        except (NoHeaderError, MissingColumnsError) as exc:
            first_error = first_error or exc
    if not found:
        raise first_error or NoHeaderError("文件中没有工作表")
    return max(found, key=lambda pair: len(pair[1].columns))


def label(header: Header, column: Column) -> str:
    """Header text for an Issue: as written in the file, or the canonical name when the column is absent."""
    return header.labels.get(column.field, column.names[0])


REMARK_PREFIXES = ("备注", "注:", "注：", "说明", "填表说明", "填报说明")


def data_rows(sheet: Sheet, header: Header) -> list[tuple[int, list[Any]]]:
    """Rows below the header, without blank rows and remark rows (备注…)."""
    out = []
    for row_no, values in sheet.rows[header.index + 1:]:
        texts = [compact(v) for v in values]
        filled = [t for t in texts if t]
        if not filled:
            continue
        if filled[0].startswith(REMARK_PREFIXES):
            continue
        out.append((row_no, values))
    return out


def cell(values: list[Any], header: Header, fld: str) -> Any:
    """The raw value of ``fld`` in one row, None when the column is absent or the row is short."""
    c = header.columns.get(fld)
    if c is None or c >= len(values):
        return None
    value = values[c]
    return None if isinstance(value, str) and compact(value) == "" else value
