"""Import batches, append-only observations (一企一档 is derived from them), enterprises and data-use records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from policy_hub.extensions import db
from policy_hub.models.types import UTCDateTime, utcnow


class ImportBatch(db.Model):
    """One committed import: items or a department feed. ``covered_lists`` names the closed-world lists it holds."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # items | feed
    source: Mapped[str | None] = mapped_column(String(32))  # market | tax | hr | qualifications | credit
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    covered_lists: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Observation(db.Model):
    """One reported value: field, typed value as JSON, fiscal year (yearly fields), source and import. Never edited."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[object] = mapped_column(JSON)
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    import_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    row: Mapped[int | None] = mapped_column(Integer)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConflictResolution(db.Model):
    """The data officer's choice where sources disagree on (enterprise, field, fiscal year): use ``source``'s
    value ``value`` (encoded JSON, as in Observation). Append-only: the latest row per key applies, and only while
    that source still reports that value; a new disagreeing observation reopens the conflict."""

    __tablename__ = "conflict_resolutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    field: Mapped[str] = mapped_column(String(64))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    value: Mapped[object] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Enterprise(db.Model):
    """Registration snapshot kept for lookups and scoping; the profile itself comes from observations."""

    __tablename__ = "enterprises"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    city_code: Mapped[str | None] = mapped_column(String(6), index=True)
    registered: Mapped[bool] = mapped_column(default=False)


class ProfileAccess(db.Model):
    """Item 15 (晋政发〔2024〕8号): who read which enterprise's profile, when, through which page or endpoint."""

    __tablename__ = "profile_access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    endpoint: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
