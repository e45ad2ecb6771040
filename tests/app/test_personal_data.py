"""Payee accounts: encrypted at rest, masked everywhere but the payout file, shown only to finance and the
enterprise itself, never in logs or audit rows, through a whole failed-fixed-paid flow."""

from __future__ import annotations

import io
import logging

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from disbursement.bank_return import ReturnRow, write_bank_return_xlsx
from policy_hub.extensions import db
from policy_hub.models import Award, Item
from policy_hub.services import Conflict, Forbidden, payouts
from policy_hub.services import awards as award_service
from policy_hub.services.payee import fix_account
from policy_hub.services.users import create_user, issue_token
from tests.app.helpers import AS_OF

pytestmark = pytest.mark.loaded
FIRST = "6222020200112345678"
FIXED = "6217000010009876543"
SECRETS = (FIRST, FIXED, FIRST[-8:], FIXED[-8:])


def _clean(blob: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in blob, f"{where} holds account digits {secret}"


def _return(tmp_path, name: str, ref: str, ok: bool) -> str:
    path = tmp_path / name
    path.write_bytes(write_bank_return_xlsx([ReturnRow(0, ref, ok, None if ok else "账号不存在", None,
                                                       "BK1" if ok else None, AS_OF)]))
    return str(path)


@pytest.fixture
def flow(loaded, tmp_path, caplog):
    """Confirm, approve, batch, fail (账号不存在), fix, re-batch and pay one award; logs captured at DEBUG."""
    caplog.set_level(logging.DEBUG)
    users = loaded["users"]
    award, other = db.session.scalars(select(Award).join(Item).where(Item.code == "TY-GX-003")
                                      .order_by(Award.id).limit(2)).all()
    firm = create_user("firm-pd", "enterprise", "password-123", credit_code=award.credit_code)
    stranger = create_user("firm-other", "enterprise", "password-123", credit_code=other.credit_code)
    province = create_user("prov-pd", "province_admin", "password-123", region_code="140000")
    award_service.confirm_payee(firm, award.id, account_name="x", bank="工商银行", account_no="6222 0202 0011 2345 678")
    award_service.review(users["reviewer"], award.id)
    award_service.approve(users["approver"], award.id)
    batch = payouts.build_batch(users["reviewer"])
    payouts.export_batch(users["reviewer"], batch.id)
    payouts.reconcile(users["reviewer"], _return(tmp_path, "r1.xlsx", batch.payments[0].payment_ref, False))
    db.session.commit()
    with pytest.raises(Forbidden):
        fix_account(stranger, award.id, account_name="x", bank="b", account_no=FIXED)
    db.session.rollback()
    fix_account(firm, award.id, account_name="x", bank="中国银行", account_no=FIXED)
    batch2 = payouts.build_batch(users["approver"])
    _name, xlsx = payouts.export_batch(users["approver"], batch2.id)
    payouts.reconcile(users["approver"], _return(tmp_path, "r2.xlsx", batch2.payments[0].payment_ref, True))
    db.session.commit()
    return {"award": award, "firm": firm, "stranger": stranger, "province": province, "users": users,
            "batch": batch2, "xlsx": xlsx}


def test_the_flow_pays_the_fixed_account_and_only_the_payout_file_holds_it(flow):
    award = db.session.get(Award, flow["award"].id)
    assert award.state == "paid" and award.payee_account_last4 == FIXED[-4:]
    ws = load_workbook(io.BytesIO(flow["xlsx"]))["支付清单"]
    assert ws["G2"].value == FIXED and ws["G2"].data_type == "s"


def test_accounts_are_encrypted_at_rest_and_absent_from_logs_and_audit_rows(flow, caplog):
    _clean(caplog.text, "the log")
    rows = db.session.execute(text("SELECT * FROM awards WHERE id = :i"), {"i": flow["award"].id}).one()
    _clean(" ".join(str(v) for v in rows), "the awards row")
    payloads = db.session.scalars(text("SELECT payload FROM audit_log ORDER BY seq")).all()
    assert any('"award.payee_fix"' in p for p in payloads)
    for p in payloads:
        _clean(p, "an audit row")
        assert FIXED[-4:] + '"' not in p and "account" not in p.lower()


def test_pages_show_the_account_masked_to_finance_and_the_enterprise_and_refuse_others(flow, client, login):
    award, masked = flow["award"], f"**** **** {FIXED[-4:]}"
    for user, url in ((flow["users"]["reviewer"], "/finance"), (flow["users"]["reviewer"], f"/finance/batches/"
                      f"{flow['batch'].id}"), (flow["firm"], f"/enterprise/awards/{award.id}")):
        page = login(user).get(url)
        assert page.status_code == 200, url
        body = page.get_data(as_text=True)
        _clean(body, url)
        assert masked in body, url
    assert login(flow["stranger"]).get(f"/enterprise/awards/{award.id}").status_code in (403, 404)
    assert login(flow["users"]["admin"]).get("/finance").status_code == 403


def test_the_api_masks_the_account_and_shows_it_only_to_finance_and_the_enterprise(flow, client):
    award = flow["award"]
    tokens = {name: issue_token(user) for name, user in (("reviewer", flow["users"]["reviewer"]),
                                                         ("firm", flow["firm"]), ("province", flow["province"]),
                                                         ("stranger", flow["stranger"]))}
    db.session.commit()

    def get(name: str):
        return client.get(f"/api/v1/awards/{award.id}", headers={"Authorization": f"Bearer {tokens[name]}"})

    for name in ("reviewer", "firm"):
        resp = get(name)
        assert resp.status_code == 200 and resp.get_json()["payee_account"] == f"**** {FIXED[-4:]}"
        _clean(resp.get_data(as_text=True), f"the API as {name}")
    resp = get("province")
    assert resp.status_code == 200 and resp.get_json()["payee_account"] is None
    assert get("stranger").status_code in (403, 404)


def test_only_a_failed_payment_can_have_its_account_fixed(flow):
    with pytest.raises(Conflict, match="支付失败"):
        fix_account(flow["firm"], flow["award"].id, account_name="x", bank="b", account_no=FIXED)
    db.session.rollback()
