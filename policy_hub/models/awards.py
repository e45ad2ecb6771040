"""Awards, payee accounts, payout batches, payments and bank returns. Money in 分."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from policy_hub.extensions import db
from policy_hub.models.types import UTCDateTime, utcnow

# States in which an award no longer counts as live (so a new one may be created for the same pair).
DEAD_STATES_SQL = "('declined','lapsed','rejected','withdrawn','payment_abandoned')"


class Award(db.Model):
    """One award for (item, enterprise, fiscal year). ``period_key`` is the fiscal year, or 0 for ``once`` items."""

    __tablename__ = "awards"
    __table_args__ = (
        CheckConstraint("amount_fen >= 0", name="amount_nonnegative"),
        CheckConstraint("recovered_fen >= 0 AND recovered_fen <= paid_fen", name="recovered_le_paid"),
        Index(
            "uq_awards_live_pair",
            "item_id",
            "credit_code",
            "period_key",
            unique=True,
            sqlite_where=text(f"state NOT IN {DEAD_STATES_SQL}"),
            postgresql_where=text(f"state NOT IN {DEAD_STATES_SQL}"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    item_revision: Mapped[int] = mapped_column(Integer)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    period_key: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="apply_free")  # apply_free | instant_apply
    state: Mapped[str] = mapped_column(String(32), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    recovered_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    as_of: Mapped[date] = mapped_column(Date)
    explanation: Mapped[list] = mapped_column(JSON, default=list)
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    second_approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    payee_name: Mapped[str | None] = mapped_column(String(200))
    payee_bank: Mapped[str | None] = mapped_column(String(200))
    payee_account_enc: Mapped[str | None] = mapped_column(Text)
    payee_key_id: Mapped[str | None] = mapped_column(String(32))
    payee_account_last4: Mapped[str | None] = mapped_column(String(4))
    payee_name_mismatch: Mapped[bool] = mapped_column(default=False)
    flagged: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    notice_until: Mapped[date | None] = mapped_column(Date)
    # 告知承诺: {field code: JSON value} the enterprise declared itself, and when it accepted the terms.
    declared: Mapped[dict | None] = mapped_column(JSON)
    commitment_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    item = relationship("Item")


class PayoutBatch(db.Model):
    """A payout batch for one finance region. Once sent it never changes; total equals the sum of its lines."""

    __tablename__ = "payout_batches"
    __table_args__ = (CheckConstraint("total_fen >= 0", name="total_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_no: Mapped[str] = mapped_column(String(32), unique=True)
    region_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(16), default="sent")
    total_fen: Mapped[int] = mapped_column(BigInteger)
    line_count: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payments: Mapped[list[Payment]] = relationship(back_populates="batch", order_by="Payment.seq")


class Payment(db.Model):
    """One line of a payout batch, answered by the bank's return file."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    payment_ref: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[str | None] = mapped_column(String(16))  # None (awaiting) | success | failure
    bank_txn_no: Mapped[str | None] = mapped_column(String(64))
    failure_code: Mapped[str | None] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    processed_on: Mapped[date | None] = mapped_column(Date)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("bank_returns.id"))
    # The payee as sent (a later account fix must not change what this line told the bank); account encrypted.
    payee_name: Mapped[str | None] = mapped_column(String(200))
    payee_bank: Mapped[str | None] = mapped_column(String(200))
    payee_account_enc: Mapped[str | None] = mapped_column(Text)
    payee_key_id: Mapped[str | None] = mapped_column(String(32))
    payee_account_last4: Mapped[str | None] = mapped_column(String(4))

    batch: Mapped[PayoutBatch] = relationship(back_populates="payments")
    award = relationship("Award")


class BankReturn(db.Model):
    """One reconciled return file (回单); the same file twice is recognised by its hash."""

    __tablename__ = "bank_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AwardObjection(db.Model):
    """An objection filed during an award's 公示, and how finance or the item's department resolved it."""

    __tablename__ = "award_objections"
    __table_args__ = (
        CheckConstraint("resolution IS NULL OR resolution IN ('dismissed','upheld')", name="resolution_known"),
        CheckConstraint("(resolution IS NULL) = (resolved_at IS NULL)", name="resolved_consistently"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AwardRecovery(db.Model):
    """One clawback entry (分). The award's ``recovered_fen`` is their sum, and the database keeps it <= paid."""

    __tablename__ = "award_recoveries"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BudgetEntry(db.Model):
    """A ledger entry that changes an item's budget: ``rebudget`` puts recovered money back (分).

    The item's ``budget_fen`` grows by the entry (and the city allocation's ``amount_fen`` when ``city_code``
    is set); re-budgeted money never exceeds what was recovered on the item.
    """

    __tablename__ = "budget_entries"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("kind IN ('rebudget')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    city_code: Mapped[str | None] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(16), default="rebudget")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
