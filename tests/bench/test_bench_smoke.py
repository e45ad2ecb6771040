"""Smoke test of the matching benchmark: a tiny province, the JSON contract, and engine agreement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import floor
from bench import matching as bench
from bench.items import build_items
from bench.synthetic import AS_OF, build_province
from matching import engine

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(bench.match_vectorised is None, reason="matching.vectorised not there yet")


def test_the_script_ends_with_one_json_line_with_exactly_the_documented_keys():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "matching.py"), "--enterprises", "2000", "--items", "40", "--json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert tuple(figures) == bench.KEYS
    assert (figures["enterprises"], figures["items"]) == (2000, 40)
    assert figures["full_seconds"] > 0 and figures["peak_rss_mb"] > 0 and figures["numpy_ratio"] > 0
    assert figures["store_seconds"] is None or figures["store_seconds"] > 0


def test_the_synthetic_province_and_items_are_the_same_for_the_same_seed():
    first = build_items(floor.Columns(build_province(500, seed=3)), 20, seed=3)
    again = build_items(floor.Columns(build_province(500, seed=3)), 20, seed=3)
    other = build_items(floor.Columns(build_province(500, seed=4)), 20, seed=4)
    assert [s.item for s in first] == [s.item for s in again]
    assert [s.item for s in first] != [s.item for s in other]


def test_vectorised_per_record_and_numpy_floor_agree_on_a_small_province():
    prov = build_province(1500, seed=5)
    cols = floor.Columns(prov)
    specs = build_items(cols, 30, seed=5)
    items = [s.item for s in specs]
    profiles = prov.profiles()
    vec = bench.vectorised(profiles, items, None)
    ref = engine.match(profiles, items, AS_OF)
    assert sorted(map(bench.key_of, vec.verdicts)) == sorted(map(bench.key_of, ref.verdicts))
    assert vec.totals == ref.totals and vec.totals["eligible"] + vec.totals["unknown"] > 0
    totals = floor.evaluate(cols, specs)
    assert totals["eligible"] == ref.totals["eligible"] + ref.totals["superseded"]
    assert (totals["unknown"], totals["pairs"]) == (ref.totals["unknown"], ref.totals["pairs"])


def test_the_benchmark_reports_a_vectorised_engine_that_drops_a_verdict(monkeypatch):
    real = bench.vectorised

    def lossy(profiles, items, chunk_size):
        result = real(profiles, items, chunk_size)
        if len(profiles) > 1 and len(items) > 1:
            result.verdicts = result.verdicts[1:]
        return result

    monkeypatch.setattr(bench, "vectorised", lossy)
    _, problems = bench.run(800, 15, 2, None, lambda s: None)
    assert any("differ on the sample" in p for p in problems)
