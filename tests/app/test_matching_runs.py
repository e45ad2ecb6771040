"""Matching runs: the vectorised full run, one-enterprise and one-item rematches, and partitioned runs on rq."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from policy_hub.extensions import db
from policy_hub.models import Award, ImportBatch, Item, JobRun, MatchResult, Observation
from policy_hub.models.matching import MatchStagedPartition, MatchStagedVerdict
from policy_hub.services import matching
from tests.app.helpers import AS_OF
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.loaded
REPO = Path(__file__).resolve().parents[2]


def stored() -> tuple[list, list]:
    """Sorted (item_id, credit_code, fiscal_year, verdict, amount_fen, missing_fields, revision, explanation)
    of match_results and (item_id, credit_code, state, amount_fen, flagged) of awards."""
    db.session.expire_all()
    results = sorted((r.item_id, r.credit_code, r.fiscal_year, r.verdict, r.amount_fen, tuple(r.missing_fields),
                      r.item_revision, json.dumps(r.explanation, sort_keys=True, ensure_ascii=False))
                     for r in db.session.scalars(select(MatchResult)))
    awards = sorted((a.item_id, a.credit_code, a.state, a.amount_fen, a.flagged or "")
                    for a in db.session.scalars(select(Award)))
    return results, awards


def staged_rows(run_id: int, partition: str | None = None) -> int:
    query = select(func.count(MatchStagedVerdict.id)).where(MatchStagedVerdict.run_id == run_id)
    if partition is not None:
        query = query.where(MatchStagedVerdict.partition == partition)
    return db.session.scalar(query)


def staged_summary(run_id: int, partition: str | None = None) -> bool:
    query = select(MatchStagedPartition.id).where(MatchStagedPartition.run_id == run_id)
    if partition is not None:
        query = query.where(MatchStagedPartition.partition == partition)
    return db.session.scalar(query.limit(1)) is not None


def test_a_full_run_stores_exactly_the_per_record_engines_verdicts(app, loaded):
    from matching.engine import match

    items = matching.active_items(AS_OF)
    expected = set()
    for fy in {i.fiscal_year for i in items}:
        build = matching.profiles_for_year(fy, AS_OF)
        result = match(build.profiles, [matching.to_match_item(i) for i in items if i.fiscal_year == fy], AS_OF)
        expected |= {(v.item_id, v.credit_code, fy, v.verdict,
                      None if v.amount is None else int(v.amount * 100), tuple(v.missing_fields))
                     for v in result.verdicts}
    counts = matching.run_match(AS_OF)
    got = {row[:6] for row in stored()[0]}
    assert got == expected and len(expected) > 0
    assert counts["eligible"] == loaded["counts"]["eligible"] == sum(1 for r in got if r[3] == "eligible")


def test_every_enterprise_falls_in_exactly_one_partition(app, loaded):
    build = matching.profiles_for_year(2025, AS_OF)
    staged = [matching.evaluate_partition(AS_OF, p) for p in matching.partitions()]
    assert sum(s["enterprises"] for s in staged) == len(build.profiles)
    codes = [v[1] for s in staged for v in s["verdicts"]]
    by_partition = {v[1]: s["partition"] for s in staged for v in s["verdicts"]}
    assert all(by_partition[c] == matching.partition_of(build.profiles[c].get("region_code")) for c in codes)
    assert {s["partition"] for s in staged if s["verdicts"]} >= {"140100"}


def test_a_partition_loads_only_its_enterprises_observations(app, loaded):
    from policy_hub.services.feeds import load_observations
    from policy_hub.services.match_inputs import partition_observations

    everything = load_observations()
    parts = {p: partition_observations(p) for p in matching.partitions()}
    assert sum(len(f) for f in parts.values()) == len(everything)  # disjoint, and nothing left out
    assert sorted(s for f in parts.values() for s in f["seq"]) == sorted(everything["seq"])
    build = matching.profiles_for_year(2025, AS_OF)
    for p, frame in parts.items():
        codes = set(frame["credit_code"]) & set(build.profiles)
        assert all(matching.partition_of(build.profiles[c].get("region_code")) == p for c in codes)
    assert 0 < len(parts["140100"]) < len(everything)


def test_staging_a_partition_twice_keeps_one_copy_and_the_merge_is_idempotent(app, loaded):
    run = matching.start_run(AS_OF)
    staged = [matching.evaluate_partition(AS_OF, p) for p in matching.partitions()]
    half = {**staged[0], "verdicts": staged[0]["verdicts"][: len(staged[0]["verdicts"]) // 2]}
    matching.stage_partition(run.id, half, complete=False)  # a lost worker's partial output
    with pytest.raises(RuntimeError, match="not staged"):
        matching.load_staged(run.id)
    for part in staged:
        matching.stage_partition(run.id, part)
    assert matching.load_staged(run.id) == staged  # the retry replaced the partial rows
    counts = matching.merge_partitions(run, AS_OF, matching.load_staged(run.id))
    assert staged_rows(run.id) == 0 and not staged_summary(run.id)
    before = stored()
    assert matching.merge_partitions(run, AS_OF, []) == counts and stored() == before


def _correct(credit_code: str, field: str, value) -> None:
    """A new observation correcting ``field`` of ``credit_code`` (same source and year as the current one)."""
    from policy_hub.services.feeds import encode_observation

    old = db.session.scalars(select(Observation).where(Observation.credit_code == credit_code,
                                                       Observation.field == field)
                             .order_by(Observation.id.desc())).first()
    batch = ImportBatch(kind="feed", source=old.source, filename="correction.csv", sha256="0" * 64)
    db.session.add(batch)
    db.session.flush()
    db.session.add(Observation(credit_code=credit_code, field=field, value=encode_observation(field, value),
                               fiscal_year=old.fiscal_year, source=old.source, import_id=batch.id))
    db.session.commit()


def _awarded(code: str) -> list[Award]:
    item = db.session.scalar(select(Item).where(Item.code == code))
    return list(db.session.scalars(select(Award).where(Award.item_id == item.id).order_by(Award.id)))


def test_rematching_one_enterprise_after_a_correction_stores_what_a_full_run_would(app, loaded):
    award = _awarded("TY-YS-002")[0]  # 纳税信用A级奖励: loses it with rating B
    code = award.credit_code
    _correct(code, "tax_credit_rating", "B")
    before = stored()
    counts = matching.rematch_enterprise(code, AS_OF)
    db.session.commit()
    after_slice = stored()
    assert after_slice != before and counts["awards_withdrawn"] >= 1 and counts["enterprises"] == 1
    assert db.session.get(Award, award.id).state == "withdrawn"
    others = [r for r in before[0] if r[1] != code]
    assert [r for r in after_slice[0] if r[1] != code] == others  # nobody else touched
    again = matching.rematch_enterprise(code, AS_OF)
    assert again["awards_created"] == again["awards_withdrawn"] == 0 and stored() == after_slice
    full = matching.run_match(AS_OF)
    assert full["awards_created"] == full["awards_withdrawn"] == full["awards_flagged"] == 0
    assert stored() == after_slice


def _edit(code: str, **changes) -> Item:
    item = db.session.scalar(select(Item).where(Item.code == code))
    for k, v in changes.items():
        setattr(item, k, v)
    item.revision += 1
    db.session.commit()
    return item


@pytest.mark.parametrize("case", ["stricter rule", "exclusive group"])
def test_rematching_one_item_after_an_edit_stores_what_a_full_run_would(app, loaded, case):
    if case == "stricter rule":
        item = _edit("TY-YS-002", eligibility="tax_credit_rating == 'A' and tax_paid >= 8000000")
    else:  # two 10万 awards made mutually exclusive: an enterprise keeps one of them
        _edit("TY-GX-002", exclusive_group="认定奖励")
        item = _edit("TY-GX-003", exclusive_group="认定奖励")
    before = stored()
    counts = matching.rematch_item(item.id, AS_OF)
    db.session.commit()
    after_slice = stored()
    assert after_slice != before
    if case == "stricter rule":
        assert counts["awards_withdrawn"] >= 1 and counts["items_evaluated"] == 1
    else:
        assert counts["items_evaluated"] == 2 and any(r[3] == "superseded" for r in after_slice[0])
    full = matching.run_match(AS_OF)
    assert full["awards_created"] == full["awards_withdrawn"] == 0
    assert stored() == after_slice
    assert matching.rematch_item(item.id, AS_OF)["awards_created"] == 0 and stored() == after_slice


def test_a_merge_refuses_partitions_evaluated_before_an_item_changed(app, loaded):
    staged = [matching.evaluate_partition(AS_OF, p) for p in matching.partitions()]
    _edit("TY-YS-002", cap_fen=1)
    with pytest.raises(RuntimeError, match="items changed"):
        matching.merge_partitions(matching.start_run(AS_OF), AS_OF, staged)


def _worker(db_url: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_HUB_")}
    env.update({"POLICY_HUB_DATABASE_URL": db_url, "POLICY_HUB_REDIS_URL": REDIS_URL, "POLICY_HUB_ENV": "test",
                **extra})
    exe = Path(sys.executable).with_name("policy-hub")
    return subprocess.run([str(exe), "worker", "--burst"], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def _job(job_id: str) -> JobRun:
    db.session.expire_all()
    return db.session.scalar(select(JobRun).where(JobRun.job_id == job_id))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_partition_whose_worker_dies_is_retried_and_the_run_equals_an_inline_run(app, loaded, db_url):
    if not REDIS_URL:
        pytest.skip("POLICY_HUB_TEST_REDIS_URL not set: the rq worker test needs Redis")
    import redis

    from policy_hub import jobs

    # Changed data, and no stored verdicts or unapproved awards: only a complete run can bring them back.
    _correct(_awarded("TY-YS-002")[0].credit_code, "tax_credit_rating", "B")
    db.session.execute(db.delete(MatchResult))
    db.session.execute(db.delete(Award).where(Award.state.in_(("proposed", "notified"))))
    db.session.commit()
    matching.run_match(AS_OF)
    inline = stored()
    db.session.rollback()  # the inline run was only the reference
    assert stored()[0] == [] and inline[0]

    redis.Redis.from_url(REDIS_URL).flushdb()
    app.config["REDIS_URL"] = REDIS_URL
    parent = jobs.submit("match", {"as_of": AS_OF.isoformat()}, wait=False)
    first = _worker(db_url, POLICY_HUB_TEST_CRASH_PARTITION="140100")
    assert first.returncode == 0, first.stderr[-2000:]
    fanned = _job(parent.job_id).result
    parts = {_job(j).args["partition"]: _job(j) for j in fanned["partition_jobs"]}
    lost = parts["140100"]
    assert lost.status == "running"  # lost mid-way, half its output staged but no summary: not staged
    assert staged_rows(fanned["run_id"], "140100") > 0 and not staged_summary(fanned["run_id"], "140100")
    assert all(staged_summary(fanned["run_id"], k) for k in parts if k != "140100")
    assert all(p.status == "done" for k, p in parts.items() if k != "140100")
    assert _job(fanned["merge_job"]).status == "queued" and stored()[0] == []  # the merge waits for it

    jobs.retry(lost.job_id)
    second = _worker(db_url)
    assert second.returncode == 0, second.stderr[-2000:]
    merge = _job(fanned["merge_job"])
    assert merge.status == "done", merge.error
    assert _job(lost.job_id).status == "done"
    assert stored() == inline
    assert staged_rows(fanned["run_id"]) == 0 and not staged_summary(fanned["run_id"])  # the merge cleaned up
    assert _job(parent.job_id).result["eligible"] == merge.result["eligible"] == sum(
        1 for r in inline[0] if r[3] == "eligible")
