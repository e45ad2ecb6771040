"""Background jobs: rq with its JSON serializer when POLICY_HUB_REDIS_URL is set, otherwise inline.

Jobs take primitive values only, open their own app context and session, record their status in ``job_runs``
and are idempotent, so a lost worker is visible and the job can simply be retried.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from datetime import date

from flask import current_app
from sqlalchemy import select

from policy_hub.extensions import db
from policy_hub.models import JobRun
from policy_hub.models.types import utcnow

logger = logging.getLogger(__name__)
QUEUE_NAME = "policy_hub"


def _match(args: dict) -> dict:
    from policy_hub.services.matching import run_match

    return run_match(date.fromisoformat(args["as_of"]))


KINDS = {"match": _match}


def execute(job_id: str) -> dict:
    """Run the job recorded under ``job_id`` in the current app context; commits its work and its status."""
    run = db.session.scalar(select(JobRun).where(JobRun.job_id == job_id))
    if run is None:
        raise LookupError(f"no job_runs row for {job_id}")
    run.status, run.started_at, run.error = "running", utcnow(), None
    db.session.commit()
    try:
        result = KINDS[run.kind](dict(run.args))
        run = db.session.scalar(select(JobRun).where(JobRun.job_id == job_id))
        run.status, run.result, run.finished_at = "done", result, utcnow()
        db.session.commit()
        return result
    except Exception:
        db.session.rollback()
        run = db.session.scalar(select(JobRun).where(JobRun.job_id == job_id))
        run.status, run.error, run.finished_at = "failed", traceback.format_exc(limit=5), utcnow()
        db.session.commit()
        raise


def rq_entry(job_id: str) -> dict:
    """What an rq worker runs: a fresh app (config from the environment) and its own session after the fork."""
    from policy_hub.app import create_app

    with create_app().app_context():
        return execute(job_id)


def queue():
    from redis import Redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    conn = Redis.from_url(current_app.config["REDIS_URL"])
    return Queue(QUEUE_NAME, connection=conn, serializer=JSONSerializer)


def submit(kind: str, args: dict, *, wait: bool = True, timeout: float = 3600) -> JobRun:
    """Record and run a job: on rq when Redis is configured (waiting for it if ``wait``), else inline."""
    job_id = f"{kind}-{uuid.uuid4().hex[:16]}"
    db.session.add(JobRun(job_id=job_id, kind=kind, args=args, status="queued"))
    db.session.commit()
    if not current_app.config.get("REDIS_URL"):
        execute(job_id)
    else:
        queue().enqueue("policy_hub.jobs.rq_entry", job_id, job_id=job_id, job_timeout=int(timeout),
                        result_ttl=86400, failure_ttl=7 * 86400)
        logger.info("enqueued %s", job_id)
        deadline = time.monotonic() + timeout
        while wait and time.monotonic() < deadline:
            db.session.expire_all()
            run = db.session.scalar(select(JobRun).where(JobRun.job_id == job_id))
            if run.status in ("done", "failed"):
                break
            time.sleep(0.2)
    db.session.expire_all()
    return db.session.scalar(select(JobRun).where(JobRun.job_id == job_id))


def work(burst: bool = False) -> None:
    """Run an rq worker on the policy_hub queue (``policy-hub worker``)."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    q = queue()
    Worker([q], connection=q.connection, serializer=JSONSerializer).work(burst=burst)
