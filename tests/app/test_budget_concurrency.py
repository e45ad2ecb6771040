"""Budget invariant under concurrency: parallel approvals never reserve more than the item's budget."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from policy_hub.extensions import db
from policy_hub.models import Award, Item
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
