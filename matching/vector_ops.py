"""Column values of the vectorised engine and their exact operations.

A :class:`Vec` is one rule sub-expression evaluated over n enterprises: ``val`` (the values), ``known`` (bool),
``absent`` (bool: closed-world absence, rules.render.ABSENT) and ``miss`` (uint64 bitmask of the vocabulary codes
whose unknown values made a row unknown; see :data:`BITS`). A row is known, absent or unknown, never two.

Numbers are exact. Either fixed point, ``val`` int64 with ``scale`` s meaning val / 10**s (money in 分 is s=2),
or, when a result could overflow int64 or needs division, an object array of ``Decimal`` computed in
rules.evaluator.DECIMAL_CONTEXT (the per-record engine's context: its 60-digit rounding of ratios is reproduced
exactly). Fixed-point add/sub/mul of int64 values are exact and fit in 60 digits, so they equal the Decimal
results. Dates are int64 days since 1970-01-01; timedeltas int64 microseconds. Values at rows that are not known
are placeholders (0, Decimal 0, '').
"""

from __future__ import annotations

import datetime
import decimal
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from rules.evaluator import DECIMAL_CONTEXT
from rules.vocabulary import FIELDS

CODES: tuple[str, ...] = tuple(sorted(FIELDS))
BITS: dict[str, int] = {code: 1 << i for i, code in enumerate(CODES)}
if len(CODES) > 64:  # pragma: no cover - the bitmask would need a wider type
    raise RuntimeError("the vocabulary outgrew the uint64 missing-field bitmask")
LIMIT = 2**62  # bound on |fixed-point values| so that sums of two never overflow int64
MAX_SCALE = 18
EPOCH = datetime.date(1970, 1, 1)
DAY_US = 86_400_000_000
ZERO = Decimal(0)
U0 = np.uint64(0)
_CMP = {"eq": np.equal, "ne": np.not_equal, "ge": np.greater_equal, "gt": np.greater, "le": np.less_equal,
        "lt": np.less}


@dataclass
class Vec:
    """One expression over n rows. ``kind``: num | str | bool | date | td | set | map | array (``val`` a list of
    member Vecs). ``scale``: fixed-point scale for num, None for Decimal object arrays."""

    kind: str
    val: Any
    known: np.ndarray
    miss: np.ndarray
    absent: np.ndarray
    scale: int | None = None

    @property
    def n(self) -> int:
        return len(self.known)

    @property
    def unknown(self) -> np.ndarray:
        return ~self.known & ~self.absent


@functools.lru_cache(maxsize=4096)
def codes_of(bits: int) -> tuple[str, ...]:
    """The sorted vocabulary codes of a missing-field bitmask."""
    return tuple(c for c in CODES if bits & BITS[c])


