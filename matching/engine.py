"""The matching engine: verdicts for every (enterprise, item) pair inside the item's jurisdiction.

Semantics follow DESIGN.md "The rule language": baseline exclusions AND the item's rule under Kleene logic; the
amount capped then rounded once half-up to 分; verdict order ineligible > unknown > eligible; exclusive groups
keep only the highest-amount eligible member per enterprise and fiscal year.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import rules
from matching.explain import BASELINE_FIELDS, baseline_clauses, inputs_of
from rules.money import MAX_AMOUNT_YUAN, round_yuan
from rules.regions import within

logger = logging.getLogger(__name__)

Mode = Literal["apply_free", "instant_apply", "on_application"]
VerdictKind = Literal["eligible", "unknown", "ineligible", "superseded"]
TOTAL_KEYS = ("pairs", "eligible", "unknown", "ineligible", "superseded")


@dataclass(frozen=True)
class MatchItem:
    """One reward item revision as the engine sees it. ``cap`` is the per-enterprise cap in 元 (None = none)."""

    item_id: int
    region_code: str
    code: str
    mode: Mode
    category: str
    eligibility: str
    amount_formula: str | None
    cap: Decimal | None
    exclusive_group: str | None
    fiscal_year: int


@dataclass
class Verdict:
    """The outcome of one (enterprise, item) pair.

    ``amount`` is in 元 rounded to 分 (None when unknown or the item has no formula); ``missing_fields`` are the
    sorted distinct codes that made the verdict unknown (empty otherwise); ``explanation`` is a list of JSON-able
    dicts (baseline clauses, rule clauses, the amount, the exclusive group); ``inputs`` maps each field code used
    to its JSON-able value.
    """

    credit_code: str
    item_id: int
    verdict: VerdictKind
    amount: Decimal | None
    missing_fields: tuple[str, ...]
    explanation: list[dict[str, Any]]
    inputs: dict[str, Any]


@dataclass
class MatchResult:
    """``verdicts``: eligible, unknown and superseded pairs (ineligible too when asked for);
    ``ineligible_counts``: item_id -> number of ineligible pairs; ``totals``: counts keyed by TOTAL_KEYS
    (``pairs`` = pairs evaluated, i.e. inside the item's jurisdiction)."""

    verdicts: list[Verdict] = field(default_factory=list)
    ineligible_counts: dict[int, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTAL_KEYS, 0))


@dataclass(frozen=True)
class _Compiled:
    item: MatchItem
    rule: rules.CompiledRule
    formula: rules.CompiledRule | None


def match(
    profiles: Mapping[str, Mapping[str, Any]],
    items: Sequence[MatchItem],
    as_of: date,
    *,
    keep_ineligible: bool = False,
) -> MatchResult:
    """Evaluate every (enterprise, item) pair whose enterprise ``region_code`` lies within the item's region.

    Args:
        profiles: credit_code -> profile (field code -> typed value; see ``matching.profiles``), built for the
            items' fiscal year. Derived fields are added here with ``rules.derive``. An enterprise whose
            region_code is unknown or outside Shanxi lies in no jurisdiction and is not evaluated.
        items: the items to evaluate (already filtered to listed items whose window contains ``as_of``).
        as_of: the assessment date passed to rules; never read from the clock.
        keep_ineligible: also return ineligible verdicts (for explaining one enterprise's page).

    Returns:
        MatchResult; verdicts are ordered by credit_code, then item order.

    Raises:
        rules.RuleError: an item's rule or formula does not compile (the message names the item code).
    """
    compiled = compile_items(items)
    result = MatchResult()
    for credit_code in sorted(profiles):
        verdicts = _match_enterprise(credit_code, profiles[credit_code], compiled, as_of, result)
        for v in verdicts:
            result.totals[v.verdict] += 1
            if v.verdict == "ineligible":
                result.ineligible_counts[v.item_id] = result.ineligible_counts.get(v.item_id, 0) + 1
                if not keep_ineligible:
                    continue
            result.verdicts.append(v)
    logger.info("matched %s pairs: %s", result.totals["pairs"], result.totals)
    return result


def match_one(
    profile: Mapping[str, Any], items: Sequence[MatchItem], as_of: date, *, keep_ineligible: bool = True
) -> MatchResult:
    """:func:`match` for one enterprise (``profile["credit_code"]``), keeping ineligible verdicts by default."""
    return match({str(profile["credit_code"]): profile}, items, as_of, keep_ineligible=keep_ineligible)


def compile_items(items: Iterable[MatchItem]) -> list[_Compiled]:
    """Compile each item's rule and formula once. Raises rules.RuleError naming the item."""
    out = []
    for item in items:
        rule = _compile(item, item.eligibility, "rule")
        formula = _compile(item, item.amount_formula, "amount") if item.amount_formula else None
        out.append(_Compiled(item, rule, formula))
    return out


def _compile(item: MatchItem, text: str, kind: str) -> rules.CompiledRule:
    try:
        return rules.compile_rule(text, kind=kind)
    except rules.RuleError as exc:
        what = "资格规则" if kind == "rule" else "金额公式"
        new = type(exc)(f"事项 {item.region_code}/{item.code}（id {item.item_id}）的{what}无法编译：{exc.message}")
        new.position, new.expected, new.found = exc.position, exc.expected, exc.found
        new.suggestion, new.text = exc.suggestion, exc.text
        raise new from exc


