"""The profile frame built column-wise straight from observations, without a profile dict per enterprise.

``frame_from_observations(obs, ...)`` gives exactly the frame of
``build_frame(build_profiles(obs, ...).profiles, as_of, fields)`` (same columns, dtypes, values and unknown
masks), plus the same conflicts and unregistered list. The rules are those of ``matching.profiles``, applied per
field over whole columns:

- per (enterprise, field, fiscal-year slot) and source, the latest ``seq`` wins (ties: the earlier row);
- the field's authoritative source wins; without it, the latest other source (ties: the source seen first);
  other sources disagreeing with the authority become :class:`matching.profiles.Conflict` rows;
- qualifications, 严重失信 and closed lists as in ``build_profiles``.

``matching.profiles.build_profiles`` stays the reference, and builds the profile dicts of the few enterprises the
per-record fallback and explanations read (:class:`LazyProfiles`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from matching.explain import BASELINE_FIELDS
from matching.profiles import (
    OBSERVATION_COLUMNS,
    QUALIFICATION_FIELDS,
    RECOGNITION,
    REGISTRATION_SOURCE,
    Conflict,
    _resolution_map,
    _same,
    build_profiles,
)
from matching.vector_frame import assemble_frame, raw_codes
from matching.vector_prepared import ProfileFrame, prepare
from rules.evaluator import typed_value
from rules.vocabulary import FIELDS

# Python types typed_value returns unchanged, per vocabulary type (other types go through typed_value).
_AS_IS = {"money": {Decimal}, "integer": {Decimal}, "fraction": {Decimal}, "decimal": {Decimal},
          "date": {datetime.date}, "boolean": {bool}, "string": {str}, "set": {frozenset}, "mapping": {dict}}


@dataclass
class FrameBuild:
    """``frame``: the ProfileFrame of the registered enterprises; ``conflicts`` and ``unregistered`` as
    ``matching.profiles.ProfileBuild``."""

    frame: ProfileFrame
    conflicts: list[Conflict]
    unregistered: list[str]


def frame_from_observations(
    observations: pd.DataFrame,
    *,
    fiscal_year: int,
    as_of: datetime.date,
    closed_lists: frozenset[str],
    credit_list_imported: bool,
    resolutions: pd.DataFrame | None = None,
    fields: Iterable[str] | None = None,
) -> FrameBuild:
    """The ProfileFrame of every registered enterprise, built by column.

    Args:
        observations: as ``matching.profiles.build_profiles`` takes them (columns credit_code, field, value,
            fiscal_year, source, seq).
        fiscal_year, as_of, closed_lists, credit_list_imported, resolutions: as ``build_profiles``.
        fields: vocabulary codes the frame holds (as ``build_frame``; the baseline fields always); default all.

    Returns:
        FrameBuild whose ``frame.profiles`` is a :class:`LazyProfiles` over the same observations.

    Raises:
        ValueError: as ``build_profiles`` (missing column, unknown / derived / ``_prev`` field, yearly field
            without a fiscal year). TypeError: a value of the wrong type, as ``build_frame``.
    """
    missing_cols = [c for c in OBSERVATION_COLUMNS if c not in observations.columns]
    if missing_cols:
        raise ValueError(f"observations lack columns {missing_cols}")
    wanted = set(FIELDS) if fields is None else set(fields) | set(BASELINE_FIELDS)
    obs = _Columns(observations)
    code_idx, uniq_codes = pd.factorize(obs.codes)
    market = np.zeros(len(uniq_codes), dtype=bool)
    market[code_idx[obs.sources == REGISTRATION_SOURCE]] = True
    names = np.asarray(uniq_codes, dtype=object)
    registered = np.sort(names[market])
    unregistered = sorted(names[~market].tolist())
    rank = np.full(len(names), -1, dtype=np.int64)  # factorized code -> row of the frame (-1: unregistered)
    rank[np.flatnonzero(market)] = np.searchsorted(registered, names[market])
    pos = rank[code_idx] if len(code_idx) else np.zeros(0, dtype=np.int64)
    n = len(registered)

    keys, recognition_rows = _key_rows(obs, fiscal_year)
    picks = _picks(_resolution_map(resolutions), registered, fiscal_year)
    raw: dict[str, list[Any]] = {}
    conflicts: list[tuple[tuple, Conflict]] = []
    needed = raw_codes(wanted)
    for key, rows in keys.items():
        rows = rows[pos[rows] >= 0]
        column, found = _resolve(key, rows, pos, obs, n, fiscal_year, registered, picks.get(key, {}))
        conflicts.extend(found)
        if key in needed:
            raw[key] = column
    quals = _qualifications(obs, recognition_rows, pos, n, as_of) if set(needed) & set(QUALIFICATION_FIELDS) else {}
    for code in needed:
        if code == "credit_code":
            raw[code] = registered.tolist()
        elif code in QUALIFICATION_FIELDS:
            raw[code] = quals[code]
        elif code not in raw:
            raw[code] = [None] * n
        if code == "serious_dishonest" and credit_list_imported:
            raw[code] = [False if v is None else v for v in raw[code]]
        raw[code] = _typed(code, raw[code])
    raw = {c: raw[c] for c in needed}
    closed = frozenset(closed_lists)
    frame = assemble_frame(registered.tolist(), raw, [closed] * n, as_of, wanted)
    lazy = LazyProfiles(observations, registered, dict(fiscal_year=fiscal_year, as_of=as_of,
                                                       closed_lists=closed_lists, resolutions=resolutions,
                                                       credit_list_imported=credit_list_imported))
    conflicts.sort(key=lambda kc: kc[0])
    return FrameBuild(prepare(lazy, frame, as_of), [c for _, c in conflicts], unregistered)


class _Columns:
    """The observation columns as numpy arrays (row order kept)."""

    def __init__(self, observations: pd.DataFrame):
        self.codes = observations["credit_code"].astype(str).to_numpy(dtype=object)
        self.fields = observations["field"].to_numpy(dtype=object)
        self.values = observations["value"].to_numpy(dtype=object)
        self.years = observations["fiscal_year"]
        self.sources = observations["source"].to_numpy(dtype=object)
        self.seq = observations["seq"].to_numpy(dtype=np.int64)


def _key_rows(obs: _Columns, fiscal_year: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Profile key (``x`` or ``x_prev``) -> row indices (ascending), and the recognition rows. Validates every
    field code as ``build_profiles`` does."""
    field_idx, field_names = pd.factorize(obs.fields)
    order = np.argsort(field_idx, kind="stable")
    bounds = np.searchsorted(field_idx[order], np.arange(len(field_names) + 1))
    years = pd.array(obs.years, dtype="Int64")
    keys: dict[str, np.ndarray] = {}
    recognitions = np.zeros(0, dtype=np.int64)
    for f, fld in enumerate(field_names.tolist()):
        rows = order[bounds[f]:bounds[f + 1]]
        if fld == RECOGNITION:
            recognitions = rows
            continue
        spec = FIELDS.get(fld)
        if spec is None or spec.derived or (fld.endswith("_prev") and fld[:-5] in FIELDS):
            raise ValueError(f"observation field {fld!r} is not an observable vocabulary code")
        if not spec.yearly:
            keys[fld] = rows
            continue
        ys = years[rows]
        if ys.isna().any():
            raise ValueError(f"yearly field {fld!r} observed without a fiscal year")
        ys = ys.to_numpy(dtype=np.int64)
        for key, year in ((fld, fiscal_year), (fld + "_prev", fiscal_year - 1)):
            picked = rows[ys == year]
            if len(picked):
                keys[key] = picked
    return keys, recognitions


