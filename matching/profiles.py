"""Enterprise profiles (一企一档) built from append-only observations.

One observation is one reported value: which enterprise, which vocabulary field, which fiscal year (yearly fields
only), which source department, and the import order ``seq``. The profile is derived from them:

- each field's authoritative source (``FIELDS[code].source``) wins; another source reporting a different
  value is recorded as a :class:`Conflict` and never overwrites it. A field only a non-authoritative source
  reported takes that value (the latest by ``seq``), so it is not unknown;
- within one source a later observation (higher ``seq``) is a correction and wins;
- yearly fields take the FY value under the plain code and the FY-1 value under ``<code>_prev``;
- an unreported field is absent (unknown), never 0 or false, except for the closed-world list feeds
  (qualifications and the 严重失信 list, see DESIGN.md "Vocabulary").

Derived fields (scale, layoff_rate, ...) are not computed here; the engine calls ``rules.derive``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from rules.vocabulary import FIELDS

logger = logging.getLogger(__name__)

RECOGNITION = "qualification_recognition"
REGISTRATION_SOURCE = "market"
CREDIT_SOURCE = "credit"
QUALIFICATION_FIELDS = ("qualifications", "qualified_on", "first_qualified_on")
OBSERVATION_COLUMNS = ("credit_code", "field", "value", "fiscal_year", "source", "seq")
RESOLUTION_COLUMNS = ("credit_code", "field", "fiscal_year", "source", "value")


@dataclass(frozen=True)
class Conflict:
    """A non-authoritative source reported a value different from the authoritative source's value.

    ``fiscal_year`` is None for snapshot fields; ``field`` is the plain vocabulary code (never ``_prev``).
    """

    credit_code: str
    field: str
    fiscal_year: int | None
    authoritative_source: str
    authoritative_value: Any
    other_source: str
    other_value: Any


@dataclass
class ProfileBuild:
    """The result of :func:`build_profiles`.

    Attributes:
        profiles: credit_code -> profile dict keyed by field code (see :func:`build_profiles`).
        sources: credit_code -> {field code as in the profile -> source department it was taken from}.
        conflicts: every disagreement with an authoritative source, in (credit_code, field, year) order.
        unregistered: sorted credit codes with observations but no 市场监管 registration; not matched.
    """

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    unregistered: list[str] = field(default_factory=list)


def build_profiles(
    observations: pd.DataFrame,
    *,
    fiscal_year: int,
    as_of: date,
    closed_lists: frozenset[str],
    credit_list_imported: bool,
    resolutions: pd.DataFrame | None = None,
) -> ProfileBuild:
    """Build the current profile of every registered enterprise for fiscal year ``fiscal_year``.

    Args:
        observations: one row per reported value. Columns: credit_code (str), field (str: a vocabulary code,
            or ``'qualification_recognition'`` whose value is ``{"name": str, "recognized_on": date,
            "valid_until": date | None}``), value (object, typed: money Decimal 元, integer int, date, bool,
            str), fiscal_year (Int64, NA for snapshot fields), source (str: market | tax | hr |
            qualifications | credit), seq (int, import order).
        fiscal_year: the assessment year FY; yearly values of FY go under ``x``, of FY-1 under ``x_prev``.
        as_of: assessment date; a qualification is held iff recognized_on <= as_of <= valid_until (None =
            open-ended). Recognitions dated after ``as_of`` are ignored altogether.
        closed_lists: qualification names whose authoritative list was imported (closed world).
        credit_list_imported: whether the 严重失信 list was imported; then absence from it means False.
        resolutions: the data officer's conflict resolutions, one row per key. Columns: credit_code (str),
            field (str, plain code), fiscal_year (Int64, NA for snapshot fields), source (str, the chosen
            source), value (typed, the chosen source's value when resolved). A resolution overrides the
            authoritative source, and records no conflict, only while ``source``'s latest value still equals
            ``value``; otherwise it is stale and ignored.

    Returns:
        ProfileBuild. Each profile holds the reported fields, ``credit_code``, ``qualifications``
        (frozenset[str]), ``qualified_on`` / ``first_qualified_on`` (dict[str, date]), ``serious_dishonest``
        (bool, or absent when unknown) and ``closed_lists``.

    Raises:
        ValueError: a column is missing, a field code is not in the vocabulary (or is derived / ``_prev``),
            or a yearly field has no fiscal year.
    """
    missing_cols = [c for c in OBSERVATION_COLUMNS if c not in observations.columns]
    if missing_cols:
        raise ValueError(f"observations lack columns {missing_cols}")

    scalar: dict[tuple[str, str, int | None], dict[str, tuple[int, Any]]] = defaultdict(dict)
    recognitions: dict[str, dict[tuple[str, date], tuple[int, date | None]]] = defaultdict(dict)
    seen: set[str] = set()
    registered: set[str] = set()

    for code, fld, value, year, source, seq in observations.loc[:, list(OBSERVATION_COLUMNS)].itertuples(
        index=False, name=None
    ):
        code = str(code)
        seen.add(code)
        if source == REGISTRATION_SOURCE:
            registered.add(code)
        if fld == RECOGNITION:
            _add_recognition(recognitions[code], value, int(seq))
            continue
        key_year = _year_of(fld, year, fiscal_year)
        if key_year is False:
            continue  # a yearly value of neither FY nor FY-1
        slot = scalar[(code, fld, key_year)]
        if source not in slot or slot[source][0] < seq:
            slot[source] = (int(seq), value)

    chosen = _resolution_map(resolutions)
    build = ProfileBuild(unregistered=sorted(seen - registered))
    for code in sorted(registered):
        build.profiles[code] = {"credit_code": code, "closed_lists": frozenset(closed_lists)}
        build.sources[code] = {"credit_code": REGISTRATION_SOURCE}

    for (code, fld, year), by_source in sorted(scalar.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)):
        if code not in build.profiles:
            continue
        pick = chosen.get((code, fld, year))
        if pick is not None and pick[0] in by_source and _same(by_source[pick[0]][1], pick[1]):
            source, value = pick[0], by_source[pick[0]][1]
        else:
            source, value = _resolve(code, fld, year, by_source, build.conflicts)
        key = fld if year is None or year == fiscal_year else f"{fld}_prev"
        build.profiles[code][key] = value
        build.sources[code][key] = source

    for code, profile in build.profiles.items():
        _set_qualifications(profile, recognitions.get(code, {}), as_of)
        build.sources[code].update(dict.fromkeys(QUALIFICATION_FIELDS, "qualifications"))
        if profile.get("serious_dishonest") is None:
            profile.pop("serious_dishonest", None)
            if credit_list_imported:
                profile["serious_dishonest"] = False
                build.sources[code]["serious_dishonest"] = CREDIT_SOURCE
    if build.unregistered:
        logger.info("%s enterprises have observations but no registration", len(build.unregistered))
    return build


def _resolution_map(resolutions: pd.DataFrame | None) -> dict[tuple[str, str, int | None], tuple[str, Any]]:
    if resolutions is None or len(resolutions) == 0:
        return {}
    missing_cols = [c for c in RESOLUTION_COLUMNS if c not in resolutions.columns]
    if missing_cols:
        raise ValueError(f"resolutions lack columns {missing_cols}")
    out = {}
    for code, fld, year, source, value in resolutions.loc[:, list(RESOLUTION_COLUMNS)].itertuples(
        index=False, name=None
    ):
        key_year = None if year is None or pd.isna(year) else int(year)
        out[(str(code), fld, key_year)] = (source, value)
    return out


def _year_of(fld: str, year: Any, fiscal_year: int) -> int | None | bool:
    """The fiscal year key of an observation: None for snapshot fields, FY or FY-1, or False to drop it."""
    spec = FIELDS.get(fld)
    if spec is None or spec.derived or (fld.endswith("_prev") and fld[:-5] in FIELDS):
        raise ValueError(f"observation field {fld!r} is not an observable vocabulary code")
    if not spec.yearly:
        return None
    if year is None or pd.isna(year):
        raise ValueError(f"yearly field {fld!r} observed without a fiscal year")
    year = int(year)
    return year if year in (fiscal_year, fiscal_year - 1) else False


def _resolve(
    code: str, fld: str, year: int | None, by_source: dict[str, tuple[int, Any]], conflicts: list[Conflict]
) -> tuple[str, Any]:
    """Pick the authoritative value and record disagreements; fall back to the latest other source."""
    authority = FIELDS[fld].source
    if authority not in by_source:
        source = max(by_source, key=lambda s: by_source[s][0])
        return source, by_source[source][1]
    value = by_source[authority][1]
    for other in sorted(by_source):
        other_value = by_source[other][1]
        if other != authority and not _same(value, other_value):
            conflicts.append(Conflict(code, fld, year, authority, value, other, other_value))
    return authority, value


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _add_recognition(slot: dict[tuple[str, date], tuple[int, date | None]], value: Any, seq: int) -> None:
    """Keep one recognition per (name, recognized_on); a later seq corrects its valid_until."""
    name, recognized_on = value["name"], value["recognized_on"]
    key = (name, recognized_on)
    if key not in slot or slot[key][0] < seq:
        slot[key] = (seq, value.get("valid_until"))


def _set_qualifications(
    profile: dict[str, Any], recs: dict[tuple[str, date], tuple[int, date | None]], as_of: date
) -> None:
    held: set[str] = set()
    latest: dict[str, date] = {}
    first: dict[str, date] = {}
    for (name, recognized_on), (_, valid_until) in recs.items():
        if recognized_on > as_of:
            continue
        if valid_until is None or as_of <= valid_until:
            held.add(name)
        latest[name] = max(latest.get(name, recognized_on), recognized_on)
        first[name] = min(first.get(name, recognized_on), recognized_on)
    profile["qualifications"] = frozenset(held)
    profile["qualified_on"] = latest
    profile["first_qualified_on"] = first
