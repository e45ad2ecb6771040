"""The profile frame: one row per enterprise, one column per vocabulary field, derived fields computed by column.

Column representation (the known mask is the column's null mask):

- money: nullable ``Int64`` in 分 when every value is a whole 分, else ``object`` Decimal 元 (exact either way);
- integer: nullable ``Int64`` persons/months when every value is integral, else ``object`` Decimal;
- fraction / decimal (layoff_rate, rd_ratio, age_years and their _prev): ``object`` Decimal computed in the
  per-record engine's 60-digit context, so ratios equal ``rules.derive`` digit for digit;
- date: ``datetime64[s]`` (NaT unknown); boolean: ``boolean``; string: ``object`` str or None;
- qualifications / closed_lists: ``object`` frozenset; qualified_on / first_qualified_on: ``object`` dict.

``frame.attrs["scales"]`` maps each Int64 numeric column to its fixed-point scale (2 for 分, 0 for counts) and
``frame.attrs["as_of"]`` holds the assessment date.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from matching.vector_ops import DAY_US, EPOCH, ZERO, Vec, as_dec, compare_values, constant, make, to_fixed
from rules.derived import DAYS_PER_YEAR, LARGE, MEDIUM, MICRO, SMALL, scale_group_of, scale_groups, section_of
from rules.evaluator import DECIMAL_CONTEXT, typed_value
from rules.regions import city_of
from rules.vocabulary import CLOSED_LISTS, FIELDS

_DERIVED_INPUTS = {
    "city_code": ("region_code",), "industry_section": ("industry_code",), "age_years": ("established_on",),
    "layoff_rate": ("layoff_count", "employees"), "rd_ratio": ("rd_expense", "revenue"),
    "scale": ("industry_code", "employees", "revenue", "total_assets"),
}
_SCALES = {"money": 2, "integer": 0}
_NAMES = (LARGE, MEDIUM, SMALL, MICRO)


def raw_inputs(fields: Iterable[str]) -> set[str]:
    """The reported (non-derived) codes needed to compute ``fields``."""
    out: set[str] = set()
    for code in fields:
        spec = FIELDS[code]
        if not spec.derived:
            out.add(code)
            continue
        plain, suffix = (code[:-5], "_prev") if code.endswith("_prev") else (code, "")
        out.update(c if c in ("region_code", "industry_code", "established_on") else c + suffix
                   for c in _DERIVED_INPUTS[plain])
    return out


def profile_frame(
    profiles: Mapping[str, Mapping[str, Any]], as_of: datetime.date, fields: Iterable[str] | None = None
) -> pd.DataFrame:
    """One row per enterprise (index ``credit_code``, the profiles' keys, sorted), one column per field.

    Args:
        profiles: credit_code -> profile as for ``matching.match`` (typed values; None or absent = unknown).
        as_of: assessment date (for age_years).
        fields: vocabulary codes wanted (derived ones are computed from their inputs); default all.

    Returns:
        DataFrame with the columns described in the module docstring plus ``closed_lists``.

    Raises:
        TypeError: a profile value has the wrong type (e.g. float money), as ``rules.evaluator.typed_value``.
    """
    wanted = set(FIELDS) if fields is None else set(fields)
    codes = sorted(profiles)
    raw = {c: [typed_value(c, profiles[k].get(c)) for k in codes] for c in raw_codes(wanted)}
    closed = [frozenset(profiles[k].get(CLOSED_LISTS) or ()) for k in codes]
    return assemble_frame(codes, raw, closed, as_of, wanted)


def raw_codes(wanted: Iterable[str]) -> list[str]:
    """The sorted reported columns a frame of ``wanted`` fields holds (inputs of derived fields included)."""
    wanted = set(wanted)
    return sorted(c for c in raw_inputs(wanted) | wanted if not FIELDS[c].derived)


def assemble_frame(codes: list[str], raw: Mapping[str, list[Any]], closed: list[frozenset[str]],
                   as_of: datetime.date, wanted: Iterable[str]) -> pd.DataFrame:
    """The frame of :func:`profile_frame` from its reported columns: ``codes`` sorted credit codes, ``raw``
    code -> per-row typed values (None = unknown) for every code of ``raw_codes(wanted)``, ``closed`` per-row
    closed_lists. Shared by ``matching.vector_build`` so both builders give the same columns and dtypes."""
    data: dict[str, Any] = {}
    scales: dict[str, int] = {}
    for code, values in raw.items():
        data[code], scale = _column(FIELDS[code].type, values)
        if scale is not None:
            scales[code] = scale
    data[CLOSED_LISTS] = np.array(closed + [None], dtype=object)[:-1]
    converted = {c: (data[c], scales.get(c)) for c in raw}
    for code in sorted(c for c in wanted if FIELDS[c].derived):
        data[code] = _derive(code, raw, as_of, converted)
    index = pd.Index(codes, name="credit_code", dtype=object)
    frame = pd.DataFrame({k: pd.Series(v, index=index, dtype=v.dtype if isinstance(v, pd.api.extensions.ExtensionArray)
                                       else object) for k, v in data.items()}, index=index)
    frame.attrs["scales"] = scales
    frame.attrs["as_of"] = as_of
    return frame


def _column(ty: str, values: list[Any]) -> tuple[Any, int | None]:
    fast = _fast_column(ty, values)
    if fast is not None:
        return fast
    if ty in _SCALES:
        scale = _SCALES[ty]
        ints = [None if v is None else to_fixed(v) for v in values]
        if all(f is None or (f[1] <= scale) for f, v in zip(ints, values, strict=True) if v is not None) and \
                all(v is None or f is not None for f, v in zip(ints, values, strict=True)):
            out = [None if f is None else f[0] * 10 ** (scale - f[1]) for f in ints]
            if all(x is None or abs(x) < 2**62 for x in out):
                return pd.array(out, dtype="Int64"), scale
        return np.array(values, dtype=object), None
    if ty == "date":
        return pd.array([pd.NaT if v is None else pd.Timestamp(v) for v in values], dtype="datetime64[s]"), None
    if ty == "boolean":
        return pd.array(values, dtype="boolean"), None
    return np.array(values + [None], dtype=object)[:-1], None


_QUANTUM = {0: Decimal(1), 2: Decimal("0.01")}


def _fast_column(ty: str, values: list[Any]) -> tuple[Any, int | None] | None:
    """``_column`` by whole-array operations for the common cases, None to take the general path: numbers all
    finite Decimals with at most ``scale`` places (quantize raises no Rounded/Inexact) and below 2**62 in
    fixed point; dates all ``datetime.date``. Gives the general path's result exactly."""
    kinds = set(map(type, values)) - {type(None)}
    if ty in _SCALES and kinds == {Decimal}:
        scale = _SCALES[ty]
        known = np.array([v is not None for v in values], dtype=bool)
        ctx = decimal.Context(prec=DECIMAL_CONTEXT.prec, traps=[decimal.InvalidOperation])
        try:
            with decimal.localcontext(ctx) as c:
                q = _QUANTUM[scale]
                same = [v.quantize(q) for v in values if v is not None]
                if c.flags[decimal.Rounded] or c.flags[decimal.Inexact]:
                    return None  # more places than the scale: kept as Decimal objects
                ints = (np.array(same + [ZERO], dtype=object)[:-1] * 10**scale).astype(np.int64)
        except (ArithmeticError, ValueError, OverflowError, TypeError):
            return None
        if ((ints >= 2**62) | (ints <= -(2**62))).any():
            return None
        out = np.zeros(len(values), dtype=np.int64)
        out[known] = ints
        return pd.arrays.IntegerArray(out, ~known), scale
    if ty == "date" and kinds == {datetime.date}:
        known = np.array([v is not None for v in values], dtype=bool)
        out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[s]")
        out[known] = np.array([v for v in values if v is not None], dtype="datetime64[D]").astype("datetime64[s]")
        return pd.array(out, dtype="datetime64[s]"), None
    return None


def _ratio(num: list[Any], den: list[Any], ok: np.ndarray | None = None) -> np.ndarray:
    """num / den per row in DECIMAL_CONTEXT (None when either is unknown or den is 0). ``ok``, when given, is
    that known-and-nonzero mask computed from the converted columns."""
    out = np.full(len(num), None, dtype=object)
    if ok is None:
        ok = np.array([a is not None and b is not None and b != 0 for a, b in zip(num, den, strict=True)],
                      dtype=bool)
    if ok.any():
        a, b = _objects(num)[ok], _objects(den)[ok]
        with decimal.localcontext(DECIMAL_CONTEXT):
            out[ok] = np.true_divide(a, b)
    return out


def _objects(values: list[Any]) -> np.ndarray:
    return np.fromiter(values, dtype=object, count=len(values))


def _fixed_ok(converted: Mapping[str, tuple[Any, int | None]], num: str, den: str) -> np.ndarray | None:
    """Known numerator, known nonzero denominator, from two fixed-point columns (None: not both fixed)."""
    (a, sa), (b, sb) = converted.get(num, (None, None)), converted.get(den, (None, None))
    if sa is None or sb is None:
        return None
    return ~a._mask & ~b._mask & (b._data != 0)


def _derive(code: str, raw: Mapping[str, list[Any]], as_of: datetime.date,
            converted: Mapping[str, tuple[Any, int | None]] | None = None) -> Any:
    converted = converted or {}
    plain, suffix = (code[:-5], "_prev") if code.endswith("_prev") else (code, "")
    if plain == "city_code":
        return _mapped(raw["region_code"], lambda r: city_of(r) if r else None)
    if plain == "industry_section":
        return _mapped(raw["industry_code"], section_of)
    if plain == "age_years":
        return _age_years(raw["established_on"], as_of)
    if plain == "layoff_rate":
        num, den = "layoff_count" + suffix, "employees" + suffix
        return _ratio(raw[num], raw[den], _fixed_ok(converted, num, den))
    if plain == "rd_ratio":
        num, den = "rd_expense" + suffix, "revenue" + suffix
        return _ratio(raw[num], raw[den], _fixed_ok(converted, num, den))
    figures = {m: raw[m + suffix] for m in ("employees", "revenue", "total_assets")}
    vecs = {m: _num_vec(raw[m + suffix], converted.get(m + suffix)) for m in figures}
    return scale_column(raw["industry_code"], figures, vecs)


def _age_years(established: list[Any], as_of: datetime.date) -> np.ndarray:
    """(as_of - established).days / 365.25 per row; each distinct day count is divided once (ages repeat)."""
    known = np.array([d is not None for d in established], dtype=bool)
    out = np.full(len(established), None, dtype=object)
    if not known.any():
        return out
    days = (np.datetime64(as_of, "D") - np.array([d for d in established if d is not None],
                                                 dtype="datetime64[D]")).astype(np.int64)
    uniq, inverse = np.unique(days, return_inverse=True)
    with decimal.localcontext(DECIMAL_CONTEXT):
        years = np.array([Decimal(int(d)) / DAYS_PER_YEAR for d in uniq.tolist()] + [None], dtype=object)[:-1]
    out[known] = years[inverse]
    return out


def _mapped(values: list[Any], fn: Any) -> np.ndarray:
    series = pd.Series(values, dtype=object)
    uniques = {v: fn(v) for v in series.dropna().unique()}
    return np.array([None if v is None else uniques[v] for v in values] + [None], dtype=object)[:-1]


def _num_vec(values: list[Decimal | None], converted: tuple[Any, int | None] | None = None) -> Vec:
    """Fixed point (int64, scale 2) when the figures allow it, else exact Decimal objects. ``converted`` is the
    figure's frame column and scale, reused when it is fixed point (same result as converting again)."""
    if converted is not None and converted[1] is not None:
        column, scale = converted
        known_vals = column._data[~column._mask]
        if not len(known_vals) or int(np.abs(known_vals).max()) * 10 ** (2 - scale) < 2**62:
            val = np.where(column._mask, 0, column._data) * 10 ** (2 - scale)
            return make("num", val, ~column._mask, None, None, 2)
    known = np.array([v is not None for v in values], dtype=bool)
    column, scale = _column("money", values)
    if scale is not None:
        return make("num", column.to_numpy(dtype=np.int64, na_value=0), known, None, None, scale)
    return make("num", np.array([ZERO if v is None else v for v in values] + [ZERO], dtype=object)[:-1], known)


def scale_column(industry: list[str | None], figures: Mapping[str, list[Decimal | None]],
                 vecs: Mapping[str, Vec] | None = None) -> np.ndarray:
    """企业规模 per 工信部联企业〔2011〕300号 for every row, with the Kleene rule of ``rules.derived.scale_of``: an
    unknown figure is tried at every threshold interval of its group, and the scale is known iff all agree.

    ``figures`` maps employees / revenue / total_assets to per-row Decimal or None (``vecs``: the same figures
    already as ``_num_vec`` columns). Returns object str | None.
    """
    n = len(industry)
    out = np.full(n, None, dtype=object)
    codes, uniques = pd.factorize(pd.Series(industry, dtype=object))
    all_groups = scale_groups()
    group_ids = np.array([all_groups.index(g) if (g := scale_group_of(c) if c else None) is not None else -1
                          for c in uniques.tolist()] + [-1], dtype=np.int64)
    row_group = group_ids[codes]  # code -1 (unknown) takes the trailing -1
    vecs = vecs if vecs is not None else {m: _num_vec(v) for m, v in figures.items()}
    for k, group in enumerate(all_groups):
        idx = np.flatnonzero(row_group == k)
        if not len(idx):
            continue
        metrics = [group.metric1] + ([group.metric2] if group.metric2 else [])
        subs = [_take(vecs[m], idx) for m in metrics]
        results = None
        agree = np.ones(len(idx), dtype=bool)
        for combo in _combos([group.candidates(i) for i in range(len(metrics))]):
            trial = [_with_candidate(s, c) for s, c in zip(subs, combo, strict=True)]
            code = _classify(group, trial)
            if results is None:
                results = code
            else:
                agree &= code == results
        names = np.array(_NAMES, dtype=object)[results]
        out[idx] = np.where(agree, names, None)
    return out


def _combos(options: list[list[Decimal]]) -> list[tuple[Decimal, ...]]:
    if len(options) == 1:
        return [(c,) for c in options[0]]
    return [(a, b) for a in options[0] for b in options[1]]


def _take(v: Vec, idx: np.ndarray) -> Vec:
    return Vec(v.kind, v.val[idx], v.known[idx], v.miss[idx], v.absent[idx], v.scale)


def _with_candidate(v: Vec, candidate: Decimal) -> Vec:
    """Known values stay; unknown rows take the candidate (thresholds are whole numbers, so exact)."""
    if v.scale is not None:
        fixed = to_fixed(candidate)
        if fixed is not None and fixed[1] <= v.scale:
            value = fixed[0] * 10 ** (v.scale - fixed[1])
            return make("num", np.where(v.known, v.val, value), np.ones(v.n, dtype=bool), None, None, v.scale)
        v = make("num", as_dec(v), v.known)
    return make("num", np.where(v.known, v.val, candidate), np.ones(v.n, dtype=bool))


def _meets(group_floor: tuple[Decimal, Decimal | None], m: list[Vec]) -> np.ndarray:
    ok = compare_values("ge", m[0], constant("num", group_floor[0], m[0].n))
    if group_floor[1] is not None:
        ok &= compare_values("ge", m[1], constant("num", group_floor[1], m[1].n)) if len(m) > 1 else False
    return ok


def _classify(group: Any, m: list[Vec]) -> np.ndarray:
    """ScaleGroup.classify by column: 0 大型, 1 中型, 2 小型, 3 微型."""
    below = compare_values("lt", m[0], constant("num", group.ceiling[0], m[0].n))
    if group.ceiling[1] is not None and len(m) > 1:
        below |= compare_values("lt", m[1], constant("num", group.ceiling[1], m[1].n))
    medium, small = _meets(group.medium, m), _meets(group.small, m)
    return np.where(~below, 0, np.where(medium, 1, np.where(small, 2, 3)))


def date_days(frame: pd.DataFrame, code: str) -> tuple[np.ndarray, np.ndarray]:
    """A date column as (int64 days since 1970-01-01, known mask)."""
    col = frame[code]
    known = col.notna().to_numpy()
    secs = col.to_numpy(dtype="datetime64[s]").astype(np.int64)
    return np.where(known, secs // 86_400, 0), known


__all__ = ["DAY_US", "EPOCH", "assemble_frame", "date_days", "profile_frame", "raw_codes", "raw_inputs", "scale_column"]
