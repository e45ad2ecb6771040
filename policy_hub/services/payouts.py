"""Payout batches (支付清单) and bank-return reconciliation (回单)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import IntegrityError

from disbursement.bank_return import read_bank_return
from disbursement.payout import PayoutLine, batch_total_fen, payment_ref, validate_batch, write_payout_xlsx
from disbursement.reconcile import PaymentStatus, plan_reconciliation
from policy_hub.extensions import db
from policy_hub.models import Award, BankReturn, Payment, PayoutBatch
from policy_hub.services import Conflict, InputRejected, NotFound, ServiceError
from policy_hub.services import audit as audit_service
from policy_hub.services import awards as award_service
from policy_hub.services.crypto import decrypt_account
from policy_hub.services.users import require_region, require_role
from rules import regions
from rules.regions import within

logger = logging.getLogger(__name__)
FINANCE = ("finance_reviewer", "finance_approver")


ACCOUNT_FIXED = "已更正收款账户，等待重新支付"  # award.reason set by services.payee (shown as is); read by build_batch
RETRY_STATES = ("approved", "payment_failed")


def _awaiting_answer(award_ids: list[int]) -> set[int]:
    """Awards with a payment the bank has not answered yet (outcome unknown): never re-sent automatically."""
    if not award_ids:
        return set()
    return set(db.session.scalars(select(Payment.award_id).where(Payment.award_id.in_(award_ids),
                                                                 Payment.result.is_(None))))


def payable(user, region_code: str | None = None) -> list[Award]:
    """Awards a new batch would carry: approved ones, and failed ones whose account was fixed since.

    A failed payment without a fixed account, and any award with an unanswered payment, is left out.
    """
    region = region_code or user.region_code
    awards = [a for a in award_service.finance_queue(user, RETRY_STATES)
              if within(a.item.region_code, region) and a.payee_account_enc
              and (a.state == "approved" or a.reason == ACCOUNT_FIXED)]
    waiting = _awaiting_answer([a.id for a in awards])
    return [a for a in awards if a.id not in waiting]


def build_batch(user, region_code: str | None = None) -> PayoutBatch | None:
    """Put every payable award (see ``payable``) of ``region_code`` (default: the user's region) into a new batch.

    Returns None when nothing is payable. The batch is written as 'building', filled, then marked 'sent' with
    total_fen = sum of its lines; from then on it never changes (see ``_guard_sent_batches``).
    Raises Forbidden for a region outside the user's, or a non-finance user.
    """
    require_role(user, *FINANCE)
    try:
        region = regions.resolve(region_code) if region_code else user.region_code
    except regions.RegionError as exc:
        raise InputRejected(f"区划无效：{exc}") from exc
    require_region(user, region)
    awards = payable(user, region)
    if not awards:
        return None
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")  # the bureau's date, as shown
    batch = PayoutBatch(batch_no=f"PENDING-{uuid.uuid4().hex[:20]}", region_code=region,
                        status="building", total_fen=0, line_count=0, created_by=user.id)
    db.session.add(batch)
    db.session.flush()
    # Numbered from the row id, so concurrent builds never collide on the batch number.
    batch.batch_no = batch_no = f"PB{today}{region}{batch.id:06d}"
    for seq, award in enumerate(awards, start=1):
        attempt = db.session.scalar(select(func.count(Payment.id)).where(Payment.award_id == award.id)) + 1
        db.session.add(Payment(batch_id=batch.id, award_id=award.id, seq=seq,
                               payment_ref=payment_ref(award.id, attempt), amount_fen=award.amount_fen,
                               payee_name=award.payee_name, payee_bank=award.payee_bank,
                               payee_account_enc=award.payee_account_enc, payee_key_id=award.payee_key_id,
                               payee_account_last4=award.payee_account_last4))
        award_service.transition(award, "schedule" if award.state == "approved" else "reschedule", user.id)
        if award.reason == ACCOUNT_FIXED:
            award.reason = None  # the fix is used up: a new failure needs a new fix
    db.session.flush()
    db.session.expire(batch, ["payments"])
    lines = payout_lines(batch)
    validate_batch(batch_no, lines)
    batch.total_fen, batch.line_count, batch.status = batch_total_fen(lines), len(lines), "sent"
    db.session.flush()
    audit_service.record(user.id, "batch.send", "payout_batch", batch.id, None,
                         {"batch_no": batch_no, "total_fen": batch.total_fen, "lines": batch.line_count})
    return batch


def payout_lines(batch: PayoutBatch) -> list[PayoutLine]:
    lines = []
    for p in batch.payments:
        a = p.award
        lines.append(PayoutLine(
            batch_no=batch.batch_no, seq=p.seq, payment_ref=p.payment_ref, payee_name=p.payee_name,
            credit_code=a.credit_code, bank_name=p.payee_bank,  # the payee as sent, never the award's current one
            account_no=decrypt_account(p.payee_key_id, p.payee_account_enc), amount_fen=p.amount_fen,
            purpose=f"{a.item.name}（{a.fiscal_year}年度）", item_code=a.item.code))
    return lines


def get_batch(user, batch_id: int) -> PayoutBatch:
    require_role(user, *FINANCE)
    batch = db.session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound(f"批次 {batch_id} 不存在")
    require_region(user, batch.region_code)
    return batch


def batches(user) -> list[PayoutBatch]:
    require_role(user, *FINANCE)
    rows = db.session.scalars(select(PayoutBatch).order_by(PayoutBatch.id.desc()))
    return [b for b in rows if within(b.region_code, user.region_code)]


def export_batch(user, batch_id: int) -> tuple[str, bytes]:
    """(file name, xlsx bytes) of a sent batch; the only place account numbers appear unmasked."""
    batch = get_batch(user, batch_id)
    if batch.status != "sent":
        raise Conflict(f"批次 {batch.batch_no} 尚未生成完毕，不能导出")
    lines = payout_lines(batch)
    if batch_total_fen(lines) != batch.total_fen or len(lines) != batch.line_count:
        raise ServiceError(f"批次 {batch.batch_no} 合计 {batch.total_fen} 分与明细之和 {batch_total_fen(lines)} 分不符，"
                           "拒绝导出，请联系管理员核查")
    audit_service.record(user.id, "batch.export", "payout_batch", batch.id, None, {"lines": len(lines)})
    return f"支付清单_{batch.batch_no}.xlsx", write_payout_xlsx(batch.batch_no, lines)


def reconcile(user, path: str | Path, *, filename: str | None = None) -> dict:
    """Apply a bank return file. Idempotent: the same file (or the same answers) twice changes nothing.

    Unknown references, duplicates, contradictions and rows for awards not awaiting an answer are reported,
    never applied. Returns the plan summary plus ``issues`` (Chinese messages) and ``errors`` (unreadable rows).
    """
    require_role(user, *FINANCE)
    path = Path(path)
    parsed = read_bank_return(path)
    refs = [r.payment_ref for r in parsed.rows]
    # Lock the payments answered here (PostgreSQL), so a concurrent upload of the same answers waits, then
    # sees them applied; SQLite writers are serialised by BEGIN IMMEDIATE already.
    payments = {p.payment_ref: p for p in db.session.scalars(
        select(Payment).where(Payment.payment_ref.in_(refs)).with_for_update()
        .execution_options(populate_existing=True))}
    for p in payments.values():
        require_region(user, p.batch.region_code)
    statuses = {ref: PaymentStatus(ref, p.award_id, p.award.state, p.amount_fen, p.bank_txn_no, p.result)
                for ref, p in payments.items()}
    plan = plan_reconciliation(parsed.rows, statuses)
    errors = [{"sheet": parsed.sheet, "row": e.row, "column": e.column, "value": e.value, "message": str(e)}
              for e in parsed.errors]
    summary = plan.summary()
    summary["issues"] = [{"kind": i.kind, "row": i.row, "payment_ref": i.payment_ref, "message": i.message}
                         for i in (plan.unknown_refs + plan.duplicates + plan.contradictions + plan.wrong_state
                                   + plan.already_applied)]
    summary["errors"] = errors
    if plan.changes == 0:
        return summary
    digest = parsed.sha256 or hashlib.sha256(path.read_bytes()).hexdigest()
    record = db.session.scalar(select(BankReturn).where(BankReturn.sha256 == digest))
    if record is None:
        record = BankReturn(filename=filename or path.name, sha256=digest, user_id=user.id, summary={})
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except IntegrityError as exc:
            raise Conflict("同一回单文件正在由他人处理，请稍后刷新查看结果") from exc
    for change in plan.to_pay + plan.to_fail:
        payment = payments[change.payment_ref]
        award = db.session.get(Award, change.award_id)
        payment.result = "success" if change.success else "failure"
        payment.bank_txn_no, payment.processed_on = change.bank_txn_no, change.processed_on
        payment.failure_code, payment.failure_reason = change.failure_code, change.failure_reason_raw
        payment.return_id = record.id
        if change.success:
            award_service.transition(award, "pay", user.id)  # compare-and-set first: posts at most once
            award_service.post_payment(award)
        else:
            award_service.transition(award, "fail_payment", user.id)
            raw = (change.failure_reason_raw or "").strip()
            award.reason = f"支付失败（{change.failure_code}）" + (f"：{raw}" if raw and raw != change.failure_code else "")
    record.summary = {k: v for k, v in summary.items() if isinstance(v, int)}
    audit_service.record(user.id, "bank_return.reconcile", "bank_return", record.id, None, record.summary)
    db.session.flush()
    return summary


# -- immutability of sent batches (the ORM half; the database half is migration 0005) ---------------------

PAYMENT_FIXED_COLUMNS = ("batch_id", "award_id", "seq", "payment_ref", "amount_fen", "payee_name", "payee_bank",
                         "payee_account_enc", "payee_key_id", "payee_account_last4")


def _changed(target, names) -> list[str]:
    state = inspect(target)
    return [n for n in names if state.attrs[n].history.has_changes()]


@event.listens_for(PayoutBatch, "before_update")
def _refuse_sent_batch_update(_mapper, _conn, batch: PayoutBatch) -> None:
    was = inspect(batch).attrs.status.history
    if "sent" in (was.deleted or ()) or (not was.has_changes() and batch.status == "sent"):
        changed = _changed(batch, ("batch_no", "region_code", "status", "total_fen", "line_count", "created_by"))
        if changed:
            raise Conflict(f"批次 {batch.batch_no} 已发送，不能修改（{', '.join(changed)}）")


@event.listens_for(PayoutBatch, "before_delete")
def _refuse_sent_batch_delete(_mapper, _conn, batch: PayoutBatch) -> None:
    raise Conflict(f"批次 {batch.batch_no} 不能删除")


@event.listens_for(Payment, "before_update")
def _refuse_payment_line_update(_mapper, _conn, payment: Payment) -> None:
    changed = _changed(payment, PAYMENT_FIXED_COLUMNS)
    if changed:
        raise Conflict(f"支付 {payment.payment_ref} 属于已生成的批次，不能修改（{', '.join(changed)}）")


@event.listens_for(Payment, "before_delete")
def _refuse_payment_delete(_mapper, _conn, payment: Payment) -> None:
    raise Conflict(f"支付 {payment.payment_ref} 属于已生成的批次，不能删除")
