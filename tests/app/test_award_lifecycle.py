"""The award life cycle beyond the happy path: 公示 objections, lapse, 税收减免, second approval, 告知承诺 with
its post-check, clawback recovery entries and re-budget entries, withdrawal and abandonment releasing money."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from disbursement.bank_return import ReturnRow, write_bank_return_csv
from policy_hub.extensions import db
from policy_hub.models import AuditEntry, Award, AwardObjection, AwardRecovery, BudgetEntry, Item, MatchResult
from policy_hub.services import Conflict, InputRejected, lifecycle, payouts
from policy_hub.services import audit as audit_service
from policy_hub.services import awards as award_service
from policy_hub.services import items as item_service
from policy_hub.services.matching import run_match
from policy_hub.services.users import create_user
from rules.money import format_yuan
from tests.app.helpers import AS_OF, TAIYUAN_ITEMS

pytestmark = pytest.mark.loaded


def _item(code: str) -> Item:
    return db.session.scalar(select(Item).where(Item.code == code))


def _fresh_awards(code: str, **changes) -> list[Award]:
    """Delete the item's awards, change the item, match again: its awards as the new settings make them."""
    item = _item(code)
    db.session.execute(db.delete(Award).where(Award.item_id == item.id))
    for k, v in changes.items():
        setattr(item, k, v)
    db.session.commit()
    run_match(AS_OF)
    db.session.commit()
    return db.session.scalars(select(Award).where(Award.item_id == item.id).order_by(Award.id)).all()


def _firm(award: Award, n: int = 0):
    return create_user(f"firm-{award.id}-{n}", "enterprise", "password-123", credit_code=award.credit_code)


def _to_approved(loaded, award: Award) -> Award:
    users = loaded["users"]
    award_service.confirm_payee(_firm(award), award.id, account_name="x", bank="b", account_no="6222020200001111")
    award_service.review(users["reviewer"], award.id)
    award_service.approve(users["approver"], award.id)
    db.session.commit()
    return award


def _pay(loaded, award: Award, tmp_path, success: bool = True) -> None:
    users = loaded["users"]
    batch = payouts.build_batch(users["reviewer"])
    db.session.commit()
    (payment,) = [p for p in batch.payments if p.award_id == award.id]
    row = ReturnRow(2, payment.payment_ref, success, None if success else "账号不存在",
                    None if success else "账号不存在", "TXN1" if success else None, date(2026, 7, 2))
    path = tmp_path / f"return-{award.id}-{success}.csv"
    path.write_bytes(write_bank_return_csv([row]))
    payouts.reconcile(users["reviewer"], path)
    db.session.commit()


def test_an_objection_during_the_notice_is_dismissed_or_upheld_with_a_reason(loaded):
    users = loaded["users"]
    first, second, *_ = _fresh_awards("TY-GX-003", notice_days=5)
    assert {first.state, second.state} == {"proposed"} and first.notice_until == AS_OF + timedelta(days=5)
    lifecycle.file_objection(users["officer"], first.id, "该企业已迁出本市", AS_OF + timedelta(days=2))
    lifecycle.file_objection(users["admin"], first.id, "同上", AS_OF + timedelta(days=5))  # the last day
    lifecycle.file_objection(users["officer"], second.id, "规模不符", AS_OF)
    db.session.commit()
    assert (first.state, second.state) == ("objected", "objected")
    with pytest.raises(Conflict, match="公示期"):
        lifecycle.file_objection(users["officer"], first.id, "太晚了", AS_OF + timedelta(days=6))
    db.session.rollback()
    with pytest.raises(InputRejected, match="原因"):
        lifecycle.resolve_objections(users["admin"], first.id, uphold=False, reason=" ")
    db.session.rollback()
    lifecycle.resolve_objections(users["admin"], first.id, uphold=False, reason="经核实仍在本市经营")
    lifecycle.resolve_objections(users["admin"], second.id, uphold=True, reason="经核实为大型企业")
    db.session.commit()
    assert first.state == "notified" and second.state == "withdrawn" and second.reason == "经核实为大型企业"
    rulings = db.session.execute(select(AwardObjection.award_id, AwardObjection.resolution)
                                 .order_by(AwardObjection.id)).all()
    assert rulings == [(first.id, "dismissed"), (first.id, "dismissed"), (second.id, "upheld")]
    # The enterprise of the dismissed objection confirms; a re-match creates nothing for the withdrawn pair
    # while the notice of its new award runs again.
    award_service.confirm_payee(_firm(first), first.id, account_name="x", bank="b", account_no="6222020200001111")
    db.session.commit()
    assert first.state == "confirmed"
    assert audit_service.verify()["ok"]


