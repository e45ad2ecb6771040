"""Invariants under concurrency: budgets, one approval per award, one posting per payment, one match at a time."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from policy_hub.extensions import db
from policy_hub.models import AuditEntry, Award, Item
from policy_hub.services import Conflict
from policy_hub.services import awards as award_service
from policy_hub.services.users import create_user

pytestmark = pytest.mark.loaded


def _reviewed_awards(loaded, code: str, n: int, *, same_amount: bool = False) -> list[int]:
    """``n`` awards of the item, confirmed and reviewed; ``same_amount`` sets them all to the first one's
    amount (test data: the budget then fits an exact number of them)."""
    item = db.session.scalar(select(Item).where(Item.code == code))
    awards = db.session.scalars(select(Award).where(Award.item_id == item.id).order_by(Award.id).limit(n)).all()
    assert len(awards) == n
    for award in awards if same_amount else ():
        award.amount_fen = awards[0].amount_fen
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


def _approve_all_at_once(app, loaded, ids: list[int]) -> tuple[list[str], list[str]]:
    """Approve every award in ``ids`` at once, one thread and session each: (outcomes, refusal messages)."""
    approver_id = loaded["users"]["approver"].id
    db.session.commit()
    db.session.close()  # hold no transaction (on SQLite, BEGIN IMMEDIATE) while the threads run
    messages: list[str] = []

    def approve(i: int) -> None:
        try:
            award_service.approve(_user(approver_id), ids[i])
        except Conflict as exc:
            messages.append(exc.message)
            raise

    return run_together(app, len(ids), approve), messages


def _assert_reconciled(item_id: int, ids: list[int], amount: int, expected: int) -> None:
    item = db.session.get(Item, item_id)
    approved = db.session.scalars(select(Award).where(Award.id.in_(ids), Award.state == "approved")).all()
    assert len(approved) == expected
    assert db.session.scalars(select(Award.state).where(Award.id.in_(ids))).all().count("reviewed") == (
        len(ids) - expected)
    live_reserved = db.session.scalars(select(Award.amount_fen).where(
        Award.item_id == item_id, Award.state.in_(("approved", "scheduled", "payment_failed")))).all()
    assert item.reserved_fen == sum(live_reserved) == expected * amount
    assert item.reserved_fen + item.paid_fen <= item.budget_fen
    approvals = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "award.approve",
                                                            AuditEntry.entity_id.in_([str(i) for i in ids]))).all()
    assert len(approvals) == expected
    from policy_hub.services import audit as audit_service

    assert audit_service.verify()["ok"]


def test_forty_concurrent_approvals_against_a_budget_for_ten_approve_exactly_ten(app, loaded):
    ids = _reviewed_awards(loaded, "TY-GX-001", 40, same_amount=True)  # 10万元 each
    item = db.session.scalar(select(Item).where(Item.code == "TY-GX-001"))
    amount = db.session.get(Award, ids[0]).amount_fen
    assert all(db.session.get(Award, i).amount_fen == amount for i in ids)
    item.budget_fen = item.reserved_fen + item.paid_fen + amount * 10 + amount // 2  # room for ten, not eleven
    item_id = item.id
    outcomes, messages = _approve_all_at_once(app, loaded, ids)
    assert outcomes == ["Conflict"] * 30 + ["ok"] * 10
    assert len(messages) == 30 and all("预算不足" in m for m in messages), set(messages)
    _assert_reconciled(item_id, ids, amount, 10)


@pytest.mark.parametrize("limit", ["slots", "money"])
def test_forty_concurrent_approvals_against_a_city_allocation_for_ten_approve_exactly_ten(app, loaded, limit):
    from policy_hub.models import ItemAllocation

    ids = _reviewed_awards(loaded, "TY-GX-001", 40, same_amount=True)
    item = db.session.scalar(select(Item).where(Item.code == "TY-GX-001"))
    amount = db.session.get(Award, ids[0]).amount_fen
    item.budget_fen = amount * 100  # the item budget is not the limit here: the city's share is
    alloc = ItemAllocation(item_id=item.id, city_code="140100",
                           slots=10 if limit == "slots" else None,
                           amount_fen=amount * 10 + amount // 2 if limit == "money" else None)
    db.session.add(alloc)
    db.session.flush()
    item_id, alloc_id = item.id, alloc.id
    outcomes, messages = _approve_all_at_once(app, loaded, ids)
    assert outcomes == ["Conflict"] * 30 + ["ok"] * 10
    assert len(messages) == 30 and all("分市名额或额度已用完" in m for m in messages), messages[:3]
    _assert_reconciled(item_id, ids, amount, 10)
    alloc = db.session.get(ItemAllocation, alloc_id)
    assert (alloc.used_slots, alloc.reserved_fen, alloc.paid_fen) == (10, 10 * amount, 0)


def test_the_database_refuses_an_overspend_that_bypasses_the_service(app, loaded):
    """The CHECK constraints hold even against a plain UPDATE (a read-check-write bug in Python)."""
    from sqlalchemy.exc import IntegrityError

    from policy_hub.models import ItemAllocation

    item = db.session.scalar(select(Item).where(Item.code == "TY-GX-001"))
    db.session.add(ItemAllocation(item_id=item.id, city_code="140100", slots=1, amount_fen=100))
    db.session.commit()
    for stmt in ("UPDATE items SET reserved_fen = budget_fen + 1 - paid_fen WHERE id = :i",
                 "UPDATE items SET reserved_fen = -1 WHERE id = :i",
                 "UPDATE item_allocations SET used_slots = 2 WHERE item_id = :i",
                 "UPDATE item_allocations SET reserved_fen = 101 WHERE item_id = :i"):
        with pytest.raises(IntegrityError):
            db.session.execute(db.text(stmt), {"i": item.id})
            db.session.flush()
        db.session.rollback()


def test_the_database_allows_one_live_award_per_pair_and_period(app, loaded):
    """uq_awards_live_pair: a second live award for the same (item, enterprise, period) is refused by the
    database itself; a dead one (withdrawn) does not count."""
    from sqlalchemy.exc import IntegrityError

    award = db.session.scalar(select(Award).where(Award.state == "notified").order_by(Award.id).limit(1))
    cols = "item_id, item_revision, credit_code, fiscal_year, period_key, kind, state, amount_fen, paid_fen, " \
           "recovered_fen, as_of, explanation, inputs, payee_name_mismatch, created_at, updated_at"
    insert = db.text(f"INSERT INTO awards ({cols}) SELECT item_id, item_revision, credit_code, fiscal_year, "
                     "period_key, kind, :state, amount_fen, 0, 0, as_of, explanation, inputs, "
                     "payee_name_mismatch, created_at, updated_at FROM awards WHERE id = :id")
    with pytest.raises(IntegrityError):
        db.session.execute(insert, {"state": "confirmed", "id": award.id})
        db.session.flush()
    db.session.rollback()
    db.session.execute(insert, {"state": "withdrawn", "id": award.id})  # dead: allowed
    db.session.commit()
    db.session.execute(db.text("UPDATE awards SET state = 'withdrawn' WHERE id = :id"), {"id": award.id})
    db.session.execute(insert, {"state": "confirmed", "id": award.id})  # the old one is dead now
    db.session.commit()
    assert db.session.scalar(select(func.count(Award.id)).where(
        Award.item_id == award.item_id, Award.credit_code == award.credit_code,
        Award.state.not_in(("withdrawn",)))) == 1


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
