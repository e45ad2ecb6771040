"""Synthetic reward items for the benchmark: rules of about five clauses drawn from templates like the sample
lists in examples/, with thresholds calibrated so that on average at most 2% of an item's jurisdiction comes
out eligible or unknown.

Each item is kept twice: as a ``matching.engine.MatchItem`` (rule and formula text for the engines) and as
clause/formula specs (tuples) for the numpy floor in bench/floor.py.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from bench import floor
from bench.synthetic import EPOCH_ORDINAL, FISCAL_YEAR, counties_by_city
from matching.engine import MatchItem
from rules.regions import PROVINCE_CODE
from rules.vocabulary import FIELDS

TARGET_SHARE = 0.015  # calibrate each rule below this share (eligible + unknown) of its jurisdiction
MODES = (("apply_free", 0.6), ("instant_apply", 0.3), ("on_application", 0.1))
LEVELS = (("province", 0.05), ("city", 0.55), ("county", 0.40))
CATEGORIES = ("财政补贴", "奖励", "税收减免", "行政给付", "贴息")
CAPS = (None, 200_000, 500_000, 1_000_000, 2_000_000)


@dataclass
class ItemSpec:
    item: MatchItem
    clauses: list[tuple]
    formula: tuple
    cap_fen: int | None


def _day(text: str) -> int:
    return datetime.date.fromisoformat(text).toordinal() - EPOCH_ORDINAL


def _name(code: str, rng: np.random.Generator) -> str:
    """The field code or, half the time, its Chinese label (the rule language accepts both)."""
    return FIELDS[code].label if rng.random() < 0.5 else code


def _yuan(value: int) -> str:
    if value >= 100_000_000 and value % 100_000_000 == 0:
        return f"{value // 100_000_000}亿"
    return f"{value // 10_000}万" if value >= 10_000 and value % 10_000 == 0 else str(value)


def _nice(x: float) -> int:
    """Two significant digits, so thresholds read like real ones (3500万, 120人)."""
    if x < 10:
        return max(int(round(x)), 1)
    mag = 10 ** (len(str(int(x))) - 2)
    return int(round(x / mag) * mag)


def clause_text(c: tuple, rng: np.random.Generator) -> str:
    kind = c[0]
    if kind == "cmp":
        lit = _yuan(c[3]) if FIELDS[c[1]].type == "money" else str(c[3])
        return f"{_name(c[1], rng)} {c[2]} {lit}"
    if kind == "growth":
        return f"{_name(c[1], rng)} > {_name(c[2], rng)} * {Decimal(c[3]) / Decimal(c[4])}"
    if kind == "ratio":
        return f"{'layoff_rate' if c[1] == 'layoff_count' else 'rd_ratio'} {c[3]} {Decimal(c[4]) / Decimal(c[5])}"
    if kind == "qual":
        return f"'{c[1]}' in {_name('qualifications', rng)}"
    if kind == "qual_since":
        return f"{c[1]}['{c[2]}'] >= d'{datetime.date.fromordinal(c[3] + EPOCH_ORDINAL).isoformat()}'"
    if kind in ("cat_in", "derived_in"):
        names = c[2] if kind == "cat_in" else tuple(_DERIVED_NAMES[c[1]](v) for v in c[2])
        if len(names) == 1:
            return f"{_name(c[1], rng)} {'!=' if c[3] else '=='} '{names[0]}'"
        return f"{'not ' if c[3] else ''}{_name(c[1], rng)} in [{', '.join(repr(n) for n in names)}]"
    if kind == "region_in":
        if len(c[1]) == 1:
            return f"region_code == '{c[1][0]}'"
        return f"region_code in [{', '.join(repr(r) for r in c[1])}]"
    if kind == "city_in":
        return f"city_code in [{', '.join(repr(r) for r in c[1])}]"
    if kind == "age_ge":
        return f"{_name('age_years', rng)} >= {c[1]}"
    if kind == "not":
        return f"not {_name(c[1], rng)}"
    raise ValueError(kind)


_DERIVED_NAMES = {"scale": lambda v: floor.SCALES[v], "industry_section": chr}


def _r(num: int, den: int) -> str:
    return str(Decimal(num) / Decimal(den))


def formula_text(f: tuple, rng: np.random.Generator) -> str:
    kind = f[0]
    if kind == "fixed":
        return _yuan(f[1])
    if kind == "mul":
        return f"{_name(f[1], rng)} * {_r(f[2], f[3])}"
    if kind == "min_mul":
        return f"$min([{_name(f[1], rng)} * {_r(f[2], f[3])}, {_yuan(f[4])}])"
    if kind == "diff_min":
        return f"$min([({f[1]} - {f[2]}) * {_r(f[3], f[4])}, {_yuan(f[5])}])"
    if kind == "ternary_scale":
        return f"{_name(f[1], rng)} * (scale == '大型' ? {_r(f[2], f[4])} : {_r(f[3], f[4])})"
    raise ValueError(kind)


# Templates: (theme, tunable clauses as (field, op, initial pass share), fixed clauses, formulas, group).
TEMPLATES = (
    ("rd", [("rd_expense", ">=", 0.3)],
     [("qual", "科技型中小企业"), ("growth", "rd_expense", "rd_expense_prev", 12, 10), ("ratio", "rd_expense",
      "revenue", ">=", 3, 100), ("derived_in", "scale", (0,), True)],
     [("min_mul", "rd_expense", 5, 100, 500_000), ("diff_min", "rd_expense", "rd_expense_prev", 10, 100, 1_000_000)],
     "研发奖补"),
    ("jobs", [("employees", ">=", 0.3)],
     [("cmp", "ui_paid_months", ">=", 12), ("ratio", "layoff_count", "employees", "<=", 55, 1000),
      ("not", "abnormal_listed"), ("cat_in", "tax_credit_rating", ("A", "B"), False)],
     [("ternary_scale", "ui_premium_paid", 30, 60, 100)], None),
    ("graduates", [("employees", "<=", 0.5), ("ui_premium_paid", ">=", 0.5)],
     [("cmp", "new_graduate_hires", ">=", 1), ("derived_in", "scale", (2, 3), False),
      ("cat_in", "tax_credit_rating", ("A",), False)],
     [("mul", "new_graduate_hires", 1500, 1)], None),
    ("growth", [("revenue", ">=", 0.2), ("tax_paid", ">=", 0.3)],
     [("growth", "revenue", "revenue_prev", 13, 10), ("derived_in", "industry_section", (ord("C"),), False),
      ("age_ge", 3)],
     [("fixed", 200_000), ("fixed", 500_000)], None),
    ("small_profit", [("taxable_income", "<=", 0.5), ("total_assets", "<=", 0.5), ("employees", "<=", 0.6)],
     [("cat_in", "tax_credit_rating", ("A", "B"), False), ("qual", "创新型中小企业")],
     [("mul", "taxable_income", 20, 100)], None),
    ("specialised", [("revenue", ">=", 0.4), ("rd_expense", ">=", 0.4)],
     [("qual_since", "qualified_on", "专精特新中小企业", _day("2025-01-01")), ("not", "abnormal_listed")],
     [("fixed", 100_000), ("fixed", 300_000)], "专精特新奖励"),
    ("hitech", [("revenue", ">=", 0.5), ("employees", ">=", 0.5)],
     [("qual_since", "first_qualified_on", "高新技术企业", _day("2025-01-01")),
      ("cat_in", "entity_type", ("有限责任公司", "股份有限公司"), False)],
     [("fixed", 200_000), ("min_mul", "revenue", 1, 1000, 300_000)], "研发奖补"),
    ("taxpayer", [("tax_paid", ">=", 0.2), ("revenue", ">=", 0.3)],
     [("cat_in", "tax_credit_rating", ("A",), False), ("growth", "revenue", "revenue_prev", 11, 10)],
     [("mul", "tax_paid", 1, 100)], None),
)


def _pick(rng: np.random.Generator, options: tuple) -> str:
    names, p = zip(*options, strict=True)
    return names[rng.choice(len(names), p=np.array(p) / sum(p))]


def build_items(cols: floor.Columns, m: int, seed: int = 1, sample_rows: int = 100_000) -> list[ItemSpec]:
    """``m`` items (5% province, 55% city, 40% county; 60/30/10% apply_free/instant_apply/on_application),
    deterministic in ``seed``. Thresholds are quantiles of the province's known values, tightened until the
    rule's share of eligible-or-unknown pairs on a strided sample of its jurisdiction is below TARGET_SHARE."""
    rng = np.random.default_rng(seed + 7919)
    by_city = counties_by_city()
    city_codes = list(by_city)
    all_counties = [c for cs in by_city.values() for c in cs]
    stride = max(1, cols.n // sample_rows)
    sample = {code: np.sort(v[k][::stride]) for code, (v, k) in cols.num.items()}
    cols.derive()
    out = []
    for i in range(m):
        level = _pick(rng, LEVELS)
        if level == "province":
            region = PROVINCE_CODE
        elif level == "city":
            region = city_codes[rng.integers(len(city_codes))]
        else:
            region = all_counties[rng.integers(len(all_counties))]
        theme, tunable, fixed, formulas, group = TEMPLATES[rng.integers(len(TEMPLATES))]
        extra = []
        if level == "city" and rng.random() < 0.5:
            cs = by_city[region]
            extra = [("region_in", tuple(sorted(str(c) for c in rng.choice(cs, size=max(1, len(cs) // 2), replace=False))))]
        elif level == "province" and rng.random() < 0.5:
            extra = [("city_in", tuple(sorted(str(c) for c in rng.choice(city_codes, size=6, replace=False))))]
        elif level == "county":
            extra = [("region_in", (region,))]
        share = 1.0
        shrink = 1.0
        while True:
            tuned = []
            for code, op, p in tunable:
                q = p * shrink if op == ">=" else p * shrink
                values = sample[code]
                x = np.quantile(values, 1 - q if op == ">=" else q) if len(values) else 1
                tuned.append(("cmp", code, op, _nice(float(x))))
            clauses = extra + tuned + fixed
            sl = cols.spans.get(region, slice(0, 0))
            share = _share(cols, clauses, slice(sl.start, sl.stop, max(1, (sl.stop - sl.start) // sample_rows)))
            if share <= TARGET_SHARE or shrink < 0.01:
                break
            shrink *= 0.6
        formula = formulas[rng.integers(len(formulas))]
        cap = CAPS[rng.integers(len(CAPS))]
        mode = _pick(rng, MODES)
        text = " and ".join(clause_text(c, rng) for c in clauses)
        item = MatchItem(
            item_id=i + 1, region_code=region, code=f"BX-{theme}-{i + 1:05d}", mode=mode,  # type: ignore[arg-type]
            category=CATEGORIES[rng.integers(len(CATEGORIES))], eligibility=text,
            amount_formula=formula_text(formula, rng), cap=None if cap is None else Decimal(cap),
            exclusive_group=group if rng.random() < 0.5 else None, fiscal_year=FISCAL_YEAR,
        )
        out.append(ItemSpec(item, clauses, formula, None if cap is None else cap * 100))
    return out


def _share(cols: floor.Columns, clauses: list[tuple], sl: slice) -> float:
    """Share of rows in ``sl`` where the AND of the clauses is not false (eligible or unknown)."""
    n = len(range(*sl.indices(cols.n)))
    if n == 0:
        return 0.0
    false = np.zeros(n, dtype=bool)
    for c in clauses:
        v, k = floor.clause(cols, c, sl)
        false |= k & ~v
    return float((~false).mean())
