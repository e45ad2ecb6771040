"""The CLI contract other tools script: names, flags, --json documents and exit codes (0/1/2/3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app.helpers import DATONG_ITEMS, EXAMPLES, TAIYUAN_ITEMS

REPO = Path(__file__).resolve().parents[2]


def run_cli(db_url: str, *args: str, stdin: str | None = None, env: dict | None = None):
    """Run the installed ``policy-hub`` console script in a subprocess, as a script would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_HUB_")}
    full_env.update({"POLICY_HUB_DATABASE_URL": db_url, "POLICY_HUB_ENV": "test"}, **(env or {}))
    exe = Path(sys.executable).with_name("policy-hub")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, input=stdin, env=full_env,
                          cwd=REPO, timeout=300)


def test_items_import_preview_with_errors_prints_one_json_document_and_exits_1(db_url):
    out = run_cli(db_url, "items", "import", str(DATONG_ITEMS), "--json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["created"], doc["updated"], doc["unchanged"]) == (3, 0, 0)
    assert [(e["row"], e["column"]) for e in doc["errors"]] == [(5, "申报截止")]
    assert set(doc["errors"][0]) >= {"sheet", "row", "column", "value", "message"}


def test_skip_invalid_commits_the_valid_rows_and_exits_0_then_reimport_is_unchanged(db_url):
    out = run_cli(db_url, "items", "import", str(DATONG_ITEMS), "--commit", "--skip-invalid", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["created"] == 3
    again = json.loads(run_cli(db_url, "items", "import", str(DATONG_ITEMS), "--commit", "--skip-invalid",
                               "--json").stdout)
    assert (again["created"], again["unchanged"]) == (0, 3)


def test_commit_without_skip_invalid_is_rejected_with_errors_in_json(db_url):
    out = run_cli(db_url, "items", "import", str(DATONG_ITEMS), "--commit", "--json")
    assert out.returncode == 1
    assert json.loads(out.stdout)["errors"]


def test_usage_errors_exit_2_with_json_when_asked(db_url):
    out = run_cli(db_url, "enterprises", "import", str(TAIYUAN_ITEMS), "--source", "nonsense", "--json")
    assert out.returncode == 2
    assert json.loads(out.stdout)["errors"]
    assert run_cli(db_url, "match", "--as-of", "2026-13-45").returncode == 2


def test_an_unreadable_file_is_rejected_with_exit_1(db_url, tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("事项编码,事项名称\n".encode() + bytes([0xE9, 0xE8, 0xFF, 0xFE]) * 50)
    out = run_cli(db_url, "items", "import", str(bad), "--json")
    assert out.returncode == 1
    assert json.loads(out.stdout)["errors"][0]["message"]


def test_an_internal_error_exits_3_with_json(tmp_path):
    out = run_cli(f"sqlite:///{tmp_path}/missing-dir/x/db.sqlite", "match", "--json")
    assert out.returncode == 3
    assert json.loads(out.stdout)["errors"]


def test_match_and_quota_report_json_carry_integer_counts(db_url):
    run_cli(db_url, "items", "import", str(TAIYUAN_ITEMS), "--commit")
    for filename, source in (("企业登记信息_市场监管.csv", "market"), ("企业纳税信息_税务_2024-2025.xlsx", "tax")):
        out = run_cli(db_url, "enterprises", "import", str(EXAMPLES / filename), "--source", source, "--commit",
                      "--skip-invalid", "--json")
        assert out.returncode == 0, out.stdout + out.stderr
    out = run_cli(db_url, "match", "--as-of", "2026-06-30", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {"as_of", "items_evaluated", "enterprises", "eligible", "unknown", "ineligible",
                        "awards_created"}
    assert doc["as_of"] == "2026-06-30" and doc["enterprises"] == 1997
    assert all(isinstance(doc[k], int) for k in doc if k != "as_of")
    report = json.loads(run_cli(db_url, "quota", "report", "--as-of", "2026-06-30", "--json").stdout)
    taiyuan = next(c for c in report["cities"] if c["city_code"] == "140100")
    assert len(report["cities"]) == 11 and report["target"] == 100
    assert taiyuan["listed"] == 10 and taiyuan["redeemable"]["total"] == 10 and taiyuan["shortfall"] == 90
    assert set(taiyuan["redeemable"]) == {"apply_free", "instant_apply", "on_application", "total"}


def test_users_create_reads_the_password_from_stdin_and_refuses_a_bad_credit_code(db_url):
    out = run_cli(db_url, "users", "create", "fin", "--role", "finance_reviewer", "--region", "140100",
                  "--password-stdin", "--json", stdin="long-enough-pass\n")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["region_code"] == "140100"
    bad = run_cli(db_url, "users", "create", "firm", "--role", "enterprise", "--credit-code", "91140829Y1AWB92P00",
                  "--password-stdin", "--json", stdin="long-enough-pass\n")
    assert bad.returncode == 1 and "统一社会信用代码" in json.loads(bad.stdout)["errors"][0]["message"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_audit_verify_exits_1_and_names_the_first_tampered_row(db_url):
    import sqlite3

    run_cli(db_url, "items", "import", str(TAIYUAN_ITEMS), "--commit")
    ok = run_cli(db_url, "audit", "verify", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    path = db_url.removeprefix("sqlite:///")
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_log_no_update")  # an attacker with file access
    # Rewrite row 3's recorded outcome (its "after" part) to something else.
    (payload,) = con.execute("SELECT payload FROM audit_log WHERE seq = 3").fetchone()
    assert '"after":{' in payload
    con.execute("UPDATE audit_log SET payload = ? WHERE seq = 3", (payload.replace('"after":{', '"after":{"x":1,'),))
    con.commit()
    con.close()
    bad = run_cli(db_url, "audit", "verify", "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)["first_bad_seq"] == 3


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_answers_http_on_the_requested_port(db_url):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_HUB_")}
    env.update({"POLICY_HUB_DATABASE_URL": db_url, "POLICY_HUB_ENV": "test"})
    exe = Path(sys.executable).with_name("policy-hub")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as resp:
                    body = resp.read().decode("utf-8")
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("serve exited: " + proc.stderr.read().decode()[-2000:])
                time.sleep(0.2)
        assert body is not None and "登录" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_configuration_error_is_a_usage_error_with_json(db_url):
    out = run_cli(db_url, "quota", "report", "--json", env={"POLICY_HUB_MAX_UPLOAD_MB": "abc"})
    assert out.returncode == 2
    assert "POLICY_HUB_MAX_UPLOAD_MB" in json.loads(out.stdout)["errors"][0]["message"]
    prod = run_cli(db_url, "match", "--json", env={"POLICY_HUB_ENV": "production"})
    assert prod.returncode == 2 and "SECRET_KEY" in json.loads(prod.stdout)["errors"][0]["message"]
