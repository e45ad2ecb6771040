"""Matching runs: load profiles and items, call the engine, store verdicts and create awards idempotently.

A full run is split into partitions of enterprises (one per city, plus ``NO_CITY`` for enterprises without a
Shanxi city; see ``match_inputs``). ``evaluate_partition`` loads one partition's observations only, builds its
profile frame by column and gives its verdicts in staged form; ``merge_partitions`` stores them all and syncs
the awards in one transaction. ``run_match`` calls both in sequence; ``policy_hub.jobs`` runs the same functions
as rq jobs when Redis is configured, staging each partition's output in ``match_staged_*`` tables
(``stage_partition`` / ``load_staged``). Exclusive groups are per enterprise, so partitioning by enterprise
changes no verdict.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, insert, select, text

from disbursement.states import DEAD_STATES
from matching.engine import MatchItem, Verdict, match_one
from matching.profiles import build_profiles
from matching.vectorised import item_fields, match_frame, match_vectorised
from policy_hub.extensions import db
from policy_hub.models import Award, Item, MatchResult, MatchRun
from policy_hub.models.matching import MatchStagedPartition, MatchStagedVerdict
from policy_hub.models.types import utcnow
from policy_hub.services import awards as award_service
from policy_hub.services.conflicts import load_resolutions
from policy_hub.services.feeds import closed_world_state, load_observations
from policy_hub.services.match_inputs import NO_CITY, partition_frame, partition_observations
from policy_hub.services.users import require_role
from rules.money import fen_to_yuan, yuan_to_fen
from rules.regions import cities, city_of

logger = logging.getLogger(__name__)

VERDICT_TOTALS = ("eligible", "unknown", "ineligible", "superseded")


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
                          credit_list_imported=credit_imported, resolutions=load_resolutions())



def partitions() -> list[str]:
    """Partition keys of a full run: the 11 city codes, then ``NO_CITY``."""
    return [c.code for c in cities()] + [NO_CITY]


def partition_of(region_code: str | None) -> str:
    """The partition of an enterprise registered in ``region_code`` (6-digit division code or None); the
    enterprises.city_code snapshot that ``match_inputs`` splits by is ``city_of`` its region_code."""
    return city_of(region_code) or NO_CITY


def run_match(as_of: date, *, actor_id: int | None = None) -> dict:
    """Evaluate every active item against every registered enterprise and store the results.

    Runs every partition (``evaluate_partition``, each loading only its own enterprises' observations) in
    sequence, then ``merge_partitions``. Re-running with unchanged data changes nothing: verdicts are upserted,
    awards are created only where no live award exists, and pairs that are no longer eligible withdraw (or flag)
    their awards.
    Returns ``{as_of, run_id, items_evaluated, enterprises, eligible, unknown, ineligible, superseded,
    awards_created, awards_withdrawn, awards_flagged, unregistered}`` (ints, as_of ISO).
    """
    _serialise_runs()
    run = start_run(as_of)
    items = active_items(as_of)
    staged = [evaluate_partition(as_of, p, items=items) for p in partitions()]
    return merge_partitions(run, as_of, staged, actor_id=actor_id)


def start_run(as_of: date) -> MatchRun:
    """A new MatchRun row (status running), flushed so that it has an id."""
    run = MatchRun(as_of=as_of, status="running", counts={})
    db.session.add(run)
    db.session.flush()
    return run


def evaluate_partition(as_of: date, partition: str, *, items: list[Item] | None = None) -> dict:
    """The verdicts of one partition's enterprises against every active item, in staged form.

    Reads only; stores nothing. Loads the observations of the partition's enterprises only
    (``match_inputs.partition_observations``) and builds their profile frame by column
    (``matching.vector_build``); ``items`` defaults to the current active items.
    Returns ``{partition, item_revisions: {item_id (str): revision}, verdicts: [[fiscal_year, credit_code,
    item_id, verdict, amount_fen (int 分) | None, missing_fields, explanation, inputs]], ineligible_by_item:
    {item_id (str): count}, totals: {eligible, unknown, ineligible, superseded}, enterprises: int,
    unregistered: int}``; an unregistered enterprise is counted in the partition of its credit code.
    """
    items = active_items(as_of) if items is None else items
    years = sorted({i.fiscal_year for i in items})
    staged = {"partition": partition, "item_revisions": {str(i.id): i.revision for i in items}, "verdicts": [],
              "ineligible_by_item": {}, "totals": dict.fromkeys(VERDICT_TOTALS, 0)}
    enterprises: set[str] = set()
    unregistered: set[str] = set()
    observations = partition_observations(partition) if years else None
    for fy in years:
        fy_items = [to_match_item(i) for i in items if i.fiscal_year == fy]
        build = partition_frame(observations, fy, as_of, item_fields(fy_items))
        enterprises.update(build.frame.frame.index.tolist())
        unregistered.update(build.unregistered)
        result = match_frame(build.frame, fy_items, as_of)
        for key in VERDICT_TOTALS:
            staged["totals"][key] += result.totals.get(key, 0)
        for item_id, n in result.ineligible_counts.items():
            staged["ineligible_by_item"][str(item_id)] = n
        staged["verdicts"].extend(
            [fy, v.credit_code, v.item_id, v.verdict, None if v.amount is None else yuan_to_fen(Decimal(v.amount)),
             list(v.missing_fields), v.explanation, v.inputs] for v in result.verdicts)
    staged["enterprises"], staged["unregistered"] = len(enterprises), len(unregistered)
    return staged


def stage_partition(run_id: int, staged: dict, *, complete: bool = True) -> None:
    """Replace the staged rows of ``staged["partition"]`` in run ``run_id`` (a retried partition overwrites its
    earlier, possibly partial, output). The partition counts as staged only with its summary row, written with
    ``complete`` (the caller commits both in one transaction)."""
    part = staged["partition"]
    db.session.execute(delete(MatchStagedVerdict).where(MatchStagedVerdict.run_id == run_id,
                                                        MatchStagedVerdict.partition == part))
    db.session.execute(delete(MatchStagedPartition).where(MatchStagedPartition.run_id == run_id,
                                                          MatchStagedPartition.partition == part))
    rows = [{"run_id": run_id, "partition": part, "fiscal_year": fy, "credit_code": code, "item_id": item_id,
             "verdict": verdict, "amount_fen": fen, "missing_fields": missing, "explanation": explanation,
             "inputs": inputs} for fy, code, item_id, verdict, fen, missing, explanation, inputs in staged["verdicts"]]
    for lo in range(0, len(rows), 5000):
        db.session.execute(insert(MatchStagedVerdict), rows[lo:lo + 5000])
    if complete:
        db.session.add(MatchStagedPartition(run_id=run_id, partition=part, item_revisions=staged["item_revisions"],
                                            totals=staged["totals"], ineligible_by_item=staged["ineligible_by_item"],
                                            enterprises=staged["enterprises"], unregistered=staged["unregistered"]))
    db.session.flush()


def load_staged(run_id: int) -> list[dict]:
    """Every partition staged for run ``run_id``, in ``partitions()`` order, in the form of
    ``evaluate_partition``. Raises RuntimeError when a partition has not been staged completely."""
    summaries = {p.partition: p for p in db.session.scalars(
        select(MatchStagedPartition).where(MatchStagedPartition.run_id == run_id))}
    missing = [p for p in partitions() if p not in summaries]
    if missing:
        raise RuntimeError(f"match run {run_id}: partitions not staged: {', '.join(missing)}")
    verdicts: dict[str, list] = {p: [] for p in summaries}
    query = select(MatchStagedVerdict).where(MatchStagedVerdict.run_id == run_id).order_by(MatchStagedVerdict.id)
    for r in db.session.scalars(query):
        verdicts[r.partition].append([r.fiscal_year, r.credit_code, r.item_id, r.verdict, r.amount_fen,
                                      r.missing_fields, r.explanation, r.inputs])
    return [{"partition": p, "item_revisions": s.item_revisions, "totals": s.totals, "verdicts": verdicts[p],
             "ineligible_by_item": s.ineligible_by_item, "enterprises": s.enterprises, "unregistered": s.unregistered}
            for p in partitions() for s in [summaries[p]]]


def merge_partitions(run: MatchRun, as_of: date, staged: list[dict], *, actor_id: int | None = None) -> dict:
    """Store the staged verdicts of every partition and sync the apply-free awards, as one full run, then drop
    the run's staging rows. A run already merged returns its counts and changes nothing (a retried merge).

    Raises RuntimeError when the active items changed since the partitions were evaluated (run again).
    Returns the counts of ``run_match``.
    """
    _serialise_runs()
    if run.status == "done":
        return dict(run.counts)
    items = active_items(as_of)
    revisions = {str(i.id): i.revision for i in items}
    for part in staged:
        if part["item_revisions"] != revisions:
            raise RuntimeError(f"match run {run.id}: items changed after partition {part['partition']} was "
                               "evaluated; run the match again")
    by_year: dict[int, list[Verdict]] = {}
    for part in staged:
        for fy, code, item_id, verdict, fen, missing, explanation, inputs in part["verdicts"]:
            by_year.setdefault(fy, []).append(Verdict(code, item_id, verdict, None if fen is None else fen_to_yuan(fen),
                                                      tuple(missing), explanation, inputs))
    totals = dict.fromkeys(VERDICT_TOTALS, 0)
    ineligible_by_item: dict[str, int] = {}
    for part in staged:
        for key in VERDICT_TOTALS:
            totals[key] += part["totals"][key]
        for item_id, n in part["ineligible_by_item"].items():
            ineligible_by_item[item_id] = ineligible_by_item.get(item_id, 0) + n
    created = withdrawn = flagged = 0
    for fy in sorted({i.fiscal_year for i in items}):
        fy_items = [i for i in items if i.fiscal_year == fy]
        order = {i.id: n for n, i in enumerate(fy_items)}
        verdicts = sorted(by_year.get(fy, []), key=lambda v: (v.credit_code, order[v.item_id]))
        _store_verdicts(run, fy, fy_items, verdicts, as_of)
        c, w, f = award_service.sync_apply_free_awards(fy, fy_items, verdicts, as_of, actor_id)
        created, withdrawn, flagged = created + c, withdrawn + w, flagged + f
    counts = {
        "as_of": as_of.isoformat(), "run_id": run.id, "items_evaluated": len(items),
        "enterprises": sum(p["enterprises"] for p in staged), **totals, "awards_created": created,
        "awards_withdrawn": withdrawn, "awards_flagged": flagged,
        "unregistered": sum(p["unregistered"] for p in staged),
    }
    _finish(run, counts, ineligible_by_item)
    db.session.execute(delete(MatchStagedVerdict).where(MatchStagedVerdict.run_id == run.id))
    db.session.execute(delete(MatchStagedPartition).where(MatchStagedPartition.run_id == run.id))
    return counts


def rematch_enterprise(credit_code: str, as_of: date, *, actor_id: int | None = None) -> dict:
    """Re-evaluate one enterprise against every active item (after its profile changed) and upsert that slice.

    Stores the same match_results rows and creates/withdraws/flags the same awards for this enterprise as a
    full ``run_match`` would; other enterprises are untouched. An enterprise without registration data loses its
    rows (and its apply-free awards are withdrawn), as in a full run. Idempotent.
    Returns ``{as_of, run_id, scope, items_evaluated, enterprises, eligible, unknown, ineligible, superseded,
    awards_created, awards_withdrawn, awards_flagged}``.
    """
    _serialise_runs()
    run = start_run(as_of)
    items = active_items(as_of)
    observations = load_observations(credit_code)
    slices = []
    for fy in sorted({i.fiscal_year for i in items}):
        build = profiles_for_year(fy, as_of, observations)
        profile = build.profiles.get(credit_code)
        slices.append((fy, [i for i in items if i.fiscal_year == fy], {credit_code: profile} if profile else {}))
    return _store_slice(run, as_of, slices, f"enterprise:{credit_code}", actor_id, credit_code=credit_code)


def rematch_item(item_id: int, as_of: date, *, actor_id: int | None = None) -> dict:
    """Re-evaluate one item against every enterprise (after it was published or edited) and upsert that slice.

    The items of its exclusive group (same group and fiscal year) are re-evaluated with it, since one member's
    verdict decides which others are superseded. An item that is not active at ``as_of`` changes nothing, as in
    a full run. Stores the same rows and awards for these items as a full ``run_match``; idempotent.
    Returns the counts of ``rematch_enterprise`` (scope ``item:<id>``).
    """
    _serialise_runs()
    run = start_run(as_of)
    items = active_items(as_of)
    item = next((i for i in items if i.id == item_id), None)
    slices = []
    if item is not None:
        group = [i for i in items if i.fiscal_year == item.fiscal_year and (
            i.id == item.id or (item.exclusive_group and i.exclusive_group == item.exclusive_group))]
        slices.append((item.fiscal_year, group, profiles_for_year(item.fiscal_year, as_of).profiles))
    return _store_slice(run, as_of, slices, f"item:{item_id}", actor_id)


def _store_slice(run: MatchRun, as_of: date, slices: list, scope: str, actor_id: int | None, *,
                 credit_code: str | None = None) -> dict:
    """Match, store and sync awards for [(fiscal_year, items, profiles)]; the counts of a rematch."""
    totals = dict.fromkeys(VERDICT_TOTALS, 0)
    ineligible_by_item: dict[str, int] = {}
    created = withdrawn = flagged = 0
    enterprises: set[str] = set()
    for fy, fy_items, profiles in slices:
        enterprises.update(profiles)
        result = match_vectorised(profiles, [to_match_item(i) for i in fy_items], as_of)
        for key in VERDICT_TOTALS:
            totals[key] += result.totals.get(key, 0)
        ineligible_by_item.update({str(k): n for k, n in result.ineligible_counts.items()})
        _store_verdicts(run, fy, fy_items, result.verdicts, as_of, credit_code=credit_code)
        c, w, f = award_service.sync_apply_free_awards(fy, fy_items, result.verdicts, as_of, actor_id,
                                                       credit_codes=None if credit_code is None else {credit_code})
        created, withdrawn, flagged = created + c, withdrawn + w, flagged + f
    counts = {
        "as_of": as_of.isoformat(), "run_id": run.id, "scope": scope,
        "items_evaluated": len({i.id for _, fy_items, _ in slices for i in fy_items}),
        "enterprises": len(enterprises), **totals, "awards_created": created, "awards_withdrawn": withdrawn,
        "awards_flagged": flagged,
    }
    _finish(run, counts, ineligible_by_item)
    return counts


def _finish(run: MatchRun, counts: dict, ineligible_by_item: dict[str, int]) -> None:
    run.counts, run.ineligible_by_item = counts, ineligible_by_item
    run.status, run.finished_at = "done", utcnow()
    db.session.flush()
    logger.info("match run %s for %s: %s", run.id, counts["as_of"], counts)


MATCH_LOCK_KEY = 7_242_001  # any constant shared by every match run


def _serialise_runs() -> None:
    """One match run writes at a time: a PostgreSQL transaction-level advisory lock (SQLite writers are already
    serialised by BEGIN IMMEDIATE). A concurrent run waits, then finds everything up to date."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MATCH_LOCK_KEY})


def _store_verdicts(run: MatchRun, fy: int, items: list[Item], verdicts, as_of: date, *,
                    credit_code: str | None = None) -> None:
    """Upsert the current verdict per (item, enterprise, year); drop pairs that are now ineligible.

    With ``credit_code``, only that enterprise's stored rows are considered (a one-enterprise slice).
    """
    revisions = {i.id: i.revision for i in items}
    query = select(MatchResult).where(MatchResult.item_id.in_(list(revisions)), MatchResult.fiscal_year == fy)
    if credit_code is not None:
        query = query.where(MatchResult.credit_code == credit_code)
    existing = {(r.item_id, r.credit_code): r for r in db.session.scalars(query)}
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
