"""Derived fields: scale per 工信部联企业〔2011〕300号, ratios, sections, cities, ages, with Kleene unknowns."""

import datetime
from decimal import Decimal

import pytest

from rules import compile_rule, derive, scale_of, section_of
from rules.derived import scale_group_of, scale_groups

WAN = Decimal(10_000)
YI = Decimal(100_000_000)


def test_industrial_250_staff_and_150_million_is_small():
    assert scale_of("3311", {"employees": Decimal(250), "revenue": Decimal("1.5") * YI}) == "小型"


def test_industrial_1200_staff_and_300_million_is_medium():
    assert scale_of("3311", {"employees": Decimal(1200), "revenue": 3 * YI}) == "中型"


def test_software_8_staff_and_20_million_is_micro():
    assert scale_of("6513", {"employees": Decimal(8), "revenue": 2000 * WAN}) == "微型"


def test_above_both_ceilings_is_large():
    assert scale_of("3311", {"employees": Decimal(1000), "revenue": 4 * YI}) == "大型"


@pytest.mark.parametrize(
    ("code", "figures", "expected"),
    [
        ("4710", {"revenue": 6000 * WAN, "total_assets": 5000 * WAN}, "中型"),  # 建筑业, both floors met
        ("4710", {"revenue": 6000 * WAN, "total_assets": 4999 * WAN}, "小型"),
        ("5110", {"employees": Decimal(20), "revenue": 5000 * WAN}, "中型"),  # 批发业
        ("5211", {"employees": Decimal(9), "revenue": 1000 * WAN}, "微型"),  # 零售业, below the small headcount
        ("0111", {"revenue": 500 * WAN}, "中型"),  # 农林牧渔业, revenue only
        ("7010", {"revenue": 20 * YI, "total_assets": 1 * YI}, "大型"),  # 房地产开发经营: both at ceiling
        ("7010", {"revenue": 2000 * WAN, "total_assets": 1 * YI}, "中型"),  # revenue below its ceiling
        ("7020", {"employees": Decimal(100), "revenue": 500 * WAN}, "小型"),  # 物业管理
        ("5920", {"employees": Decimal(100), "revenue": 1000 * WAN}, "中型"),  # 仓储业 (class 592)
        ("5910", {"employees": Decimal(100), "revenue": 1000 * WAN}, "小型"),  # 装卸搬运 -> 交通运输业
        ("7212", {"employees": Decimal(10), "total_assets": 100 * WAN}, "小型"),  # 租赁和商务服务业
        ("8310", {"employees": Decimal(300)}, "大型"),  # 其他未列明行业: headcount only
    ],
)
def test_scale_follows_each_industry_group_of_the_standard(code, figures, expected):
    assert scale_of(code, figures) == expected


def test_the_standard_table_has_sixteen_groups():
    assert len(scale_groups()) == 16


def test_finance_is_outside_the_standard():
    assert scale_group_of("6620") is None
    assert scale_of("6620", {"employees": Decimal(5)}) is None


def test_small_headcount_decides_micro_without_revenue():
    assert scale_of("3311", {"employees": Decimal(5), "revenue": None}) == "微型"


def test_small_revenue_decides_micro_without_headcount():
    assert scale_of("3311", {"employees": None, "revenue": 100 * WAN}) == "微型"


def test_undecided_scale_is_unknown():
    assert scale_of("3311", {"employees": Decimal(50), "revenue": None}) is None
    assert scale_of(None, {"employees": Decimal(5), "revenue": Decimal(1)}) is None


def test_section_comes_from_the_division():
    assert section_of("3311") == "C"
    assert section_of("6513") == "I"
    assert section_of("9910") is None
    assert section_of(None) is None


def test_derive_adds_every_derived_field(as_of):
    profile = {
        "region_code": "140105", "industry_code": "3311", "established_on": datetime.date(2025, 6, 30),
        "employees": 200, "layoff_count": 11, "revenue": Decimal(150_000_000), "rd_expense": Decimal(4_500_000),
    }
    out = derive(profile, as_of)
    assert out["city_code"] == "140100"
    assert out["industry_section"] == "C"
    assert abs(out["age_years"] - Decimal(365) / Decimal("365.25")) < Decimal("1e-20")
    assert compile_rule("age_years < 1").evaluate(out, as_of).value is True
    assert out["layoff_rate"] == Decimal("0.055")
    assert out["rd_ratio"] == Decimal("0.03")
    assert out["scale"] == "小型"
    assert out["data_issues"] == []
    assert "scale" not in profile  # the input is not modified


def test_derived_layoff_rate_meets_the_boundary_exactly(as_of):
    out = derive({"employees": 200, "layoff_count": 11}, as_of)
    assert compile_rule("layoff_rate <= 0.055").evaluate(out, as_of).value is True


def test_division_by_zero_is_unknown_and_reported(as_of):
    out = derive({"employees": 0, "layoff_count": 0, "revenue": Decimal(0), "rd_expense": Decimal(5)}, as_of)
    assert out["layoff_rate"] is None and out["rd_ratio"] is None
    assert {field for field, _ in out["data_issues"]} == {"layoff_rate", "rd_ratio"}
    assert all(reason for _, reason in out["data_issues"])


def test_prev_twins_use_the_previous_year(as_of):
    out = derive({"industry_code": "3311", "employees_prev": 100, "layoff_count_prev": 5, "revenue_prev": 5 * YI,
                  "rd_expense_prev": 5 * WAN}, as_of)
    assert out["layoff_rate_prev"] == Decimal("0.05")
    assert out["rd_ratio_prev"] == Decimal("0.0001")
    assert out["scale_prev"] == "小型"  # 100 staff is under the medium floor of 300


def test_unknown_inputs_give_unknown_derived_values(as_of):
    out = derive({}, as_of)
    for code in ("city_code", "industry_section", "age_years", "layoff_rate", "rd_ratio", "scale"):
        assert out[code] is None
