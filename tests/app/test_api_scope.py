"""REST API on real data: scope per role, money as strings, finance actions and profile-read records.

The data (Taiyuan items, the five feeds, a match for 2026-06-30) is built once per module through the services:
it takes seconds. Tests in this module share it, so each one uses its own awards and counts deltas.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.app.helpers import AS_OF, load_feeds, load_items
from tests.app.test_api import assert_error, bearer

PASSWORD = "password-123"
MONEY = re.compile(r"^\d+\.\d{2}$")
STAFF = (
    ("ty_admin", "city_admin", "140100"),
    ("dt_admin", "city_admin", "140200"),
    ("officer", "data_officer", "140000"),
    ("ty_reviewer", "finance_reviewer", "140100"),
    ("ty_approver", "finance_approver", "140100"),
    ("dt_reviewer", "finance_reviewer", "140200"),
    ("province", "province_admin", "140000"),
)


def _app(url: str):
    from policy_hub.app import create_app

    return create_app({"POLICY_HUB_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                       "TESTING": True, "WTF_CSRF_ENABLED": False})


def _populate(url: str) -> None:
    """Users, then Taiyuan's items, the five feeds and a match, all through the services; two enterprise logins."""
    from policy_hub.extensions import db
    from policy_hub.models import Award
    from policy_hub.services.matching import run_match
    from policy_hub.services.users import create_user

    app = _app(url)
    with app.app_context():
        users = {name: create_user(name, role, PASSWORD, region_code=region) for name, role, region in STAFF}
        load_items(users["ty_admin"])
        load_feeds(users["officer"])
        run_match(AS_OF)
        # Two enterprises that each hold at least two awards, to log in as.
        holders = db.session.execute(select(Award.credit_code).group_by(Award.credit_code)
                                     .having(func.count(Award.id) >= 2).order_by(Award.credit_code).limit(2))
        for n, (code,) in enumerate(holders):
            create_user(f"ent_{'ab'[n]}", "enterprise", PASSWORD, credit_code=code)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def data_url(request, tmp_path_factory):
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("api_data") / "data.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        from tests.conftest import _truncate_pg

        url = request.getfixturevalue("pg_url")
        _truncate_pg(url)
    _populate(url)
    return url


@pytest.fixture
def api(data_url):
    """(client, tokens) on the module's data: ``tokens[username]`` gives fresh bearer headers."""
    from policy_hub.extensions import db

    app = _app(data_url)
    with app.app_context():
        client = app.test_client()

        def headers(username: str) -> dict:
            resp = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert resp.status_code == 200, resp.get_data(as_text=True)
            return bearer(resp.get_json()["token"])

        yield client, headers
        db.session.remove()
        db.engine.dispose()


def _user(username: str):
    from policy_hub.extensions import db
    from policy_hub.models import User

    return db.session.scalar(select(User).where(User.username == username))


def _awards_of(credit_code: str):
    from policy_hub.extensions import db
    from policy_hub.models import Award

    return list(db.session.scalars(select(Award).where(Award.credit_code == credit_code).order_by(Award.id)))


# -- items ---------------------------------------------------------------------------------------------------

def test_a_city_admin_sees_its_city_and_county_items_with_money_as_strings(api):
    client, headers = api
    items = client.get("/api/v1/items", headers=headers("ty_admin")).get_json()
    assert len(items) == 10
    assert {i["region_code"] for i in items} == {"140100", "140105"}
    for item in items:
        for name in ("budget", "reserved", "paid"):
            assert isinstance(item[name], str) and MONEY.match(item[name]), (name, item[name])
        assert item["cap"] is None or MONEY.match(item["cap"])
        assert date.fromisoformat(item["apply_end"])
    county = client.get("/api/v1/items?region_code=140105", headers=headers("ty_admin")).get_json()
    assert [i["region_code"] for i in county] == ["140105"]


def test_item_money_matches_the_stored_fen(api):
    from policy_hub.extensions import db
    from policy_hub.models import Item

    client, headers = api
    items = client.get("/api/v1/items", headers=headers("ty_admin")).get_json()
    for payload in items:
        item = db.session.get(Item, payload["id"])
        assert payload["budget"] == (None if item.budget_fen is None
                                     else f"{item.budget_fen // 100}.{item.budget_fen % 100:02d}")