def _picks(chosen: dict[tuple[str, str, int | None], tuple[str, Any]], registered: np.ndarray, fiscal_year: int
           ) -> dict[str, dict[int, tuple[str, Any]]]:
    """The resolutions by profile key (``x`` / ``x_prev``) and frame row; keys no observation can have dropped."""
    out: dict[str, dict[int, tuple[str, Any]]] = {}
    for (code, fld, year), pick in chosen.items():
        spec = FIELDS.get(fld)
        if spec is None or spec.yearly != (year is not None):
            continue
        key = fld if year is None or year == fiscal_year else (fld + "_prev" if year == fiscal_year - 1 else None)
        i = int(np.searchsorted(registered, code))
        if key is not None and i < len(registered) and registered[i] == code:
            out.setdefault(key, {})[i] = pick
    return out


def _resolve(key: str, rows: np.ndarray, pos: np.ndarray, obs: _Columns, n: int, fiscal_year: int,
             registered: np.ndarray, picks: dict[int, tuple[str, Any]]
             ) -> tuple[list[Any], list[tuple[tuple, Conflict]]]:
    """One profile key's per-row values (None = unreported) and its conflicts (with their sort keys). A row's
    resolution (``picks``) wins while its source's latest value still equals the resolved value; a single
    observation needs none (its value is the resolved one or the resolution is stale)."""
    column = np.full(n, None, dtype=object)
    p = pos[rows]
    once = np.bincount(p, minlength=n)[p] == 1 if len(p) else np.zeros(0, dtype=bool)
    column[p[once]] = obs.values[rows[once]]  # the common case: one observation of the key per enterprise
    conflicts: list[tuple[tuple, Conflict]] = []
    rows = rows[~once]
    if not len(rows):
        return column.tolist(), conflicts
    plain = key[:-5] if key.endswith("_prev") and key[:-5] in FIELDS else key
    year = None if not FIELDS[plain].yearly else (fiscal_year if plain == key else fiscal_year - 1)
    p, src, q = pos[rows], obs.sources[rows], obs.seq[rows]
    src_idx = pd.factorize(src)[0]
    # Latest row per (enterprise, source): max seq, then the earlier row; first row of the pair for ties below.
    order = np.lexsort((-rows, q, src_idx, p))
    pair = np.r_[True, (p[order][1:] != p[order][:-1]) | (src_idx[order][1:] != src_idx[order][:-1])]
    starts = np.flatnonzero(pair)
    first_row = np.minimum.reduceat(rows[order], starts)
    last = order[np.r_[starts[1:] - 1, len(order) - 1]]
    lp, ls, lq = p[last], src[last], q[last]
    is_auth = ls == FIELDS[plain].source
    pick = np.lexsort((-first_row, lq, is_auth, lp))
    winner = np.r_[lp[pick][1:] != lp[pick][:-1], True]
    chosen = last[pick][winner]
    column[p[chosen]] = obs.values[rows[chosen]]
    resolved = set()
    for i in np.flatnonzero(np.isin(lp, np.fromiter(picks, dtype=np.int64, count=len(picks)))).tolist():
        pp, value = int(lp[i]), obs.values[rows[last[i]]]
        if ls[i] == picks[pp][0] and _same(value, picks[pp][1]):
            column[pp] = value
            resolved.add(pp)
    authority_value = {int(pp): obs.values[rows[last[i]]] for i, pp in enumerate(lp.tolist()) if is_auth[i]}
    for i in np.flatnonzero(~is_auth & np.isin(lp, np.fromiter(authority_value, dtype=np.int64))).tolist():
        pp, other, other_value = int(lp[i]), str(ls[i]), obs.values[rows[last[i]]]
        if pp in resolved:
            continue
        value = authority_value[pp]
        if not _same(value, other_value):
            code = str(registered[pp])
            conflicts.append(((code, plain, year or 0, other),
                              Conflict(code, plain, year, FIELDS[plain].source, value, other, other_value)))
    return column.tolist(), conflicts


