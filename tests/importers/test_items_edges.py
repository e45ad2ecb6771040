"""Small item files generated per edge case."""

from datetime import date
from decimal import Decimal

import pytest

from importers import MissingColumnsError, read_items

from .conftest import ITEM_HEADER, item_row

GROUP_ROW = ["序号", "政策信息", None, "事项信息", None, None, None, None, "兑现条件", "奖补标准", None, "资金安排",
             None, "考核年度", "申报开始", "申报截止"]
SUB_ROW = [None, "政策名称", "主管部门", "事项编码", "事项名称", "扶持类型", "兑现方式", "适用区域", "资格规则", "金额公式",
           "单户上限（万元）", "资金规模（万元）", "资金来源", None, None, None]
MERGES = ["A1:P1", "A3:A4", "B3:C3", "D3:H3", "J3:K3", "L3:M3", "N3:N4", "O3:O4", "P3:P4"]


def grouped_row(seq, policy, code, **kw):
    v = {"mode": "依申请", "rule": None, "formula": None, "cap": "10", "budget": "100", "start": "2026-03-01",
         "end": "2026-12-31", "region": "太原市"} | kw
    return [seq, policy, "太原市科学技术局" if policy else None, code, "事项" + code, "奖励", v["mode"], v["region"],
            v["rule"], v["formula"], v["cap"], v["budget"], "市级财政", 2025, v["start"], v["end"]]


@pytest.fixture
def grouped(write_xlsx):
    rows = [
        ["某市2025年度奖补事项清单"] + [None] * 15,
        ["填报单位：某局\u3000\u3000填报日期：2026年2月15日"],
        GROUP_ROW,
        SUB_ROW,
        grouped_row(1, "科技政策", "K-1"),
        grouped_row(2, None, "K-2", cap="15万元"),
        grouped_row(3, None, "K-3", cap="150000元"),
        [None] * 16,
        grouped_row(4, None, "K-4", cap=None),
        ["备注：1.单户上限、资金规模单位为万元。"] + [None] * 15,
    ]
    return read_items(write_xlsx(rows, merges=MERGES + ["B5:B7", "C5:C7", "A10:P10"]))


def test_the_header_is_found_below_a_title_and_a_filler_row_in_a_two_row_group(grouped):
    assert grouped.errors == []
    assert [r.values["code"] for r in grouped.items] == ["K-1", "K-2", "K-3", "K-4"]
    assert [r.row for r in grouped.items] == [5, 6, 7, 9]  # blank row 8 and the remark row 10 are skipped
    assert grouped.items[0].values["fiscal_year"] == 2025  # 考核年度 merged vertically across both header rows
    assert grouped.items[0].values["apply_end"] == date(2026, 12, 31)


def test_merged_policy_cells_are_filled_but_ordinary_blanks_stay_blank(grouped):
    titles = [r.values["policy_title"] for r in grouped.items]
    assert titles == ["科技政策", "科技政策", "科技政策", None]
    assert grouped.items[3].values["department"] is None


def test_the_header_unit_wan_is_applied_exactly_once(grouped):
    assert [r.values["cap"] for r in grouped.items] == [Decimal("100000"), Decimal("150000"), Decimal("150000"), None]
    assert grouped.items[0].values["budget"] == Decimal("1000000")


def test_header_spelling_noise_and_synonyms_are_recognised(write_csv):
    header = ["*项目编码", "事项\u00a0名称", "扶持类型", "兑付方式", "适用地区", "资格规则", "计算公式", "单户最高(万元)",
              "预算金额（万元）", "资金来源", "考核年度", "开始日期", "截止日期", "兑现频次", "可告知承诺", "公示天数",
              "不重复享受分组", "状态"]
    row = item_row()[:13] + ["一次性", "是", "7", "高企奖励", "草稿"]
    result = read_items(write_csv([header, row]))
    assert result.errors == []
    v = result.items[0].values
    assert (v["code"], v["name"], v["cap"], v["budget"]) == ("T-001", "测试事项", Decimal("100000"), Decimal("1000000"))
    assert (v["period"], v["commitment_allowed"], v["notice_days"], v["exclusive_group"], v["status"]) == (
        "once", True, 7, "高企奖励", "draft")