def _match_enterprise(
    credit_code: str, profile: Mapping[str, Any], compiled: list[_Compiled], as_of: date, result: MatchResult
) -> list[Verdict]:
    region = profile.get("region_code")
    in_scope = [c for c in compiled if within(region, c.item.region_code)]
    if not in_scope:
        return []
    full = rules.derive(profile, as_of)  # a copy with the derived fields
    data_issues = [{"field": f, "reason": r} for f, r in full.pop(rules.DATA_ISSUES, None) or ()]
    base_value, base_missing, base_clauses = baseline_clauses(full, region)
    verdicts = []
    for c in in_scope:
        result.totals["pairs"] += 1
        verdicts.append(_verdict(credit_code, full, c, as_of, base_value, base_missing, base_clauses))
        if data_issues:
            verdicts[-1].explanation.append({"kind": "data_issues", "issues": data_issues})
    _apply_exclusive_groups(verdicts, {c.item.item_id: c.item for c in in_scope})
    return verdicts


def _verdict(
    credit_code: str,
    full: Mapping[str, Any],
    c: _Compiled,
    as_of: date,
    base_value: bool | None,
    base_missing: tuple[str, ...],
    base_clauses: list[dict[str, Any]],
) -> Verdict:
    explanation = [dict(d) for d in base_clauses]
    used = set(BASELINE_FIELDS) | set(c.rule.fields) | (set(c.formula.fields) if c.formula else set())
    inputs = inputs_of(full, used)
    if base_value is False:
        return Verdict(credit_code, c.item.item_id, "ineligible", None, (), explanation, inputs)

    outcome = c.rule.evaluate(full, as_of)
    explanation.append({"kind": "rule_text", "text": c.rule.render_zh()})  # the 且/或 structure, in Chinese
    explanation.extend({"kind": "rule", **cl.to_dict()} for cl in outcome.clauses)
    rule_value = _and(base_value, outcome.value)
    if rule_value is False:
        return Verdict(credit_code, c.item.item_id, "ineligible", None, (), explanation, inputs)

    missing = set(base_missing) | (set(outcome.missing) if outcome.value is None else set())
    amount = None
    if c.formula is not None:
        amount, amount_missing, amount_clause = _amount(c, full, as_of)
        explanation.append(amount_clause)
        if amount is not None and amount <= 0:
            return Verdict(credit_code, c.item.item_id, "ineligible", amount, (), explanation, inputs)
        if amount is None:
            missing |= set(amount_missing)
    if rule_value is None or (c.formula is not None and amount is None):
        return Verdict(credit_code, c.item.item_id, "unknown", amount, tuple(sorted(missing)), explanation, inputs)
    return Verdict(credit_code, c.item.item_id, "eligible", amount, (), explanation, inputs)


def _amount(c: _Compiled, full: Mapping[str, Any], as_of: date) -> tuple[Decimal | None, tuple[str, ...], dict]:
    """Evaluate the formula, cap it, round once half-up to 分."""
    outcome = c.formula.evaluate(full, as_of)
    raw = outcome.value
    clause: dict[str, Any] = {
        "kind": "amount",
        "formula": c.formula.render_zh(),
        "inputs": {rules.FIELDS[f].label: _display(full.get(f)) for f in sorted(c.formula.fields)
                   if f in rules.FIELDS},
        "clauses": [cl.to_dict() for cl in outcome.clauses],
        "value": None,
        "cap": None if c.item.cap is None else str(c.item.cap),
        "capped": False,
        "amount": None,
        "missing": list(outcome.missing),
    }
    if raw is None:
        return None, tuple(outcome.missing), clause
    raw = raw if isinstance(raw, Decimal) else Decimal(str(raw))
    if not raw.is_finite() or abs(raw) > MAX_AMOUNT_YUAN:
        # A broken formula (e.g. 10**30): never paid, shown for the department to fix.
        logger.warning("item %s: amount %s out of range", c.item.code, raw)
        clause.update(value=str(raw), error="金额公式的计算结果超出合理范围，请主管部门核对公式")
        return None, (), clause
    capped = raw
    if c.item.cap is not None and raw > c.item.cap:
        capped = Decimal(c.item.cap)
        clause["capped"] = True
    amount = round_yuan(capped)
    clause.update(value=str(raw), amount=str(amount))
    return amount, (), clause


def _display(value: Any) -> str:
    """A profile value as shown in an explanation: 未知 for unknown, plain text otherwise."""
    return "未知" if value is None else str(value)


def _and(a: bool | None, b: bool | None) -> bool | None:
    """Kleene AND."""
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _apply_exclusive_groups(verdicts: list[Verdict], items: Mapping[int, MatchItem]) -> None:
    """Per (fiscal_year, group), keep the highest-amount eligible member; tie -> lowest (region_code, code).

    An eligible member without an amount ranks below any member with one. Unknown members do not take part.
    """
    groups: dict[tuple[int, str], list[Verdict]] = defaultdict(list)
    for v in verdicts:
        item = items[v.item_id]
        if v.verdict == "eligible" and item.exclusive_group:
            groups[(item.fiscal_year, item.exclusive_group)].append(v)
    for (_, group), members in groups.items():
        if len(members) < 2:
            continue
        winner = min(
            members,
            key=lambda v: (v.amount is None, -(v.amount or 0), items[v.item_id].region_code, items[v.item_id].code),
        )
        for v in members:
            if v is winner:
                continue
            v.verdict = "superseded"
            v.explanation.append(
                {
                    "kind": "exclusive_group",
                    "group": group,
                    "winner_item_id": winner.item_id,
                    "winner_amount": None if winner.amount is None else str(winner.amount),
                }
            )