def test_a_tax_relief_item_is_granted_without_reservation_or_payout(loaded):
    awards = _fresh_awards("TY-GX-002", category="税收减免")
    item = _item("TY-GX-002")
    assert awards and {a.state for a in awards} == {"granted"}
    assert (item.reserved_fen, item.paid_fen) == (0, 0)
    noticed = _fresh_awards("TY-GX-002", notice_days=3)
    lifecycle.file_objection(loaded["users"]["officer"], noticed[0].id, "异议", AS_OF)
    lifecycle.resolve_objections(loaded["users"]["admin"], noticed[0].id, uphold=False, reason="不成立")
    db.session.commit()
    assert noticed[0].state == "granted"  # never notified: 税收减免 is handed to the tax system
    with pytest.raises(Conflict):
        award_service.confirm_payee(_firm(noticed[0]), noticed[0].id, account_name="x", bank="b",
                                    account_no="6222020200001111")


def test_no_answer_by_the_deadline_lapses_the_award_and_the_command_is_idempotent(loaded, app):
    import policy_hub.cli_lifecycle  # noqa: F401  (registers the commands)
    from policy_hub.cli import cli

    item = _item("TY-GX-003")
    waiting = db.session.scalar(select(func.count(Award.id)).join(Item).where(
        Award.state == "notified", Item.apply_end < date(2027, 1, 1)))
    confirmed = db.session.scalar(select(Award).where(Award.item_id == item.id, Award.state == "notified")
                                  .order_by(Award.id).limit(1))
    award_service.confirm_payee(_firm(confirmed), confirmed.id, account_name="x", bank="b",
                                account_no="6222020200001111")
    db.session.commit()
    assert lifecycle.lapse_overdue(item.apply_end) == 0  # the deadline day itself still counts
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["awards", "lapse", "--as-of", "2027-01-01", "--json"])
    assert result.exit_code == 0, result.output
    assert f'"lapsed": {waiting - 1}' in result.output
    again = runner.invoke(cli, ["awards", "lapse", "--as-of", "2027-01-01", "--json"])
    assert '"lapsed": 0' in again.output
    db.session.expire_all()
    states = {a.state for a in db.session.scalars(select(Award).where(Award.item_id == item.id))}
    assert states == {"lapsed", "confirmed"} and db.session.get(Award, confirmed.id).state == "confirmed"


def test_above_the_threshold_a_third_person_approves_and_rejection_needs_a_reason(loaded, app, make_user):
    users = loaded["users"]
    app.config["SECOND_APPROVAL_YUAN"] = Decimal("50000")  # the 10万 awards now need a second approver
    big, other = db.session.scalars(select(Award).join(Item).where(Item.code == "TY-GX-003")
                                    .order_by(Award.id).limit(2)).all()
    for n, a in enumerate((big, other)):
        award_service.confirm_payee(_firm(a, n), a.id, account_name="x", bank="b", account_no="6222020200001111")
        award_service.review(users["reviewer"], a.id)
    award_service.approve(users["approver"], big.id)
    db.session.commit()
    item = big.item
    assert big.state == "awaiting_second_approval" and item.reserved_fen == 0
    for same in (users["approver"],):
        with pytest.raises(Conflict, match="第一审批人"):
            award_service.approve(same, big.id)
        db.session.rollback()
    award_service.approve(users["approver2"], big.id)
    db.session.commit()
    db.session.refresh(item)
    assert big.state == "approved" and item.reserved_fen == big.amount_fen
    assert len({big.reviewer_id, big.approver_id, big.second_approver_id}) == 3
    with pytest.raises(InputRejected, match="原因"):
        award_service.reject(users["approver"], other.id, "  ")
    db.session.rollback()
    award_service.reject(users["approver"], other.id, "申报材料与实际不符")
    db.session.commit()
    assert other.state == "rejected" and other.reason == "申报材料与实际不符"


