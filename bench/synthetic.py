"""A synthetic Shanxi province for the matching benchmark, built deterministically from a seed.

The province is held as columns (:class:`Province`): numeric fields are int64 arrays (元, persons, months,
days since 1970-01-01 for dates) with a known mask; string fields are int codes into a category tuple (-1 =
unknown); qualifications are per-name arrays. :meth:`Province.profiles` turns the columns into the profile
dicts that ``matching.build_profiles`` returns (unknown = absent key, money as integer-valued Decimal 元).
The numpy baseline (bench/floor.py) reads the same columns.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from rules.regions import cities, regions

AS_OF = datetime.date(2026, 6, 30)
FISCAL_YEAR = 2025
EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
UNKNOWN_SHARE = 0.05  # share of unknown values per reported field

# Rough shares of enterprises per city (Taiyuan largest), in cities() order 140100 ... 141100.
CITY_WEIGHTS = (0.24, 0.08, 0.04, 0.09, 0.06, 0.05, 0.09, 0.11, 0.07, 0.09, 0.08)
STATUSES = ("存续", "在业", "吊销", "注销", "迁出")
STATUS_P = (0.86, 0.09, 0.02, 0.02, 0.01)
ENTITY_TYPES = ("有限责任公司", "股份有限公司", "个人独资企业", "合伙企业", "农民专业合作社")
ENTITY_P = (0.74, 0.05, 0.12, 0.06, 0.03)
RATINGS = ("A", "B", "M", "C", "D")
RATING_P = (0.15, 0.45, 0.25, 0.10, 0.05)
# qualification -> (share of enterprises recognised, validity in years or None)
QUALIFICATIONS = {
    "高新技术企业": (0.05, 3),
    "科技型中小企业": (0.07, 1),
    "专精特新中小企业": (0.02, 3),
    "规上工业企业": (0.05, None),
    "创新型中小企业": (0.03, 3),
}
# GB/T 4754-2017 divisions by weight: manufacturing, trade, services dominate.
DIVISION_WEIGHTS = {
    **{d: 0.4 for d in range(1, 6)}, **{d: 0.5 for d in range(6, 13)}, **{d: 1.2 for d in range(13, 44)},
    **{d: 0.6 for d in range(44, 47)}, **{d: 2.0 for d in range(47, 51)}, 51: 14.0, 52: 12.0,
    **{d: 0.8 for d in range(53, 61)}, 61: 2.0, 62: 4.0, **{d: 1.5 for d in range(63, 66)},
    **{d: 0.3 for d in range(66, 70)}, 70: 3.0, 71: 4.0, 72: 8.0, **{d: 1.5 for d in range(73, 76)},
    **{d: 0.4 for d in range(76, 80)}, **{d: 1.5 for d in range(80, 83)}, 83: 0.8, 84: 0.6, 85: 0.3,
    **{d: 0.5 for d in range(86, 91)},
}


@dataclass
class Province:
    """Enterprises as columns, rows ordered by credit code.

    ``num``: code -> (int64 values, known bool); ``cat``: code -> (int codes, categories), -1 = unknown;
    ``held`` / ``qualified_on`` / ``first_on``: qualification name -> bool array / (int64 days, known).
    """

    n: int
    credit_codes: np.ndarray
    region: np.ndarray  # object str, always known (registration)
    num: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    cat: dict[str, tuple[np.ndarray, tuple[str, ...]]] = field(default_factory=dict)
    held: dict[str, np.ndarray] = field(default_factory=dict)
    qualified_on: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    first_on: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def profiles(self) -> dict[str, dict[str, Any]]:
        """credit_code -> profile dict in the shape of ``matching.build_profiles`` (typed values, unknown
        fields absent, ``closed_lists`` = every qualification, the credit list imported)."""
        closed = frozenset(QUALIFICATIONS)
        empty_set: frozenset[str] = frozenset()
        dates: dict[int, datetime.date] = {}

        def day(d: int) -> datetime.date:
            if d not in dates:
                dates[d] = datetime.date.fromordinal(d + EPOCH_ORDINAL)
            return dates[d]

        columns: list[tuple[str, list, list, Any]] = []
        for code, (vals, known) in self.num.items():
            kind = _KINDS[code]
            columns.append((code, vals.tolist(), known.tolist(), kind))
        cats = [(code, codes.tolist(), cats) for code, (codes, cats) in self.cat.items()]
        quals = [(q, np.flatnonzero(self.held[q]).tolist()) for q in QUALIFICATIONS]
        held: list[set[str] | None] = [None] * self.n
        for q, rows in quals:
            for i in rows:
                if held[i] is None:
                    held[i] = set()
                held[i].add(q)
        q_on = {q: (v.tolist(), k) for q, (v, k) in self.qualified_on.items()}
        f_on = {q: (v.tolist(), k) for q, (v, k) in self.first_on.items()}
        any_rec = np.zeros(self.n, dtype=bool)
        for _, k in self.qualified_on.values():
            any_rec |= k
        region = self.region.tolist()
        out: dict[str, dict[str, Any]] = {}
        for i, credit_code in enumerate(self.credit_codes.tolist()):
            p: dict[str, Any] = {"credit_code": credit_code, "region_code": region[i], "closed_lists": closed}
            for code, vals, known, kind in columns:
                if known[i]:
                    v = vals[i]
                    p[code] = Decimal(v) if kind == "money" else (day(v) if kind == "date" else
                                                                  (bool(v) if kind == "bool" else v))
            for code, codes, names in cats:
                if codes[i] >= 0:
                    p[code] = names[codes[i]]
            p["qualifications"] = frozenset(held[i]) if held[i] else empty_set
            p["qualified_on"], p["first_qualified_on"] = {}, {}
            if any_rec[i]:
                for q in QUALIFICATIONS:
                    if q_on[q][1][i]:
                        p["qualified_on"][q] = day(q_on[q][0][i])
                        p["first_qualified_on"][q] = day(f_on[q][0][i])
            out[credit_code] = p
        return out


_KINDS = {
    "registered_capital": "money", "revenue": "money", "revenue_prev": "money", "total_assets": "money",
    "total_assets_prev": "money", "taxable_income": "money", "tax_paid": "money", "rd_expense": "money",
    "rd_expense_prev": "money", "ui_premium_paid": "money", "employees": "int", "employees_prev": "int",
    "ui_paid_months": "int", "layoff_count": "int", "new_graduate_hires": "int", "established_on": "date",
    "serious_dishonest": "bool", "abnormal_listed": "bool",
}


def counties_by_city() -> dict[str, list[str]]:
    """City code -> its county-level codes (GB/T 2260, from rules.regions)."""
    table = regions()
    return {c.code: sorted(r.code for r in table.values() if r.parent_code == c.code) for c in cities()}


def build_province(n: int, seed: int = 1) -> Province:
    """``n`` enterprises over Shanxi's 11 cities and 121 county-level units, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    by_city = counties_by_city()
    city_codes = list(by_city)
    county_codes: list[str] = []
    county_p: list[float] = []
    for city, weight in zip(city_codes, CITY_WEIGHTS, strict=True):
        w = rng.dirichlet(np.full(len(by_city[city]), 2.0)) * weight
        county_codes += by_city[city]
        county_p += w.tolist()
    county_idx = rng.choice(len(county_codes), size=n, p=np.array(county_p) / sum(county_p))
    region = np.array(county_codes, dtype=object)[county_idx]
    credit = np.array([f"91{r}MA{i:08d}" for i, r in enumerate(region.tolist())], dtype=object)
    order = np.argsort(credit, kind="stable")
    prov = Province(n, credit[order], region[order])

    def unknown(share: float = UNKNOWN_SHARE) -> np.ndarray:
        return rng.random(n) >= share

    def money(values: np.ndarray, share: float = UNKNOWN_SHARE) -> tuple[np.ndarray, np.ndarray]:
        return np.maximum(np.rint(values), 0).astype(np.int64), unknown(share)

    def pick(names: tuple[str, ...], p: tuple[float, ...], share: float) -> tuple[np.ndarray, tuple[str, ...]]:
        codes = rng.choice(len(names), size=n, p=p).astype(np.int16)
        return np.where(unknown(share), codes, -1).astype(np.int16), names

    divisions = np.array(list(DIVISION_WEIGHTS))
    dw = np.array(list(DIVISION_WEIGHTS.values()))
    div = rng.choice(divisions, size=n, p=dw / dw.sum())
    classes = div * 100 + rng.integers(10, 100, size=n)
    industry_names = tuple(f"{c:04d}" for c in range(100, 10000))
    prov.cat["industry_code"] = (np.where(unknown(0.02), classes - 100, -1).astype(np.int16), industry_names)
    prov.cat["operating_status"] = pick(STATUSES, STATUS_P, 0.01)
    prov.cat["entity_type"] = pick(ENTITY_TYPES, ENTITY_P, 0.02)
    prov.cat["tax_credit_rating"] = pick(RATINGS, RATING_P, UNKNOWN_SHARE)

    as_of_days = AS_OF.toordinal() - EPOCH_ORDINAL
    age_days = np.minimum(rng.exponential(8 * 365.25, size=n), 40 * 365.25).astype(np.int64)
    prov.num["established_on"] = (as_of_days - age_days, unknown(0.02))

    revenue = rng.lognormal(np.log(3_000_000), 1.8, size=n)
    growth = rng.lognormal(0.05, 0.3, size=n)
    prov.num["revenue"] = money(revenue)
    prov.num["revenue_prev"] = money(revenue / growth)
    prov.num["total_assets"] = money(revenue * rng.lognormal(0, 0.8, size=n))
    prov.num["taxable_income"] = money(revenue * rng.normal(0.06, 0.05, size=n))
    prov.num["tax_paid"] = money(revenue * 0.03 * rng.lognormal(0, 0.5, size=n))
    prov.num["registered_capital"] = money(rng.lognormal(np.log(1_000_000), 1.5, size=n), 0.02)
    does_rd = rng.random(n) < 0.35
    rd = np.where(does_rd, revenue * rng.lognormal(np.log(0.03), 0.7, size=n), 0)
    prov.num["rd_expense"] = money(rd)
    prov.num["rd_expense_prev"] = money(rd / rng.lognormal(0.08, 0.4, size=n))

    employees = np.maximum(rng.lognormal(np.log(12), 1.3, size=n), 0).astype(np.int64)
    prov.num["employees"] = (employees, unknown())
    prov.num["employees_prev"] = (np.maximum(employees + rng.integers(-3, 4, size=n), 0), unknown())
    prov.num["ui_premium_paid"] = money(employees * 70_000 * 0.007 * rng.lognormal(0, 0.2, size=n))
    full_year = rng.random(n) < 0.8
    prov.num["ui_paid_months"] = (np.where(full_year, 12, rng.integers(0, 12, size=n)), unknown())
    laid_off = rng.random(n) < 0.3
    layoffs = np.where(laid_off, rng.binomial(np.maximum(employees, 1), 0.06), 0)
    prov.num["layoff_count"] = (layoffs.astype(np.int64), unknown())
    hires = np.where(rng.random(n) < 0.15, rng.poisson(2, size=n) + 1, 0)
    prov.num["new_graduate_hires"] = (hires.astype(np.int64), unknown())
    prov.num["serious_dishonest"] = ((rng.random(n) < 0.005).astype(np.int64), np.ones(n, dtype=bool))
    prov.num["abnormal_listed"] = ((rng.random(n) < 0.03).astype(np.int64), unknown(0.02))

    for q, (share, years) in QUALIFICATIONS.items():
        has = rng.random(n) < share
        latest = as_of_days - rng.integers(0, 6 * 365, size=n)
        first = latest - np.where(rng.random(n) < 0.3, 3 * 365, 0)
        valid = np.ones(n, dtype=bool) if years is None else latest + years * 365 >= as_of_days
        prov.held[q] = has & valid
        prov.qualified_on[q] = (latest, has)
        prov.first_on[q] = (first, has)

    for cols in (prov.num, prov.cat, prov.qualified_on, prov.first_on):
        for k, v in cols.items():
            cols[k] = tuple(a[order] if isinstance(a, np.ndarray) else a for a in v)
    for q in prov.held:
        prov.held[q] = prov.held[q][order]
    return prov
