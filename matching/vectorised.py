"""match_vectorised: the matching engine over whole columns, with the per-record engine's exact answers.

How a run goes:

1. ``profile_frame`` turns the profiles into columns (derived fields by column, money exact).
2. Enterprises are sorted by (city, county), so every jurisdiction is a contiguous span of rows; an item is
   evaluated only over its span (a county item over its county, a city item over the city, a provincial item
   over all). Spans are cut into chunks of ``chunk_size`` rows, so intermediate columns stay bounded.
3. Per (chunk, jurisdiction) the baseline is computed once, and every item's rule is evaluated by
   ``compile_vector``; identical clauses are evaluated once per (chunk, jurisdiction) through a bounded cache.
4. Only rows not already ineligible (few) get an amount: the formula is evaluated over those rows, each
   converted to an exact Decimal, capped, and rounded once half-up to 分 exactly as ``matching.engine``.
5. Exclusive groups reuse the per-record engine's rule. Explanations, when asked for, come from the
   per-record engine for the returned (eligible, unknown, superseded) pairs only.

Items whose rule or formula holds a node ``compile_vector`` refuses are evaluated per record over their span;
their texts are added to :data:`FALLBACKS`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

import rules
from matching import engine
from matching.explain import ACTIVE_STATUSES, BASELINE_FIELDS, baseline_clauses
from matching.vector_compile import NotVectorisable, Rows, Store, VectorRule, compile_vector
from matching.vector_frame import profile_frame
from matching.vector_ops import BITS, U0, codes_of, decimal_at
from rules.money import MAX_AMOUNT_YUAN, round_yuan
from rules.regions import PROVINCE_CODE, regions

logger = logging.getLogger(__name__)

FALLBACKS: set[str] = set()  # rule/formula texts evaluated per record (compile_vector refused a node)
DEFAULT_CHUNK = 50_000


def match_vectorised(
    profiles: Mapping[str, Mapping[str, Any]],
    items: Sequence[engine.MatchItem],
    as_of: date,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    explain: bool = True,
) -> engine.MatchResult:
    """The same result as ``matching.engine.match(profiles, items, as_of)``, computed column-wise.

    Args:
        profiles: credit_code -> profile (typed values; see ``matching.profiles``), for the items' fiscal year.
        items: the items to evaluate.
        as_of: assessment date.
        chunk_size: enterprises per chunk (memory is bounded by chunk_size x clauses, not by the province).
        explain: fill ``explanation`` and ``inputs`` of the returned verdicts from the per-record engine;
            False leaves them empty (verdicts, amounts and missing_fields are unchanged).

    Returns:
        engine.MatchResult with eligible, unknown and superseded verdicts (ordered by credit_code, then item
        order), ineligible_counts per item_id and totals, identical to ``engine.match``.

    Raises:
        rules.RuleError: an item's rule or formula does not compile (the message names the item).
    """
    compiled = engine.compile_items(items)
    plans = [_plan(c) for c in compiled]
    fields = set(BASELINE_FIELDS)
    for c in compiled:
        fields |= set(c.rule.fields) | (set(c.formula.fields) if c.formula else set())
    frame = profile_frame(profiles, as_of, fields)
    order, n_province, spans = _jurisdiction_order(frame)
    store = Store(frame, order)
    codes = frame.index.to_numpy()[order]
    by_scope: dict[str, list[int]] = defaultdict(list)
    for pos, c in enumerate(compiled):
        by_scope[c.item.region_code].append(pos)

    result = engine.MatchResult()
    found: dict[str, list[tuple[int, engine.Verdict]]] = defaultdict(list)
    for lo in range(0, len(order), max(1, chunk_size)):
        hi = min(lo + chunk_size, len(order))
        for scope, positions in by_scope.items():
            a, b = (0, n_province) if scope == PROVINCE_CODE else spans.get(scope, (0, 0))
            a, b = max(a, lo), min(b, hi)
            if a >= b:
                continue
            rows = Rows(store, slice(a, b))
            base = _baseline(rows)
            for pos in positions:
                if plans[pos] is None:
                    _per_record(profiles, codes[a:b], compiled[pos], pos, as_of, result, found)
                else:
                    _evaluate(rows, a, codes, base, compiled[pos], plans[pos], pos, result, found)

    by_id = {c.item.item_id: c.item for c in compiled}
    for code in sorted(found):
        pairs = sorted(found[code], key=lambda p: p[0])
        verdicts = [v for _, v in pairs]
        engine._apply_exclusive_groups(verdicts, by_id)
        if explain:
            _explain(code, profiles[code], [compiled[p] for p, _ in pairs], verdicts, as_of)
        for v in verdicts:
            result.totals[v.verdict] += 1
        result.verdicts.extend(verdicts)
    logger.info("matched %s pairs (vectorised): %s", result.totals["pairs"], result.totals)
    return result


def _plan(c: Any) -> tuple[VectorRule, VectorRule | None] | None:
    try:
        return compile_vector(c.rule), (compile_vector(c.formula) if c.formula else None)
    except NotVectorisable as exc:
        logger.warning("item %s: node %s not vectorised, evaluated per record", c.item.code, exc)
        FALLBACKS.add(c.rule.text if c.formula is None else f"{c.rule.text} | {c.formula.text}")
        return None


def _jurisdiction_order(frame: Any) -> tuple[np.ndarray, int, dict[str, tuple[int, int]]]:
    """Row order (Shanxi rows by (city, region) first, then other known regions), the count of Shanxi rows,
    and the [start, stop) span of every city and region code in that order."""
    table = regions()
    col = frame["region_code"]
    region = np.where(col.notna().to_numpy(), col.to_numpy(dtype=object), None)
    keys = []
    for i, r in enumerate(region):
        if not r:
            continue  # no region: in no jurisdiction
        city = rules.regions.city_of(r) or ""
        keys.append((0 if r in table else 1, city if r in table else "", r, i))
    keys.sort()
    order = np.array([k[3] for k in keys], dtype=np.int64)
    n_province = sum(1 for k in keys if k[0] == 0)
    spans: dict[str, tuple[int, int]] = {}
    for pos, (_, city, r, _) in enumerate(keys):
        for code in {city, r} - {""}:
            start, _ = spans.get(code, (pos, pos))
            spans[code] = (start, pos + 1)
    return order, n_province, spans


def _baseline(rows: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false, unknown, missing bits) of the baseline exclusions, as matching.explain.baseline_clauses."""
    dishonest, d_known, _ = rows.raw("serious_dishonest")
    status, s_known, _ = rows.raw("operating_status")
    active = np.zeros(rows.n, dtype=bool)
    for name in ACTIVE_STATUSES:
        active |= np.asarray(status == name, dtype=bool)
    false = (d_known & dishonest.astype(bool)) | (s_known & ~active)
    miss = np.where(d_known, U0, np.uint64(BITS["serious_dishonest"])) | \
        np.where(s_known, U0, np.uint64(BITS["operating_status"]))
    return false, ~false & (~d_known | ~s_known), np.where(false, U0, miss)


