"""Payout batches (支付清单) and bank-return reconciliation (回单)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from disbursement.bank_return import read_bank_return
from disbursement.payout import PayoutLine, batch_total_fen, payment_ref, validate_batch, write_payout_xlsx
from disbursement.reconcile import PaymentStatus, plan_reconciliation
from policy_hub.extensions import db
from policy_hub.models import Award, BankReturn, Payment, PayoutBatch
from policy_hub.services import Conflict, NotFound
from policy_hub.services import audit as audit_service
from policy_hub.services import awards as award_service
from policy_hub.services.crypto import decrypt_account
from policy_hub.services.users import require_region, require_role

logger = logging.getLogger(__name__)
FINANCE = ("finance_reviewer", "finance_approver")


def build_batch(user) -> PayoutBatch | None:
    """Put every approved (or failed-and-fixed) award of the user's region into a new batch; None if none.

    The batch is 'sent' when built: it never changes afterwards, and its total equals the sum of its lines.
    """
    require_role(user, *FINANCE)
    awards = award_service.finance_queue(user, ("approved", "payment_failed"))
    awards = [a for a in awards if a.payee_account_enc and (a.state == "approved" or a.reason == "account_fixed")]
    if not awards:
        return None
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")  # the bureau's date, as shown
    batch = PayoutBatch(batch_no=f"PENDING-{uuid.uuid4().hex[:20]}", region_code=user.region_code,
                        status="sent", total_fen=0, line_count=0, created_by=user.id)
    db.session.add(batch)
    db.session.flush()
    # Numbered from the row id, so concurrent builds never collide on the batch number.
    batch.batch_no = batch_no = f"PB{today}{user.region_code}{batch.id:06d}"
    for seq, award in enumerate(awards, start=1):
        attempt = db.session.scalar(select(func.count(Payment.id)).where(Payment.award_id == award.id)) + 1
        db.session.add(Payment(batch_id=batch.id, award_id=award.id, seq=seq,
                               payment_ref=payment_ref(award.id, attempt), amount_fen=award.amount_fen))
        award_service.transition(award, "schedule" if award.state == "approved" else "reschedule", user.id)
    batch.total_fen = sum(a.amount_fen for a in awards)
    batch.line_count = len(awards)
    db.session.flush()
    validate_batch(batch.batch_no, payout_lines(batch))
    audit_service.record(user.id, "batch.send", "payout_batch", batch.id, None,
                         {"batch_no": batch_no, "total_fen": batch.total_fen, "lines": batch.line_count})
    return batch


def payout_lines(batch: PayoutBatch) -> list[PayoutLine]:
    lines = []
    for p in batch.payments:
        a = p.award
        lines.append(PayoutLine(
            batch_no=batch.batch_no, seq=p.seq, payment_ref=p.payment_ref, payee_name=a.payee_name,
            credit_code=a.credit_code, bank_name=a.payee_bank,
            account_no=decrypt_account(a.payee_key_id, a.payee_account_enc), amount_fen=p.amount_fen,
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
    from rules.regions import within

    return [b for b in rows if within(b.region_code, user.region_code)]


def export_batch(user, batch_id: int) -> tuple[str, bytes]:
    """(file name, xlsx bytes) of a sent batch; the only place account numbers appear unmasked."""
    batch = get_batch(user, batch_id)
    lines = payout_lines(batch)
    assert batch_total_fen(lines) == batch.total_fen, "a sent batch's total must equal the sum of its lines"
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
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
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
    record.summary = {k: v for k, v in summary.items() if isinstance(v, int)}
    audit_service.record(user.id, "bank_return.reconcile", "bank_return", record.id, None, record.summary)
    db.session.flush()
    return summary
