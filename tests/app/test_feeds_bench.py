"""Smoke test of bench/import_feed.py: a small generated 税务 feed through preview and commit on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from stdnum.cn import uscc

from bench.import_feed import KEYS, credit_codes, write_tax_feed
from importers import read_feed

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("POLICY_HUB_TEST_DATABASE_URL", "")


def test_the_generated_feed_is_valid_and_reads_without_errors(tmp_path):
    import numpy as np

    codes = credit_codes(500, np.random.default_rng(1))
    assert len(set(codes)) == 500 and all(uscc.is_valid(c) for c in codes)
    path = tmp_path / "tax.csv"
    assert write_tax_feed(path, 301) == 151
    result = read_feed(path, "tax")
    assert result.errors == [] and result.enterprises == 151
    assert set(result.observations.row) == set(range(2, 303))


@pytest.mark.skipif(not PG.startswith("postgresql"), reason="POLICY_HUB_TEST_DATABASE_URL not set")
def test_the_script_prints_the_figures_as_one_json_line():
    url = make_url(PG)
    url = url.set(database=f"{url.database}_feedbench").render_as_string(hide_password=False)
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "import_feed.py"), "--rows", "2000",
                           "--database-url", url, "--json"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert tuple(figures) == KEYS
    assert (figures["rows"], figures["enterprises"]) == (2000, 1000)
    assert figures["observations"] > 5 * 2000 and figures["total_seconds"] > 0 and figures["peak_rss_mb"] > 0