def _evaluate(rows: Rows, start: int, codes: np.ndarray, base: tuple[np.ndarray, np.ndarray, np.ndarray], c: Any,
              plan: tuple[VectorRule, VectorRule | None], pos: int, result: engine.MatchResult,
              found: dict[str, list[tuple[int, engine.Verdict]]]) -> None:
    base_false, base_unknown, base_miss = base
    rule = plan[0].evaluate(rows)
    candidates = np.flatnonzero(~base_false & ~(rule.known & ~rule.val))
    result.totals["pairs"] += rows.n
    ineligible = rows.n - len(candidates)
    unknown = base_unknown | ~rule.known
    miss = base_miss | np.where(rule.known, U0, rule.miss)
    amounts = plan[1].evaluate(Rows(rows.store, candidates + start)) if plan[1] is not None and len(candidates) else None
    for j, i in enumerate(candidates.tolist()):
        bits = int(miss[i])
        amount = None
        if amounts is not None:
            amount, amount_bits = _amount(c.item, amounts, j)
            if amount is not None and amount <= 0:
                ineligible += 1
                continue
            bits |= amount_bits if amount is None else 0
        kind = "unknown" if unknown[i] or (c.formula is not None and amount is None) else "eligible"
        missing = codes_of(bits) if kind == "unknown" else ()
        code = str(codes[start + i])
        found[code].append((pos, engine.Verdict(code, c.item.item_id, kind, amount, missing, [], {})))
    _count_ineligible(result, c.item.item_id, ineligible)


def _amount(item: engine.MatchItem, amounts: Any, j: int) -> tuple[Decimal | None, int]:
    """Row j's amount: capped, rounded once half-up to 分 (None when unknown or out of range), missing bits."""
    if not amounts.known[j]:
        return None, int(amounts.miss[j])
    raw = decimal_at(amounts, j)
    if not raw.is_finite() or abs(raw) > MAX_AMOUNT_YUAN:
        return None, 0
    capped = Decimal(item.cap) if item.cap is not None and raw > item.cap else raw
    return round_yuan(capped), 0


def _count_ineligible(result: engine.MatchResult, item_id: int, count: int) -> None:
    if count:
        result.totals["ineligible"] += count
        result.ineligible_counts[item_id] = result.ineligible_counts.get(item_id, 0) + count


def _per_record(profiles: Mapping[str, Mapping[str, Any]], codes: np.ndarray, c: Any, pos: int, as_of: date,
                result: engine.MatchResult, found: dict[str, list[tuple[int, engine.Verdict]]]) -> None:
    """The fallback: the per-record engine's verdict for each enterprise of the span."""
    for code in codes.tolist():
        full = rules.derive(profiles[code], as_of)
        full.pop(rules.DATA_ISSUES, None)
        value, missing, clauses = baseline_clauses(full, full.get("region_code"))
        result.totals["pairs"] += 1
        verdict = engine._verdict(code, full, c, as_of, value, missing, clauses)
        if verdict.verdict == "ineligible":
            _count_ineligible(result, c.item.item_id, 1)
        else:
            found[code].append((pos, verdict))


def _explain(code: str, profile: Mapping[str, Any], compiled: list[Any], verdicts: list[engine.Verdict],
             as_of: date) -> None:
    """Explanations and inputs from the per-record engine, for the returned pairs only."""
    reference = engine._match_enterprise(code, profile, compiled, as_of, engine.MatchResult())
    by_item = {v.item_id: v for v in reference}
    for v in verdicts:
        ref = by_item[v.item_id]
        if (ref.verdict, ref.amount, ref.missing_fields) != (v.verdict, v.amount, v.missing_fields):
            logger.error("vectorised and per-record verdicts differ for %s item %s", code, v.item_id)
        v.explanation, v.inputs = ref.explanation, ref.inputs
