"""Vectorised reading of clean feed cells, for large CSV feeds.

A cell is *clean* when its text has the one plain spelling whose typed value the cell parsers
(``importers.cells``) would return without any normalisation: ``2025``, ``4136200``, ``29294.66``,
``2022-05-20``, ``是``, an 18-character credit code with a valid check character, a listed region code... Clean
cells are converted here in bulk; a row with any other cell is handed back to the per-row reader, so the values,
errors and warnings are exactly those of the per-row reader.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from importers import cells
from importers.feed_specs import FeedColumn
from rules import regions
from rules.money import MAX_AMOUNT_YUAN

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array((1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), dtype=np.int64)
_USCC = r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}"
_TEXT_FILLED = r"[^\s\u200b\ufeff]"
_USCC_RE = re.compile(_USCC)


@cache
def _alphabet_table() -> np.ndarray:
    table = np.full(256, -1, dtype=np.int64)
    for i, ch in enumerate(USCC_ALPHABET):
        table[ord(ch)] = i
    return table


@cache
def _county_codes() -> frozenset[str]:
    return frozenset(code for code, r in regions.regions().items() if r.level == "county")


def credit_codes_valid(codes: pd.Series) -> np.ndarray:
    """Boolean mask: GB 32100 form (8 digits, then 10 of the code alphabet) and a valid check character.

    Equivalent to ``stdnum.cn.uscc.is_valid`` on text that is already compact and upper-case."""
    ok = np.fromiter((bool(_USCC_RE.fullmatch(c)) for c in codes.tolist()), dtype=bool, count=len(codes))
    if not ok.any():
        return ok
    chosen = codes[ok].to_numpy(dtype=object)
    raw = np.frombuffer("".join(chosen).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    digits = _alphabet_table()[raw]
    expected = (31 - (digits[:, :17] @ USCC_WEIGHTS) % 31) % 31
    good = expected == digits[:, 17]
    ok[np.flatnonzero(ok)[~good]] = False
    return ok


_MAX_DIGITS = len(str(int(MAX_AMOUNT_YUAN))) - 1  # integer texts this short are always under the maximum
_MONEY = re.compile(r"\d{1,15}(?:\.\d{1,12})?")
_INT = re.compile(r"\d{1,15}")
_YEAR = re.compile(r"\d{4}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INDUSTRY = re.compile(r"\d{4}")
_TEXT = re.compile(_TEXT_FILLED)


def _money(t: str, factor: Decimal, plain: bool) -> Decimal | None:
    """cells.amount of a clean amount text, or None when it is not clean (the per-row reader decides)."""
    if plain and t.isascii() and t.isdigit() and len(t) < _MAX_DIGITS:
        return Decimal(t)  # already integral with exponent 0: what cells.amount gives
    if not _MONEY.fullmatch(t):
        return None
    number = Decimal(t) * factor
    if number > MAX_AMOUNT_YUAN:
        return None  # the per-row reader gives the "too large" message
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number


def _date(t: str) -> date | None:
    if not _ISO_DATE.fullmatch(t):
        return None
    try:
        return date.fromisoformat(t)
    except ValueError:
        return None


def _text(t: str) -> str | None:
    out = unicodedata.normalize("NFKC", t).replace("\u00a0", " ").replace("\u3000", " ").strip()
    return out if _TEXT.search(out) else None


def _parser(col: FeedColumn, unit: str | None, divisions: frozenset[str]) -> Callable[[str], Any]:
    """A function clean text -> typed value, returning _UNCLEAN for anything else."""
    kind = col.kind
    if kind == "year":
        return lambda t: int(t) if _YEAR.fullmatch(t) and 2000 <= int(t) <= 2100 else _UNCLEAN
    if kind == "money":
        factor = cells.UNIT_FACTORS.get(unit or "元", Decimal(1))
        plain = factor == 1
        return lambda t: _or_unclean(_money(t, factor, plain))
    if kind == "int":
        return lambda t: int(t) if _INT.fullmatch(t) else _UNCLEAN
    if kind == "date":
        return lambda t: _or_unclean(_date(t))
    if kind == "bool":
        words = dict.fromkeys(cells.TRUE_WORDS, True) | dict.fromkeys(cells.FALSE_WORDS, False)
        return lambda t: words.get(t, _UNCLEAN)
    if kind in ("enum", "region"):
        allowed = frozenset(col.choices) if kind == "enum" else _county_codes()
        return lambda t: t if t in allowed else _UNCLEAN
    if kind == "industry":
        return lambda t: t if _INDUSTRY.fullmatch(t) and t[:2] in divisions else _UNCLEAN
    if kind == "text":
        return lambda t: _or_unclean(_text(t))
    return lambda t: None  # ignore: any text is fine, nothing is emitted


_UNCLEAN = object()


def _or_unclean(value: Any) -> Any:
    return _UNCLEAN if value is None else value


_NUMERIC = ("money", "int", "year")
_SHORT = 24  # longer texts are never clean numbers; keeps the fixed-width arrays small


def _factor(unit: str | None) -> Decimal:
    return cells.UNIT_FACTORS.get(unit or "元", Decimal(1))


def _plain_digits(arr: np.ndarray) -> np.ndarray:
    """ASCII digits only, at least one (np.strings.isdigit alone also accepts full-width and superscripts)."""
    if arr.dtype.itemsize == 0 or len(arr) == 0:
        return np.zeros(len(arr), dtype=bool)
    arr = np.ascontiguousarray(arr)
    ascii_only = (arr.view(np.uint32).reshape(len(arr), -1) < 128).all(axis=1)
    return np.strings.isdigit(arr) & ascii_only


def _numeric(kind: str, filled: list[str]) -> tuple[np.ndarray, list[Any]]:
    """Vectorised clean check of money (元, no unit), int and year texts: (mask, typed values)."""
    if not filled:
        return np.zeros(0, dtype=bool), []
    lengths = np.fromiter(map(len, filled), dtype=np.int64, count=len(filled))
    short = lengths <= _SHORT
    arr = np.array([t if k else "" for t, k in zip(filled, short, strict=True)], dtype=f"<U{_SHORT}")
    if kind == "year":
        ok = _plain_digits(arr) & (lengths == 4)
        years = arr[ok].astype(np.int64)
        good = (years >= 2000) & (years <= 2100)
        ok[np.flatnonzero(ok)[~good]] = False
        return ok, years[good].tolist()
    if kind == "int":
        ok = _plain_digits(arr) & (lengths <= 15)
        return ok, list(map(int, arr[ok].tolist()))
    whole, dot, frac = np.strings.partition(arr, ".")
    plain = _plain_digits(whole) & (np.strings.str_len(whole) < _MAX_DIGITS)
    has_frac = dot != ""
    # 12.50 -> Decimal('12.50') as written; 12.00 is integral and becomes 12 (cells.amount), so leave it out.
    frac_ok = _plain_digits(frac) & (np.strings.str_len(frac) <= 12) & (np.strings.strip(frac, "0") != "")
    ok = plain & (~has_frac | frac_ok)
    return ok, list(map(Decimal, arr[ok].tolist()))


def convert(col: FeedColumn, raw: pd.Series, unit: str | None, divisions: frozenset[str]
            ) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """(clean mask, positions of the clean filled cells, their typed values) for one column of raw text ('' =
    blank)."""
    texts = raw.tolist()
    n = len(texts)
    filled_idx = [i for i, t in enumerate(texts) if t != ""]
    clean = np.zeros(n, dtype=bool) if col.required else np.ones(n, dtype=bool)
    clean[filled_idx] = False
    filled = [texts[i] for i in filled_idx]
    if col.kind == "credit_code":
        ok = credit_codes_valid(pd.Series(filled, dtype=object))
        values = [t for t, good in zip(filled, ok, strict=True) if good]
    elif col.kind in _NUMERIC and (col.kind != "money" or _factor(unit) == 1):
        ok, values = _numeric(col.kind, filled)
    else:
        parse = _parser(col, unit, divisions)
        parsed = [parse(t) for t in filled]
        ok = np.fromiter((v is not _UNCLEAN for v in parsed), dtype=bool, count=len(parsed))
        values = [] if col.kind == "ignore" else [v for v in parsed if v is not _UNCLEAN]
    positions = np.asarray(filled_idx, dtype=np.int64)[ok]
    clean[positions] = True
    return clean, positions, values


def fast_chunk(reader: Any, first: int, frame: pd.DataFrame, lines: list[list[str]], head: list[Any]) -> Any:
    """One chunk of a plain CSV feed (raw text cells of the known columns, the split ``lines``, first line
    number ``first``) -> FeedImport.

    ``reader`` is the ``importers.feeds.FeedReader``; rows with any unclean cell go through its per-row reader.
    """
    from importers.errors import Issue
    from importers.header import REMARK_PREFIXES, label

    spec, header, n = reader.spec, reader.header, len(frame)
    clean = np.ones(n, dtype=bool)
    converted: dict[str, tuple[np.ndarray, list[Any]]] = {}
    for col in spec.columns:
        c = header.columns.get(col.field)
        if c is None:
            continue
        raw = frame[c]
        mask, positions, values = convert(col, raw, header.units.get(col.field) or col.default_unit,
                                          reader.divisions)
        clean &= mask
        converted[col.field] = (positions, values)
    # Blank and remark rows (备注…) are the per-row reader's: a clean row starts with a letter or digit.
    clean &= np.fromiter((_starts_plain(line) for line in lines), dtype=bool, count=n)

    rows = np.arange(first, first + n)
    codes = np.full(n, None, dtype=object)
    years = np.full(n, None, dtype=object)
    for fld, target in (("credit_code", codes), ("fiscal_year", years)):
        if fld in converted:
            pos, values = converted[fld]
            target[pos] = _objects(values)
    errors: list[Any] = []
    warnings: list[Any] = list(head)
    # (row, duplicate key "code|year" -- compact, as it is kept for the whole file --, slow row's records or None)
    valid: list[tuple[int, str, Any]] = []
    for i in np.flatnonzero(~clean):
        values = [v if v != "" else None for v in lines[i]]
        filled = [t for t in (cells.compact(v) for v in values) if t]
        if not filled or filled[0].startswith(REMARK_PREFIXES):
            continue
        records: list[dict[str, Any]] = []
        row, key = reader.read_row(int(rows[i]), values, records)
        errors += row.errors
        warnings += row.warnings
        if key is not None:
            valid.append((int(rows[i]), f"{key[0]}|{key[1]}", records))
    yearly = spec.yearly
    for i in np.flatnonzero(clean):
        valid.append((int(rows[i]), f"{codes[i]}|{int(years[i]) if yearly else None}", None))
    valid.sort(key=lambda v: v[0])
    dropped: set[int] = set()
    slow_records: list[dict[str, Any]] = []
    what = "企业与年度" if yearly else "企业"
    for row_no, key, records in valid:
        if key in reader.seen:
            dropped.add(row_no)
            errors.append(Issue(reader.sheet_name, row_no, label(header, spec.columns[0]), key.split("|")[0],
                                f"重复记录：{what}与第 {reader.seen[key]} 行相同"))
        else:
            reader.seen[key] = row_no
            if records:
                slow_records += records
    errors.sort(key=lambda e: e.row)

    order = {col.field: k for k, col in enumerate(spec.columns)}
    pieces = []
    for col in spec.columns:
        if col.kind in ("credit_code", "year", "ignore") or col.field not in converted:
            continue
        pos, values = converted[col.field]
        keep = clean[pos]
        if dropped:
            keep &= ~np.isin(rows[pos], list(dropped))
        pos = pos[keep]
        pieces.append(pd.DataFrame({
            "credit_code": codes[pos], "field": col.field, "value": _objects(values)[keep],
            "fiscal_year": _years(years[pos] if yearly else None, len(pos)),
            "sheet": reader.sheet_name, "row": rows[pos].astype("int64"), "_pos": order[col.field]}))
    slow = reader.frame(slow_records)
    slow["_pos"] = [order[f] for f in slow["field"]]
    pieces.append(slow)
    out = pd.concat(pieces, ignore_index=True) if pieces else slow
    out = out.sort_values(["row", "_pos"], kind="stable").drop(columns="_pos").reset_index(drop=True)
    out["credit_code"] = out["credit_code"].astype(object)
    out["value"] = out["value"].astype(object)
    out["fiscal_year"] = out["fiscal_year"].astype("Int64")
    return reader.done(out, errors, warnings)


_PLAIN_START = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _starts_plain(line: list[str]) -> bool:
    """The row's first filled cell starts with an ASCII letter or digit, so it is no blank or remark row."""
    for cell in line:
        if cell:
            return cell[0] in _PLAIN_START
    return False


def _years(years: np.ndarray | None, n: int) -> pd.arrays.IntegerArray:
    if years is None:
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    return pd.arrays.IntegerArray(years.astype(np.int64), np.zeros(n, dtype=bool))


def _objects(values: list[Any]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr
