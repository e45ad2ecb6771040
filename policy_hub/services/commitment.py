"""告知承诺 (written commitment): unknown profile fields an enterprise declares itself when applying.

The declared values are parsed by the field's type (DESIGN.md vocabulary), evaluated together with the
enterprise's current profile, and stored on the award as JSON (``Award.declared``) so a later post-check can
compare them with what departments report.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from importers.cells import CellError, amount, boolean, integer, to_date
from policy_hub.services import InputRejected
from rules import FIELDS

DECLARABLE_TYPES = ("money", "integer", "fraction", "decimal", "date", "boolean", "string", "set")
TERMS = ("本企业承诺所填报信息真实、准确、完整；如经核查与事实不符，同意退回已拨付资金并承担相应责任。")


def declarable(missing_fields) -> list[str]:
    """The field codes of ``missing_fields`` an enterprise may declare: reported (not derived) fields of a
    simple type. A missing derived field (e.g. 研发投入强度) is covered by declaring its inputs."""
    return [c for c in missing_fields if c in FIELDS and not FIELDS[c].derived
            and FIELDS[c].type in DECLARABLE_TYPES]


def _fraction(text: str) -> Decimal:
    s = text.strip().replace("％", "%")
    try:
        return Decimal(s[:-1]) / 100 if s.endswith("%") else Decimal(s)
    except InvalidOperation:
        raise CellError("应为比例，如 0.055 或 5.5%") from None


def parse_value(code: str, text: str) -> Any:
    """The typed profile value of one declared field (money in 元 as Decimal). Raises CellError."""
    ty = FIELDS[code].type
    if ty == "money":
        return amount(text)
    if ty == "integer":
        return integer(text)
    if ty in ("fraction", "decimal"):
        return _fraction(text)
    if ty == "date":
        return to_date(text)
    if ty == "boolean":
        return boolean(text)
    if ty == "set":
        parts = [p.strip() for p in text.replace("，", ",").replace("、", ",").split(",")]
        return frozenset(p for p in parts if p)
    return text.strip() or None


def parse_declared(raw: Mapping[str, str], allowed: list[str]) -> dict[str, Any]:
    """Typed values for the declared fields in ``raw`` ({field code: text}); blanks are left out.

    Raises InputRejected (errors: [{column: label, value, message}]) for a field not in ``allowed`` or a value
    that does not parse.
    """
    values, errors = {}, []
    for code, text in raw.items():
        if text is None or not str(text).strip():
            continue
        label = FIELDS[code].label if code in FIELDS else code
        if code not in allowed:
            errors.append({"column": label, "value": text, "message": "该字段不需要或不允许告知承诺"})
            continue
        try:
            value = parse_value(code, str(text))
        except CellError as exc:
            errors.append({"column": label, "value": text, "message": exc.message})
            continue
        if value is not None:
            values[code] = value
    if errors:
        raise InputRejected("告知承诺填报有误：" + "；".join(f"{e['column']}：{e['message']}" for e in errors),
                            errors)
    return values


def to_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Declared values as stored on the award: Decimal and dates as text, sets as sorted lists."""
    out: dict[str, Any] = {}
    for code, v in values.items():
        if isinstance(v, Decimal | date):
            out[code] = str(v) if isinstance(v, Decimal) else v.isoformat()
        elif isinstance(v, frozenset | set):
            out[code] = sorted(v)
        else:
            out[code] = v
    return out


def from_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of ``to_json``: typed profile values for evaluation."""
    return {code: parse_value(code, ",".join(v) if isinstance(v, list) else str(v)) if not isinstance(v, bool)
            else v for code, v in values.items()}


def evaluate_with(credit_code: str, item, as_of: date, declared: Mapping[str, Any]):
    """The engine's verdict for one enterprise and item on its current profile overlaid with ``declared``
    (typed values); None when the enterprise has no registration data."""
    from matching.engine import match_one
    from policy_hub.services.matching import load_observations, profiles_for_year, to_match_item

    build = profiles_for_year(item.fiscal_year, as_of, load_observations(credit_code))
    profile = build.profiles.get(credit_code)
    if profile is None:
        return None
    result = match_one({**profile, **declared}, [to_match_item(item)], as_of)
    return result.verdicts[0] if result.verdicts else None
