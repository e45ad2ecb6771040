"""Matching benchmark: a synthetic province, the vectorised engine timed against the per-record engine and a
hand-written numpy floor.

    .venv/bin/python bench/matching.py --enterprises 100000 --items 500 [--json] [--seed 1] [--chunk-size K]

Prints a table; with --json the last line is one JSON object with the keys enterprises, items, full_seconds,
store_seconds, one_enterprise_ms, one_item_ms, peak_rss_mb, per_record_ratio, numpy_ratio. Exits 1 when the
vectorised engine disagrees with the per-record engine on the sampled pairs, or with the numpy floor's totals.
store_seconds needs POLICY_HUB_BENCH_DATABASE_URL (a PostgreSQL URL); otherwise it is null.

full_seconds runs ``match_frame`` over a frame built once by ``build_frame`` (its build time is printed, not in
the JSON); one_item_ms is ``match_item`` over that frame; one_enterprise_ms is ``match_enterprise``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: bench/ must not shadow the matching package
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from bench import floor  # noqa: E402
from bench.items import build_items  # noqa: E402
from bench.store import store_pairs  # noqa: E402
from bench.synthetic import AS_OF, build_province  # noqa: E402
from matching import engine  # noqa: E402
from matching.explain import BASELINE_FIELDS  # noqa: E402
from matching.vector_prepared import ProfileFrame, build_frame  # noqa: E402
from matching.vectorised import match_enterprise, match_frame, match_item, match_vectorised  # noqa: E402

KEYS = ("enterprises", "items", "full_seconds", "store_seconds", "one_enterprise_ms", "one_item_ms", "peak_rss_mb",
        "per_record_ratio", "numpy_ratio")
PER_RECORD_BUDGET_S = 4.0  # time spent on the per-record sample


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time in seconds over ``repeats`` calls, and the last result. A full garbage collection runs
    before each call, outside the timer, so no call pays for the previous one's garbage."""
    times, result = [], None
    for _ in range(max(1, repeats)):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def vectorised(data: dict | ProfileFrame, items: list, chunk_size: int | None) -> engine.MatchResult:
    """The vectorised engine without explanations (as a province run stores them), over a prebuilt frame
    (``match_frame``) or, given profile dicts, building it first (``match_vectorised``)."""
    kwargs: dict[str, Any] = {"explain": False}
    if chunk_size:
        kwargs["chunk_size"] = chunk_size
    if isinstance(data, ProfileFrame):
        return match_frame(data, items, AS_OF, **kwargs)
    return match_vectorised(data, items, AS_OF, **kwargs)


def key_of(v: engine.Verdict) -> tuple:
    return v.credit_code, v.item_id, v.verdict, v.amount, tuple(v.missing_fields)


