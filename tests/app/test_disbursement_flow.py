"""From matching to the bank's answer, through the services, on real example data."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from disbursement.bank_return import ReturnRow, write_bank_return_xlsx
from policy_hub.extensions import db
from policy_hub.models import Award, Enterprise, Item, MatchResult
from policy_hub.services import Conflict, payouts
from policy_hub.services import audit as audit_service
from policy_hub.services import awards as award_service
from policy_hub.services.matching import run_match
from tests.app.helpers import AS_OF

pytestmark = pytest.mark.loaded


def notified_award(code: str = "TY-GX-003") -> Award:
    return db.session.scalar(select(Award).join(Item).where(Item.code == code, Award.state == "notified")
                             .order_by(Award.credit_code).limit(1))


def test_matching_stores_verdicts_creates_awards_and_a_rerun_creates_nothing(loaded):
    counts = loaded["counts"]
    awards = db.session.scalar(select(func.count(Award.id)))
    assert counts["awards_created"] == awards > 0
    assert counts["enterprises"] == 1997 and counts["unregistered"] == 3
    # Every award is an eligible apply-free pair; 公示 is 0 days here, so it is already pushed to the firm.
    assert {a.state for a in db.session.scalars(select(Award))} == {"notified"}
    again = run_match(AS_OF)
    db.session.commit()
    assert again["awards_created"] == 0
    assert db.session.scalar(select(func.count(Award.id))) == awards
    assert (again["eligible"], again["unknown"]) == (counts["eligible"], counts["unknown"])


def test_an_award_amount_follows_the_formula_and_the_explanation_is_kept(loaded):
    award = notified_award("TY-GX-003")  # 专精特新 10万元, cap 10万
    assert award.amount_fen == 10_000_000
    texts = [c.get("text", "") for c in award.explanation]
    assert any("专精特新中小企业" in t for t in texts)


def test_unknown_verdicts_name_the_missing_fields(loaded):
    unknown = db.session.scalars(select(MatchResult).where(MatchResult.verdict == "unknown")).all()
    assert unknown, "the samples have blank R&D figures, so some verdicts must be unknown"
    assert all(r.missing_fields and r.amount_fen is None for r in unknown)


def test_reviewer_and_approver_must_differ_and_approval_reserves_the_budget(loaded):
    users = loaded["users"]
    award = notified_award()
    ent = db.session.get(Enterprise, award.credit_code)
    from policy_hub.services.users import create_user

    firm = create_user("firm", "enterprise", "password-123", credit_code=award.credit_code)
    award_service.confirm_payee(firm, award.id, account_name=ent.name, bank="中国银行太原分行",
                                account_no="6216 6100 0000 1234")
    award_service.review(users["reviewer"], award.id)
    db.session.commit()
    assert award.payee_account_last4 == "1234" and "6216" not in (award.payee_account_enc or "")
    with pytest.raises(Conflict):
        award_service.approve(_as_approver(users["reviewer"]), award.id)
    db.session.rollback()
    item = award.item
    before = item.reserved_fen
    award_service.approve(users["approver"], award.id)
    db.session.commit()
    db.session.refresh(item)
    assert award.state == "approved"
    assert item.reserved_fen == before + award.amount_fen


def _as_approver(user):
    """The same person given approver rights: maker-checker must still refuse them."""
    user.role = "finance_approver"
    return user


def test_a_batch_is_paid_from_the_bank_return_and_the_same_return_twice_changes_nothing(loaded, tmp_path):
    users = loaded["users"]
    award = notified_award()
    ent = db.session.get(Enterprise, award.credit_code)
    from policy_hub.services.users import create_user

    firm = create_user("firm2", "enterprise", "password-123", credit_code=award.credit_code)
    award_service.confirm_payee(firm, award.id, account_name=ent.name, bank="工商银行", account_no="6222020200001111")
    award_service.review(users["reviewer"], award.id)
    award_service.approve(users["approver"], award.id)
    batch = payouts.build_batch(users["reviewer"])
    db.session.commit()
    assert batch.line_count == 1 and batch.total_fen == award.amount_fen
    name, data = payouts.export_batch(users["reviewer"], batch.id)
    db.session.commit()
    ws = openpyxl.load_workbook(io.BytesIO(data))["支付清单"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["批次号", "序号", "支付编号"]
    row = [c.value for c in ws[2]]
    assert row[4] == award.credit_code and row[6] == "6222020200001111"
    ref = row[2]
    ret = tmp_path / "return.xlsx"
    ret.write_bytes(write_bank_return_xlsx([ReturnRow(2, ref, True, None, None, "BANK0001", AS_OF)]))
    first = payouts.reconcile(users["reviewer"], ret)
    db.session.commit()
    item = award.item
    db.session.refresh(item)
    assert first["to_pay"] == 1 and award.state == "paid"
    assert (item.paid_fen, item.reserved_fen) == (award.amount_fen, 0)
    audit_rows = audit_service.verify()["rows"]
    second = payouts.reconcile(users["reviewer"], ret)
    db.session.commit()
    assert second["to_pay"] == 0 and second["already_applied"] == 1
    assert audit_service.verify() == {**audit_service.verify(), "rows": audit_rows, "ok": True}


def test_approval_is_refused_once_the_budget_is_spent(loaded):
    users = loaded["users"]
    item = db.session.scalar(select(Item).where(Item.code == "TY-GX-003"))
    awards = db.session.scalars(select(Award).where(Award.item_id == item.id).order_by(Award.id)).all()
    assert len(awards) >= 2
    item.budget_fen = awards[0].amount_fen  # room for exactly one
    from policy_hub.services.users import create_user

    for n, a in enumerate(awards[:2]):
        firm = create_user(f"f{n}", "enterprise", "password-123", credit_code=a.credit_code)
        award_service.confirm_payee(firm, a.id, account_name="x", bank="b", account_no="6222020200001111")
        award_service.review(users["reviewer"], a.id)
    db.session.commit()
    award_service.approve(users["approver"], awards[0].id)
    db.session.commit()
    with pytest.raises(Conflict, match="预算不足"):
        award_service.approve(users["approver"], awards[1].id)
    db.session.rollback()
    db.session.refresh(item)
    assert item.reserved_fen + item.paid_fen <= item.budget_fen
    assert db.session.get(Award, awards[1].id).state == "reviewed"


def test_the_audit_log_refuses_updates_and_deletes(loaded):
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(db.text("UPDATE audit_log SET action = 'x' WHERE seq = 1"))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(db.text("DELETE FROM audit_log WHERE seq = 1"))
        db.session.flush()
    db.session.rollback()
    assert audit_service.verify()["ok"]


def test_matches_export_is_sorted_with_two_decimals_and_no_superseded_rows(loaded, app, tmp_path):
    from policy_hub.cli import cli

    out = tmp_path / "m.csv"
    result = app.test_cli_runner().invoke(cli, ["matches", "export", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert rows[0] == ["credit_code", "item_region_code", "item_code", "fiscal_year", "mode", "verdict",
                       "amount_yuan", "missing_fields"]
    body = rows[1:]
    assert body == sorted(body, key=lambda r: (r[0], r[1], r[2], r[3]))
    assert {r[5] for r in body} <= {"eligible", "unknown"}
    for r in body:
        if r[5] == "eligible":
            assert r[6].count(".") == 1 and len(r[6].split(".")[1]) == 2 and r[7] == ""
        else:
            assert r[6] == "" and r[7]


def test_awards_wait_out_the_public_notice_and_are_pushed_by_the_first_match_after_it(loaded):
    from datetime import timedelta

    item = db.session.scalar(select(Item).where(Item.code == "TY-GX-003"))
    db.session.execute(db.delete(Award).where(Award.item_id == item.id))
    item.notice_days = 5  # 公示 five days
    db.session.commit()
    run_match(AS_OF)
    db.session.commit()
    states = {a.state for a in db.session.scalars(select(Award).where(Award.item_id == item.id))}
    assert states == {"proposed"}
    run_match(AS_OF + timedelta(days=5))  # the last day of the notice
    db.session.commit()
    assert {a.state for a in db.session.scalars(select(Award).where(Award.item_id == item.id))} == {"proposed"}
    again = run_match(AS_OF + timedelta(days=6))
    db.session.commit()
    awards = db.session.scalars(select(Award).where(Award.item_id == item.id)).all()
    assert {a.state for a in awards} == {"notified"} and again["awards_created"] == 0


def test_a_pair_no_longer_eligible_withdraws_an_unapproved_award_and_flags_an_approved_one(loaded, tmp_path):
    from policy_hub.services.feeds import import_feed
    from policy_hub.services.users import create_user
    from tests.app.helpers import EXAMPLES

    users = loaded["users"]
    pending, approved = db.session.scalars(select(Award).join(Item).where(Item.code == "TY-GX-003")
                                           .order_by(Award.id).limit(2)).all()
    firm = create_user("firm-w", "enterprise", "password-123", credit_code=approved.credit_code)
    award_service.confirm_payee(firm, approved.id, account_name="x", bank="b", account_no="6222020200001111")
    award_service.review(users["reviewer"], approved.id)
    award_service.approve(users["approver"], approved.id)
    db.session.commit()
    # The credit bureau's next 严重失信 list adds both enterprises.
    original = (EXAMPLES / "严重失信主体名单_信用.csv").read_text(encoding="utf-8-sig").rstrip("\n")
    extra = "".join(f"\n{a.credit_code},企业,是,2026-07-01" for a in (pending, approved))
    listed = tmp_path / "严重失信主体名单_更新.csv"
    listed.write_text(original + extra + "\n", encoding="utf-8")
    import_feed(listed, "credit", users["officer"], commit=True)
    db.session.commit()
    codes = (pending.credit_code, approved.credit_code)
    live_before = db.session.scalars(select(Award).where(Award.credit_code.in_(codes))).all()
    counts = run_match(AS_OF)
    db.session.commit()
    db.session.refresh(pending)
    db.session.refresh(approved)
    assert pending.state == "withdrawn" and "不再符合" in pending.reason
    assert approved.state == "approved" and "不再符合" in approved.flagged
    # Every other award of the two enterprises was withdrawn too; none was deleted.
    after = db.session.scalars(select(Award).where(Award.credit_code.in_(codes))).all()
    assert len(after) == len(live_before)
    assert {a.state for a in after if a.id != approved.id} == {"withdrawn"}
    assert (counts["awards_withdrawn"], counts["awards_flagged"]) == (len(after) - 1, 1)