def _typed(code: str, values: list[Any]) -> list[Any]:
    """``typed_value`` of every value; skipped when every known value already has the type it returns."""
    kinds = set(map(type, values)) - {type(None)}
    if kinds <= _AS_IS.get(FIELDS[code].type, set()):
        return values
    if kinds == {int} and FIELDS[code].numeric:  # typed_value(int) is Decimal(int)
        return [None if v is None else Decimal(v) for v in values]
    return [typed_value(code, v) for v in values]


def _qualifications(obs: _Columns, rows: np.ndarray, pos: np.ndarray, n: int, as_of: datetime.date
                    ) -> dict[str, list[Any]]:
    """qualifications / qualified_on / first_qualified_on per frame row, as ``build_profiles``."""
    latest: dict[tuple[int, str, datetime.date], tuple[int, Any]] = {}
    for r in rows.tolist():
        value, seq, pp = obs.values[r], int(obs.seq[r]), int(pos[r])
        key = (pp, value["name"], value["recognized_on"])
        if key not in latest or latest[key][0] < seq:
            latest[key] = (seq, value.get("valid_until"))
    held: list[Any] = [frozenset()] * n
    on: list[Any] = [{} for _ in range(n)]
    first: list[Any] = [{} for _ in range(n)]
    holding: dict[int, set[str]] = {}
    for (pp, name, recognized_on), (_, valid_until) in latest.items():
        if pp < 0 or recognized_on > as_of:
            continue
        if valid_until is None or as_of <= valid_until:
            holding.setdefault(pp, set()).add(name)
        on[pp][name] = max(on[pp].get(name, recognized_on), recognized_on)
        first[pp][name] = min(first[pp].get(name, recognized_on), recognized_on)
    for pp, names in holding.items():
        held[pp] = frozenset(names)
    return {"qualifications": held, "qualified_on": on, "first_qualified_on": first}


class LazyProfiles(Mapping[str, Mapping[str, Any]]):
    """credit_code -> profile dict of ``build_profiles``, built on first access from that enterprise's
    observations only (the fallback and explanations read a few profiles of a run)."""

    def __init__(self, observations: pd.DataFrame, codes: np.ndarray, options: dict[str, Any]):
        self._obs, self._codes, self._options = observations, codes, options
        self._cache: dict[str, dict[str, Any]] = {}
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    def __getitem__(self, code: str) -> dict[str, Any]:
        if code not in self._cache:
            i = np.searchsorted(self._codes, code)
            if i >= len(self._codes) or self._codes[i] != code:
                raise KeyError(code)
            if self._sorted is None:
                keys = self._obs["credit_code"].astype(str).to_numpy(dtype=object)
                order = np.argsort(keys, kind="stable")
                self._sorted = (keys[order], order)
            keys, order = self._sorted
            lo, hi = np.searchsorted(keys, code, "left"), np.searchsorted(keys, code, "right")
            rows = self._obs.iloc[np.sort(order[lo:hi])]
            self._cache[code] = build_profiles(rows, **self._options).profiles[code]
        return self._cache[code]

    def prefetch(self, codes: Iterable[str]) -> None:
        """Build the profiles of many enterprises in one ``build_profiles`` pass (the explanations of a run)."""
        want = [c for c in codes if c not in self._cache and c in self]
        if not want:
            return
        rows = self._obs[self._obs["credit_code"].astype(str).isin(want).to_numpy()]
        self._cache.update(build_profiles(rows, **self._options).profiles)

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes.tolist())

    def __len__(self) -> int:
        return len(self._codes)

    def __contains__(self, code: object) -> bool:
        i = np.searchsorted(self._codes, code)
        return bool(i < len(self._codes) and self._codes[i] == code)


__all__ = ["FrameBuild", "LazyProfiles", "frame_from_observations"]
