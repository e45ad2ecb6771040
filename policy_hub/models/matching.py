"""Matching runs and their stored verdicts (eligible, unknown and superseded pairs only)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from policy_hub.extensions import db
from policy_hub.models.types import UTCDateTime, utcnow


class MatchRun(db.Model):
    __tablename__ = "match_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    ineligible_by_item: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MatchResult(db.Model):
    """The current verdict for one (item, enterprise, fiscal year), with the revision and inputs it came from."""

    __tablename__ = "match_results"
    __table_args__ = (
        UniqueConstraint("item_id", "credit_code", "fiscal_year", name="uq_match_results_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    item_revision: Mapped[int] = mapped_column(Integer)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))  # eligible | unknown | superseded
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    missing_fields: Mapped[list] = mapped_column(JSON, default=list)
    explanation: Mapped[list] = mapped_column(JSON, default=list)
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    as_of: Mapped[date] = mapped_column(Date)
    run_id: Mapped[int] = mapped_column(ForeignKey("match_runs.id"))
    note: Mapped[str | None] = mapped_column(Text)

    item = relationship("Item")


class MatchStagedPartition(db.Model):
    """One evaluated partition of a fanned-out run: written last, in the transaction that stages its verdicts, so
    its presence means the partition's staged verdicts are complete. Deleted by the merge."""

    __tablename__ = "match_staged_partitions"
    __table_args__ = (UniqueConstraint("run_id", "partition", name="uq_match_staged_partitions_run_partition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("match_runs.id"), index=True)
    partition: Mapped[str] = mapped_column(String(16))  # a city code or "none"
    item_revisions: Mapped[dict] = mapped_column(JSON, default=dict)  # item id (str) -> revision evaluated
    totals: Mapped[dict] = mapped_column(JSON, default=dict)  # eligible/unknown/ineligible/superseded -> int
    ineligible_by_item: Mapped[dict] = mapped_column(JSON, default=dict)  # item id (str) -> int
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    unregistered: Mapped[int] = mapped_column(Integer, default=0)
    staged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MatchStagedVerdict(db.Model):
    """One eligible, unknown or superseded pair of a partition, staged until the run's merge stores it."""

    __tablename__ = "match_staged_verdicts"

    __table_args__ = (Index("ix_match_staged_verdicts_run_partition", "run_id", "partition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("match_runs.id"))
    partition: Mapped[str] = mapped_column(String(16))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    credit_code: Mapped[str] = mapped_column(String(18))
    item_id: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)  # 分, capped and rounded as stored in results
    missing_fields: Mapped[list] = mapped_column(JSON, default=list)
    explanation: Mapped[list] = mapped_column(JSON, default=list)
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
