"""Server-rendered pages: login, each role's home with real data, scope refusals, uploads and the finance flow.

The seeded database (Taiyuan items, all five feeds, a match for 2026-06-30) is the ``loaded`` copy from
tests/conftest.py, built once per session and backend and cloned per test.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from policy_hub.extensions import db
from policy_hub.models import Award, Item, MatchResult, ProfileAccess, User

PASSWORD = "password-123"
DATONG_ITEMS = "大同市2025年度奖补事项清单.csv"


@pytest.fixture
def seeded(app, loaded):
    """The app's database holding the loaded examples (tests/conftest.py: Taiyuan items, five feeds, a match)."""
    return app


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _award_enterprise(state: str = "notified", kind: str = "apply_free") -> Award:
    return db.session.scalar(select(Award).where(Award.state == state, Award.kind == kind).order_by(Award.id))


# -- login ---------------------------------------------------------------------------------------------------

def test_login_redirects_each_role_to_its_home_and_logout_ends_the_session(client, make_user, login):
    cases = {
        make_user("city_admin", region="140100"): "/admin/items",
        make_user("data_officer", region="140000"): "/data",
        make_user("finance_reviewer", region="140100"): "/finance",
        make_user("province_admin", region="140000"): "/province",
        make_user("enterprise", credit_code="91140100MA0K000004"): "/enterprise",
    }
    for user, home in cases.items():
        login(user)
        assert client.get("/").headers["Location"].endswith(home)
        assert client.get(home).status_code == 200
    client.get("/logout")
    resp = client.get("/finance")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get("/").headers["Location"].endswith("/login")


def test_a_wrong_password_shows_a_chinese_message_and_logs_nobody_in(client, make_user):
    user = make_user("city_admin", region="140100")
    resp = client.post("/login", data={"username": user.username, "password": "wrong-password"})
    assert resp.status_code == 401
    assert "用户名或密码错误" in _text(resp)
    assert client.get("/admin/items").status_code == 302


def test_login_ignores_an_off_site_next_target(client, make_user):
    user = make_user("city_admin", region="140100")
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "next": "//evil.example/"})
    assert resp.headers["Location"].endswith("/admin/items")


@pytest.mark.parametrize("role, region, path", [
    ("enterprise", None, "/finance"), ("enterprise", None, "/admin/items"), ("city_admin", "140100", "/finance"),
    ("finance_reviewer", "140100", "/data"), ("data_officer", "140000", "/province"),
    ("province_admin", "140000", "/enterprise"),
])
def test_a_page_of_another_role_is_refused_with_403(make_user, login, role, region, path):
    user = make_user(role, region=region, credit_code="91140100MA0K000004" if role == "enterprise" else None)
    resp = login(user).get(path)
    assert resp.status_code == 403
    assert "无权访问" in _text(resp)


# -- enterprise ------------------------------------------------------------------------------------------------

def test_enterprise_home_shows_profile_awards_with_explanation_instant_listings_and_missing_fields(
        seeded, make_user, login):
    award = _award_enterprise()
    user = make_user("enterprise", credit_code=award.credit_code)
    html = _text(login(user).get("/enterprise"))
    assert award.credit_code in html and "市场监管" in html  # profile with source departments
    assert award.item.name in html
    assert f"{award.amount_fen // 100}.{award.amount_fen % 100:02d}" in html
    assert "待确认" in html and "非严重失信主体" in html
    assert db.session.scalar(select(ProfileAccess.id)) is None  # an enterprise's own read is not recorded

    unknown = db.session.scalar(select(MatchResult).where(MatchResult.verdict == "unknown"))
    user2 = make_user("enterprise", credit_code=unknown.credit_code)
    html = _text(login(user2).get("/enterprise"))
    from rules import FIELDS

    assert unknown.item.name in html
    for code in unknown.missing_fields:
        assert FIELDS[code].label in html


def test_enterprise_confirms_its_payee_account_and_sees_it_masked(seeded, make_user, login):
    award = _award_enterprise()
    client = login(make_user("enterprise", credit_code=award.credit_code))
    resp = client.post(f"/enterprise/awards/{award.id}/confirm",
                       data={"account_name": "某某公司", "bank": "中国银行太原分行", "account_no": "6222020200112233"})
    assert resp.status_code == 302
    html = _text(client.get(f"/enterprise/awards/{award.id}"))
    assert "已确认" in html and "**** **** 2233" in html and "6222020200112233" not in html
    assert "不一致" in html  # the holder name differs from the registered name
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "confirmed"


