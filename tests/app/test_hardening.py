"""Edge inputs that once produced 500s: oversized ids, pages beyond any offset, non-finite settings."""

from __future__ import annotations

import pytest

from policy_hub.config import ConfigError, load_config
from policy_hub.pages.common import rule_words


def test_an_id_beyond_the_integer_range_is_not_found_on_pages_and_api(client, make_user, login):
    login(make_user("finance_reviewer", region="140100"))
    assert client.get("/finance/batches/99999999999999999999").status_code == 404
    resp = client.get("/api/v1/items/99999999999999999999")
    assert resp.status_code == 404 and set(resp.get_json()) == {"code", "status", "message", "errors"}


def test_a_page_number_beyond_any_offset_is_a_bad_request_not_a_crash(client, make_user):
    user = make_user("finance_reviewer", region="140100")
    token = client.post("/api/v1/auth/token", json={"username": user.username, "password": "password-123"})
    headers = {"Authorization": "Bearer " + token.get_json()["token"]}
    resp = client.get("/api/v1/awards?page=99999999999999999999", headers=headers)
    assert resp.status_code in (400, 422) and resp.get_json()["status"] == resp.status_code


@pytest.mark.parametrize("value", ["inf", "NaN", "-1", "abc"])
def test_the_second_approval_threshold_must_be_a_finite_non_negative_number(monkeypatch, tmp_path, value):
    monkeypatch.setenv("POLICY_HUB_SECOND_APPROVAL_YUAN", value)
    with pytest.raises(ConfigError, match="POLICY_HUB_SECOND_APPROVAL_YUAN"):
        load_config(str(tmp_path))


def test_rules_are_shown_with_chinese_operators_but_literals_untouched():
    shown = rule_words("营业收入 >= 100万 and (scale in ['大型', 'and or'] or not 严重失信主体)")
    assert shown == "营业收入 >= 100万 且 (scale 属于 ['大型', 'and or'] 或 非 严重失信主体)"
    assert rule_words("$min([研发费用 * 0.05, 50万])") == "取较小值([研发费用 * 0.05, 50万])"
