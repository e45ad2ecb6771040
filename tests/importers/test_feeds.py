"""Department feeds: the real samples (values read off the files) and generated edge cases."""

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

import rules
from importers import read_feed
from importers.feed_specs import QUALIFICATION_FIELD, SPECS

from .conftest import EXAMPLES

MARKET = EXAMPLES / "企业登记信息_市场监管.csv"
TAX = EXAMPLES / "企业纳税信息_税务_2024-2025.xlsx"
HR = EXAMPLES / "企业参保信息_人社_2024-2025.csv"
QUALIFICATIONS = EXAMPLES / "企业资质认定名单_科技工信统计.xlsx"
CREDIT = EXAMPLES / "严重失信主体名单_信用.csv"


def values(result, code, fld, year=None):
    obs = result.observations
    sel = obs[(obs.credit_code == code) & (obs.field == fld)]
    if year is not None:
        sel = sel[sel.fiscal_year == year]
    return list(sel.value)


@pytest.fixture(scope="module")
def market():
    return read_feed(MARKET, "market")


def test_the_market_feed_reports_the_three_bad_check_characters_on_rows_2_3_4(market):
    assert [(e.row, e.column, e.value) for e in market.errors] == [
        (2, "统一社会信用代码", "91140829Y1AWB92P00"),
        (3, "统一社会信用代码", "91140702HEH6DN5W90"),
        (4, "统一社会信用代码", "91140321H9MDRMDH80"),
    ]
    assert all(e.message.startswith("统一社会信用代码校验位错误") for e in market.errors)
    assert market.enterprises == 2000 - 3
    assert set(market.observations.row) == set(range(5, 2002))


def test_market_values_are_typed_and_capital_is_converted_from_wan_to_yuan(market):
    code = "91140171F6XDFJDN86"  # row 5: 140171, 2022/5/20, 1000 万元, 有限责任公司, 5786, 存续, 否
    assert values(market, code, "registered_capital") == [Decimal("10000000")]
    assert values(market, code, "established_on") == [date(2022, 5, 20)]
    assert values(market, code, "region_code") == ["140171"]
    assert values(market, code, "industry_code") == ["5786"]
    assert values(market, code, "operating_status") == ["存续"]
    assert values(market, code, "abnormal_listed") == [False]
    assert values(market, code, "name") == ["山西安源0003实业有限公司"]
    assert market.observations.fiscal_year.isna().all()


def test_observation_frame_has_the_documented_columns_and_dtypes(market):
    obs = market.observations
    assert list(obs.columns) == ["credit_code", "field", "value", "fiscal_year", "sheet", "row"]
    assert str(obs.fiscal_year.dtype) == "Int64" and obs.value.dtype == object
    assert not any(isinstance(v, float) for v in obs.value)


def test_the_tax_feed_keeps_years_and_a_blank_rd_figure_is_no_observation():
    tax = read_feed(TAX, "tax")
    code = "91140829Y1AWB92P0B"  # rows 2 (2024) and 3 (2025, 研发费用 blank)
    assert values(tax, code, "revenue", 2024) == [Decimal("4136200")]
    assert values(tax, code, "revenue", 2025) == [Decimal("7405000")]
    assert values(tax, code, "rd_expense", 2024) == [Decimal("458500")]
    assert values(tax, code, "rd_expense", 2025) == []
    assert values(tax, "91140702HEH6DN5W9B", "taxable_income", 2024) == [Decimal("0")]  # a real zero stays
    assert values(tax, code, "tax_credit_rating", 2025) == ["M"]
    assert "name" not in set(tax.observations.field)
    assert tax.errors == [] and tax.enterprises == 2000
    assert (tax.observations.field == "rd_expense").sum() == 4000 - 49


def test_the_gbk_hr_feed_reads_yearly_integers_and_money():
    hr = read_feed(HR, "hr")
    code = "91140322MDBR1UFF8C"  # last two rows: 2024 -> 20 staff only; 2025 -> 21, 19063.02, 6, 0, 1
    assert values(hr, code, "employees", 2024) == [20]
    assert values(hr, code, "ui_premium_paid", 2024) == []
    assert values(hr, code, "ui_premium_paid", 2025) == [Decimal("19063.02")]
    assert values(hr, code, "ui_paid_months", 2025) == [6]
    assert values(hr, code, "layoff_count", 2025) == [0]
    assert values(hr, code, "new_graduate_hires", 2025) == [1]
    assert hr.errors == [] and hr.enterprises == 2000