def test_items_filter_by_mode_and_status(api):
    client, headers = api
    h = headers("ty_admin")
    apply_free = client.get("/api/v1/items?mode=apply_free", headers=h).get_json()
    assert apply_free and {i["mode"] for i in apply_free} == {"apply_free"}
    assert client.get("/api/v1/items?status=draft", headers=h).get_json() == []


def test_another_citys_admin_sees_no_taiyuan_items_and_gets_403_by_id(api):
    client, headers = api
    ty_items = client.get("/api/v1/items", headers=headers("ty_admin")).get_json()
    h = headers("dt_admin")
    assert client.get("/api/v1/items", headers=h).get_json() == []
    body = assert_error(client.get(f"/api/v1/items/{ty_items[0]['id']}", headers=h), 403, "forbidden")
    assert "地区" in body["message"]


def test_the_province_sees_every_item_by_id(api):
    client, headers = api
    ty_items = client.get("/api/v1/items", headers=headers("ty_admin")).get_json()
    resp = client.get(f"/api/v1/items/{ty_items[0]['id']}", headers=headers("province"))
    assert resp.status_code == 200
    assert resp.get_json()["code"] == ty_items[0]["code"]


# -- match results -------------------------------------------------------------------------------------------

def test_an_enterprise_sees_only_its_own_match_results(api):
    client, headers = api
    code = _user("ent_a").credit_code
    resp = client.get("/api/v1/match-results?page_size=500", headers=headers("ent_a"))
    results = resp.get_json()
    assert results and {r["credit_code"] for r in results} == {code}
    other = _user("ent_b").credit_code
    filtered = client.get(f"/api/v1/match-results?credit_code={other}", headers=headers("ent_a")).get_json()
    assert filtered == []


def test_match_results_are_paginated_and_filtered_for_a_city(api):
    from policy_hub.extensions import db
    from policy_hub.models import MatchResult

    client, headers = api
    h = headers("ty_admin")
    total = db.session.scalar(select(func.count(MatchResult.id)))
    resp = client.get("/api/v1/match-results?page_size=7&page=2", headers=h)
    meta = json.loads(resp.headers["X-Pagination"])
    assert meta["total"] == total and meta["page"] == 2
    page = resp.get_json()
    assert len(page) == 7
    for r in page:
        assert r["item_region_code"] in ("140100", "140105")
        assert r["amount"] is None or MONEY.match(r["amount"])
    unknown = client.get("/api/v1/match-results?verdict=unknown&page_size=500", headers=h).get_json()
    expected = db.session.scalar(select(func.count(MatchResult.id)).where(MatchResult.verdict == "unknown"))
    assert len(unknown) == expected > 0
    assert all(r["verdict"] == "unknown" and r["missing_fields"] for r in unknown)
    dt = client.get("/api/v1/match-results", headers=headers("dt_admin"))
    assert dt.get_json() == [] and json.loads(dt.headers["X-Pagination"])["total"] == 0


# -- awards --------------------------------------------------------------------------------------------------

def test_an_enterprise_lists_and_reads_its_own_awards_only(api):
    client, headers = api
    own = _awards_of(_user("ent_a").credit_code)
    h = headers("ent_a")
    listed = client.get("/api/v1/awards", headers=h).get_json()
    assert sorted(a["id"] for a in listed) == [a.id for a in own]
    one = client.get(f"/api/v1/awards/{own[0].id}", headers=h).get_json()
    assert one["credit_code"] == own[0].credit_code
    assert isinstance(one["amount"], str) and MONEY.match(one["amount"])
    assert one["created_at"].endswith("+00:00")


def test_an_enterprise_cannot_read_another_enterprises_award(api):
    client, headers = api
    other = _awards_of(_user("ent_b").credit_code)[0]
    assert_error(client.get(f"/api/v1/awards/{other.id}", headers=headers("ent_a")), 403, "forbidden")
    assert_error(client.get("/api/v1/awards/99999999", headers=headers("ent_a")), 404, "not_found")