def run(n: int, m: int, seed: int, chunk_size: int | None, out: Callable[[str], None]) -> tuple[dict, list[str]]:
    """Build, time and cross-check; returns (the JSON figures, a list of disagreements)."""
    rng = np.random.default_rng(seed + 1)
    t = time.perf_counter()
    prov = build_province(n, seed)
    cols = floor.Columns(prov)
    specs = build_items(cols, m, seed)
    items = [s.item for s in specs]
    profiles = prov.profiles()
    out(f"setup: province, items and profile dicts built in {time.perf_counter() - t:.1f} s")
    engine.compile_items(items)  # warm rule-engine's parse cache for every engine
    big = n * m > 20_000_000
    problems: list[str] = []

    used = {f for c in engine.compile_items(items) for r in (c.rule, c.formula) if r for f in r.fields}
    frame_s, frame = timed(lambda: build_frame(profiles, AS_OF, used | set(BASELINE_FIELDS)), 1)
    out(f"profile frame: built once in {frame_s:.1f} s (outside full_seconds)")
    full_s, result = timed(lambda: vectorised(frame, items, chunk_size), 1 if big else 3)
    tot = result.totals

    floor_s, ftot = timed(lambda: floor.evaluate(cols, specs), 1 if big else 3)
    mine = {"pairs": tot["pairs"], "eligible": tot["eligible"] + tot["superseded"], "unknown": tot["unknown"],
            "ineligible": tot["ineligible"]}
    if mine != ftot:
        problems.append(f"numpy floor totals {ftot} != vectorised {mine}")

    codes = list(profiles)
    picks = [codes[i] for i in rng.choice(len(codes), size=min(5, len(codes)), replace=False)]
    one_ent_s, _ = timed(lambda: [match_enterprise(profiles[c], items, AS_OF) for c in picks], 1)
    one_ent_ref_s, _ = timed(lambda: [engine.match_one(profiles[c], items, AS_OF) for c in picks], 1)
    item_picks = [items[i] for i in rng.choice(len(items), size=min(3, len(items)), replace=False)]
    one_item_s, _ = timed(lambda: [match_item(frame, it, AS_OF, explain=False) for it in item_picks], 1)

    sample, pairs, ref_s, ref = [], 0, 0.0, engine.MatchResult()
    order = rng.permutation(len(codes))
    step = 20
    while ref_s < PER_RECORD_BUDGET_S and len(sample) < len(codes):
        batch = [codes[i] for i in order[len(sample):len(sample) + step]]
        t = time.perf_counter()
        part = engine.match({c: profiles[c] for c in batch}, items, AS_OF)
        ref_s += time.perf_counter() - t
        sample += batch
        pairs += part.totals["pairs"]
        ref.verdicts += part.verdicts
        per_enterprise = ref_s / len(sample)
        step = max(1, min(4 * len(sample), int((PER_RECORD_BUDGET_S - ref_s) / max(per_enterprise, 1e-6))))
    in_sample = set(sample)
    got = sorted(key_of(v) for v in result.verdicts if v.credit_code in in_sample)
    want = sorted(key_of(v) for v in ref.verdicts)
    if got != want:
        diff = sorted(set(got) ^ set(want))[:5]
        problems.append(f"vectorised and per-record verdicts differ on the sample, e.g. {diff}")
    per_record_total = ref_s / max(pairs, 1) * tot["pairs"]

    store_s = store_pairs(os.environ.get("POLICY_HUB_BENCH_DATABASE_URL"), result.verdicts, AS_OF)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "enterprises": n, "items": m, "full_seconds": round(full_s, 3),
        "store_seconds": None if store_s is None else round(store_s, 3),
        "one_enterprise_ms": round(one_ent_s / len(picks) * 1000, 2),
        "one_item_ms": round(one_item_s / len(item_picks) * 1000, 2), "peak_rss_mb": round(rss_mb, 1),
        "per_record_ratio": round(per_record_total / full_s, 1), "numpy_ratio": round(full_s / floor_s, 2),
    }
    shares = [c / max(1, p) for c, p in _item_shares(result, items, tot)]
    rows = [
        ("engine timed", "matching.vectorised.match_frame over a prebuilt build_frame"),
        ("pairs in jurisdiction", f"{tot['pairs']:,}"),
        ("eligible / unknown / superseded", f"{tot['eligible']:,} / {tot['unknown']:,} / {tot['superseded']:,}"),
        ("eligible+unknown share per item", f"mean {np.mean(shares):.2%}, max {np.max(shares):.2%}"),
        ("full run (frame -> result)", f"{full_s:.2f} s"),
        ("build_frame (once, not timed in full)", f"{frame_s:.2f} s"),
        ("numpy floor", f"{floor_s:.3f} s   (ratio {figures['numpy_ratio']})"),
        ("per-record sample", f"{len(sample):,} enterprises, {pairs:,} pairs in {ref_s:.2f} s "
                              f"({pairs / max(ref_s, 1e-9):,.0f} pairs/s) -> {per_record_total:,.0f} s for all"),
        ("per_record_ratio", f"{figures['per_record_ratio']:,}"),
        ("one enterprise x all items", f"{figures['one_enterprise_ms']} ms match_enterprise  (match_one "
                                       f"{one_ent_ref_s / len(picks) * 1000:.1f} ms)"),
        ("one item x all enterprises", f"{figures['one_item_ms']} ms match_item over the prebuilt frame"),
        ("store (COPY to PostgreSQL)", "skipped: POLICY_HUB_BENCH_DATABASE_URL not set" if store_s is None
         else f"{store_s:.2f} s for {len(result.verdicts):,} rows"),
        ("peak RSS (whole process)", f"{rss_mb:,.0f} MB"),
        ("agreement", "per-record sample and numpy totals agree" if not problems else "; ".join(problems)),
    ]
    width = max(len(k) for k, _ in rows)
    out(f"\nmatching benchmark: {n:,} enterprises x {m:,} items, seed {seed}, chunk {chunk_size or 'default'}")
    for k, v in rows:
        out(f"  {k:<{width}}  {v}")
    return figures, problems


def _item_shares(result: engine.MatchResult, items: list, tot: dict) -> list[tuple[int, int]]:
    """Per item: (eligible + unknown + superseded pairs, pairs evaluated)."""
    hits: dict[int, int] = {}
    for v in result.verdicts:
        hits[v.item_id] = hits.get(v.item_id, 0) + 1
    return [(hits.get(it.item_id, 0), hits.get(it.item_id, 0) + result.ineligible_counts.get(it.item_id, 0))
            for it in items]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the matching engines on a synthetic province.")
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures, problems = run(args.enterprises, args.items, args.seed, args.chunk_size,
                            lambda s: print(s, flush=True))
    if args.json:
        print(json.dumps({k: figures[k] for k in KEYS}), flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
