"""Jobs: inline on the embedded default, and executed by a real rq worker process with Redis and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from policy_hub.extensions import db
from policy_hub.models import Award, JobRun, MatchResult
from tests.conftest import REDIS_URL

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.loaded
def test_an_inline_match_job_records_its_run_and_is_idempotent(app, loaded):
    from policy_hub import jobs

    awards = db.session.scalar(select(func.count(Award.id)))
    run = jobs.submit("match", {"as_of": "2026-06-30"})
    assert run.status == "done" and run.result["awards_created"] == 0
    assert run.result["eligible"] == loaded["counts"]["eligible"]
    assert db.session.scalar(select(func.count(Award.id))) == awards


@pytest.mark.loaded
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_real_rq_worker_executes_an_enqueued_matching_job(app, loaded, db_url):
    if not REDIS_URL:
        pytest.skip("POLICY_HUB_TEST_REDIS_URL not set: the rq worker test needs Redis")
    import redis

    from policy_hub import jobs

    redis.Redis.from_url(REDIS_URL).flushdb()
    app.config["REDIS_URL"] = REDIS_URL
    # Forget the stored verdicts so that only the worker can bring them back.
    db.session.execute(db.delete(MatchResult))
    db.session.commit()
    run = jobs.submit("match", {"as_of": "2026-06-30"}, wait=False)
    assert run.status == "queued"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_HUB_")}
    env.update({"POLICY_HUB_DATABASE_URL": db_url, "POLICY_HUB_REDIS_URL": REDIS_URL, "POLICY_HUB_ENV": "test"})
    exe = Path(sys.executable).with_name("policy-hub")
    worker = subprocess.run([str(exe), "worker", "--burst"], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=600)
    assert worker.returncode == 0, worker.stderr[-2000:]
    db.session.expire_all()
    done = db.session.scalar(select(JobRun).where(JobRun.job_id == run.job_id))
    assert done.status == "done", done.error
    assert done.result["eligible"] == loaded["counts"]["eligible"]
    stored = db.session.scalar(select(func.count(MatchResult.id)).where(MatchResult.verdict == "eligible"))
    assert stored == loaded["counts"]["eligible"]