@pytest.mark.parametrize("action", ["review", "approve", "reject"])
def test_an_enterprise_cannot_call_the_finance_endpoints_even_on_its_own_award(api, action):
    client, headers = api
    own = _awards_of(_user("ent_a").credit_code)[0]
    resp = client.post(f"/api/v1/awards/{own.id}/{action}", json={"reason": "x"}, headers=headers("ent_a"))
    assert_error(resp, 403, "forbidden")
    assert client.get(f"/api/v1/awards/{own.id}", headers=headers("ent_a")).get_json()["state"] == own.state


@pytest.mark.parametrize("username", ["ty_admin", "officer"])
def test_roles_without_award_access_get_403(api, username):
    client, headers = api
    assert_error(client.get("/api/v1/awards", headers=headers(username)), 403, "forbidden")
    award = _awards_of(_user("ent_a").credit_code)[0]
    assert_error(client.get(f"/api/v1/awards/{award.id}", headers=headers(username)), 403, "forbidden")


def test_finance_sees_its_regions_awards_and_another_citys_finance_none(api):
    from policy_hub.extensions import db
    from policy_hub.models import Award

    client, headers = api
    resp = client.get("/api/v1/awards?page_size=5", headers=headers("ty_reviewer"))
    assert resp.status_code == 200 and len(resp.get_json()) == 5
    total = json.loads(resp.headers["X-Pagination"])["total"]
    assert total == db.session.scalar(select(func.count(Award.id)))
    assert client.get("/api/v1/awards", headers=headers("dt_reviewer")).get_json() == []
    award = _awards_of(_user("ent_b").credit_code)[0]
    assert_error(client.get(f"/api/v1/awards/{award.id}", headers=headers("dt_reviewer")), 403)
    assert_error(client.post(f"/api/v1/awards/{award.id}/review", headers=headers("dt_reviewer")), 403)


def test_review_then_approve_reserves_the_budget_and_masks_the_account(api):
    from policy_hub.extensions import db
    from policy_hub.models import Item
    from policy_hub.services.awards import confirm_payee

    client, headers = api
    ent = _user("ent_b")
    award = next(a for a in _awards_of(ent.credit_code) if a.state == "notified" and a.amount_fen <= 50_000_000)
    confirm_payee(ent, award.id, account_name="x", bank="工商银行", account_no="6222020200112345678")
    db.session.commit()
    reserved_before = db.session.get(Item, award.item_id).reserved_fen

    resp = client.post(f"/api/v1/awards/{award.id}/review", headers=headers("ty_reviewer"))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["state"] == "reviewed"
    resp = client.post(f"/api/v1/awards/{award.id}/approve", headers=headers("ty_approver"))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["state"] == "approved"
    assert body["payee_account"] == "**** 5678"
    assert "6222020200112345678" not in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Item, award.item_id).reserved_fen == reserved_before + award.amount_fen


def test_reviewing_an_award_not_yet_confirmed_is_a_409_conflict(api):
    client, headers = api
    award = next(a for a in _awards_of(_user("ent_a").credit_code) if a.state == "notified")
    body = assert_error(client.post(f"/api/v1/awards/{award.id}/review", headers=headers("ty_reviewer")),
                        409, "conflict")
    assert body["errors"] == []


def test_a_rejection_needs_a_reason_and_records_it(api):
    from policy_hub.extensions import db
    from policy_hub.services.awards import confirm_payee

    client, headers = api
    ent = _user("ent_a")
    award = [a for a in _awards_of(ent.credit_code) if a.state == "notified"][-1]
    h = headers("ty_reviewer")
    # 'notified' awards cannot be rejected: the enterprise has not confirmed yet.
    assert_error(client.post(f"/api/v1/awards/{award.id}/reject", json={"reason": "重复申报"}, headers=h),
                 409, "conflict")
    confirm_payee(ent, award.id, account_name="x", bank="工商银行", account_no="6222020200187654321")
    db.session.commit()
    body = assert_error(client.post(f"/api/v1/awards/{award.id}/reject", json={}, headers=h), 422)
    assert "reason" in body["errors"]["json"]
    assert_error(client.post(f"/api/v1/awards/{award.id}/reject", json={"reason": "  "}, headers=h), 422)
    resp = client.post(f"/api/v1/awards/{award.id}/reject", json={"reason": "重复申报"}, headers=h)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["state"] == "rejected" and resp.get_json()["reason"] == "重复申报"


