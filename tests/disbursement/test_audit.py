"""The audit hash chain and canonical JSON."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from disbursement import GENESIS_HASH, append_record, audit_payload, canonical_json, chain_hash, verify_chain

AT = datetime(2026, 6, 30, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def build_chain(n: int):
    rows, prev = [], None
    for i in range(n):
        payload = audit_payload(
            actor_id=10 + i, action="approve", entity_type="award", entity_id=i,
            before={"state": "reviewed"}, after={"state": "approved", "amount_fen": 1000 * i}, at=AT,
        )  # fmt: skip
        prev = append_record(prev, payload)
        rows.append(prev)
    return rows


def test_the_hash_is_sha256_of_the_previous_hash_and_the_canonical_json():
    import hashlib

    payload = {"b": 1, "a": "批准"}
    assert canonical_json(payload) == '{"a":"批准","b":1}'
    assert chain_hash(GENESIS_HASH, payload) == hashlib.sha256(
        (GENESIS_HASH + '{"a":"批准","b":1}').encode("utf-8")
    ).hexdigest()
    assert GENESIS_HASH == "0" * 64


def test_an_untouched_chain_verifies():
    assert verify_chain(build_chain(6)) is None
    assert verify_chain([]) is None


def test_a_tampered_payload_is_found_at_exactly_its_seq():
    rows = build_chain(6)
    rows[3] = replace(rows[3], payload={**rows[3].payload, "after": {"state": "approved", "amount_fen": 1}})
    assert verify_chain(rows) == rows[3].seq == 4


def test_a_broken_link_is_found_at_exactly_its_seq():
    rows = build_chain(6)
    rows[2] = replace(rows[2], prev_hash="f" * 64)
    assert verify_chain(rows) == 3


def test_a_deleted_row_is_found_at_the_row_after_it():
    rows = build_chain(6)
    del rows[4]
    assert verify_chain(rows) == 6


def test_a_rehashed_row_breaks_the_link_of_the_next_row():
    rows = build_chain(6)
    payload = {**rows[1].payload, "actor_id": 999}
    rows[1] = replace(rows[1], payload=payload, hash=chain_hash(rows[1].prev_hash, payload))
    assert verify_chain(rows) == 3


def test_values_serialise_deterministically_and_floats_are_refused():
    payload = {"d": Decimal("12.50"), "day": date(2026, 7, 1), "at": AT, "t": (1, 2)}
    assert canonical_json(payload) == '{"at":"2026-06-30T01:00:00+00:00","d":"12.50","day":"2026-07-01","t":[1,2]}'
    with pytest.raises(TypeError):
        canonical_json({"amount": 1.5})
    with pytest.raises(ValueError):
        canonical_json({"at": datetime(2026, 6, 30)})


def test_an_audit_payload_holds_ids_and_amounts_with_utc_time():
    payload = audit_payload(7, "reject", "award", 42, {"state": "reviewed"}, {"state": "rejected"}, AT)
    assert payload == {
        "actor_id": 7, "action": "reject", "entity_type": "award", "entity_id": 42,
        "before": {"state": "reviewed"}, "after": {"state": "rejected"}, "at": "2026-06-30T01:00:00+00:00",
    }  # fmt: skip


def test_an_audit_payload_refuses_personal_data():
    with pytest.raises(ValueError):
        audit_payload(7, "confirm", "award", 42, None, {"account_no": "6222021234567890"}, AT)
    with pytest.raises(ValueError):
        audit_payload(7, "confirm", "award", 42, None, {"state": "confirmed"}, datetime(2026, 6, 30))


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=8), st.randoms(use_true_random=False))
def test_canonical_json_does_not_depend_on_key_order(payload, rnd):
    items = list(payload.items())
    rnd.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(payload)
    assert chain_hash(GENESIS_HASH, dict(items)) == chain_hash(GENESIS_HASH, payload)


@given(n=st.integers(1, 12), data=st.data())
def test_tampering_any_one_row_is_found_at_that_row(n, data):
    rows = build_chain(n)
    k = data.draw(st.integers(0, n - 1))
    rows[k] = replace(rows[k], payload={**rows[k].payload, "entity_id": -1})
    assert verify_chain(rows) == k + 1


def test_times_in_other_zones_give_the_same_canonical_text():
    assert canonical_json({"at": AT}) == canonical_json({"at": AT.astimezone(UTC)})
