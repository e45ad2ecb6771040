"""REST API basics: tokens, 401s, the OpenAPI document and the error body, on an empty database."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

ERROR_KEYS = {"code", "status", "message", "errors"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_error(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    if code:
        assert body["code"] == code
    return body


def test_a_token_is_issued_for_the_right_password_and_opens_the_api(client, make_user):
    make_user("city_admin", region="140100", username="ty")
    resp = client.post("/api/v1/auth/token", json={"username": "ty", "password": "password-123"})
    assert resp.status_code == 200
    token = resp.get_json()["token"]
    assert len(token) >= 32
    assert client.get("/api/v1/items", headers=bearer(token)).status_code == 200


def test_a_wrong_password_gets_401_in_the_error_shape(client, make_user):
    make_user("city_admin", region="140100", username="ty")
    resp = client.post("/api/v1/auth/token", json={"username": "ty", "password": "wrong-password"})
    assert_error(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_request_without_fields_is_422_naming_them(client):
    body = assert_error(client.post("/api/v1/auth/token", json={}), 422, "unprocessable_entity")
    assert set(body["errors"]["json"]) == {"username", "password"}


@pytest.mark.parametrize("path", ["/api/v1/items", "/api/v1/items/1", "/api/v1/match-results", "/api/v1/awards",
                                  "/api/v1/awards/1", "/api/v1/me/profile",
                                  "/api/v1/enterprises/91140105B2X3AETH72/profile"])
def test_every_endpoint_refuses_a_request_without_a_token(client, path):
    assert_error(client.get(path), 401, "unauthorized")


@pytest.mark.parametrize("header", ["Bearer not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "token"])
def test_a_bad_or_malformed_token_is_401(client, make_user, header):
    make_user("city_admin", region="140100")
    assert_error(client.get("/api/v1/items", headers={"Authorization": header}), 401, "unauthorized")


def test_a_new_token_replaces_the_old_one(client, make_user):
    make_user("city_admin", region="140100", username="ty")
    creds = {"username": "ty", "password": "password-123"}
    first = client.post("/api/v1/auth/token", json=creds).get_json()["token"]
    second = client.post("/api/v1/auth/token", json=creds).get_json()["token"]
    assert_error(client.get("/api/v1/items", headers=bearer(first)), 401)
    assert client.get("/api/v1/items", headers=bearer(second)).status_code == 200


def test_the_openapi_document_lists_the_paths_and_the_bearer_scheme(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/auth/token", "/api/v1/items", "/api/v1/items/{item_id}", "/api/v1/match-results",
                 "/api/v1/awards", "/api/v1/awards/{award_id}", "/api/v1/awards/{award_id}/review",
                 "/api/v1/awards/{award_id}/approve", "/api/v1/awards/{award_id}/reject", "/api/v1/me/profile",
                 "/api/v1/enterprises/{credit_code}/profile"):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "token from POST /api/v1/auth/token"}
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/v1/auth/token"]["post"]["security"] == []
    error = spec["components"]["schemas"]["ApiError"]
    assert set(error["properties"]) == ERROR_KEYS
    assert "Error" not in spec["components"]["schemas"]


def test_the_openapi_document_declares_money_as_strings(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    item = spec["components"]["schemas"]["Item"]["properties"]
    for name in ("cap", "budget", "reserved", "paid"):
        assert item[name]["type"] == "string", name
    assert spec["components"]["schemas"]["Award"]["properties"]["amount"]["type"] == "string"


def test_unknown_api_paths_and_methods_get_the_error_shape(client, make_user):
    make_user("city_admin", region="140100", username="ty")
    token = client.post("/api/v1/auth/token", json={"username": "ty", "password": "password-123"}).get_json()["token"]
    assert_error(client.get("/api/v1/no-such-thing", headers=bearer(token)), 404, "not_found")
    assert_error(client.get("/api/v1/items/999999", headers=bearer(token)), 404, "not_found")
    resp = client.delete("/api/v1/items", headers=bearer(token))
    assert_error(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]


def test_pages_outside_the_api_keep_html_errors(client):
    resp = client.get("/no-such-page-outside-the-api")
    assert resp.status_code == 404
    assert not resp.is_json


def test_service_errors_are_json_under_the_api_and_propagate_elsewhere(app):
    from policy_hub.services import Forbidden

    def boom():
        raise Forbidden("无权访问")

    app.add_url_rule("/api/v1/test-boom", "api_test_boom", boom)
    app.add_url_rule("/test-boom", "test_boom", boom)
    client = app.test_client()
    assert_error(client.get("/api/v1/test-boom"), 403, "forbidden")
    with pytest.raises(Forbidden):
        client.get("/test-boom")


def test_core_errors_map_to_their_statuses_under_the_api(app):
    from disbursement.errors import InvalidTransition
    from importers.errors import MissingColumnsError
    from rules.errors import RuleTypeError

    errors = {
        "rule": RuleTypeError("类型不符", position=3, expected="数值", found="字符串"),
        "import": MissingColumnsError("缺少必需列：事项编码", ("事项编码",)),
        "transition": InvalidTransition("paid", "approve"),
    }

    def raiser(kind):
        raise errors[kind]

    app.add_url_rule("/api/v1/test-raise/<kind>", "api_test_raise", raiser)
    client = app.test_client()
    body = assert_error(client.get("/api/v1/test-raise/rule"), 422, "rule_error")
    assert body["errors"][0]["position"] == 3
    body = assert_error(client.get("/api/v1/test-raise/import"), 422, "import_file_error")
    assert body["errors"] == [{"column": "事项编码", "message": "缺少此列"}]
    assert_error(client.get("/api/v1/test-raise/transition"), 409, "invalid_transition")


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_money_is_dumped_as_a_two_decimal_yuan_string_for_any_amount_in_fen(fen):
    from policy_hub.schemas.common import YuanFromFen

    text = YuanFromFen().serialize("x", {"x": fen})
    assert isinstance(text, str)
    assert re.fullmatch(r"-?\d+\.\d{2}", text)
    assert Decimal(text) * 100 == fen


def test_an_unknown_amount_is_dumped_as_null():
    from policy_hub.schemas.common import YuanFromFen

    assert YuanFromFen().serialize("x", {"x": None}) is None