def test_withdrawal_after_approval_and_an_abandoned_payment_release_the_budget(loaded, tmp_path):
    users = loaded["users"]
    a, b = db.session.scalars(select(Award).join(Item).where(Item.code == "TY-GX-003")
                              .order_by(Award.id).limit(2)).all()
    _to_approved(loaded, a)
    item = a.item
    with pytest.raises(InputRejected):
        lifecycle.withdraw(users["reviewer"], a.id, "")
    db.session.rollback()
    lifecycle.withdraw(users["reviewer"], a.id, "企业已注销")
    db.session.commit()
    db.session.refresh(item)
    assert a.state == "withdrawn" and item.reserved_fen == 0
    _to_approved(loaded, b)
    _pay(loaded, b, tmp_path, success=False)
    db.session.refresh(item)
    assert b.state == "payment_failed" and item.reserved_fen == b.amount_fen
    lifecycle.abandon_payment(users["reviewer"], b.id, "账户无法更正")
    db.session.commit()
    db.session.refresh(item)
    assert b.state == "payment_abandoned" and (item.reserved_fen, item.paid_fen) == (0, 0)


def _commitment_case(loaded):
    item = _item("TY-KJ-003")  # 科技型中小企业研发补助: three verdicts miss 研发费用
    item.commitment_allowed = True
    result = db.session.scalar(select(MatchResult).where(MatchResult.item_id == item.id,
                                                         MatchResult.verdict == "unknown").limit(1))
    assert result.missing_fields == ["rd_expense"]
    firm = create_user("kj-firm", "enterprise", "password-123", credit_code=result.credit_code)
    db.session.commit()
    return item, firm


def test_a_written_commitment_covers_an_unknown_field_and_the_award_records_it(loaded):
    item, firm = _commitment_case(loaded)
    payee = {"account_name": "x", "bank": "b", "account_no": "6222020200001111"}
    with pytest.raises(Conflict, match="即时复核未通过"):
        award_service.apply_instant(firm, item.id, **payee)  # unknown without a commitment
    db.session.rollback()
    with pytest.raises(InputRejected, match="承诺条款"):
        award_service.apply_instant(firm, item.id, **payee, declared={"rd_expense": "200万"})
    db.session.rollback()
    with pytest.raises(InputRejected, match="研发费用"):
        award_service.apply_instant(firm, item.id, **payee, declared={"rd_expense": "很多"}, accept_terms=True)
    db.session.rollback()
    with pytest.raises(Conflict):  # declared, but too little: the re-check says ineligible
        award_service.apply_instant(firm, item.id, **payee, declared={"rd_expense": "50万"}, accept_terms=True)
    db.session.rollback()
    budget, item.budget_fen = item.budget_fen, 50_000  # a declared value worth more than the whole budget
    with pytest.raises(InputRejected, match="超过事项"):
        award_service.apply_instant(firm, item.id, **payee, declared={"rd_expense": "200万"}, accept_terms=True)
    db.session.rollback()
    item.budget_fen = budget
    award = award_service.apply_instant(firm, item.id, **payee, declared={"rd_expense": "200万"},
                                        accept_terms=True)
    db.session.commit()
    assert award.state == "confirmed" and award.declared == {"rd_expense": "2000000"}
    assert award.commitment_accepted_at is not None
    assert award.amount_fen == 2_000_000 * 5 // 100 * 100  # 研发费用 × 5% in 分
    item.commitment_allowed = False
    db.session.commit()
    other = db.session.scalar(select(MatchResult).where(MatchResult.item_id == item.id,
                                                        MatchResult.verdict == "unknown",
                                                        MatchResult.credit_code != firm.credit_code).limit(1))
    firm2 = create_user("kj-firm2", "enterprise", "password-123", credit_code=other.credit_code)
    with pytest.raises(InputRejected, match="不允许"):
        award_service.apply_instant(firm2, item.id, **payee, declared={"rd_expense": "200万"}, accept_terms=True)


