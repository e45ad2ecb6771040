"""A new user acting as a finance bureau, through the ``policy-hub`` console script only (plus SQL to set a budget)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from disbursement.bank_return import ReturnRow, write_bank_return_xlsx
from tests.app.test_cli import run_cli

pytestmark = pytest.mark.loaded
PASSWORD = "long-enough-pass\n"
ITEM = "TY-GX-003"  # 专精特新 10万元 per enterprise, Taiyuan
BANK_DAY = date(2026, 7, 10)  # the processing date the simulated bank writes


class Session:
    """Runs commands and keeps every output, so the story can check no full account number was ever printed."""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.outputs: list[str] = []

    def run(self, *args: str, stdin: str | None = None, env: dict | None = None):
        out = run_cli(self.db_url, *args, stdin=stdin, env=env)
        self.outputs.append(out.stdout + out.stderr)
        return out

    def ok(self, *args: str, **kw) -> dict:
        out = self.run(*args, "--json", **kw)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        return json.loads(out.stdout)

    def refused(self, *args: str, **kw) -> str:
        out = self.run(*args, "--json", **kw)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        message = json.loads(out.stdout)["errors"][0]["message"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message  # a Chinese reason
        return message

    def user(self, name: str, role: str, **opts: str) -> None:
        extra = [x for k, v in opts.items() for x in (f"--{k.replace('_', '-')}", v)]
        self.ok("users", "create", name, "--role", role, *extra, "--password-stdin", stdin=PASSWORD)


def _account(n: int) -> str:
    return f"62220202000{n:08d}"


def _return_file(path, answers) -> str:
    rows = [ReturnRow(0, ref, ok, reason, None, f"BK{i:06d}" if ok else None, BANK_DAY)
            for i, (ref, ok, reason) in enumerate(answers, start=1)]
    path.write_bytes(write_bank_return_xlsx(rows))
    return str(path)


def _payout_rows(path) -> list[list]:
    ws = load_workbook(path)["支付清单"]
    return [[c.value for c in row] for row in ws.iter_rows(min_row=2)]


def _item_money(db_url: str) -> tuple[int, int, int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT budget_fen, reserved_fen, paid_fen FROM items WHERE code = :c"),
                           {"c": ITEM}).one()
    engine.dispose()
    return tuple(row)


def _set_budget(db_url: str, fen: int) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE items SET budget_fen = :b WHERE code = :c"), {"b": fen, "c": ITEM})
    engine.dispose()


def test_a_new_finance_bureau_approves_batches_reconciles_fixes_and_pays(db_url, tmp_path):
    s = Session(db_url)
    s.user("fin-review", "finance_reviewer", region="140100")
    s.user("fin-approve", "finance_approver", region="140100")
    s.user("fin-approve2", "finance_approver", region="140100")
    notified = [a for a in s.ok("awards", "list", "--status", "notified")["awards"] if a["item_code"] == ITEM]
    a, b, c, d = notified[:4]
    amount = a["amount_fen"]
    assert {x["amount_fen"] for x in (a, b, c, d)} == {amount} and amount > 0
    _set_budget(db_url, 3 * amount)  # room for three awards, not four
    for n, award in enumerate((a, b, c, d), start=1):
        s.user(f"firm-{n}", "enterprise", credit_code=award["credit_code"])
        confirmed = s.ok("awards", "confirm", str(award["id"]), "--as", f"firm-{n}", "--bank", "中国工商银行太原分行",
                         "--account", _account(n))
        assert confirmed["state"] == "confirmed" and confirmed["payee_account"] == f"**** {_account(n)[-4:]}"
        assert s.ok("awards", "review", str(award["id"]), "--as", "fin-review")["state"] == "reviewed"

    # The reviewer may not approve (own review); approval above the threshold needs a third person.
    assert "无权" in s.refused("awards", "approve", str(a["id"]), "--as", "fin-review")
    low = {"POLICY_HUB_SECOND_APPROVAL_YUAN": "50000"}
    assert s.ok("awards", "approve", str(a["id"]), "--as", "fin-approve", env=low)["state"] == \
        "awaiting_second_approval"
    s.refused("awards", "approve", str(a["id"]), "--as", "fin-approve", env=low)
    assert s.ok("awards", "approve", str(a["id"]), "--as", "fin-approve2", env=low)["state"] == "approved"
    for award in (b, c):
        assert s.ok("awards", "approve", str(award["id"]), "--as", "fin-approve")["state"] == "approved"
    assert "预算不足" in s.refused("awards", "approve", str(d["id"]), "--as", "fin-approve")
    assert _item_money(db_url) == (3 * amount, 3 * amount, 0)
    assert "原因" in s.refused("awards", "reject", str(d["id"]), "--as", "fin-approve")

    batch = s.ok("payouts", "batch", "--region", "140100", "--as", "fin-review")
    assert (batch["lines"], batch["total_fen"]) == (3, 3 * amount)
    plain = s.run("payouts", "batch", "--region", "140100", "--as", "fin-review")
    assert plain.returncode == 1  # nothing left to pay: the scheduled awards wait for the bank
    xlsx = tmp_path / "batch1.xlsx"
    s.ok("payouts", "export", str(batch["batch_id"]), str(xlsx), "--as", "fin-review")
    rows = {r[6]: r for r in _payout_rows(xlsx)}
    assert set(rows) == {_account(1), _account(2), _account(3)}
    ref = {n: rows[_account(n)][2] for n in (1, 2, 3)}

    ret = _return_file(tmp_path / "return1.xlsx", [(ref[1], True, None), (ref[2], False, "户名与账号不符"),
                                                   (ref[3], False, "账户已冻结")])
    first = s.ok("payouts", "reconcile", ret, "--as", "fin-review")
    assert (first["to_pay"], first["to_fail"], first["paid_fen"]) == (1, 2, amount)
    again = s.ok("payouts", "reconcile", ret, "--as", "fin-review")  # paying twice changes nothing
    assert (again["to_pay"], again["to_fail"], again["already_applied"]) == (0, 0, 3)
    assert _item_money(db_url) == (3 * amount, 2 * amount, amount)
    failed = {x["id"]: x for x in s.ok("awards", "list", "--status", "payment_failed", "--as", "fin-review")["awards"]}
    assert set(failed) == {b["id"], c["id"]}
    assert "户名不符" in failed[b["id"]]["reason"] and "账户冻结" in failed[c["id"]]["reason"]
    assert "已支付" in s.refused("awards", "approve", str(a["id"]), "--as", "fin-approve2")  # no second payment
    s.refused("payouts", "batch", "--region", "140100", "--as", "fin-review")  # failed, not fixed: not re-sent

    s.ok("awards", "fix-account", str(b["id"]), "--as", "firm-2", "--bank", "中国银行太原分行", "--account", _account(22))
    batch2 = s.ok("payouts", "batch", "--region", "140100", "--as", "fin-approve")
    assert (batch2["lines"], batch2["total_fen"]) == (1, amount)
    xlsx2 = tmp_path / "batch2.xlsx"
    s.ok("payouts", "export", str(batch2["batch_id"]), str(xlsx2), "--as", "fin-approve")
    (line,) = _payout_rows(xlsx2)
    assert line[6] == _account(22) and line[2] != ref[2]
    second = s.ok("payouts", "reconcile", _return_file(tmp_path / "return2.xlsx", [(line[2], True, None)]),
                  "--as", "fin-approve")
    assert (second["to_pay"], second["paid_fen"]) == (1, amount)
    assert _item_money(db_url) == (3 * amount, amount, 2 * amount)

    stats = s.ok("stats", "payouts", "--as", "fin-approve")
    row = next(r for r in stats["items"] if r["item_code"] == ITEM)
    assert (row["paid_fen"], row["approved_fen"], row["payments"]) == (2 * amount, 3 * amount, 2)
    assert row["enterprises"] >= 4
    # Both payments were processed on 2026-07-10 for awards assessed (found eligible) on 2026-06-30.
    assert row["median_days_to_pay"] == str((BANK_DAY - date(2026, 6, 30)).days)
    assert sum(c["paid_fen"] for c in stats["cities"]) == stats["total"]["paid_fen"] >= 2 * amount
    verified = s.ok("audit", "verify")
    assert verified["ok"] and verified["rows"] > 0
    anchor = s.ok("audit", "anchor")
    assert s.ok("audit", "verify", "--anchor", anchor["anchor"])["ok"]
    # No full account number in anything any command printed.
    everything = "\n".join(s.outputs)
    for n in (1, 2, 3, 4, 22):
        assert _account(n) not in everything


def test_a_return_file_with_only_unknown_and_duplicate_rows_is_rejected_without_changes(db_url, tmp_path):
    s = Session(db_url)
    s.user("fin-x", "finance_reviewer", region="140100")
    ret = _return_file(tmp_path / "bad.xlsx", [("PH000999999901", True, None), ("PH000999999801", True, None),
                                               ("PH000999999801", False, "其他")])
    out = s.run("payouts", "reconcile", ret, "--as", "fin-x", "--json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["to_pay"], doc["to_fail"], doc["unknown_refs"]) == (0, 0, 3)
    assert all("PH0009999" in i["message"] for i in doc["issues"])


def test_unknown_users_regions_and_awards_are_refused_with_a_chinese_reason(db_url):
    s = Session(db_url)
    assert "不存在" in s.refused("awards", "review", "1", "--as", "nobody")
    s.user("fin-y", "finance_reviewer", region="140100")
    assert "不存在" in s.refused("awards", "review", "999999", "--as", "fin-y")
    s.refused("payouts", "batch", "--region", "140200", "--as", "fin-y")  # 大同: outside the user's region
    assert s.run("awards", "list", "--status", "nonsense", "--json").returncode == 2


def test_the_median_is_exact_in_decimal_for_odd_and_even_counts():
    from decimal import Decimal

    from policy_hub.services.stats import median_days

    assert median_days([]) is None
    assert median_days([9, 1, 5]) == Decimal(5)
    assert median_days([4, 1]) == Decimal("2.5") and isinstance(median_days([4, 1]), Decimal)


def test_bad_files_amounts_and_ids_are_refused_not_internal_errors(db_url, tmp_path):
    s = Session(db_url)
    s.user("cli-ty-fin", "finance_reviewer", region="140100")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("garbage,,,\n", encoding="utf-8")
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04garbage")
    for path in (empty, garbage, fake):
        s.refused("payouts", "reconcile", str(path), "--as", "cli-ty-fin")
    for amount in ("NaN", "1e30", "0.005", "abc"):
        assert "金额" in s.refused("awards", "recover", "1", "--as", "cli-ty-fin", "--amount", amount, "--reason", "x")
        assert "金额" in s.refused("awards", "rebudget", "1", "--as", "cli-ty-fin", "--amount", amount, "--reason", "x")
    too_big = s.run("awards", "approve", "99999999999999999999", "--as", "cli-ty-fin", "--json")
    assert too_big.returncode == 2 and "errors" in json.loads(too_big.stdout)
