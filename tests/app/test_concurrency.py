"""Invariants under concurrency: budgets, one approval per award, one posting per payment, one match at a time."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select

from policy_hub.extensions import db
from policy_hub.models import AuditEntry, Award, Item
from policy_hub.services import Conflict
from policy_hub.services import awards as award_service
from policy_hub.services.users import create_user

pytestmark = pytest.mark.loaded


def _reviewed_awards(loaded, code: str, n: int) -> list[int]:
    item = db.session.scalar(select(Item).where(Item.code == code))
    awards = db.session.scalars(select(Award).where(Award.item_id == item.id).order_by(Award.id).limit(n)).all()
    for i, award in enumerate(awards):
        firm = create_user(f"firm-{i}", "enterprise", "password-123", credit_code=award.credit_code)
        award_service.confirm_payee(firm, award.id, account_name="x", bank="b", account_no="6222020200001111")
        award_service.review(loaded["users"]["reviewer"], award.id)
    db.session.commit()
    return [a.id for a in awards]


def run_together(app, n: int, action) -> list[str]:
    """Run ``action(i)`` in ``n`` threads, each in its own app context and session, started together.

    Returns the outcomes: "ok", or the name of the exception a thread got.
    """
    outcomes: list[str] = []
    barrier = threading.Barrier(n)

    def work(i: int) -> None:
        with app.app_context():
            barrier.wait()  # on SQLite the first query takes the write lock (BEGIN IMMEDIATE)
            try:
                action(i)
                db.session.commit()
                outcomes.append("ok")
            except Exception as exc:  # noqa: BLE001 - reported to the test as the outcome
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    db.session.expire_all()
    return sorted(outcomes)


def test_concurrent_approvals_never_exceed_the_budget(app, loaded):
    ids = _reviewed_awards(loaded, "TY-YS-002", 8)  # 纳税信用A级奖励: 5万元 each
    item = db.session.scalar(select(Item).where(Item.code == "TY-YS-002"))
    amount = db.session.get(Award, ids[0]).amount_fen
    assert all(db.session.get(Award, i).amount_fen == amount for i in ids)
    item.budget_fen = amount * 3  # room for exactly three of the eight
    item_id, approver_id = item.id, loaded["users"]["approver"].id
    db.session.commit()
    db.session.close()  # hold no transaction (on SQLite, BEGIN IMMEDIATE) while the threads run
    outcomes: list[str] = []
    barrier = threading.Barrier(len(ids))

    def approve(award_id: int) -> None:
        with app.app_context():
            from policy_hub.models import User

            barrier.wait()  # start together; on SQLite the first query takes the write lock (BEGIN IMMEDIATE)
            user = db.session.get(User, approver_id)
            try:
                award_service.approve(user, award_id)
                db.session.commit()
                outcomes.append("approved")
            except Conflict:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    db.session.expire_all()
    item = db.session.get(Item, item_id)
    approved = db.session.scalars(select(Award).where(Award.id.in_(ids), Award.state == "approved")).all()
    assert sorted(outcomes) == ["approved"] * 3 + ["refused"] * 5
    assert len(approved) == 3
    assert item.reserved_fen == 3 * amount <= item.budget_fen


def _user(user_id: int):
    from policy_hub.models import User

    return db.session.get(User, user_id)


def test_the_same_award_approved_by_several_approvers_at_once_is_approved_and_reserved_once(app, loaded,
                                                                                            make_user):
    (award_id,) = _reviewed_awards(loaded, "TY-GX-003", 1)
    approvers = [loaded["users"]["approver"].id, loaded["users"]["approver2"].id] + [
        make_user("finance_approver", region="140100").id for _ in range(2)]
    item_id = db.session.get(Award, award_id).item_id
    reserved_before = db.session.get(Item, item_id).reserved_fen
    db.session.close()
    outcomes = run_together(app, 4, lambda i: award_service.approve(_user(approvers[i]), award_id))
    assert outcomes == ["Conflict"] * 3 + ["ok"]
    award = db.session.get(Award, award_id)
    assert award.state == "approved"
    assert db.session.get(Item, item_id).reserved_fen == reserved_before + award.amount_fen
    approvals = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "award",
                                                            AuditEntry.entity_id == str(award_id),
                                                            AuditEntry.action == "award.approve")).all()
    assert len(approvals) == 1


def test_one_payment_answered_by_several_return_files_at_once_is_posted_once(app, loaded, tmp_path):
    from disbursement.bank_return import ReturnRow, write_bank_return_csv
    from policy_hub.services import payouts

    ids = _reviewed_awards(loaded, "TY-GX-003", 2)
    users = loaded["users"]
    for award_id in ids:
        award_service.approve(users["approver"], award_id)
    batch = payouts.build_batch(users["reviewer"])
    db.session.commit()
    rows = [ReturnRow(i + 2, p.payment_ref, True, None, None, f"TXN{i}", date(2026, 7, 1))
            for i, p in enumerate(batch.payments)]
    files = []
    for n in range(4):  # the same answers, in files that differ byte for byte
        path = tmp_path / f"return-{n}.csv"
        path.write_bytes(write_bank_return_csv(rows) + b"\n" * n)
        files.append(path)
    item_id = db.session.get(Award, ids[0]).item_id
    total = sum(db.session.get(Award, i).amount_fen for i in ids)
    reviewer_id = users["reviewer"].id
    db.session.close()
    outcomes = run_together(app, 4, lambda i: payouts.reconcile(_user(reviewer_id), files[i]))
    assert "ok" in outcomes and set(outcomes) <= {"ok", "Conflict"}
    item = db.session.get(Item, item_id)
    assert (item.paid_fen, item.reserved_fen) == (total, 0)
    for award_id in ids:
        assert db.session.get(Award, award_id).state == "paid"
        pays = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(award_id),
                                                           AuditEntry.action == "award.pay")).all()
        assert len(pays) == 1


def test_concurrent_match_runs_create_every_award_once(app, loaded):
    from policy_hub.services.matching import run_match

    db.session.execute(db.delete(Award).where(Award.state == "notified"))
    db.session.commit()
    db.session.close()
    outcomes = run_together(app, 3, lambda i: run_match(date(2026, 6, 30)))
    assert outcomes == ["ok"] * 3
    pairs = db.session.execute(select(Award.item_id, Award.credit_code, Award.period_key)).all()
    assert len(pairs) == len(set(pairs)) > 0