# -- profiles ------------------------------------------------------------------------------------------------

def _access_rows(credit_code: str) -> list:
    from policy_hub.extensions import db
    from policy_hub.models import ProfileAccess

    db.session.expire_all()
    return list(db.session.scalars(select(ProfileAccess).where(ProfileAccess.credit_code == credit_code)
                                   .order_by(ProfileAccess.id)))


def test_a_finance_users_profile_read_is_recorded(api):
    from policy_hub.extensions import db
    from policy_hub.models import Observation

    client, headers = api
    code = _user("ent_a").credit_code
    before = len(_access_rows(code))
    resp = client.get(f"/api/v1/enterprises/{code}/profile?fiscal_year=2025&as_of=2026-06-30",
                      headers=headers("ty_reviewer"))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["credit_code"] == code and body["fiscal_year"] == 2025 and body["as_of"] == "2026-06-30"
    revenue = db.session.scalar(select(Observation.value).where(
        Observation.credit_code == code, Observation.field == "revenue", Observation.fiscal_year == 2025)
        .order_by(Observation.id.desc()).limit(1))
    assert body["values"]["revenue"] == revenue and body["sources"]["revenue"] == "tax"
    assert isinstance(body["values"]["qualifications"], list)
    assert body["sources"]["scale"] == "derived"
    rows = _access_rows(code)
    assert len(rows) == before + 1
    assert rows[-1].user_id == _user("ty_reviewer").id
    assert rows[-1].endpoint == f"GET /api/v1/enterprises/{code}/profile"


def test_an_enterprise_reading_its_own_profile_is_not_recorded(api):
    client, headers = api
    code = _user("ent_a").credit_code
    before = len(_access_rows(code))
    resp = client.get("/api/v1/me/profile?as_of=2026-06-30", headers=headers("ent_a"))
    assert resp.status_code == 200
    assert resp.get_json()["credit_code"] == code
    assert len(_access_rows(code)) == before


def test_profile_reads_outside_scope_are_refused_and_not_recorded(api):
    client, headers = api
    code = _user("ent_a").credit_code
    before = len(_access_rows(code))
    assert_error(client.get(f"/api/v1/enterprises/{code}/profile", headers=headers("dt_reviewer")), 403)
    assert_error(client.get(f"/api/v1/enterprises/{code}/profile", headers=headers("ent_b")), 403)
    assert_error(client.get(f"/api/v1/enterprises/{code}/profile", headers=headers("ent_a")), 403)
    assert_error(client.get("/api/v1/me/profile", headers=headers("ty_reviewer")), 403)
    assert len(_access_rows(code)) == before


def test_an_unknown_enterprise_profile_is_404(api):
    client, headers = api
    assert_error(client.get("/api/v1/enterprises/91140100MA0000000X/profile", headers=headers("province")), 404)


def test_a_bad_profile_query_is_422(api):
    client, headers = api
    body = assert_error(client.get("/api/v1/me/profile?as_of=yesterday", headers=headers("ent_a")), 422)
    assert "as_of" in body["errors"]["query"]


def test_a_finance_user_listing_match_results_is_recorded_for_each_enterprise_shown(api):
    client, headers = api
    code = _user("ent_a").credit_code
    before = len(_access_rows(code))
    resp = client.get(f"/api/v1/match-results?credit_code={code}", headers=headers("ty_reviewer"))
    assert resp.status_code == 200 and resp.get_json()
    rows = _access_rows(code)
    assert len(rows) == before + 1 and rows[-1].endpoint == "GET /api/v1/match-results"
    client.get(f"/api/v1/match-results?credit_code={code}", headers=headers("ent_a"))
    assert len(_access_rows(code)) == before + 1  # the enterprise reading its own is not recorded