def falses(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


def make(kind: str, val: Any, known: np.ndarray, miss: np.ndarray | None = None, absent: np.ndarray | None = None,
         scale: int | None = None) -> Vec:
    """A Vec with placeholders at rows that are not known (so overflow bounds only see real values)."""
    n = len(known)
    if absent is None:
        absent, settled = falses(n), known
    else:
        absent = absent & ~known
        settled = known | absent
    miss = np.zeros(n, np.uint64) if miss is None else np.where(settled, U0, miss).astype(np.uint64, copy=False)
    if kind == "bool" and isinstance(val, np.ndarray) and val.dtype == bool:
        val = val & known  # the placeholder False, without np.where
    elif kind in ("num", "date", "td", "bool", "str") and not isinstance(val, list):
        val = np.where(known, val, _placeholder(kind, scale, val))
    return Vec(kind, val, known, miss, absent, scale)


def _placeholder(kind: str, scale: int | None, val: np.ndarray) -> Any:
    if kind == "num":
        return ZERO if scale is None else 0
    if kind == "str":
        return ""
    return False if kind == "bool" else 0


def constant(kind: str, value: Any, n: int) -> Vec:
    """A literal broadcast to n rows. Numbers are Decimal, dates date, timedeltas timedelta."""
    known = np.ones(n, dtype=bool)
    if kind == "num":
        fixed = to_fixed(Decimal(value))
        if fixed is not None:
            return Vec("num", np.full(n, fixed[0], dtype=np.int64), known, np.zeros(n, np.uint64), falses(n), fixed[1])
        return Vec("num", np.full(n, Decimal(value), dtype=object), known, np.zeros(n, np.uint64), falses(n), None)
    if kind == "date":
        return Vec("date", np.full(n, (value - EPOCH).days, dtype=np.int64), known, np.zeros(n, np.uint64), falses(n))
    if kind == "td":
        us = value // datetime.timedelta(microseconds=1)
        return Vec("td", np.full(n, us, dtype=np.int64), known, np.zeros(n, np.uint64), falses(n))
    if kind == "bool":
        return Vec("bool", np.full(n, bool(value)), known, np.zeros(n, np.uint64), falses(n))
    return Vec("str", np.full(n, value, dtype=object), known, np.zeros(n, np.uint64), falses(n))


def to_fixed(d: Decimal) -> tuple[int, int] | None:
    """(n, scale) with d == n / 10**scale exactly, or None when it does not fit int64 fixed point."""
    if not d.is_finite():
        return None
    exp = d.as_tuple().exponent
    scale = max(0, -int(exp))
    if scale > MAX_SCALE:
        return None
    n = int(d.scaleb(scale, DECIMAL_CONTEXT))
    return (n, scale) if abs(n) < LIMIT else None


def as_dec(v: Vec) -> np.ndarray:
    """The numbers of ``v`` as an object array of Decimal (exact)."""
    if v.scale is None:
        return v.val
    s = v.scale
    return np.array([Decimal(x).scaleb(-s, DECIMAL_CONTEXT) for x in v.val.tolist()] or [], dtype=object)


def decimal_at(v: Vec, i: int) -> Decimal:
    """The exact Decimal of row i of a numeric Vec."""
    if v.scale is None:
        return v.val[i]
    return Decimal(int(v.val[i])).scaleb(-v.scale, DECIMAL_CONTEXT)


def _bound(v: Vec) -> int:
    return int(np.abs(v.val).max()) if v.n else 0


def _align(a: Vec, b: Vec) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Both fixed-point operands at a common scale, or None when that could overflow."""
    if a.scale is None or b.scale is None:
        return None
    s = max(a.scale, b.scale)
    ka, kb = 10 ** (s - a.scale), 10 ** (s - b.scale)
    if _bound(a) * ka + _bound(b) * kb >= LIMIT:
        return None
    return a.val * ka, b.val * kb, s


def combine(parts: list[Vec]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-record engine's _combine: any unknown part -> unknown (union of their missing codes); else any
    absent part -> absent; else known. Returns (known, absent, miss)."""
    n = parts[0].n
    unknown, absent, miss = falses(n), falses(n), np.zeros(n, np.uint64)
    for p in parts:
        pu = p.unknown
        unknown |= pu
        absent |= p.absent
        miss |= np.where(pu, p.miss, U0)
    return ~unknown & ~absent, ~unknown & absent, miss


def arith(op: str, a: Vec, b: Vec) -> Vec:
    """Arithmetic of the rule language: numbers (add sub mul tdiv fdiv mod pow), date ± timedelta, date - date,
    timedelta ± timedelta. ``x / 0`` (and // and %) is unknown with no missing field, as per record."""
    known, absent, miss = combine([a, b])
    if a.kind != "num":
        return _date_arith(op, a, b, known, absent, miss)
    if op in ("add", "sub") and (al := _align(a, b)) is not None:
        return make("num", al[0] + al[1] if op == "add" else al[0] - al[1], known, miss, absent, al[2])
    if op == "mul" and a.scale is not None and b.scale is not None and a.scale + b.scale <= MAX_SCALE \
            and _bound(a) * _bound(b) < LIMIT:
        return make("num", a.val * b.val, known, miss, absent, a.scale + b.scale)
    da, db = as_dec(a), as_dec(b)
    with decimal.localcontext(DECIMAL_CONTEXT):
        if op in ("tdiv", "fdiv", "mod"):
            zero = known & (db == ZERO).astype(bool)
            known = known & ~zero
            db = np.where(known, db, Decimal(1))
        elif op == "pow":
            da, db = np.where(known, da, Decimal(1)), np.where(known, db, Decimal(1))
        fn = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "tdiv": np.true_divide,
              "fdiv": np.floor_divide, "mod": np.remainder, "pow": np.power}[op]
        out = fn(da, db) if len(da) else da
    return make("num", out, known, miss, absent, None)


def _date_arith(op: str, a: Vec, b: Vec, known: np.ndarray, absent: np.ndarray, miss: np.ndarray) -> Vec:
    # Python's date ± timedelta uses timedelta.days (floor), ignoring seconds; date - date is whole days.
    if a.kind == "date" and b.kind == "date":
        return make("td", (a.val - b.val) * DAY_US, known, miss, absent)
    if a.kind == "date" or b.kind == "date":
        date, td = (a, b) if a.kind == "date" else (b, a)
        days = td.val // DAY_US
        return make("date", date.val + days if op == "add" else date.val - days, known, miss, absent)
    return make("td", a.val + b.val if op == "add" else a.val - b.val, known, miss, absent)