def test_an_ambiguous_region_name_is_an_error_listing_both_candidates(write_csv):
    result = read_items(write_csv([ITEM_HEADER, item_row(适用区域="城区"),
                                   item_row(事项编码="T-002", 适用区域="阳泉市城区")]))
    assert [(e.row, e.column, e.value) for e in result.errors] == [(2, "适用区域", "城区")]
    assert "140302" in result.errors[0].message and "140502" in result.errors[0].message
    assert [r.values["region_code"] for r in result.items] == ["140302"]


def test_a_duplicate_code_within_a_region_is_an_error_on_the_second_row(write_csv):
    result = read_items(write_csv([ITEM_HEADER, item_row(), item_row(), item_row(适用区域="大同市")]))
    assert [(e.row, e.column) for e in result.errors] == [(3, "事项编码")]
    assert "第 2 行" in result.errors[0].message
    assert [r.row for r in result.items] == [2, 4]


def test_unknown_enumerations_list_the_accepted_values(write_csv):
    result = read_items(write_csv([ITEM_HEADER, item_row(扶持类型="补助", 兑现方式="自动兑现")]))
    messages = {e.column: e.message for e in result.errors}
    assert "财政补贴、奖励、税收减免、行政给付、贴息、其他" in messages["扶持类型"]
    assert "免申即享、即申即享、依申请" in messages["兑现方式"]
    assert result.items == []


def test_apply_free_and_instant_items_need_a_rule_and_a_formula_except_tax_relief(write_csv):
    rows = [ITEM_HEADER,
            item_row(事项编码="A", 兑现方式="免申即享"),
            item_row(事项编码="B", 兑现方式="即申即享", 资格规则="revenue >= 1000万"),
            item_row(事项编码="C", 兑现方式="免申即享", 扶持类型="税收减免", 资格规则="employees <= 300",
                     单户上限=None, 资金规模=None)]
    result = read_items(write_csv(rows))
    assert sorted((e.row, e.column) for e in result.errors) == [(2, "资格规则"), (2, "金额公式"), (3, "金额公式")]
    assert [r.values["code"] for r in result.items] == ["C"]
    assert result.items[0].values["paying_agency"] == "税务"


def test_a_rule_or_formula_that_does_not_compile_is_an_error_on_its_column(write_csv):
    rows = [ITEM_HEADER,
            item_row(事项编码="A", 兑现方式="免申即享", 资格规则="revenu >= 1", 金额公式="100"),
            item_row(事项编码="B", 兑现方式="免申即享", 资格规则="'科技型中小企业' in 资质", 金额公式="$min([研发费用, 'x'])"),
            item_row(事项编码="C", 兑现方式="免申即享", 资格规则="营业收入 >= 5000万", 金额公式="$min([研发费用 * 0.05, 50万])")]
    result = read_items(write_csv(rows))
    assert [(e.row, e.column, e.value) for e in result.errors] == [
        (2, "资格规则", "revenu >= 1"), (3, "金额公式", "$min([研发费用, 'x'])")]
    assert "revenue" in result.errors[0].message  # the nearest field is suggested
    assert [r.values["code"] for r in result.items] == ["C"]


def test_a_bad_date_and_a_range_amount_are_row_errors(write_csv):
    result = read_items(write_csv([ITEM_HEADER, item_row(申报开始="3/1/2026", 单户上限="3万元-5万元")]))
    assert sorted((e.column, e.value) for e in result.errors) == [("单户上限", "3万元-5万元"), ("申报开始", "3/1/2026")]
    assert result.items == []


