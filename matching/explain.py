"""Baseline exclusions and the JSON-able pieces of a verdict's explanation.

Baseline (DESIGN.md "Baseline exclusions"): not ``serious_dishonest``, and ``operating_status`` in (存续, 在业).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rules.render import display
from rules.vocabulary import FIELDS, encode_value

ACTIVE_STATUSES = ("存续", "在业")
BASELINE_FIELDS = ("serious_dishonest", "operating_status", "region_code")
QUALIFICATION_FIELDS = frozenset({"qualifications", "qualified_on", "first_qualified_on"})


def baseline_clauses(
    profile: Mapping[str, Any], region_code: str | None
) -> tuple[bool | None, tuple[str, ...], list[dict[str, Any]]]:
    """Kleene AND of the baseline exclusions for one enterprise.

    Returns:
        (value: True | False | None for unknown, missing field codes sorted, clause dicts). The jurisdiction
        clause always passes: pairs outside the item's region are never evaluated.
    """
    dishonest = profile.get("serious_dishonest")
    status = profile.get("operating_status")
    d_result = None if dishonest is None else not dishonest
    s_result = None if status is None else status in ACTIVE_STATUSES
    clauses = [
        _clause("serious_dishonest", "非严重失信主体", dishonest, d_result),
        _clause("operating_status", "登记状态 in ['存续', '在业']", status, s_result),
        _clause("region_code", "注册地区划 在事项适用区域内", region_code, True),
    ]
    results = (d_result, s_result)
    missing = tuple(sorted(f for f, r in (("serious_dishonest", d_result), ("operating_status", s_result)) if r is None))
    value = False if False in results else (None if None in results else True)
    return value, missing, clauses


def _clause(fld: str, text: str, value: Any, result: bool | None) -> dict[str, Any]:
    """The same shape as a rule clause (``rules`` Clause.to_dict), plus ``kind`` and ``field``."""
    return {
        "kind": "baseline",
        "field": fld,
        "text": text,
        "values": {FIELDS[fld].label: display(value)},
        "outcome": "unknown" if result is None else ("pass" if result else "fail"),
    }


def inputs_of(profile: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The JSON-able values of ``fields`` in the profile (None when unknown), plus ``closed_lists`` when a
    qualification field is used, since it decides what an absent qualification means."""
    fields = set(fields)
    if fields & QUALIFICATION_FIELDS:
        fields.add("closed_lists")
    return {f: encode(profile.get(f), f) for f in sorted(fields)}


def encode(value: Any, code: str | None = None) -> Any:
    """A JSON-able form: the vocabulary's encoding for a field ``code``; otherwise Decimal -> str, date -> ISO
    string, set -> sorted list, mappings and lists recursively."""
    if code in FIELDS and value is not None:
        try:
            return encode_value(code, value)
        except (TypeError, ValueError, AttributeError, ArithmeticError):
            pass  # a value of an unexpected type: fall back to the generic form
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(encode(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if hasattr(value, "to_dict"):
        return encode(value.to_dict())
    return str(value)
