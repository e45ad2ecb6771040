"""ProfileFrame: a province's profile frame built once, in jurisdiction order, reused by every vectorised run.

Building the frame from profile dicts costs far more than evaluating rules over it, so a province run, a
one-item run and a re-run after an item edit all take the same prebuilt :class:`ProfileFrame`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from matching.explain import BASELINE_FIELDS
from matching.vector_compile import Store
from matching.vector_frame import profile_frame
from rules.regions import city_of, regions


@dataclass
class ProfileFrame:
    """The profile frame of a set of enterprises plus its jurisdiction layout.

    Attributes:
        profiles: credit_code -> profile the frame was built from (the per-record fallback and explanations
            read them).
        frame: ``matching.vector_frame.profile_frame`` output (one row per enterprise, index credit_code).
        as_of: the assessment date the derived columns (age_years) were computed for.
        order: int64 row positions of ``frame`` in jurisdiction order: Shanxi rows by (city, region, row), then
            rows of other known regions; rows without a region (in no jurisdiction) are left out.
        n_province: how many of ``order`` lie in Shanxi (the span of a provincial item is [0, n_province)).
        spans: city or region code -> [start, stop) positions in ``order``.
        store: the frame's columns as numpy arrays in ``order`` (converted once, on first use).
        codes: object array of credit codes in ``order``.
    """

    profiles: Mapping[str, Mapping[str, Any]]
    frame: pd.DataFrame
    as_of: date
    order: np.ndarray
    n_province: int
    spans: dict[str, tuple[int, int]]
    store: Store
    codes: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def fields(self) -> set[str]:
        """The vocabulary codes the frame holds."""
        return set(self.frame.columns)


def build_frame(profiles: Mapping[str, Mapping[str, Any]], as_of: date,
                fields: Iterable[str] | None = None) -> ProfileFrame:
    """Build the frame once for many runs.

    Args:
        profiles: credit_code -> profile (typed values, see ``matching.profiles``).
        as_of: assessment date (runs over the frame must use the same date).
        fields: vocabulary codes to hold (derived ones computed); default every field. The baseline fields
            are always included.

    Raises:
        TypeError: a profile value has the wrong type, as ``profile_frame``.
    """
    wanted = None if fields is None else set(fields) | set(BASELINE_FIELDS)
    return prepare(profiles, profile_frame(profiles, as_of, wanted), as_of)


def prepare(profiles: Mapping[str, Mapping[str, Any]], frame: pd.DataFrame, as_of: date) -> ProfileFrame:
    """The ProfileFrame of a ``profile_frame``-shaped frame: jurisdiction order, spans and converted columns.
    ``profiles`` maps every credit code of the frame to its profile (it may build them lazily)."""
    order, n_province, spans = jurisdiction_order(frame)
    store = Store(frame, order)
    for code in frame.columns:
        store.raw(code)  # convert every column now, not inside the first timed run
    return ProfileFrame(profiles, frame, as_of, order, n_province, spans, store, frame.index.to_numpy()[order])


def jurisdiction_order(frame: pd.DataFrame) -> tuple[np.ndarray, int, dict[str, tuple[int, int]]]:
    """(order, n_province, spans) as described on :class:`ProfileFrame`, by distinct region code (no per-row
    Python)."""
    table = regions()
    col = frame["region_code"]
    region = np.where(col.notna().to_numpy(), col.to_numpy(dtype=object), None)
    idx, uniques = pd.factorize(pd.Series(region, dtype=object), use_na_sentinel=True)
    keys = []
    for u, r in enumerate(uniques.tolist()):
        if r:  # '' or None: in no jurisdiction
            inside = r in table
            keys.append((0 if inside else 1, (city_of(r) or "") if inside else "", r, u))
    keys.sort()
    rank = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the last slot catches the NA sentinel -1
    for pos, key in enumerate(keys):
        rank[key[3]] = pos
    row_rank = rank[idx]
    rows = np.flatnonzero(row_rank >= 0)
    order = rows[np.argsort(row_rank[rows], kind="stable")].astype(np.int64)
    counts = np.bincount(row_rank[rows], minlength=len(keys)) if len(keys) else np.zeros(0, dtype=np.int64)
    spans: dict[str, tuple[int, int]] = {}
    start, n_province = 0, 0
    for (outside, city, r, _), count in zip(keys, counts.tolist(), strict=True):
        stop = start + count
        n_province += 0 if outside else count
        for code in {city, r} - {""}:
            spans[code] = (spans.get(code, (start, start))[0], stop)
        start = stop
    return order, n_province, spans
