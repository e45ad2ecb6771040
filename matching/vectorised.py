"""match_vectorised: the matching engine over whole columns, with the per-record engine's exact answers.

How a run goes:

1. ``build_frame`` turns the profiles into columns (derived fields by column, money exact) and sorts the
   enterprises by (city, county), so every jurisdiction is a contiguous span of rows; an item is
   evaluated only over its span (a county item over its county, a city item over the city, a provincial item
   over all). The frame is built once and reused (``match_frame``, ``match_item``). Spans are cut into
   chunks of ``chunk_size`` rows, so intermediate columns stay bounded.
2. Per (chunk, jurisdiction) the baseline is computed once, and every item's rule is evaluated by
   ``compile_vector``; identical clauses are evaluated once per (chunk, jurisdiction) through a bounded cache.
3. Only rows not already ineligible (few) get an amount: the formula is evaluated over those rows, each
   converted to an exact Decimal, capped, and rounded once half-up to 分 exactly as ``matching.engine``.
4. Exclusive groups reuse the per-record engine's rule. Explanations, when asked for, come from the
   per-record engine for the returned (eligible, unknown, superseded) pairs only.

Items whose rule or formula holds a node ``compile_vector`` refuses are evaluated per record over their span;
their texts are added to :data:`FALLBACKS`. One enterprise (``match_enterprise``) runs per record: it needs no
frame, and the property test proves both engines identical.
"""

from __future__ import annotations

import gc
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
from matching.vector_compile import NotVectorisable, Rows, VectorRule, compile_vector
from matching.vector_ops import BITS, LIMIT, U0, codes_of, decimal_at, to_fixed
from matching.vector_prepared import ProfileFrame, build_frame
from rules.money import MAX_AMOUNT_YUAN, round_yuan
from rules.regions import PROVINCE_CODE

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

    Builds the frame (``build_frame``) for the items' fields, then runs :func:`match_frame`; callers that run
    more than once over the same profiles should build the frame once and call ``match_frame`` themselves.

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
    frame = build_frame(profiles, as_of, _fields_of(compiled))
    return _run(frame, compiled, chunk_size, explain)


def match_frame(
    frame: ProfileFrame,
    items: Sequence[engine.MatchItem],
    as_of: date,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    explain: bool = True,
) -> engine.MatchResult:
    """:func:`match_vectorised` over a prebuilt frame (``build_frame(profiles, as_of, fields)``).

    Returns:
        The same MatchResult as ``engine.match(frame.profiles, items, as_of)``.

    Raises:
        ValueError: ``as_of`` differs from the frame's, or the frame lacks a field an item uses.
        rules.RuleError: an item's rule or formula does not compile (the message names the item).
    """
    if as_of != frame.as_of:
        raise ValueError(f"the frame was built for as_of {frame.as_of}, not {as_of}")
    compiled = engine.compile_items(items)
    lacking = _fields_of(compiled) - frame.fields
    if lacking:
        raise ValueError(f"the frame lacks the fields {sorted(lacking)}; build it with them")
    return _run(frame, compiled, chunk_size, explain)


def _run(frame: ProfileFrame, compiled: list[Any], chunk_size: int, explain: bool) -> engine.MatchResult:
    # Collection passes triggered by the many Verdicts would rescan every live profile dict (the profiles are
    # most of the heap): pause the cyclic GC for the run. Verdicts form no cycles, so nothing leaks.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_columns(frame, compiled, chunk_size, explain)
    finally:
        if enabled:
            gc.enable()


def match_item(frame: ProfileFrame, item: engine.MatchItem, as_of: date, *, explain: bool = True
               ) -> engine.MatchResult:
    """One item (just published or edited) against every enterprise of its jurisdiction span in a prebuilt
    frame. Same result as ``engine.match(frame.profiles, [item], as_of)``; raises as :func:`match_frame`."""
    return match_frame(frame, [item], as_of, explain=explain)


def match_enterprise(profile: Mapping[str, Any], items: Sequence[engine.MatchItem], as_of: date
                     ) -> engine.MatchResult:
    """One enterprise (whose profile just changed) against all items: the per-record engine, which the
    differential property test proves identical to the vectorised one, and which needs no frame.

    Returns:
        ``engine.match({profile["credit_code"]: profile}, items, as_of)``: eligible, unknown and superseded
        verdicts with explanations, ineligible counts and totals.
    """
    return engine.match({str(profile["credit_code"]): profile}, items, as_of)


def item_fields(items: Sequence[engine.MatchItem]) -> set[str]:
    """The vocabulary codes a frame needs to evaluate ``items`` (the baseline fields included), for
    ``build_frame`` / ``matching.vector_build.frame_from_observations``. Raises rules.RuleError as
    ``engine.compile_items``."""
    return _fields_of(engine.compile_items(items))


def _fields_of(compiled: Sequence[Any]) -> set[str]:
    fields = set(BASELINE_FIELDS)
    for c in compiled:
        fields |= set(c.rule.fields) | (set(c.formula.fields) if c.formula else set())
    return fields


