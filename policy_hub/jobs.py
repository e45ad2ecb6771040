"""Background jobs: rq with its JSON serializer when POLICY_HUB_REDIS_URL is set, otherwise inline.

Jobs take primitive values only, open their own app context and session, record their status in ``job_runs``
and are idempotent, so a lost worker is visible and the job can simply be retried (``retry``).

A ``match`` job on rq fans out: it starts a MatchRun, records and enqueues one ``match_partition`` job per
partition (services.matching.partitions) and a ``match_merge`` job that depends on them all. A partition job
loads only its enterprises' observations and stages its verdicts in the ``match_staged_*`` tables, committed with
its status (a retry replaces a partial output); the merge reads them, stores the results and syncs the awards in
one transaction, drops the staging rows, and copies its counts to the parent's result. Inline, ``match`` runs the
same evaluate/merge functions in sequence (services.matching.run_match).
"""

from __future__ import annotations

import logging
import os
import time
import traceback
import uuid
from datetime import date

from flask import current_app
from sqlalchemy import select

from policy_hub.extensions import db
from policy_hub.models import JobRun, MatchRun
from policy_hub.models.types import utcnow

logger = logging.getLogger(__name__)
QUEUE_NAME = "policy_hub"


def _match(args: dict, job_id: str) -> dict:
    from policy_hub.services import matching

    as_of = date.fromisoformat(args["as_of"])
    if not current_app.config.get("REDIS_URL"):
        return matching.run_match(as_of, actor_id=args.get("actor_id"))
    run = matching.start_run(as_of)
    parts = [_record("match_partition", {"as_of": args["as_of"], "run_id": run.id, "partition": p})
             for p in matching.partitions()]
    merge = _record("match_merge", {"as_of": args["as_of"], "run_id": run.id, "partitions": parts,
                                    "parent": job_id, "actor_id": args.get("actor_id")})
    db.session.commit()  # the rows exist before any worker can pick the jobs up
    q = queue()
    deps = [_enqueue(q, p) for p in parts]
    _enqueue(q, merge, depends_on=deps)
    return {"as_of": args["as_of"], "run_id": run.id, "partition_jobs": parts, "merge_job": merge}


def _match_partition(args: dict, job_id: str) -> dict:
    from policy_hub.services.matching import evaluate_partition, stage_partition

    if db.session.get(MatchRun, args["run_id"]).status == "done":  # a stray re-run after the merge: nothing to do
        return {"partition": args["partition"], "run_id": args["run_id"], "skipped": "run already merged"}
    staged = evaluate_partition(date.fromisoformat(args["as_of"]), args["partition"])
    if current_app.config.get("TEST_CRASH_PARTITION") == args["partition"]:  # a worker lost mid-partition
        stage_partition(args["run_id"], {**staged, "verdicts": staged["verdicts"][: len(staged["verdicts"]) // 2]},
                        complete=False)
        db.session.commit()
        os._exit(1)
    stage_partition(args["run_id"], staged)  # committed with the job's status by execute()
    return {"partition": args["partition"], "run_id": args["run_id"], "verdicts": len(staged["verdicts"]),
            "enterprises": staged["enterprises"], "totals": staged["totals"]}


def _match_merge(args: dict, job_id: str) -> dict:
    from policy_hub.services.matching import load_staged, merge_partitions

    parts = {r.job_id: r for r in db.session.scalars(select(JobRun).where(JobRun.job_id.in_(args["partitions"])))}
    pending = [p for p in args["partitions"] if p not in parts or parts[p].status != "done"]
    if pending:
        raise RuntimeError(f"partitions not done: {', '.join(pending)}")
    run = db.session.get(MatchRun, args["run_id"])
    as_of = date.fromisoformat(args["as_of"])
    staged = [] if run.status == "done" else load_staged(run.id)
    counts = merge_partitions(run, as_of, staged, actor_id=args.get("actor_id"))
    parent = db.session.scalar(select(JobRun).where(JobRun.job_id == args["parent"]))
    if parent is not None:
        parent.result = {**(parent.result or {}), **counts}
    return counts


KINDS = {"match": _match, "match_partition": _match_partition, "match_merge": _match_merge}


def execute(job_id: str) -> dict:
    """Run the job recorded under ``job_id`` in the current app context; commits its work and its status."""
    run = db.session.scalar(select(JobRun).where(JobRun.job_id == job_id))
    if run is None:
        raise LookupError(f"no job_runs row for {job_id}")
    run.status, run.started_at, run.error = "running", utcnow(), None
    db.session.commit()
    try:
        result = KINDS[run.kind](dict(run.args), job_id)
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


def _record(kind: str, args: dict) -> str:
    job_id = f"{kind}-{uuid.uuid4().hex[:16]}"
    db.session.add(JobRun(job_id=job_id, kind=kind, args=args, status="queued"))
    return job_id


def _enqueue(q, job_id: str, *, depends_on=None, timeout: int = 3600):
    return q.enqueue("policy_hub.jobs.rq_entry", job_id, job_id=job_id, job_timeout=timeout, result_ttl=86400,
                     failure_ttl=7 * 86400, depends_on=depends_on)


def _get(job_id: str) -> JobRun:
    db.session.expire_all()
    return db.session.scalar(select(JobRun).where(JobRun.job_id == job_id))


def submit(kind: str, args: dict, *, wait: bool = True, timeout: float = 3600) -> JobRun:
    """Record and run a job: on rq when Redis is configured (waiting for it if ``wait``), else inline.

    Returns the job's JobRun; when waiting for a fanned-out ``match``, the merge job's JobRun (its result holds
    the run's counts), or the first partition that failed.
    """
    job_id = _record(kind, args)
    db.session.commit()
    if not current_app.config.get("REDIS_URL"):
        execute(job_id)
        return _get(job_id)
    _enqueue(queue(), job_id, timeout=int(timeout))
    logger.info("enqueued %s", job_id)
    if not wait:
        return _get(job_id)
    deadline = time.monotonic() + timeout
    run = _wait([job_id], deadline)
    if run.status == "done" and run.result and "merge_job" in run.result:
        run = _wait([run.result["merge_job"], *run.result["partition_jobs"]], deadline)
    return run


def _wait(job_ids: list[str], deadline: float) -> JobRun:
    """Poll until the first job is done or failed, or any of the others failed, or the deadline passes."""
    while True:
        runs = {r.job_id: r for r in db.session.scalars(select(JobRun).where(JobRun.job_id.in_(job_ids)))}
        first = runs[job_ids[0]]
        failed = [runs[j] for j in job_ids[1:] if j in runs and runs[j].status == "failed"]
        if first.status in ("done", "failed") or failed or time.monotonic() >= deadline:
            return failed[0] if failed and first.status != "done" else first
        time.sleep(0.2)
        db.session.expire_all()


def retry(job_id: str) -> None:
    """Run a failed or abandoned job again. On rq its failed job is re-enqueued (jobs that depend on it, such as
    a match merge, then follow once it succeeds); inline it is executed again."""
    if not current_app.config.get("REDIS_URL"):
        execute(job_id)
        return
    from rq.registry import FailedJobRegistry

    registry = FailedJobRegistry(queue=queue())
    if job_id not in registry.get_job_ids():
        raise LookupError(f"{job_id} is not among the failed rq jobs")
    registry.requeue(job_id)


def work(burst: bool = False) -> None:
    """Run an rq worker on the policy_hub queue (``policy-hub worker``)."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    q = queue()
    Worker([q], connection=q.connection, serializer=JSONSerializer).work(burst=burst)
