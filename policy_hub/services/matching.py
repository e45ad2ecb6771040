"""Matching runs: load profiles and items, call the engine, store verdicts and create awards idempotently."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from sqlalchemy import select, text

from disbursement.states import DEAD_STATES
from matching.engine import MatchItem, match, match_one
from matching.profiles import build_profiles
from policy_hub.extensions import db
from policy_hub.models import Award, Item, MatchResult, MatchRun
from policy_hub.models.types import utcnow
from policy_hub.services import awards as award_service
from policy_hub.services.feeds import closed_world_state, load_observations
from policy_hub.services.users import require_role
from rules.money import fen_to_yuan, yuan_to_fen

logger = logging.getLogger(__name__)


def active_items(as_of: date) -> list[Item]:
    """Listed items whose application window contains ``as_of`` (inclusive) and that carry a rule."""
    items = db.session.scalars(
        select(Item).where(Item.status == "listed").order_by(Item.region_code, Item.code)
    ).all()
    return [
        i for i in items
        if i.eligibility and (i.apply_start is None or i.apply_start <= as_of)
        and (i.apply_end is None or as_of <= i.apply_end)
    ]


def to_match_item(item: Item) -> MatchItem:
    return MatchItem(
        item_id=item.id, region_code=item.region_code, code=item.code, mode=item.mode, category=item.category,
        eligibility=item.eligibility, amount_formula=item.amount_formula,
        cap=None if item.cap_fen is None else fen_to_yuan(item.cap_fen), exclusive_group=item.exclusive_group,
        fiscal_year=item.fiscal_year,
    )


def profiles_for_year(fiscal_year: int, as_of: date, observations=None):
    """The ProfileBuild (matching.profiles) for one fiscal year, from every stored observation."""
    closed_lists, credit_imported = closed_world_state()
    frame = load_observations() if observations is None else observations
    return build_profiles(frame, fiscal_year=fiscal_year, as_of=as_of, closed_lists=closed_lists,
                          credit_list_imported=credit_imported)


def run_match(as_of: date, *, actor_id: int | None = None) -> dict:
    """Evaluate every active item against every registered enterprise and store the results.

    Re-running with unchanged data changes nothing: verdicts are upserted, awards are created only where no
    live award exists, and pairs that are no longer eligible withdraw (or flag) their awards.
    Returns ``{as_of, run_id, items_evaluated, enterprises, eligible, unknown, ineligible, superseded,
    awards_created, awards_withdrawn, awards_flagged, unregistered}`` (ints, as_of ISO).
    """
    _serialise_runs()
    items = active_items(as_of)
    run = MatchRun(as_of=as_of, status="running", counts={})
    db.session.add(run)
    db.session.flush()
    totals = {"eligible": 0, "unknown": 0, "ineligible": 0, "superseded": 0}
    enterprises: set[str] = set()
    unregistered: set[str] = set()
    ineligible_by_item: dict[str, int] = {}
    created = withdrawn = flagged = 0
    observations = load_observations()
    for fy in sorted({i.fiscal_year for i in items}):
        fy_items = [i for i in items if i.fiscal_year == fy]
        build = profiles_for_year(fy, as_of, observations)
        enterprises.update(build.profiles)
        unregistered.update(build.unregistered)
        result = match(build.profiles, [to_match_item(i) for i in fy_items], as_of)
        for key in totals:
            totals[key] += result.totals.get(key, 0)
        for item_id, n in result.ineligible_counts.items():
            ineligible_by_item[str(item_id)] = n
        _store_verdicts(run, fy, fy_items, result.verdicts, as_of)
        c, w, f = award_service.sync_apply_free_awards(fy, fy_items, result.verdicts, as_of, actor_id)
        created, withdrawn, flagged = created + c, withdrawn + w, flagged + f
    counts = {
        "as_of": as_of.isoformat(), "run_id": run.id, "items_evaluated": len(items),
        "enterprises": len(enterprises), **totals, "awards_created": created, "awards_withdrawn": withdrawn,
        "awards_flagged": flagged, "unregistered": len(unregistered),
    }
    run.counts, run.ineligible_by_item = counts, ineligible_by_item
    run.status, run.finished_at = "done", utcnow()
    db.session.flush()
    logger.info("match run %s for %s: %s", run.id, as_of, counts)
    return counts


MATCH_LOCK_KEY = 7_242_001  # any constant shared by every match run


def _serialise_runs() -> None:
    """One match run writes at a time: a PostgreSQL transaction-level advisory lock (SQLite writers are already
    serialised by BEGIN IMMEDIATE). A concurrent run waits, then finds everything up to date."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MATCH_LOCK_KEY})