def test_a_required_value_left_blank_is_an_error(write_csv):
    result = read_items(write_csv([ITEM_HEADER, item_row(事项名称=None, 考核年度=None)]))
    assert sorted(e.column for e in result.errors) == ["事项名称", "考核年度"]


def test_a_numeric_item_code_is_kept_as_text_with_a_warning(write_xlsx):
    result = read_items(write_xlsx([ITEM_HEADER, item_row(事项编码=1001)]))
    assert result.items[0].values["code"] == "1001"
    assert [(w.row, w.column) for w in result.warnings] == [(2, "事项编码")]


def test_a_header_without_a_required_column_is_refused(write_csv):
    header = [h for h in ITEM_HEADER if h != "兑现方式"]
    with pytest.raises(MissingColumnsError) as info:
        read_items(write_csv([header, ["x"] * len(header)]))
    assert info.value.missing == ("兑现方式",)


def test_allocations_are_checked_against_items_and_cities(write_xlsx):
    alloc = [["事项编码", "地市", "行政区划代码", "名额（家）", "资金额度（万元）"],
             ["T-001", "太原市", "140100", 3, 60],
             ["T-001", "太原市", "140100", 1, 20],
             ["T-999", "大同市", "140200", 1, 20],
             ["T-001", "小店区", None, 1, None],
             ["T-001", "大同市", "140300", 1, None],
             ["T-001", "阳泉市", None, None, "3-5万元"]]
    path = write_xlsx([ITEM_HEADER, item_row(适用区域="山西省")], extra={"分市额度": alloc})
    result = read_items(path)
    assert [(a.city_code, a.slots, a.amount) for a in result.allocations] == [("140100", 3, Decimal("600000"))]
    assert [(e.sheet, e.row) for e in result.errors] == [("分市额度", r) for r in (3, 4, 5, 6, 7)]


def test_a_two_row_header_without_merges_takes_blank_names_from_the_group_row(write_xlsx):
    rows = [GROUP_ROW, SUB_ROW, grouped_row(1, "科技政策", "K-1")]  # 考核年度 etc. only in the upper row
    result = read_items(write_xlsx(rows))
    assert result.errors == []
    v = result.items[0].values
    assert (v["fiscal_year"], v["apply_start"], v["cap"]) == (2025, date(2026, 3, 1), Decimal("100000"))


def test_a_budget_merged_over_several_items_is_refused_not_multiplied(write_xlsx):
    rows = [GROUP_ROW, SUB_ROW, grouped_row(1, "科技政策", "K-1", budget="3000"), grouped_row(2, None, "K-2", budget=None),
            grouped_row(3, None, "K-3", budget=None), grouped_row(4, None, "K-4", budget="50")]
    result = read_items(write_xlsx(rows, merges=["B1:C1", "D1:H1", "J1:K1", "L1:M1", "N1:N2", "O1:O2", "P1:P2",
                                                 "B3:B5", "K3:K5", "L3:L5"]))
    assert [(e.row, e.column, e.value) for e in result.errors] == [(r, "资金规模（万元）", "3000") for r in (3, 4, 5)]
    assert all("跨第 3–5 行的合并单元格" in e.message for e in result.errors)
    assert [(r.values["code"], r.values["cap"], r.values["budget"]) for r in result.items] == [
        ("K-4", Decimal("100000"), Decimal("500000"))]


def test_an_item_code_that_lost_digits_as_a_number_is_one_error_without_a_warning(write_xlsx):
    row = grouped_row(1, "科技政策", "X")
    row[3] = 914401051234567936  # 事项编码 typed into a number cell
    rows = [GROUP_ROW, SUB_ROW, row]
    result = read_items(write_xlsx(rows, merges=["B1:C1", "D1:H1", "J1:K1", "L1:M1", "N1:N2", "O1:O2", "P1:P2"]))
    assert [(e.row, e.column) for e in result.errors] == [(3, "事项编码")]
    assert result.errors[0].message.startswith("事项编码以数字存储（914401051234567936）")
    assert [w for w in result.warnings if w.column == "事项编码"] == []
