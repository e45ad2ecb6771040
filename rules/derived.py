"""Derived profile fields, with the same Kleene logic as rules: known whenever the known inputs decide it.

city_code (from region_code), industry_section (from the division, the first two digits of industry_code),
age_years, layoff_rate, rd_ratio and scale (企业规模 per 工信部联企业〔2011〕300号, kept as versioned data in
rules/data/sme_scale_gxb_2011_300.csv), plus layoff_rate_prev, rd_ratio_prev and scale_prev from the FY-1 figures.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from rules.evaluator import DECIMAL_CONTEXT, typed_value
from rules.regions import city_of

DATA_ISSUES = "data_issues"
DAYS_PER_YEAR = Decimal("365.25")
SCALE_DOCUMENT = "工信部联企业〔2011〕300号"
LARGE, MEDIUM, SMALL, MICRO = "大型", "中型", "小型", "微型"


@dataclass(frozen=True)
class ScaleGroup:
    """One industry group of the SME standard. Metrics are profile codes ('employees', 'revenue',
    'total_assets'); thresholds are persons or 元. metric2 is None for single-metric groups."""

    group: str
    metric1: str
    metric2: str | None
    ceiling: tuple[Decimal, Decimal | None]
    medium: tuple[Decimal, Decimal | None]
    small: tuple[Decimal, Decimal | None]
    codes: tuple[tuple[int, int, int], ...]  # (prefix length, first, last) of GB/T 4754-2017 codes

    def classify(self, m1: Decimal, m2: Decimal | None) -> str:
        """Scale for known figures. SME if either figure is below its ceiling; medium/small only when both
        floors of that class are met; micro otherwise."""
        def meets(floor: tuple[Decimal, Decimal | None]) -> bool:
            return m1 >= floor[0] and (floor[1] is None or (m2 is not None and m2 >= floor[1]))

        below_ceiling = m1 < self.ceiling[0] or (self.ceiling[1] is not None and m2 is not None and m2 < self.ceiling[1])
        if not below_ceiling:
            return LARGE
        if meets(self.medium):
            return MEDIUM
        return SMALL if meets(self.small) else MICRO

    def candidates(self, index: int) -> list[Decimal]:
        """One representative value per interval the thresholds cut metric ``index`` into."""
        points = {Decimal(0)} | {t[index] for t in (self.ceiling, self.medium, self.small) if t[index] is not None}
        return sorted(points)


def _opt(text: str) -> Decimal | None:
    return Decimal(text) if text.strip() else None


def _codes(spec: str) -> tuple[tuple[int, int, int], ...]:
    out = []
    for part in spec.split(";"):
        lo, _, hi = part.strip().partition("-")
        out.append((len(lo), int(lo), int(hi or lo)))
    return tuple(out)


@cache
def scale_groups() -> tuple[ScaleGroup, ...]:
    """The 16 industry groups of 工信部联企业〔2011〕300号, read from rules/data/sme_scale_gxb_2011_300.csv."""
    text = resources.files("rules").joinpath("data/sme_scale_gxb_2011_300.csv").read_text(encoding="utf-8")
    groups = []
    for row in csv.DictReader(text.splitlines()):
        groups.append(ScaleGroup(
            row["group"], row["metric1"], row["metric2"] or None,
            (Decimal(row["ceiling1"]), _opt(row["ceiling2"])),
            (Decimal(row["medium1"]), _opt(row["medium2"])),
            (Decimal(row["small1"]), _opt(row["small2"])),
            _codes(row["gbt4754_2017_codes"]),
        ))
    return tuple(groups)


def scale_group_of(industry_code: str | None) -> ScaleGroup | None:
    """The SME standard's group for a GB/T 4754-2017 class code (longest matching prefix); None when unknown or
    not covered by the standard (金融业 J, 公共管理 S, 国际组织 T)."""
    code = (industry_code or "").strip()
    if len(code) < 2 or not code.isdigit():
        return None
    best: tuple[int, ScaleGroup] | None = None
    for group in scale_groups():
        for length, lo, hi in group.codes:
            if len(code) >= length and lo <= int(code[:length]) <= hi and (best is None or length > best[0]):
                best = (length, group)
    return best[1] if best else None


def scale_of(industry_code: str | None, figures: Mapping[str, Decimal | None]) -> str | None:
    """大型/中型/小型/微型, or None when the known figures do not decide it.

    ``figures`` maps 'employees' (persons), 'revenue' and 'total_assets' (元) to Decimal or None (unknown).
    An unknown figure is tried at every threshold interval; the scale is known if all tries agree.
    """
    group = scale_group_of(industry_code)
    if group is None:
        return None
    metrics = [group.metric1] + ([group.metric2] if group.metric2 else [])
    options = [[figures.get(m)] if figures.get(m) is not None else group.candidates(i) for i, m in enumerate(metrics)]
    results = {group.classify(combo[0], combo[1] if len(combo) > 1 else None) for combo in itertools.product(*options)}
    return results.pop() if len(results) == 1 else None


@cache
def _sections() -> tuple[tuple[int, int, str], ...]:
    text = resources.files("rules").joinpath("data/industry_sections_gbt4754_2017.csv").read_text(encoding="utf-8")
    return tuple((int(r["first_division"]), int(r["last_division"]), r["section"]) for r in csv.DictReader(text.splitlines()))


def section_of(industry_code: str | None) -> str | None:
    """GB/T 4754-2017 section letter (A–T) from the division, the first two digits; None if unknown."""
    code = (industry_code or "").strip()
    if len(code) < 2 or not code[:2].isdigit():
        return None
    division = int(code[:2])
    return next((s for lo, hi, s in _sections() if lo <= division <= hi), None)


def _num(profile: Mapping[str, Any], code: str) -> Decimal | None:
    return typed_value(code, profile.get(code))


def _ratio(num: Decimal | None, den: Decimal | None, field: str, issues: list[tuple[str, str]], why: str) -> Any:
    if num is None or den is None:
        return None
    if den == 0:
        issues.append((field, why))
        return None
    return num / den


def derive(profile: Mapping[str, Any], as_of: datetime.date) -> dict[str, Any]:
    """A copy of ``profile`` with the derived fields added (None = unknown).

    Adds city_code, industry_section, age_years (Decimal years), layoff_rate, rd_ratio (Decimal fractions 0-1,
    exact), scale, and layoff_rate_prev, rd_ratio_prev, scale_prev. Division by zero gives None and a
    (field, reason) tuple in the list under the key "data_issues".
    """
    out = dict(profile)
    issues: list[tuple[str, str]] = []
    region = typed_value("region_code", profile.get("region_code"))
    industry = typed_value("industry_code", profile.get("industry_code"))
    out["city_code"] = city_of(region) if region else None
    out["industry_section"] = section_of(industry)
    if industry and out["industry_section"] is None:
        issues.append(("industry_section", f"行业代码“{industry}”的大类不在GB/T 4754-2017门类表中"))
    established = typed_value("established_on", profile.get("established_on"))
    with decimal.localcontext(DECIMAL_CONTEXT):
        out["age_years"] = Decimal((as_of - established).days) / DAYS_PER_YEAR if established else None
        for suffix, label in (("", ""), ("_prev", "上年度")):
            employees = _num(profile, "employees" + suffix)
            revenue = _num(profile, "revenue" + suffix)
            out["layoff_rate" + suffix] = _ratio(_num(profile, "layoff_count" + suffix), employees,
                                                 "layoff_rate" + suffix, issues, f"{label}从业人数为0，无法计算裁员率")
            out["rd_ratio" + suffix] = _ratio(_num(profile, "rd_expense" + suffix), revenue,
                                              "rd_ratio" + suffix, issues, f"{label}营业收入为0，无法计算研发投入强度")
            figures = {"employees": employees, "revenue": revenue,
                       "total_assets": _num(profile, "total_assets" + suffix)}
            out["scale" + suffix] = scale_of(industry, figures)
    out[DATA_ISSUES] = issues
    return out
