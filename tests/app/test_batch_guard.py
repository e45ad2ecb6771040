"""Sent batches are immutable (ORM guard and the database triggers of migration 0005), unknown outcomes are never
re-sent, and a failure keeps its reason code with the bank's raw text."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from disbursement.bank_return import ReturnRow, write_bank_return_xlsx
from policy_hub.extensions import db
from policy_hub.models import Award, Item, Payment
from policy_hub.services import Conflict, payouts
from policy_hub.services import awards as award_service
from policy_hub.services.payee import fix_account
from policy_hub.services.users import create_user
from tests.app.helpers import AS_OF

pytestmark = pytest.mark.loaded
RAW = "该账号不存在（银行返回码 E102）"


def _approved(users, n: int = 2) -> list[Award]:
    awards = db.session.scalars(select(Award).join(Item).where(Item.code == "TY-GX-003")
                                .order_by(Award.id).limit(n)).all()
    for i, a in enumerate(awards):
        firm = create_user(f"firm-g{i}", "enterprise", "password-123", credit_code=a.credit_code)
        award_service.confirm_payee(firm, a.id, account_name="x", bank="b", account_no=f"62220202000{i:08d}")
        award_service.review(users["reviewer"], a.id)
        award_service.approve(users["approver"], a.id)
    db.session.commit()
    return awards


def _return(tmp_path, name, answers):
    path = tmp_path / name
    path.write_bytes(write_bank_return_xlsx([ReturnRow(0, ref, ok, None if ok else RAW, None,
                                                       f"BK{ref[-6:]}" if ok else None, AS_OF)
                                             for ref, ok in answers]))
    return path


def test_unknown_outcomes_are_never_resent_and_failures_keep_code_and_raw_text(loaded, tmp_path):
    users = loaded["users"]
    first, second = _approved(users)
    batch = payouts.build_batch(users["reviewer"])
    db.session.commit()
    assert batch.status == "sent" and batch.total_fen == sum(p.amount_fen for p in batch.payments)
    # No answer yet: the outcome is unknown, so nothing is put into a new batch.
    assert payouts.build_batch(users["reviewer"]) is None
    refs = {p.award_id: p.payment_ref for p in batch.payments}
    # The bank answers only the first; the second stays unknown and is still not re-sent.
    summary = payouts.reconcile(users["reviewer"], _return(tmp_path, "r1.xlsx", [(refs[first.id], False)]))
    db.session.commit()
    assert summary["to_fail"] == 1
    payment = db.session.scalar(select(Payment).where(Payment.payment_ref == refs[first.id]))
    assert (payment.result, payment.failure_code, payment.failure_reason) == ("failure", "账号不存在", RAW)
    assert payouts.build_batch(users["reviewer"]) is None  # failed but not fixed; the other is unknown
    # A later return contradicting the recorded failure is reported and not applied.
    clash = payouts.reconcile(users["reviewer"], _return(tmp_path, "r2.xlsx", [(refs[first.id], True)]))
    db.session.commit()
    assert clash["contradictions"] == 1 and clash["to_pay"] == 0
    assert db.session.get(Award, first.id).state == "payment_failed"
    fix_account(users["reviewer"], first.id, account_name="x", bank="b", account_no="6217000010009876543")
    retry = payouts.build_batch(users["reviewer"])
    db.session.commit()
    assert [p.award_id for p in retry.payments] == [first.id]
    assert retry.payments[0].payment_ref != refs[first.id]
    assert db.session.get(Award, second.id).state == "scheduled"


def test_the_orm_refuses_to_change_a_sent_batch_or_its_lines(loaded):
    users = loaded["users"]
    _approved(users, 1)
    batch = payouts.build_batch(users["reviewer"])
    db.session.commit()
    for change in (lambda: setattr(batch, "total_fen", batch.total_fen + 1),
                   lambda: setattr(batch.payments[0], "amount_fen", 1),
                   lambda: db.session.delete(batch.payments[0])):
        change()
        with pytest.raises(Conflict):
            db.session.flush()
        db.session.rollback()
    assert payouts.export_batch(users["reviewer"], batch.id)[1]


def test_the_database_triggers_refuse_hand_written_changes_to_a_sent_batch(loaded, tmp_path):
    users = loaded["users"]
    awards = _approved(users, 2)
    batch = payouts.build_batch(users["reviewer"])  # the service works with the triggers in place
    db.session.commit()
    refs = [p.payment_ref for p in batch.payments]
    payouts.reconcile(users["reviewer"], _return(tmp_path, "r.xlsx", [(refs[0], True), (refs[1], False)]))
    db.session.commit()
    fix_account(users["reviewer"], awards[1].id, account_name="x", bank="b", account_no="6217000010009876543")
    assert payouts.build_batch(users["reviewer"]).line_count == 1
    db.session.commit()
    pid = batch.payments[0].id
    for sql in (f"UPDATE payout_batches SET total_fen = total_fen + 1 WHERE id = {batch.id}",
                f"UPDATE payout_batches SET status = 'building' WHERE id = {batch.id}",
                f"DELETE FROM payout_batches WHERE id = {batch.id}",
                f"UPDATE payments SET amount_fen = amount_fen + 1 WHERE id = {pid}",
                f"UPDATE payments SET batch_id = batch_id WHERE id = {pid} AND 1 = 0",  # no row: allowed
                f"DELETE FROM payments WHERE id = {pid}",
                "INSERT INTO payments (batch_id, award_id, seq, payment_ref, amount_fen) "
                f"VALUES ({batch.id}, {awards[0].id}, 9, 'PH999999999901', 1)",
                "INSERT INTO payout_batches (batch_no, region_code, status, total_fen, line_count, created_by, "
                f"created_at) VALUES ('PBX', '140100', 'sent', 5, 1, {users['reviewer'].id}, CURRENT_TIMESTAMP)"):
        if "1 = 0" in sql:
            db.session.execute(text(sql))
            continue
        with pytest.raises(Exception, match="immutable|sum of its lines"):
            db.session.execute(text(sql))
            db.session.flush()
        db.session.rollback()
    # Marking a batch sent with a total that is not the sum of its lines is refused too.
    db.session.execute(text("INSERT INTO payout_batches (batch_no, region_code, status, total_fen, line_count, "
                            f"created_by, created_at) VALUES ('PBY', '140100', 'building', 0, 0, "
                            f"{users['reviewer'].id}, CURRENT_TIMESTAMP)"))
    with pytest.raises(Exception, match="sum of its lines"):
        db.session.execute(text("UPDATE payout_batches SET status = 'sent', total_fen = 7 WHERE batch_no = 'PBY'"))
    db.session.rollback()
    db.session.execute(text("UPDATE payments SET result = result WHERE id = :i"), {"i": pid})  # answers may land


def test_a_sent_batch_keeps_the_account_it_was_sent_to_after_the_account_is_fixed(loaded, tmp_path):
    import io

    from openpyxl import load_workbook

    users = loaded["users"]
    awards = _approved(users, 1)
    batch = payouts.build_batch(users["reviewer"])
    db.session.commit()
    _, before = payouts.export_batch(users["reviewer"], batch.id)
    (ref,) = [p.payment_ref for p in batch.payments]
    payouts.reconcile(users["reviewer"], _return(tmp_path, "r.xlsx", [(ref, False)]))
    fix_account(users["reviewer"], awards[0].id, account_name="x", bank="新银行", account_no="6217000010009876543")
    db.session.commit()
    _, after = payouts.export_batch(users["reviewer"], batch.id)

    def cells(data):
        return [[str(c) for c in row] for row in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]

    assert cells(after) == cells(before)  # the sent file is reproduced exactly
    assert any("6222020200000000000" in row for row in cells(after))
    assert not any("6217000010009876543" in row for row in cells(after))
    second = payouts.build_batch(users["reviewer"])
    db.session.commit()
    _, new_file = payouts.export_batch(users["reviewer"], second.id)
    assert any("6217000010009876543" in row for row in cells(new_file))