def negate(a: Vec) -> Vec:
    if a.scale is not None:
        return make("num", -a.val, a.known, a.miss, a.absent, a.scale)
    with decimal.localcontext(DECIMAL_CONTEXT):
        return make("num", np.negative(a.val) if a.n else a.val, a.known, a.miss, a.absent, None)


def compare_values(op: str, a: Vec, b: Vec) -> np.ndarray:
    """op over the raw values (placeholders where not known): bool array."""
    fn = _CMP[op]
    if a.kind == "num":
        al = _align(a, b)
        if al is not None:
            return fn(al[0], al[1])
        with decimal.localcontext(DECIMAL_CONTEXT):
            return np.asarray(fn(as_dec(a), as_dec(b)), dtype=bool) if a.n else falses(0)
    return np.asarray(fn(a.val, b.val), dtype=bool)


def compare(op: str, a: Vec, b: Vec) -> Vec:
    """A comparison: absent on either side -> false; else unknown if either side is unknown; else op."""
    anyabs = a.absent | b.absent
    unknown = ~anyabs & (a.unknown | b.unknown)
    miss = np.where(a.unknown, a.miss, U0) | np.where(b.unknown, b.miss, U0)
    value = compare_values(op, a, b) & ~anyabs & ~unknown
    return make("bool", value, ~unknown, miss)


_SWAPPED = {"eq": "eq", "ne": "ne", "ge": "le", "gt": "lt", "le": "ge", "lt": "gt"}


def compare_literal(op: str, a: Vec, kind: str, value: Any, swapped: bool = False) -> Vec | None:
    """``compare(op, a, constant(kind, value, n))`` (or with the constant on the left when ``swapped``) without
    broadcasting the literal; None when this fast path does not apply (the caller uses ``compare``)."""
    if a.kind != kind or op not in _CMP:
        return None
    fn = _CMP[_SWAPPED[op] if swapped else op]
    if kind == "num":
        if a.scale is None:
            with decimal.localcontext(DECIMAL_CONTEXT):
                raw = np.asarray(fn(a.val, Decimal(value)), dtype=bool) if a.n else falses(0)
        else:
            fixed = to_fixed(Decimal(value))
            if fixed is None:
                return None
            s = max(a.scale, fixed[1])
            ka, kb = 10 ** (s - a.scale), 10 ** (s - fixed[1])
            if _bound(a) * ka + abs(fixed[0]) * kb >= LIMIT:
                return None
            raw = fn(a.val * ka if ka != 1 else a.val, fixed[0] * kb)
    elif kind == "date":
        raw = fn(a.val, (value - EPOCH).days)
    elif kind == "str":
        raw = np.asarray(fn(a.val, value), dtype=bool)
    else:
        return None
    unknown = a.unknown  # a literal is never absent nor unknown
    return make("bool", raw & ~a.absent & ~unknown, ~unknown, a.miss)  # a.miss is 0 outside unknown rows


def reduce_numbers(fn: str, members: list[Vec], known: np.ndarray, absent: np.ndarray, miss: np.ndarray) -> Vec:
    """$min / $max / $sum over the members of an array literal (already combined into known/absent/miss)."""
    acc = members[0]
    for m in members[1:]:
        if fn == "sum":
            acc = arith("add", acc, m)
            continue
        al = _align(acc, m)
        pick = np.minimum if fn == "min" else np.maximum
        if al is not None:
            acc = make("num", pick(al[0], al[1]), acc.known & m.known, None, None, al[2])
        else:
            with decimal.localcontext(DECIMAL_CONTEXT):
                a, b = as_dec(acc), as_dec(m)
                lt = np.asarray(np.less(b, a) if fn == "min" else np.greater(b, a), dtype=bool) if len(a) else falses(0)
                acc = make("num", np.where(lt, b, a), acc.known & m.known, None, None, None)
    return make("num", acc.val, known, miss, absent, acc.scale)


def absolute(a: Vec) -> Vec:
    if a.scale is not None:
        return make("num", np.abs(a.val), a.known, a.miss, a.absent, a.scale)
    with decimal.localcontext(DECIMAL_CONTEXT):
        return make("num", np.abs(a.val) if a.n else a.val, a.known, a.miss, a.absent, None)


def where(cond: np.ndarray, a: Vec, b: Vec) -> Vec:
    """Row-wise choice between two Vecs of the same kind (values, masks and missing codes)."""
    known = np.where(cond, a.known, b.known)
    absent = np.where(cond, a.absent, b.absent)
    miss = np.where(cond, a.miss, b.miss)
    if a.kind == "num":
        al = _align(a, b)
        if al is not None:
            return make("num", np.where(cond, al[0], al[1]), known, miss, absent, al[2])
        return make("num", np.where(cond, as_dec(a), as_dec(b)), known, miss, absent, None)
    return make(a.kind, np.where(cond, a.val, b.val), known, miss, absent)
