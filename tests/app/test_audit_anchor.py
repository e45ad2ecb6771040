"""Audit anchors (上链存证), tampering found by ``audit verify``, and audit rows written in the caller's transaction."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from disbursement.audit import canonical_json, chain_hash
from tests.app.test_cli import run_cli

PASSWORD = "long-enough-pass\n"


def _make_rows(db_url: str, n: int = 4) -> None:
    for i in range(n):
        out = run_cli(db_url, "users", "create", f"user-{i}", "--role", "finance_reviewer", "--region", "140100",
                      "--password-stdin", stdin=PASSWORD)
        assert out.returncode == 0, out.stderr


def _verify(db_url: str, *args: str):
    out = run_cli(db_url, "audit", "verify", *args, "--json")
    return out.returncode, json.loads(out.stdout)


def _tamper(db_url: str, sql: str, params: dict) -> None:
    """Edit audit_log behind the application's back, switching its append-only trigger off as an attacker would."""
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # user triggers do not fire
        else:
            conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        conn.execute(sa.text(sql), params)
    engine.dispose()


def _promote(payload: str) -> str:
    """The same audit payload, canonical as the app writes it, recording a province_admin instead."""
    doc = json.loads(payload)
    assert doc["after"]["role"] != "province_admin"
    doc["after"]["role"] = "province_admin"
    return canonical_json(doc)


def _rows(db_url: str) -> list:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT seq, payload, prev_hash, hash FROM audit_log ORDER BY seq")).all()
    engine.dispose()
    return rows


def test_anchor_prints_the_latest_seq_and_hash_and_verify_checks_it(db_url):
    _make_rows(db_url)
    last = _rows(db_url)[-1]
    out = run_cli(db_url, "audit", "anchor")
    assert out.returncode == 0 and out.stdout.strip() == f"{last.seq}:{last.hash}"
    doc = json.loads(run_cli(db_url, "audit", "anchor", "--json").stdout)
    assert (doc["seq"], doc["hash"]) == (last.seq, last.hash)
    code, result = _verify(db_url, "--anchor", f"{last.seq}:{last.hash}")
    assert code == 0 and result["ok"] and result["anchor_ok"]
    # An older anchor still verifies: the chain only grows.
    first = _rows(db_url)[0]
    assert _verify(db_url, "--anchor", f"{first.seq}:{first.hash}")[0] == 0


def test_an_anchor_with_another_hash_or_a_missing_row_fails_naming_the_problem(db_url):
    _make_rows(db_url, 2)
    last = _rows(db_url)[-1]
    code, result = _verify(db_url, "--anchor", f"{last.seq}:{'a' * 64}")
    assert code == 1 and result["anchor_ok"] is False and f"第 {last.seq} 行" in result["problem"]
    code, result = _verify(db_url, "--anchor", f"{last.seq + 5}:{last.hash}")
    assert code == 1 and "不存在" in result["problem"]
    assert run_cli(db_url, "audit", "verify", "--anchor", "12-abc").returncode == 2


def test_editing_an_audit_row_in_the_database_makes_verify_fail_naming_that_row(db_url):
    _make_rows(db_url)
    code, result = _verify(db_url)
    assert code == 0 and result["ok"]
    target = _rows(db_url)[2]
    payload = _promote(target.payload)
    _tamper(db_url, "UPDATE audit_log SET payload = :p WHERE seq = :s", {"p": payload, "s": target.seq})
    code, result = _verify(db_url)
    assert code == 1 and result["first_bad_seq"] == target.seq
    text = run_cli(db_url, "audit", "verify")
    assert text.returncode == 1 and f"第 {target.seq} 行" in text.stdout


def test_a_deleted_row_is_found_at_the_row_after_it(db_url):
    _make_rows(db_url)
    target = _rows(db_url)[1]
    _tamper(db_url, "DELETE FROM audit_log WHERE seq = :s", {"s": target.seq})
    code, result = _verify(db_url)
    assert code == 1 and result["first_bad_seq"] == target.seq + 1