def _store_verdicts(run: MatchRun, fy: int, items: list[Item], verdicts, as_of: date) -> None:
    """Upsert the current verdict per (item, enterprise, year); drop pairs that are now ineligible."""
    revisions = {i.id: i.revision for i in items}
    existing = {
        (r.item_id, r.credit_code): r
        for r in db.session.scalars(
            select(MatchResult).where(MatchResult.item_id.in_(list(revisions)), MatchResult.fiscal_year == fy))
    }
    seen = set()
    for v in verdicts:
        key = (v.item_id, v.credit_code)
        seen.add(key)
        values = {
            "item_revision": revisions[v.item_id], "verdict": v.verdict,
            "amount_fen": None if v.amount is None else yuan_to_fen(Decimal(v.amount)),
            "missing_fields": list(v.missing_fields), "explanation": v.explanation, "inputs": v.inputs,
        }
        row = existing.get(key)
        if row is None:
            db.session.add(MatchResult(item_id=v.item_id, credit_code=v.credit_code, fiscal_year=fy, as_of=as_of,
                                       run_id=run.id, **values))
        elif any(getattr(row, k) != val for k, val in values.items()):
            for k, val in values.items():
                setattr(row, k, val)
            row.as_of, row.run_id = as_of, run.id
    for key, row in existing.items():
        if key not in seen:
            db.session.delete(row)
    db.session.flush()


def evaluate_pair(credit_code: str, item: Item, as_of: date):
    """The engine's verdict (matching.Verdict) for one enterprise and one item now, from its current profile;
    None when the enterprise has no registration data. Used for the instant re-check of 即申即享."""
    build = profiles_for_year(item.fiscal_year, as_of, load_observations(credit_code))
    profile = build.profiles.get(credit_code)
    if profile is None:
        return None
    result = match_one(profile, [to_match_item(item)], as_of)
    return result.verdicts[0] if result.verdicts else None


def current_results(*, credit_code: str | None = None, item_ids: list[int] | None = None) -> list[MatchResult]:
    query = select(MatchResult).order_by(MatchResult.credit_code, MatchResult.item_id)
    if credit_code:
        query = query.where(MatchResult.credit_code == credit_code)
    if item_ids is not None:
        query = query.where(MatchResult.item_id.in_(item_ids))
    return list(db.session.scalars(query))


def awards_for(credit_code: str) -> list[Award]:
    return list(db.session.scalars(select(Award).where(Award.credit_code == credit_code).order_by(Award.id)))


def enterprise_listings(user) -> dict:
    """What the enterprise user sees on its home page, for its own credit code only.

    Returns ``{awards: [Award] (all kinds, newest first), instant: [(MatchResult, Award | None)] eligible
    instant-apply verdicts of listed items with the live application if one exists, needs_info: [MatchResult]
    verdicts 'unknown'}``.
    """
    require_role(user, "enterprise")
    awards = list(reversed(awards_for(user.credit_code)))
    applied = {a.item_id: a for a in awards if a.kind == "instant_apply" and a.state not in DEAD_STATES}
    results = current_results(credit_code=user.credit_code)
    instant = [(r, applied.get(r.item_id)) for r in results
               if r.verdict == "eligible" and r.item.mode == "instant_apply" and r.item.status == "listed"]
    needs_info = [r for r in results if r.verdict == "unknown" and r.item.status == "listed"]
    return {"awards": awards, "instant": instant, "needs_info": needs_info}