def test_the_qualification_list_reads_chinese_text_dates_and_names_the_lists_it_covers():
    q = read_feed(QUALIFICATIONS, "qualifications")
    assert q.errors == [] and len(q.observations) == 1112
    assert q.covered_lists == frozenset({"高新技术企业", "科技型中小企业", "专精特新中小企业", "规上工业企业"})
    row8 = q.observations[q.observations.row == 8].iloc[0]  # E8 is the text '2025年3月12日'
    assert (row8.credit_code, row8.field) == ("91140122WDCM04EY0G", QUALIFICATION_FIELD)
    assert row8.value == {"name": "科技型中小企业", "recognized_on": date(2025, 3, 12), "valid_until": date(2028, 3, 12)}


def test_the_credit_list_marks_each_listed_enterprise_serious_dishonest():
    credit = read_feed(CREDIT, "credit")
    assert credit.enterprises == 19 and credit.errors == []
    assert set(credit.observations.field) == {"serious_dishonest"}
    assert credit.observations.value.tolist() == [True] * 19


def test_a_credit_code_stored_as_a_number_is_refused(write_xlsx):
    path = write_xlsx([["统一社会信用代码", "主体名称", "严重失信主体名单"], [911401001234567890, "某公司", "是"]])
    result = read_feed(path, "credit")
    assert [(e.row, e.column) for e in result.errors] == [(2, "统一社会信用代码")]
    assert "数字" in result.errors[0].message
    assert result.observations.empty and result.enterprises == 0


def test_region_and_industry_codes_are_checked_and_only_bad_rows_are_dropped(write_xlsx):
    header = ["统一社会信用代码", "企业名称", "住所所在地行政区划代码", "行业代码", "注册资本（万元）"]
    rows = [header,
            ["91140171F6XDFJDN86", "甲", "140171", "0511", "50"],
            ["91140829Y1AWB92P0B", "乙", "150102", "5786", None],
            ["91140702HEH6DN5W9B", "丙", "140702", 511, None],
            ["91140321H9MDRMDH8C", "丁", "140321", "9901", None],
            ["91140902TR9GCFQM2F", "戊", "140321", "57A6", None]]
    result = read_feed(write_xlsx(rows), "market")
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "住所所在地行政区划代码"), (4, "行业代码"), (5, "行业代码"), (6, "行业代码")]
    assert values(result, "91140171F6XDFJDN86", "industry_code") == ["0511"]
    assert values(result, "91140171F6XDFJDN86", "registered_capital") == [Decimal("500000")]
    assert result.enterprises == 1


def test_a_last_year_header_does_not_shift_the_fiscal_year(write_csv):
    rows = [["统一社会信用代码", "所属年度", "上年度营业收入（元）", "研发费用（元）"], ["91140171F6XDFJDN86", "2025", "1000", ""]]
    result = read_feed(write_csv(rows, encoding="gbk"), "tax")
    obs = result.observations
    assert obs[["field", "fiscal_year"]].values.tolist() == [["revenue", 2025]]
    assert obs.value.tolist() == [Decimal("1000")]


def test_a_yearly_feed_row_without_a_year_and_a_repeated_year_are_errors(write_csv):
    rows = [["统一社会信用代码", "年度", "裁员人数"],
            ["91140171F6XDFJDN86", "", "1"],
            ["91140171F6XDFJDN86", "2025", "1"],
            ["91140171F6XDFJDN86", "2025", "2"]]
    result = read_feed(write_csv(rows), "hr")
    assert [(e.row, e.column) for e in result.errors] == [(2, "年度"), (4, "统一社会信用代码")]
    assert result.observations.value.tolist() == [1]


def test_names_are_only_taken_from_the_market_feed(write_csv):
    rows = [["统一社会信用代码", "纳税人名称", "所属年度", "营业收入（元）"], ["91140171F6XDFJDN86", "别名公司", "2025", "10"]]
    assert set(read_feed(write_csv(rows), "tax").observations.field) == {"revenue"}


def test_an_empty_feed_still_has_typed_columns(write_csv):
    result = read_feed(write_csv([["统一社会信用代码", "主体名称", "严重失信主体名单"]]), "credit")
    assert list(result.observations.columns) == ["credit_code", "field", "value", "fiscal_year", "sheet", "row"]
    assert str(result.observations.fiscal_year.dtype) == "Int64"


def test_an_unknown_source_is_a_programming_error(write_csv):
    with pytest.raises(ValueError):
        read_feed(write_csv([["统一社会信用代码"]]), "bank")


@pytest.mark.parametrize("source", sorted(SPECS))
def test_every_feed_field_is_a_vocabulary_field_from_that_source(source):
    spec = SPECS[source]
    for col in spec.columns:
        if col.kind in ("credit_code", "year", "ignore") or source == "qualifications":
            continue
        fld = rules.FIELDS[col.field]
        assert (fld.source == source) != col.cross_check and fld.yearly == spec.yearly, col.field


def test_observations_concatenate_across_feeds(market):
    both = pd.concat([market.observations, read_feed(CREDIT, "credit").observations], ignore_index=True)
    assert str(both.fiscal_year.dtype) == "Int64"
