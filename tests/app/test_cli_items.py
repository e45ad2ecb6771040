"""``policy-hub items export|show|template`` and ``enterprises show``, run as the console script."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from tests.app.helpers import EXAMPLES, TAIYUAN_ITEMS
from tests.app.test_cli import run_cli

MARKET = EXAMPLES / "企业登记信息_市场监管.csv"


def _ok(out):
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def test_template_from_the_cli_previews_with_no_errors(db_url, tmp_path):
    path = tmp_path / "模板.xlsx"
    assert _ok(run_cli(db_url, "items", "template", str(path), "--json"))["path"] == str(path)
    doc = _ok(run_cli(db_url, "items", "import", str(path), "--json"))
    assert (doc["errors"], doc["created"]) == ([], 1)
    assert run_cli(db_url, "items", "template", str(tmp_path / "t.csv")).returncode == 2


def test_show_prints_the_stored_item_and_export_reimports_unchanged(db_url, tmp_path):
    _ok(run_cli(db_url, "items", "import", str(TAIYUAN_ITEMS), "--commit", "--json"))
    item = _ok(run_cli(db_url, "items", "show", "140100", "TY-KJ-001", "--json"))
    assert (item["code"], item["region_code"], item["mode"]) == ("TY-KJ-001", "140100", "apply_free")
    assert (item["cap"], item["budget"]) == ("200000.00", "20000000.00")  # 20 / 2000 万元 in the file
    assert item["apply_start"][:4].isdigit() and item["apply_start"][4] == "-"
    missing = run_cli(db_url, "items", "show", "140100", "NOPE", "--json")
    assert missing.returncode == 1 and json.loads(missing.stdout)["errors"]
    for suffix in (".xlsx", ".csv"):
        path = tmp_path / f"items{suffix}"
        assert _ok(run_cli(db_url, "items", "export", str(path), "--json"))["items"] == 10
        again = _ok(run_cli(db_url, "items", "import", str(path), "--commit", "--json"))
        assert (again["created"], again["updated"], again["unchanged"], again["missing"]) == (0, 0, 10, [])
    assert _ok(run_cli(db_url, "items", "show", "140100", "TY-KJ-001", "--json"))["revision"] == item["revision"]


def test_enterprises_show_prints_values_and_sources_with_yuan_strings(db_url):
    _ok(run_cli(db_url, "enterprises", "import", str(MARKET), "--source", "market", "--commit", "--skip-invalid",
                "--json"))
    rows = list(csv.DictReader(io.StringIO(MARKET.read_text(encoding="utf-8-sig"))))
    row = rows[5]  # the first three have bad check characters
    code = row["统一社会信用代码"]
    doc = _ok(run_cli(db_url, "enterprises", "show", code, "--year", "2025", "--as-of", "2026-06-30", "--json"))
    assert doc["credit_code"] == code and doc["sources"]["registered_capital"] == "market"
    capital = Decimal(row["注册资本（万元）"]) * 10_000  # the header's unit is 万元
    assert doc["values"]["registered_capital"] == f"{capital:.2f}"
    assert doc["values"]["region_code"] == row["住所所在地行政区划代码"]
    assert doc["sources"]["city_code"] == "derived"
    unknown = run_cli(db_url, "enterprises", "show", "91140100MA0000000X", "--json")
    assert unknown.returncode == 1 and json.loads(unknown.stdout)["errors"]