def test_a_fully_rehashed_chain_verifies_alone_but_not_against_a_published_anchor(db_url):
    _make_rows(db_url)
    published = json.loads(run_cli(db_url, "audit", "anchor", "--json").stdout)["anchor"]
    rows = _rows(db_url)
    # The attacker rewrites row 2 and recomputes every later hash and the head, so the chain is consistent.
    forged = [dict(r._mapping) for r in rows]
    forged[1]["payload"] = _promote(forged[1]["payload"])
    prev = forged[0]["hash"]
    for r in forged[1:]:
        r["prev_hash"], r["hash"] = prev, chain_hash(prev, json.loads(r["payload"]))
        prev = r["hash"]
    for r in forged[1:]:
        _tamper(db_url, "UPDATE audit_log SET payload = :payload, prev_hash = :prev_hash, hash = :hash "
                        "WHERE seq = :seq", r)
    _tamper(db_url, "UPDATE audit_head SET hash = :h WHERE id = 1", {"h": prev})
    assert _verify(db_url)[0] == 0  # self-consistent, which is why anchors are published elsewhere
    code, result = _verify(db_url, "--anchor", published)
    assert code == 1 and result["anchor_ok"] is False and f"第 {rows[-1].seq} 行" in result["problem"]


def test_audit_rows_are_written_in_the_callers_transaction(app, make_user):
    from policy_hub.extensions import db
    from policy_hub.services import audit as audit_service

    make_user("finance_reviewer", region="140100")
    before = audit_service.anchor()
    audit_service.record(None, "test.action", "thing", 1, None, {"amount_fen": 5})
    assert audit_service.anchor()["seq"] == before["seq"] + 1
    db.session.rollback()  # the business change is undone, so its audit row must be too
    assert audit_service.anchor() == before
    assert audit_service.verify()["ok"]


@pytest.mark.loaded
def test_imports_batches_exports_and_reconciliations_append_audit_rows(loaded, tmp_path):
    from sqlalchemy import select

    from disbursement.bank_return import ReturnRow, write_bank_return_xlsx
    from policy_hub.extensions import db
    from policy_hub.models import AuditEntry, Award, Item
    from policy_hub.services import awards as award_service
    from policy_hub.services import payouts
    from policy_hub.services.users import create_user
    from tests.app.helpers import AS_OF

    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"items.import", "feed.import"} <= actions  # the loaded fixture's import commits
    users = loaded["users"]
    award = db.session.scalar(select(Award).join(Item).where(Item.code == "TY-GX-003").order_by(Award.id).limit(1))
    firm = create_user("firm-audit", "enterprise", "password-123", credit_code=award.credit_code)
    award_service.confirm_payee(firm, award.id, account_name="x", bank="b", account_no="6222020200001111")
    award_service.review(users["reviewer"], award.id)
    award_service.approve(users["approver"], award.id)
    db.session.commit()
    seq = audit_service_anchor()["seq"]
    batch = payouts.build_batch(users["reviewer"])
    _name, data = payouts.export_batch(users["reviewer"], batch.id)
    db.session.rollback()  # nothing was committed: neither the batch nor its audit rows exist
    assert audit_service_anchor()["seq"] == seq
    batch = payouts.build_batch(users["reviewer"])
    payouts.export_batch(users["reviewer"], batch.id)
    ref = batch.payments[0].payment_ref
    ret = tmp_path / "r.xlsx"
    ret.write_bytes(write_bank_return_xlsx([ReturnRow(0, ref, True, None, None, "BK1", AS_OF)]))
    payouts.reconcile(users["reviewer"], ret)
    db.session.commit()
    new = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)))
    assert new == ["award.schedule", "batch.send", "batch.export", "award.pay", "bank_return.reconcile"]


def audit_service_anchor() -> dict:
    from policy_hub.services import audit as audit_service

    return audit_service.anchor()