def test_a_false_declaration_found_after_payment_opens_a_clawback_recovered_at_most_once(loaded, tmp_path):
    users = loaded["users"]
    item, firm = _commitment_case(loaded)
    award = award_service.apply_instant(firm, item.id, "x", "b", "6222020200001111",
                                        declared={"rd_expense": "200万"}, accept_terms=True)
    award_service.review(users["reviewer"], award.id)
    award_service.approve(users["approver"], award.id)  # eligibility re-checked with the declared value
    db.session.commit()
    _pay(loaded, award, tmp_path)
    assert award.state == "paid" and award.paid_fen == award.amount_fen
    assert lifecycle.post_check(award.id, {"rd_expense": 2_000_000}, None)["action"] == "none"
    outcome = lifecycle.post_check(award.id, {"rd_expense": "1200000.00"}, None, source="税务数据核查")
    db.session.commit()
    assert outcome["action"] == "clawback" and set(outcome["contradicted"]) == {"rd_expense"}
    assert award.state == "clawback_pending" and "税务数据核查" in award.reason
    paid = award.paid_fen
    with pytest.raises(InputRejected, match="超过已支付"):
        lifecycle.record_recovery(users["reviewer"], award.id, paid + 1, "退回")
    db.session.rollback()
    lifecycle.record_recovery(users["reviewer"], award.id, paid // 4, "第一笔退回")
    db.session.commit()
    assert award.state == "clawback_pending"
    item = award.item
    db.session.refresh(item)
    budget_before = item.budget_fen
    assert item.paid_fen == paid  # paid stays gross: recovered money is not available by itself
    with pytest.raises(InputRejected, match="超过可重新安排"):
        lifecycle.rebudget(users["reviewer"], item.id, paid // 4 + 1, "重新安排")
    db.session.rollback()
    lifecycle.rebudget(users["reviewer"], item.id, paid // 4, "追回资金重新安排")
    lifecycle.record_recovery(users["reviewer"], award.id, paid - paid // 4, "余款退回")
    db.session.commit()
    db.session.refresh(item)
    assert award.state == "recovered" and award.recovered_fen == paid
    assert item.budget_fen == budget_before + paid // 4 and item.paid_fen == paid
    entries = db.session.scalars(select(AwardRecovery.amount_fen).where(AwardRecovery.award_id == award.id)).all()
    assert sum(entries) == paid and db.session.scalar(select(func.count(BudgetEntry.id))) == 1
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(award.id))).all()
    assert actions.count("award.recovery") == 2 and "award.recover" in actions
    assert audit_service.verify()["ok"]
    # Re-importing the city's list keeps the re-budgeted money: the file states the budget as listed.
    summary = item_service.import_items(TAIYUAN_ITEMS, users["admin"], commit=True)
    db.session.commit()
    db.session.refresh(item)
    (change,) = [c for c in summary["changes"] if c["code"] == item.code]
    assert change["fields"] == ["commitment_allowed"]  # set by this test, not in the file; budget unchanged
    assert item.budget_fen == budget_before + paid // 4
    assert item_service.item_json(item)["rebudgeted"] == format_yuan(paid // 4)


def test_a_false_declaration_found_before_payment_withdraws_the_award_and_releases_its_budget(loaded):
    users = loaded["users"]
    item, firm = _commitment_case(loaded)
    award = award_service.apply_instant(firm, item.id, "x", "b", "6222020200001111",
                                        declared={"rd_expense": "200万"}, accept_terms=True)
    award_service.review(users["reviewer"], award.id)
    award_service.approve(users["approver"], award.id)
    db.session.commit()
    db.session.refresh(item)
    assert item.reserved_fen == award.amount_fen
    assert lifecycle.post_check(award.id, {"rd_expense": 900_000}, None)["action"] == "withdrawn"
    db.session.commit()
    db.session.refresh(item)
    assert award.state == "withdrawn" and item.reserved_fen == 0


def test_the_database_refuses_recoveries_above_paid_and_empty_entries(loaded):
    award = db.session.scalar(select(Award).limit(1))
    user = loaded["users"]["reviewer"]
    for stmt, params in (
        ("UPDATE awards SET recovered_fen = paid_fen + 1 WHERE id = :a", {"a": award.id}),
        ("INSERT INTO award_recoveries (award_id, amount_fen, reason, recorded_by, created_at) "
         "VALUES (:a, 0, 'x', :u, CURRENT_TIMESTAMP)", {"a": award.id, "u": user.id}),
        ("INSERT INTO budget_entries (item_id, kind, amount_fen, reason, created_by, created_at) "
         "VALUES (:i, 'rebudget', -5, 'x', :u, CURRENT_TIMESTAMP)", {"i": award.item_id, "u": user.id}),
    ):
        with pytest.raises(IntegrityError):
            db.session.execute(db.text(stmt), params)
            db.session.flush()
        db.session.rollback()


def test_the_enterprise_page_offers_a_commitment_for_the_missing_field_and_applies_with_it(loaded, login):
    item, firm = _commitment_case(loaded)
    client = login(firm)
    page = client.get("/enterprise").get_data(as_text=True)
    assert 'name="declared_rd_expense"' in page and 'name="accept_terms"' in page and "承诺并申请" in page
    form = {"account_name": "x", "bank": "b", "account_no": "6222020200001111", "declared_rd_expense": "200万"}
    refused = client.post(f"/enterprise/items/{item.id}/apply", data=form)  # terms not accepted
    assert refused.status_code == 422
    assert db.session.scalar(select(Award).where(Award.item_id == item.id)) is None
    resp = client.post(f"/enterprise/items/{item.id}/apply", data={**form, "accept_terms": "on"})
    assert resp.status_code in (302, 303)
    award = db.session.scalar(select(Award).where(Award.item_id == item.id, Award.credit_code == firm.credit_code))
    assert award.state == "confirmed" and award.declared == {"rd_expense": "2000000"}
    shown = client.get(f"/enterprise/awards/{award.id}").get_data(as_text=True)
    assert "告知承诺" in shown and "研发费用：2000000" in shown


def test_finance_withdraws_an_approved_award_on_its_page_with_a_reason(loaded, login, tmp_path):
    award = db.session.scalars(select(Award).join(Item).where(Item.code == "TY-GX-003").order_by(Award.id)).first()
    _to_approved(loaded, award)
    client = login(loaded["users"]["reviewer"])
    queue = client.get("/finance").get_data(as_text=True)
    assert f"/finance/awards/{award.id}/withdraw" in queue
    assert client.post(f"/finance/awards/{award.id}/withdraw", data={"reason": ""}).status_code == 422
    resp = client.post(f"/finance/awards/{award.id}/withdraw", data={"reason": "企业已注销"})
    assert resp.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "withdrawn" and award.item.reserved_fen == 0


def test_department_data_contradicting_a_declaration_claws_back_at_the_next_match(loaded, tmp_path):
    from policy_hub.models import ImportBatch, Observation
    from policy_hub.services.feeds import encode_observation

    users = loaded["users"]
    item, firm = _commitment_case(loaded)
    award = award_service.apply_instant(firm, item.id, "x", "b", "6222020200001111",
                                        declared={"rd_expense": "200万"}, accept_terms=True)
    award_service.review(users["reviewer"], award.id)
    award_service.approve(users["approver"], award.id)
    db.session.commit()
    _pay(loaded, award, tmp_path)
    run_match(AS_OF)  # nothing reported yet: the declaration stands
    db.session.commit()
    assert award.state == "paid"
    # The tax bureau's next feed reports the R&D expense: 120万, not the 200万 declared.
    batch = ImportBatch(kind="feed", source="tax", filename="纳税补报.csv", sha256="f" * 64, summary={})
    db.session.add(batch)
    db.session.flush()
    db.session.add(Observation(credit_code=firm.credit_code, field="rd_expense", fiscal_year=item.fiscal_year,
                               value=encode_observation("rd_expense", Decimal("1200000")), source="tax",
                               import_id=batch.id, row=2))
    db.session.commit()
    run_match(AS_OF)
    db.session.commit()
    db.session.refresh(award)
    assert award.state == "clawback_pending" and "部门数据核查" in award.reason and "rd_expense" in award.reason
    rows = db.session.scalar(select(func.count(AuditEntry.seq)))
    run_match(AS_OF)  # re-running changes nothing
    db.session.commit()
    assert award.state == "clawback_pending"
    assert db.session.scalar(select(func.count(AuditEntry.seq)).where(AuditEntry.entity_id == str(award.id),
                                                                      AuditEntry.seq > rows)) == 0


def test_eligibility_and_budget_are_rechecked_at_each_approval(loaded, app):
    users = loaded["users"]
    app.config["SECOND_APPROVAL_YUAN"] = Decimal("50000")
    a, b = db.session.scalars(select(Award).join(Item).where(Item.code == "TY-GX-003")
                              .order_by(Award.id).limit(2)).all()
    for n, award in enumerate((a, b)):
        award_service.confirm_payee(_firm(award, n), award.id, account_name="x", bank="b",
                                    account_no="6222020200001111")
        award_service.review(users["reviewer"], award.id)
    item = a.item
    item.budget_fen = a.amount_fen - 1  # too small already at the first approval
    db.session.commit()
    with pytest.raises(Conflict, match="预算不足"):
        award_service.approve(users["approver"], a.id)
    db.session.rollback()
    item.budget_fen = a.amount_fen * 5
    db.session.commit()
    award_service.approve(users["approver"], b.id)
    db.session.commit()
    assert b.state == "awaiting_second_approval"
    # The verdict behind b is gone by the second approval (e.g. a department feed changed the profile).
    db.session.execute(db.delete(MatchResult).where(MatchResult.item_id == b.item_id,
                                                    MatchResult.credit_code == b.credit_code))
    db.session.commit()
    with pytest.raises(Conflict, match="复核资格未通过"):
        award_service.approve(users["approver2"], b.id)
    db.session.rollback()
    assert db.session.get(Award, b.id).state == "awaiting_second_approval" and item.reserved_fen == 0
