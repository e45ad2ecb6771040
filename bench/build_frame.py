"""Profile frame build benchmark: from an observations DataFrame to the ProfileFrame a match run evaluates.

    .venv/bin/python bench/build_frame.py --enterprises 100000 [--repeats 3] [--old-repeats 3] [--json]

old path: ``build_frame(build_profiles(obs).profiles)`` (a profile dict per enterprise, then columns);
new path: ``matching.vector_build.frame_from_observations(obs)`` (columns straight from the observations).
Both get every vocabulary field. The observations are those the department feeds of a synthetic province
(bench/synthetic.py) would hold: 市场监管 registration, 税务 and 人社 figures for FY and FY-1, qualification
recognitions and the 严重失信 list, plus 2% corrections (a later 人社 headcount) and 1% conflicts (税务 also
reporting the headcount). Prints medians and their ratio; ``--old-repeats 0`` skips the old path. Exits 1 when the
two frames differ (checked on the first build of each).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: bench/ must not shadow the matching package
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import argparse  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from decimal import Decimal  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.synthetic import AS_OF, EPOCH_ORDINAL, FISCAL_YEAR, QUALIFICATIONS, Province, build_province  # noqa: E402
from matching.profiles import build_profiles  # noqa: E402
from matching.vector_build import frame_from_observations  # noqa: E402
from matching.vector_prepared import build_frame  # noqa: E402

MARKET = ("region_code", "operating_status", "entity_type", "industry_code", "established_on", "registered_capital",
          "abnormal_listed")
TAX = ("revenue", "total_assets", "taxable_income", "tax_paid", "rd_expense", "tax_credit_rating")
HR = ("employees", "ui_premium_paid", "ui_paid_months", "layoff_count", "new_graduate_hires")
OPTIONS = {"fiscal_year": FISCAL_YEAR, "as_of": AS_OF, "closed_lists": frozenset(QUALIFICATIONS),
           "credit_list_imported": True}


def observations(prov: Province, seed: int = 1) -> pd.DataFrame:
    """The observations of ``prov`` as ``services.feeds.load_observations`` returns them (typed values)."""
    rng = np.random.default_rng(seed + 7)
    days: dict[int, datetime.date] = {}

    def day(d: int) -> datetime.date:
        if d not in days:
            days[d] = datetime.date.fromordinal(d + EPOCH_ORDINAL)
        return days[d]

    def values(code: str) -> tuple[np.ndarray, list]:
        if code == "region_code":
            return np.arange(prov.n), prov.region.tolist()
        if code in prov.cat:
            cats, names = prov.cat[code]
            rows = np.flatnonzero(cats >= 0)
            return rows, [names[c] for c in cats[rows].tolist()]
        vals, known = prov.num[code]
        rows = np.flatnonzero(known)
        kind = {"established_on": "date", "abnormal_listed": "bool"}.get(code, "money" if code in MONEY else "int")
        conv = {"date": day, "bool": bool, "money": Decimal, "int": int}[kind]
        return rows, [conv(v) for v in vals[rows].tolist()]

    parts: list[tuple[np.ndarray, str, list, int | None, str]] = []
    for code in MARKET:
        parts.append((*values(code)[:1], code, values(code)[1], None, "market"))
    for source, codes in (("tax", TAX), ("hr", HR)):
        for code in codes:
            for key, year in ((code, FISCAL_YEAR), (code + "_prev", FISCAL_YEAR - 1)):
                if key in prov.num or key in prov.cat:
                    rows, vals = values(key)
                    parts.append((rows, code, vals, year, source))
    listed, _ = prov.num["serious_dishonest"]
    rows = np.flatnonzero(listed)
    parts.append((rows, "serious_dishonest", [True] * len(rows), None, "credit"))
    for q in QUALIFICATIONS:
        latest, has = prov.qualified_on[q]
        rows = np.flatnonzero(has)
        years = QUALIFICATIONS[q][1]
        recs = [{"name": q, "recognized_on": day(d), "valid_until": None if years is None else day(d + years * 365)}
                for d in latest[rows].tolist()]
        parts.append((rows, "qualification_recognition", recs, None, "qualifications"))
    emp, known = prov.num["employees"]
    for share, source in ((0.02, "hr"), (0.01, "tax")):  # corrections, then conflicting reports
        rows = np.flatnonzero(known & (rng.random(prov.n) < share))
        parts.append((rows, "employees", [int(v) + 1 for v in emp[rows].tolist()], FISCAL_YEAR, source))

    codes = prov.credit_codes
    frame = pd.DataFrame({
        "credit_code": np.concatenate([codes[r] for r, *_ in parts]),
        "field": np.concatenate([np.full(len(r), f, dtype=object) for r, f, *_ in parts]),
        "value": np.concatenate([np.array(v + [None], dtype=object)[:-1] for _, _, v, *_ in parts]),
        "fiscal_year": pd.array(np.concatenate([np.full(len(r), -1 if y is None else y) for r, _, _, y, _ in parts]),
                                dtype="Int64"),
        "source": np.concatenate([np.full(len(r), s, dtype=object) for r, *_, s in parts]),
    })
    frame.loc[frame["fiscal_year"] == -1, "fiscal_year"] = pd.NA
    frame["seq"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame


MONEY = {"registered_capital", "revenue", "revenue_prev", "total_assets", "total_assets_prev", "taxable_income",
         "tax_paid", "rd_expense", "rd_expense_prev", "ui_premium_paid"}


def old_path(obs: pd.DataFrame):
    return build_frame(build_profiles(obs, **OPTIONS).profiles, AS_OF)


def new_path(obs: pd.DataFrame):
    return frame_from_observations(obs, **OPTIONS).frame


CPU: dict[str, float] = {}  # path -> median process CPU seconds (the machine may be shared: wall time varies)


def timed(fn, repeats: int, name: str) -> tuple[float | None, object]:
    """Median wall seconds over ``repeats`` calls (None when 0) and the last result; CPU medians go to CPU."""
    times, cpu, result = [], [], None
    for _ in range(repeats):
        result = None
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    if cpu:
        CPU[name] = statistics.median(cpu)
    return (statistics.median(times) if times else None), result


def same(a, b) -> bool:
    fa, fb = a.frame, b.frame
    if list(fa.columns) != list(fb.columns) or list(fa.index) != list(fb.index) or fa.attrs != fb.attrs:
        return False
    for col in fa.columns:
        if fa[col].dtype != fb[col].dtype or not fa[col].isna().equals(fb[col].isna()):
            return False
        if [(type(x), str(x)) for x in fa[col].tolist()] != [(type(x), str(x)) for x in fb[col].tolist()]:
            return False
    return bool(np.array_equal(a.order, b.order)) and a.spans == b.spans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the profile frame build from observations, old vs new.")
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--old-repeats", type=int, default=None, help="default: --repeats; 0 skips the old path")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    old_repeats = args.repeats if args.old_repeats is None else args.old_repeats
    t = time.perf_counter()
    obs = observations(build_province(args.enterprises, args.seed), args.seed)
    print(f"setup: {len(obs):,} observations of {args.enterprises:,} enterprises in {time.perf_counter() - t:.1f} s",
          flush=True)
    new_s, new = timed(lambda: new_path(obs), args.repeats, "new")
    print(f"  new path (frame_from_observations): median {new_s:.2f} s over {args.repeats} "
          f"(CPU {CPU['new']:.2f} s)", flush=True)
    old_s, old = timed(lambda: old_path(obs), old_repeats, "old")
    ok = True
    if old_s is not None:
        ok = same(old, new)
        print(f"  old path (build_profiles + build_frame): median {old_s:.2f} s over {old_repeats} "
              f"(CPU {CPU['old']:.2f} s)", flush=True)
        print(f"  ratio old/new: {old_s / new_s:.1f}x wall, {CPU['old'] / CPU['new']:.1f}x CPU; "
              f"frames identical: {ok}", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  per enterprise: new {new_s / args.enterprises * 1e6:.1f} us"
          + ("" if old_s is None else f", old {old_s / args.enterprises * 1e6:.1f} us") + f"; peak RSS {rss:,.0f} MB")
    if args.json:
        print(json.dumps({"enterprises": args.enterprises, "observations": len(obs), "new_seconds": round(new_s, 3), "new_cpu_seconds": round(CPU["new"], 3),
                          "old_cpu_seconds": round(CPU["old"], 3) if "old" in CPU else None,
                          "old_seconds": None if old_s is None else round(old_s, 3),
                          "ratio": None if old_s is None else round(old_s / new_s, 1), "identical": ok,
                          "peak_rss_mb": round(rss, 1)}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
