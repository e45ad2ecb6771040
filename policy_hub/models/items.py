"""Reward items (奖补事项), their revisions, per-city allocations and budget ledger."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from policy_hub.extensions import db
from policy_hub.models.types import UTCDateTime, utcnow


class Item(db.Model):
    """The current revision of one item; ``(region_code, code)`` identifies it. Money in 分."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("region_code", "code", name="uq_items_region_code_code"),
        CheckConstraint("reserved_fen >= 0 AND paid_fen >= 0", name="money_nonnegative"),
        CheckConstraint("budget_fen IS NULL OR reserved_fen + paid_fen <= budget_fen", name="within_budget"),
        CheckConstraint("mode IN ('apply_free','instant_apply','on_application')", name="mode_known"),
        CheckConstraint("status IN ('draft','listed','delisted')", name="status_known"),
        CheckConstraint("period IN ('once','yearly')", name="period_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    code: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    policy_title: Mapped[str | None] = mapped_column(String(300))
    policy_doc_no: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    eligibility: Mapped[str | None] = mapped_column(Text)
    conditions_text: Mapped[str | None] = mapped_column(Text)
    amount_formula: Mapped[str | None] = mapped_column(Text)
    standard_text: Mapped[str | None] = mapped_column(Text)
    cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    budget_fen: Mapped[int | None] = mapped_column(BigInteger)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    funding_source: Mapped[str | None] = mapped_column(String(100))
    paying_agency: Mapped[str | None] = mapped_column(String(32))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    apply_start: Mapped[date | None] = mapped_column(Date)
    apply_end: Mapped[date | None] = mapped_column(Date)
    contact: Mapped[str | None] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(8), default="yearly")
    exclusive_group: Mapped[str | None] = mapped_column(String(64))
    commitment_allowed: Mapped[bool] = mapped_column(default=False)
    notice_days: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="listed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    allocations: Mapped[list[ItemAllocation]] = relationship(back_populates="item", order_by="ItemAllocation.city_code")

    def display_status(self, on: date) -> str:
        """draft | listed | delisted, or expired once the window has passed."""
        if self.status == "listed" and self.apply_end is not None and on > self.apply_end:
            return "expired"
        return self.status


class ItemRevision(db.Model):
    """Every version of an item as imported or edited; verdicts and awards point at one."""

    __tablename__ = "item_revisions"
    __table_args__ = (UniqueConstraint("item_id", "revision", name="uq_item_revisions_item_id_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict] = mapped_column(JSON)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ItemAllocation(db.Model):
    """A city's share of a provincial item (分市名额/额度): slots and/or money, with what is used of each."""

    __tablename__ = "item_allocations"
    __table_args__ = (
        UniqueConstraint("item_id", "city_code", name="uq_item_allocations_item_id_city_code"),
        CheckConstraint("reserved_fen >= 0 AND paid_fen >= 0 AND used_slots >= 0", name="nonnegative"),
        CheckConstraint("amount_fen IS NULL OR reserved_fen + paid_fen <= amount_fen", name="within_amount"),
        CheckConstraint("slots IS NULL OR used_slots <= slots", name="within_slots"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    city_code: Mapped[str] = mapped_column(String(6))
    slots: Mapped[int | None] = mapped_column(Integer)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    used_slots: Mapped[int] = mapped_column(Integer, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)

    item: Mapped[Item] = relationship(back_populates="allocations")