def test_an_invalid_account_number_is_refused_with_422_and_a_message(seeded, make_user, login):
    award = _award_enterprise()
    client = login(make_user("enterprise", credit_code=award.credit_code))
    resp = client.post(f"/enterprise/awards/{award.id}/confirm",
                       data={"account_name": "x", "bank": "y", "account_no": "12ab"})
    assert resp.status_code == 422 and "银行账号应为" in _text(resp)


def test_an_enterprise_cannot_open_or_confirm_another_enterprises_award(seeded, make_user, login):
    award = _award_enterprise()
    other = db.session.scalar(select(Award.credit_code).where(Award.credit_code != award.credit_code))
    client = login(make_user("enterprise", credit_code=other))
    assert client.get(f"/enterprise/awards/{award.id}").status_code == 403
    resp = client.post(f"/enterprise/awards/{award.id}/decline")
    assert resp.status_code == 403
    assert client.get("/enterprise/awards/999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "notified"


def test_instant_apply_creates_one_confirmed_award_even_when_submitted_twice(seeded, make_user, login):
    result = db.session.scalar(select(MatchResult).join(Item).where(
        MatchResult.verdict == "eligible", Item.mode == "instant_apply").order_by(MatchResult.id))
    client = login(make_user("enterprise", credit_code=result.credit_code))
    assert "申请</button>" in _text(client.get("/enterprise"))
    form = {"account_name": "企业", "bank": "建设银行", "account_no": "6217000011112222"}
    first = client.post(f"/enterprise/items/{result.item_id}/apply", data=form)
    second = client.post(f"/enterprise/items/{result.item_id}/apply", data=form)
    assert first.headers["Location"] == second.headers["Location"]
    awards = db.session.scalars(select(Award).where(Award.item_id == result.item_id,
                                                    Award.credit_code == result.credit_code)).all()
    assert [(a.kind, a.state, a.amount_fen) for a in awards] == [("instant_apply", "confirmed", result.amount_fen)]
    assert "已申请" in _text(client.get("/enterprise"))


def test_instant_apply_is_refused_when_the_stored_verdict_is_not_eligible(seeded, make_user, login):
    item = db.session.scalar(select(Item).where(Item.mode == "instant_apply").order_by(Item.id))
    eligible = set(db.session.scalars(select(MatchResult.credit_code).where(
        MatchResult.item_id == item.id, MatchResult.verdict == "eligible")))
    outsider = db.session.scalar(select(Award.credit_code).where(Award.credit_code.not_in(eligible)))
    client = login(make_user("enterprise", credit_code=outsider))
    resp = client.post(f"/enterprise/items/{item.id}/apply",
                       data={"account_name": "企业", "bank": "建设银行", "account_no": "6217000011112222"})
    assert resp.status_code == 409 and "即时复核未通过" in _text(resp)
    assert db.session.scalar(select(Award).where(Award.kind == "instant_apply")) is None


# -- city admin ------------------------------------------------------------------------------------------------

def test_city_admin_sees_its_items_and_the_quota_of_its_city(seeded, login):
    admin = _user("loaded-admin")
    html = _text(login(admin).get("/admin/items?on=2026-06-30"))
    item = db.session.scalar(select(Item).order_by(Item.id))
    assert item.name in html and "免申即享" in html
    assert "太原市" in html and "缺口" in html and "可兑现合计" in html
    assert "大同市" not in html  # only its own city's quota
    assert _text(login(admin).get(f"/admin/items/{item.id}")).count(item.code) >= 1


def test_a_city_admin_cannot_open_another_citys_item(seeded, make_user, login):
    item = db.session.scalar(select(Item).order_by(Item.id))
    datong = make_user("city_admin", region="140200")
    resp = login(datong).get(f"/admin/items/{item.id}")
    assert resp.status_code == 403
    assert item.name not in _text(resp)
    assert item.name not in _text(login(datong).get("/admin/items"))


def test_item_upload_previews_every_error_then_commits_with_skip_invalid(app, make_user, login, examples_dir):
    client = login(make_user("city_admin", region="140200"))
    data = (examples_dir / DATONG_ITEMS).read_bytes()
    resp = client.post("/admin/items/upload", data={"file": (io.BytesIO(data), "../../etc/清单.csv")},
                       content_type="multipart/form-data")
    html = _text(resp)
    assert resp.status_code == 200 and "导入预览" in html and "跳过错误行" in html
    assert db.session.scalar(select(Item.id)) is None  # a preview writes nothing
    # Stored in a random folder under UPLOAD_DIR, keeping only the base name ("../.." is dropped).
    stored = [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]
    assert [p.name for p in stored] == ["清单.csv"]
    assert stored[0].parent.parent == Path(app.config["UPLOAD_DIR"])
    assert "清单.csv" in html and stored[0].parent.name not in html.replace(f'value="{stored[0].parent.name}"', "")
    token = stored[0].parent.name
    refused = client.post("/admin/items/commit", data={"token": token})
    assert refused.status_code == 422 and "错误" in _text(refused)
    assert db.session.scalar(select(Item.id)) is None
    done = client.post("/admin/items/commit", data={"token": token, "skip_invalid": "1"})
    assert done.status_code == 302
    assert db.session.scalar(select(db.func.count(Item.id))) > 0
    assert "导入完成" in _text(client.get("/admin/items"))


def test_a_forged_upload_token_is_not_found(make_user, login):
    client = login(make_user("city_admin", region="140100"))
    assert client.post("/admin/items/commit", data={"token": "../../policy_hub"}).status_code == 404
    assert client.post("/admin/items/commit", data={"token": "0" * 32}).status_code == 404


# -- data officer ----------------------------------------------------------------------------------------------

def test_data_officer_previews_and_commits_a_feed_and_sees_unregistered_enterprises(
        app, make_user, login, examples_dir):
    client = login(make_user("data_officer", region="140000"))
    data = (examples_dir / "企业参保信息_人社_2024-2025.csv").read_bytes()
    resp = client.post("/data/upload", data={"source": "hr", "file": (io.BytesIO(data), "人社.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200 and "导入预览（人社）" in _text(resp)
    token = next(Path(app.config["UPLOAD_DIR"]).iterdir()).stem
    assert client.post("/data/commit", data={"token": token, "skip_invalid": "1"}).status_code == 302
    html = _text(client.get("/data"))
    assert "无市场监管登记信息的企业" in html
    from policy_hub.models import Enterprise

    unregistered = db.session.scalars(select(Enterprise.credit_code).where(Enterprise.registered.is_(False))).all()
    assert unregistered and all(code in html for code in unregistered[:5])


def test_a_feed_upload_without_a_source_is_refused(make_user, login):
    client = login(make_user("data_officer", region="140000"))
    resp = client.post("/data/upload", data={"file": (io.BytesIO(b"a,b\n"), "x.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "数据来源" in _text(resp)


# -- province --------------------------------------------------------------------------------------------------

def test_province_overview_lists_every_city_and_counts_awards_by_state(seeded, make_user, login):
    html = _text(login(make_user("province_admin", region="140000")).get("/province?on=2026-06-30"))
    for city in ("太原市", "大同市", "运城市", "山西省（省级事项）"):
        assert city in html
    notified = db.session.scalar(select(db.func.count(Award.id)).where(Award.state == "notified"))
    assert "待确认" in html and f"<td>{notified}</td>" in html


# -- finance ---------------------------------------------------------------------------------------------------

def _confirmed_award(make_user, login) -> Award:
    award = _award_enterprise()
    client = login(make_user("enterprise", credit_code=award.credit_code))
    client.post(f"/enterprise/awards/{award.id}/confirm",
                data={"account_name": "企业", "bank": "中国银行", "account_no": "6222020200112233"})
    db.session.expire_all()
    return db.session.get(Award, award.id)


def test_maker_checker_refuses_the_same_person_with_a_visible_message_and_a_third_person_approves(
        seeded, make_user, login):
    from decimal import Decimal

    seeded.config["SECOND_APPROVAL_YUAN"] = Decimal("1000")  # so this award needs a second approver
    award = _confirmed_award(make_user, login)
    client = login(make_user("finance_reviewer", region="140100"))
    assert "初审</button>" in _text(client.get("/finance"))
    assert client.post(f"/finance/awards/{award.id}/review").status_code == 302
    assert client.post(f"/finance/awards/{award.id}/approve").status_code == 403  # a reviewer never approves
    first = login(make_user("finance_approver", region="140100"))
    assert first.post(f"/finance/awards/{award.id}/approve").status_code == 302
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "awaiting_second_approval"
    same = first.post(f"/finance/awards/{award.id}/approve")
    assert same.status_code == 409 and "复核人不能与第一审批人相同" in _text(same)
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "awaiting_second_approval"
    third = login(make_user("finance_approver", region="140100"))
    assert third.post(f"/finance/awards/{award.id}/approve").status_code == 302
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "approved"
    assert "已审批" in _text(third.get("/finance"))


def test_an_approver_recorded_as_the_reviewer_is_refused_with_a_message(seeded, make_user, login):
    award = _confirmed_award(make_user, login)
    login(make_user("finance_reviewer", region="140100")).post(f"/finance/awards/{award.id}/review")
    approver = make_user("finance_approver", region="140100")
    db.session.get(Award, award.id).reviewer_id = approver.id  # e.g. a user whose role changed since
    db.session.commit()
    resp = login(approver).post(f"/finance/awards/{award.id}/approve")
    assert resp.status_code == 409 and "审批人不能与初审人为同一人" in _text(resp)
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "reviewed"


def test_a_rejection_needs_a_reason(seeded, make_user, login):
    award = _confirmed_award(make_user, login)
    client = login(make_user("finance_reviewer", region="140100"))
    resp = client.post(f"/finance/awards/{award.id}/reject", data={"reason": "  "})
    assert resp.status_code == 422 and "驳回必须填写原因" in _text(resp)
    assert client.post(f"/finance/awards/{award.id}/reject", data={"reason": "材料不符"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "rejected"


def test_finance_of_another_city_cannot_act_on_the_award(seeded, make_user, login):
    award = _confirmed_award(make_user, login)
    resp = login(make_user("finance_reviewer", region="140200")).post(f"/finance/awards/{award.id}/review")
    assert resp.status_code == 403


def test_viewing_an_enterprise_profile_from_finance_is_recorded(seeded, make_user, login):
    award = _award_enterprise()
    reviewer = make_user("finance_reviewer", region="140100")
    resp = login(reviewer).get(f"/finance/enterprises/{award.credit_code}")
    assert resp.status_code == 200 and award.credit_code in _text(resp)
    access = db.session.scalars(select(ProfileAccess)).all()
    assert [(a.user_id, a.credit_code, a.endpoint) for a in access] == [
        (reviewer.id, award.credit_code, f"GET /finance/enterprises/{award.credit_code}")]
    outside = login(make_user("finance_reviewer", region="140200")).get(f"/finance/enterprises/{award.credit_code}")
    assert outside.status_code == 403


def test_payout_batch_download_is_an_xlsx_and_a_bank_return_pays_once(seeded, make_user, login):
    from disbursement.bank_return import ReturnRow, write_bank_return_xlsx

    award = _confirmed_award(make_user, login)
    login(make_user("finance_reviewer", region="140100")).post(f"/finance/awards/{award.id}/review")
    client = login(make_user("finance_approver", region="140100"))
    client.post(f"/finance/awards/{award.id}/approve")
    resp = client.post("/finance/batches")
    assert resp.status_code == 302
    html = _text(client.get(resp.headers["Location"]))
    assert "**** **** 2233" in html and "6222020200112233" not in html
    batch_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    download = client.get(f"/finance/batches/{batch_id}/download")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(download.data)).active
    rows = [[c for c in r] for r in sheet.iter_rows(values_only=True)]
    assert any("6222020200112233" in [str(c) for c in r] for r in rows)  # the bank needs the full number
    ref = db.session.scalar(select(db.text("payment_ref FROM payments")))
    bank_file = write_bank_return_xlsx([ReturnRow(row=0, payment_ref=ref, success=True, failure_reason_raw=None, failure_code=None,
                                                  bank_txn_no="TXN0001", processed_on=date(2026, 7, 3))])
    first = client.post("/finance/returns", data={"file": (io.BytesIO(bank_file), "回单.xlsx")},
                        content_type="multipart/form-data")
    assert first.status_code == 200 and "支付成功" in _text(first)
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "paid"
    paid = db.session.get(Award, award.id).item.paid_fen
    assert paid >= award.amount_fen > 0
    again = client.post("/finance/returns", data={"file": (io.BytesIO(bank_file), "回单.xlsx")},
                        content_type="multipart/form-data")
    assert again.status_code == 200 and "本次回单未引起任何变化" in _text(again)
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "paid"
    assert db.session.get(Award, award.id).item.paid_fen == paid


def test_building_a_batch_with_nothing_approved_says_so(seeded, make_user, login):
    client = login(make_user("finance_reviewer", region="140100"))
    resp = client.post("/finance/batches", follow_redirects=True)
    assert resp.status_code == 200 and "没有可排入支付批次的奖补" in _text(resp)


def test_with_csrf_enabled_a_post_needs_the_token_from_the_form(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user("city_admin", region="140100")
    form = {"username": user.username, "password": PASSWORD}
    refused = client.post("/login", data=form)
    assert refused.status_code == 400 and "表单已过期" in _text(refused)
    import re

    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', _text(client.get("/login"))).group(1)
    assert client.post("/login", data={**form, "csrf_token": token}).status_code == 302


def test_a_failed_payment_is_fixed_on_the_enterprise_page_and_paid_in_the_next_batch(seeded, make_user, login):
    from disbursement.bank_return import ReturnRow, write_bank_return_xlsx

    award = _confirmed_award(make_user, login)
    login(make_user("finance_reviewer", region="140100")).post(f"/finance/awards/{award.id}/review")
    finance = login(make_user("finance_approver", region="140100"))
    finance.post(f"/finance/awards/{award.id}/approve")
    finance.post("/finance/batches")
    ref = db.session.scalar(select(db.text("payment_ref FROM payments")))
    failed = write_bank_return_xlsx([ReturnRow(row=0, payment_ref=ref, success=False, failure_reason_raw="账号不存在",
                                               failure_code="账号不存在", bank_txn_no=None,
                                               processed_on=date(2026, 7, 3))])
    finance.post("/finance/returns", data={"file": (io.BytesIO(failed), "回单.xlsx")}, content_type="multipart/form-data")
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "payment_failed"
    assert f"/finance/awards/{award.id}/fix-account" in _text(finance.get("/finance"))
    ent = login(make_user("enterprise", credit_code=award.credit_code))
    page = _text(ent.get(f"/enterprise/awards/{award.id}"))
    assert "更正收款账户" in page and "账号不存在" in page
    resp = ent.post(f"/enterprise/awards/{award.id}/fix-account",
                    data={"account_name": "x", "bank": "中国银行", "account_no": "6217 0000 1000 9876"})
    assert resp.status_code == 302
    db.session.expire_all()
    fixed = db.session.get(Award, award.id)
    assert fixed.payee_account_last4 == "9876" and fixed.state == "payment_failed"
    # Finance re-batches: only the fixed payment goes in, under a new reference.
    assert login(make_user("finance_reviewer", region="140100")).post("/finance/batches").status_code == 302
    refs = db.session.scalars(select(db.text("payment_ref FROM payments ORDER BY id"))).all()
    assert len(refs) == 2 and refs[0] != refs[1]
    db.session.expire_all()
    assert db.session.get(Award, award.id).state == "scheduled"


def test_a_feed_preview_offers_its_error_report_as_xlsx(app, make_user, login, examples_dir):
    client = login(make_user("data_officer", region="140000"))
    data = (examples_dir / "企业登记信息_市场监管.csv").read_bytes()  # three rows with bad check characters
    resp = client.post("/data/upload", data={"source": "market", "file": (io.BytesIO(data), "市场监管.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200 and "/data/errors.xlsx" in _text(resp)
    token = next(Path(app.config["UPLOAD_DIR"]).iterdir()).stem
    report = client.post("/data/errors.xlsx", data={"token": token})
    assert report.status_code == 200 and "attachment" in report.headers["Content-Disposition"]
    rows = [[str(c) if c is not None else "" for c in r]
            for r in load_workbook(io.BytesIO(report.data)).active.iter_rows(values_only=True)]
    flagged = [r for r in rows if any("校验位错误" in c for c in r)]
    assert len(flagged) == 3 and all(any(c.startswith("91140") for c in r) for r in flagged)
    assert client.post("/data/errors.xlsx", data={"token": "forged"}).status_code == 404
