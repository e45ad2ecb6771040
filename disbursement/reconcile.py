"""Reconciling a bank return against the recorded payments: a plan of what to apply, never applied here.

Idempotency: a row whose answer is already recorded is ``already_applied`` and changes nothing. A row is
never guessed: an unknown reference, a reference twice in one file, or an answer that differs from the
recorded one is reported and not applied.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from disbursement.bank_return import ReturnRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentStatus:
    """What the app recorded for one payment attempt (one payment_ref).

    state: the award's state ('scheduled', 'paid', 'payment_failed', ...); result: the bank answer already
    recorded for this reference ('success' | 'failure'), None while waiting; amount_fen: integer 分.
    """

    payment_ref: str
    award_id: int
    state: str
    amount_fen: int
    bank_txn_no: str | None = None
    result: str | None = None


@dataclass(frozen=True)
class PlannedChange:
    """One award to move: scheduled -> paid (success) or scheduled -> payment_failed."""

    row: int
    payment_ref: str
    award_id: int
    amount_fen: int
    success: bool
    bank_txn_no: str | None
    processed_on: date
    failure_code: str | None = None
    failure_reason_raw: str | None = None


@dataclass(frozen=True)
class ReconcileIssue:
    """A row not applied. kind: 'already_applied' | 'unknown_ref' | 'duplicate' | 'contradiction' |
    'wrong_state'; message is Chinese and names the row and reference."""

    kind: str
    row: int
    payment_ref: str
    message: str
    award_id: int | None = None


@dataclass
class ReconcilePlan:
    """The outcome of plan_reconciliation; only to_pay and to_fail are to be applied."""

    to_pay: list[PlannedChange] = field(default_factory=list)
    to_fail: list[PlannedChange] = field(default_factory=list)
    already_applied: list[ReconcileIssue] = field(default_factory=list)
    unknown_refs: list[ReconcileIssue] = field(default_factory=list)
    duplicates: list[ReconcileIssue] = field(default_factory=list)
    contradictions: list[ReconcileIssue] = field(default_factory=list)
    wrong_state: list[ReconcileIssue] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """Number of awards the plan moves."""
        return len(self.to_pay) + len(self.to_fail)

    @property
    def has_problems(self) -> bool:
        """True if any row was unknown, duplicated, contradicting or for an award not in 'scheduled'."""
        return bool(self.unknown_refs or self.duplicates or self.contradictions or self.wrong_state)

    def summary(self) -> dict[str, int]:
        """Counts per list, plus paid_fen and failed_fen (integer 分) of the planned changes."""
        return {
            "to_pay": len(self.to_pay),
            "to_fail": len(self.to_fail),
            "already_applied": len(self.already_applied),
            "unknown_refs": len(self.unknown_refs),
            "duplicates": len(self.duplicates),
            "contradictions": len(self.contradictions),
            "wrong_state": len(self.wrong_state),
            "paid_fen": sum(c.amount_fen for c in self.to_pay),
            "failed_fen": sum(c.amount_fen for c in self.to_fail),
        }


def _result_word(success: bool) -> str:
    return "成功" if success else "失败"


def plan_reconciliation(rows: Sequence[ReturnRow], payments: Mapping[str, PaymentStatus]) -> ReconcilePlan:
    """Decide what each bank answer does.

    Args:
        rows: the parsed return rows (BankReturn.rows), in file order.
        payments: the recorded payments keyed by payment_ref; should cover every reference of the
            batch(es) concerned.

    Returns:
        ReconcilePlan. A reference appearing more than once in ``rows`` is reported on every row as a
        duplicate and none of its rows is applied.
    """
    plan = ReconcilePlan()
    counts = Counter(r.payment_ref for r in rows)
    for r in rows:
        ref = r.payment_ref
        status = payments.get(ref)
        if status is None:
            plan.unknown_refs.append(ReconcileIssue(
                "unknown_ref", r.row, ref, f"第 {r.row} 行：支付编号 {ref} 不属于任何已发送的支付，未处理"))  # fmt: skip
            continue
        award = status.award_id
        if counts[ref] > 1:
            plan.duplicates.append(ReconcileIssue(
                "duplicate", r.row, ref,
                f"第 {r.row} 行：支付编号 {ref} 在同一文件中出现 {counts[ref]} 次，全部未处理，请银行核实", award))  # fmt: skip
            continue
        if status.result is not None:
            recorded_success = status.result == "success"
            txn_differs = (
                r.success and status.bank_txn_no is not None and r.bank_txn_no is not None
                and r.bank_txn_no != status.bank_txn_no
            )  # fmt: skip
            if r.success != recorded_success or txn_differs:
                plan.contradictions.append(ReconcileIssue(
                    "contradiction", r.row, ref,
                    f"第 {r.row} 行：支付编号 {ref} 已记录为“{_result_word(recorded_success)}”"
                    f"（流水号 {status.bank_txn_no or '无'}），本次为“{_result_word(r.success)}”"
                    f"（流水号 {r.bank_txn_no or '无'}），未处理", award))  # fmt: skip
            else:
                plan.already_applied.append(ReconcileIssue(
                    "already_applied", r.row, ref, f"第 {r.row} 行：支付编号 {ref} 的结果已登记，无需重复处理", award))  # fmt: skip
            continue
        if status.state != "scheduled":
            plan.wrong_state.append(ReconcileIssue(
                "wrong_state", r.row, ref,
                f"第 {r.row} 行：支付编号 {ref} 对应的奖补状态为 {status.state}，应为 scheduled（已排入批次），未处理", award))  # fmt: skip
            continue
        change = PlannedChange(
            row=r.row, payment_ref=ref, award_id=award, amount_fen=status.amount_fen, success=r.success,
            bank_txn_no=r.bank_txn_no, processed_on=r.processed_on,
            failure_code=r.failure_code, failure_reason_raw=r.failure_reason_raw,
        )  # fmt: skip
        (plan.to_pay if r.success else plan.to_fail).append(change)
    logger.info("reconciliation planned: %s", plan.summary())
    return plan


def apply_plan(payments: Mapping[str, PaymentStatus], plan: ReconcilePlan) -> dict[str, PaymentStatus]:
    """The payments as they are after applying ``plan`` (a new dict; the reference for what the app writes).

    to_pay -> state 'paid', result 'success', bank_txn_no; to_fail -> 'payment_failed', result 'failure'.
    """
    out = dict(payments)
    for c in plan.to_pay:
        out[c.payment_ref] = replace(out[c.payment_ref], state="paid", result="success", bank_txn_no=c.bank_txn_no)
    for c in plan.to_fail:
        out[c.payment_ref] = replace(out[c.payment_ref], state="payment_failed", result="failure",
                                     bank_txn_no=c.bank_txn_no)  # fmt: skip
    return out