def _run_columns(frame: ProfileFrame, compiled: list[Any], chunk_size: int, explain: bool) -> engine.MatchResult:
    profiles, as_of = frame.profiles, frame.as_of
    plans = [_plan(c) for c in compiled]
    order, n_province, spans, store, codes = frame.order, frame.n_province, frame.spans, frame.store, frame.codes
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

    if explain and hasattr(profiles, "prefetch"):  # lazily built profiles (matching.vector_build): all at once
        profiles.prefetch(found)
    by_id = {c.item.item_id: c.item for c in compiled}
    grouped = {pos for pos, c in enumerate(compiled) if c.item.exclusive_group}
    for code in sorted(found):
        pairs = found[code]
        if len(pairs) > 1:
            pairs.sort(key=lambda p: p[0])
        verdicts = [v for _, v in pairs]
        if sum(p in grouped for p, _ in pairs) > 1:  # a group needs two members to supersede one
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
    known = rule.known[candidates]
    unknown = base_unknown[candidates] | ~known  # only the (few) candidate rows
    miss = base_miss[candidates] | np.where(known, U0, rule.miss[candidates])
    amounts = plan[1].evaluate(Rows(rows.store, candidates + start)) if plan[1] is not None and len(candidates) else None
    fen = _fen(c.item, amounts) if amounts is not None else None
    cand_codes = codes[candidates + start]
    if amounts is None or fen is None:
        _verdicts(cand_codes.tolist(), unknown.tolist(), miss.tolist(), amounts, c, pos, found, ineligible, result)
        return
    # Fixed-point amounts: the same decisions as _verdicts, by column.
    none = ~amounts.known | fen[1]  # unknown or out of range
    drop = ~none & (fen[0] <= 0)
    keep = ~drop
    unknown = (unknown | none)[keep]
    bits = np.where(unknown, miss[keep] | np.where(amounts.known[keep], U0, amounts.miss[keep]), U0)
    item_id, verdict = c.item.item_id, engine.Verdict
    for code, unk, b, f, no_amount in zip(cand_codes[keep].tolist(), unknown.tolist(), bits.tolist(),
                                          fen[0][keep].tolist(), none[keep].tolist(), strict=True):
        code = str(code)
        found[code].append((pos, verdict(code, item_id, "unknown" if unk else "eligible",
                                         None if no_amount else _yuan(f), codes_of(b) if unk else (), [], {})))
    _count_ineligible(result, item_id, ineligible + int(drop.sum()))


def _verdicts(codes: list, unknown: list, miss: list, amounts: Any, c: Any, pos: int,
              found: dict[str, list[tuple[int, engine.Verdict]]], ineligible: int, result: engine.MatchResult
              ) -> None:
    """Candidate rows' verdicts one by one (no formula, or amounts held as Decimal objects)."""
    item_id, has_formula = c.item.item_id, c.formula is not None
    for j, code in enumerate(codes):
        bits, amount = miss[j], None
        if amounts is not None:
            amount, amount_bits = _amount(c.item, amounts, j)
            if amount is not None and amount <= 0:
                ineligible += 1
                continue
            bits |= amount_bits if amount is None else 0
        kind = "unknown" if unknown[j] or (has_formula and amount is None) else "eligible"
        missing = codes_of(bits) if kind == "unknown" else ()
        code = str(code)
        found[code].append((pos, engine.Verdict(code, item_id, kind, amount, missing, [], {})))
    _count_ineligible(result, item_id, ineligible)


_YUAN: dict[int, Decimal] = {}


def _fen(item: engine.MatchItem, amounts: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Fixed-point amounts capped and rounded half-up to 分 in int64, with an out-of-range mask; None when the
    amounts are Decimal objects or the cap or the rounding does not fit (then ``_amount`` row by row)."""
    s = amounts.scale
    if s is None:
        return None
    val = amounts.val
    bound = int(np.abs(val).max()) if len(val) else 0
    big = np.abs(val) > int(MAX_AMOUNT_YUAN) * 10**s if bound > int(MAX_AMOUNT_YUAN) * 10**s else \
        np.zeros(len(val), dtype=bool)
    if item.cap is not None:
        fixed = to_fixed(Decimal(item.cap))
        if fixed is None or fixed[1] > s or abs(fixed[0]) * 10 ** (s - fixed[1]) >= LIMIT:
            return None
        val = np.minimum(val, fixed[0] * 10 ** (s - fixed[1]))
    if s <= 2:
        if bound * 10 ** (2 - s) >= LIMIT:
            return None
        return val * 10 ** (2 - s), big
    d = 10 ** (s - 2)
    return np.sign(val) * ((np.abs(val) + d // 2) // d), big  # half-up: halves away from zero


def _yuan(fen: int) -> Decimal:
    """分 -> Decimal 元 with exponent -2, as round_yuan returns it (cached: amounts repeat)."""
    out = _YUAN.get(fen)
    if out is None:
        if len(_YUAN) > 100_000:
            _YUAN.clear()
        out = _YUAN[fen] = Decimal(fen).scaleb(-2)
    return out


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
    if hasattr(profiles, "prefetch"):
        profiles.prefetch(codes.tolist())
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
