"""Values as administrators type them, read through whole files: exact parsed values or exact errors."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc

from importers import MissingColumnsError, read_feed, read_items
from importers.cells import CellError, amount
from importers.codes import credit_code, industry_code, industry_divisions, region_code
from rules.money import yuan_to_fen

from .conftest import ITEM_HEADER, item_row

MARKET = ["统一社会信用代码", "企业名称", "行政区划代码", "行业代码"]
GOOD_CODE = "91140171F6XDFJDN86"


def one_error(result):
    assert len(result.errors) == 1, result.errors
    e = result.errors[0]
    return e.sheet, e.row, e.column, e.value


def test_an_18_digit_credit_code_stored_as_a_number_is_refused_with_an_explicit_message(write_xlsx):
    path = write_xlsx([MARKET, [911401001234567890, "某公司", "140105", "3511"], [GOOD_CODE, "好公司", None, None]])
    result = read_feed(path, "market")
    # Like Excel, the file keeps a float: the value seen is what Excel shows, its last digits already zero.
    assert one_error(result) == ("Sheet1", 2, "统一社会信用代码", "911401001234568000")
    assert result.errors[0].message.startswith("统一社会信用代码以数字存储，可能已丢失位数")
    assert "文本格式" in result.errors[0].message
    assert set(result.observations.credit_code) == {GOOD_CODE}


def test_an_18_digit_code_shown_in_scientific_notation_in_a_csv_is_refused(write_csv):
    result = read_feed(write_csv([MARKET, ["9.11401E+17", "某公司", "140105", "3511"]]), "market")
    assert one_error(result) == ("t.csv", 2, "统一社会信用代码", "9.11401E+17")
    assert "科学计数法" in result.errors[0].message


def test_an_item_code_that_is_a_long_number_is_refused_not_truncated(write_xlsx):
    result = read_items(write_xlsx([ITEM_HEADER, item_row(事项编码=140100202500000123)]))
    assert one_error(result)[1:] == (2, "事项编码", "140100202500000000")
    assert "15位" in result.errors[0].message and result.items == []


def test_codes_that_lost_a_leading_zero_or_are_not_in_the_tables_are_errors(write_xlsx):
    rows = [MARKET, [GOOD_CODE, "甲", 140105, 511], [GOOD_CODE.replace("86", "00"), "乙", "149999", "3511"],
            ["91140107QU7BAC9L8R", "丙", "140105", "9911"], ["91140829Y1AWB92P0B", "丁", 140105, "0511"]]
    result = read_feed(write_xlsx(rows), "market")
    got = [(e.row, e.column, e.value) for e in result.errors]
    assert got == [(2, "行业代码", "511"), (3, "统一社会信用代码", "91140171F6XDFJDN00"), (3, "行政区划代码", "149999"),
                   (4, "行业代码", "9911")]
    assert "前导零" in result.errors[0].message and "大类 99" in result.errors[3].message
    assert set(result.observations.credit_code) == {"91140829Y1AWB92P0B"}


def test_the_division_table_is_gbt4754_2017_with_97_divisions():
    table = industry_divisions()
    assert len(table) == 97 and table["01"] == "农业" and table["97"] == "国际组织" and table["65"] == "软件和信息技术服务业"
    assert "00" not in table and "98" not in table


@pytest.mark.parametrize(
    ("parser", "raw", "expected"),
    [(credit_code, " 91140171f6xdfjdn86 ", GOOD_CODE), (region_code, 140105, "140105"), (industry_code, "3511", "3511")],
)
def test_code_parsers_normalise_good_codes(parser, raw, expected):
    assert parser(raw) == expected


@pytest.mark.parametrize(("parser", "raw"), [(credit_code, 9.11401001234568e17), (region_code, "999999"),
                                              (industry_code, "35a1"), (industry_code, 3511.5)])
def test_code_parsers_refuse_bad_codes(parser, raw):
    with pytest.raises(CellError):
        parser(raw)


def test_057_wan_yuan_is_exactly_5700_yuan_from_a_number_cell_and_from_text(write_xlsx, write_csv):
    header = [h if h != "单户上限" else "单户上限（万元）" for h in ITEM_HEADER]
    for path in (write_xlsx([header, item_row(单户上限=0.57)]), write_csv([header, item_row(单户上限="0.57")])):
        cap = read_items(path).items[0].values["cap"]
        assert cap == Decimal("5700.00") and yuan_to_fen(cap) == 570_000


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("1,500万元", "15000000"), ("１，０００", "1000"), ("50万", "500000"), ("最高200万元", "2000000"),
     ("2.5亿元", "250000000"), (1234.5, "1234.5"), (0.1 + 0.2, "0.3")],
)
def test_amount_spellings_in_a_file_give_exact_yuan(write_xlsx, cell, expected):
    result = read_items(write_xlsx([ITEM_HEADER, item_row(资金规模=cell)]))
    assert result.errors == [] and result.items[0].values["budget"] == Decimal(expected)


@pytest.mark.parametrize(("cell", "reason"), [("3万元-5万元", "区间"), ("10万元、20万元", "多个数值"),
                                              ("约10万元", "无法识别"), ("12.345元", "分")])
def test_an_amount_that_is_not_one_number_is_an_error_on_a_numeric_column(write_csv, cell, reason):
    result = read_items(write_csv([ITEM_HEADER, item_row(单户上限=cell)]))
    assert one_error(result)[1:] == (2, "单户上限", cell)
    assert reason in result.errors[0].message


def test_a_range_on_a_prose_column_is_kept_as_text(write_csv):
    header = ITEM_HEADER + ["奖补标准"]
    result = read_items(write_csv([header, item_row() + ["按规模给予3万元-5万元奖励"]]))
    assert result.errors == [] and result.items[0].values["standard_text"] == "按规模给予3万元-5万元奖励"


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_full_width_and_grouped_spellings_equal_the_plain_number(n):
    grouped = f"{n:,}"
    full = grouped.translate(str.maketrans("0123456789,.", "０１２３４５６７８９，．"))
    assert amount(grouped) == amount(full) == amount(str(n)) == n


def test_2024_nian_3_yue_1_ri_gives_2024_03_01(write_csv):
    result = read_items(write_csv([ITEM_HEADER, item_row(申报开始="2024年3月1日")]))
    assert result.errors == [] and result.items[0].values["apply_start"] == date(2024, 3, 1)


@pytest.mark.parametrize("cell", ["2026-03-01", "2026/3/1", "2026.3.1", "2026年3月1日", "20260301", 20260301, 46082])
def test_every_date_form_in_a_workbook_gives_the_same_day(write_xlsx, cell):
    result = read_items(write_xlsx([ITEM_HEADER, item_row(申报开始=cell)]))
    assert result.errors == [] and result.items[0].values["apply_start"] == date(2026, 3, 1)


@pytest.mark.parametrize("cell", ["2026年3月", "3/1/2026", "26.3.1", "2026-02-30", "下月初", 1200])
def test_any_other_date_is_a_row_error_never_a_guess(write_xlsx, cell):
    result = read_items(write_xlsx([ITEM_HEADER, item_row(申报开始=cell)]))
    assert one_error(result)[1:3] == (2, "申报开始")
    assert "应为日期" in result.errors[0].message or "日期序号" in result.errors[0].message


def test_enumerations_match_after_normalisation_and_unknown_ones_list_the_choices(write_csv):
    rows = [ITEM_HEADER, item_row(兑现方式="依 申 请", 扶持类型="\u3000奖励\u00a0"),
            item_row(事项编码="T-2", 兑现方式="申请制")]
    result = read_items(write_csv(rows))
    assert [(r.values["mode"], r.values["category"]) for r in result.items] == [("on_application", "奖励")]
    assert one_error(result)[1:] == (3, "兑现方式", "申请制")
    assert "应为：免申即享、即申即享、依申请" in result.errors[0].message


def test_header_noise_and_units_are_metadata_applied_once(write_csv):
    header = [{"事项编码": "＊事项编码", "事项名称": "事项\u3000名称*", "单户上限": " 单户上限（万元） ",
               "资金规模": "资金规模\u00a0(万元)＊"}.get(h, h) for h in ITEM_HEADER]
    result = read_items(write_csv([header, item_row(单户上限="15", 资金规模="15万元")]))
    assert result.errors == []
    v = result.items[0].values
    assert (v["code"], v["name"], v["cap"], v["budget"]) == ("T-001", "测试事项", Decimal("150000"), Decimal("150000"))


def test_a_merged_policy_name_is_filled_into_its_three_rows_and_other_blanks_stay_blank(write_xlsx):
    header = ["政策名称", "主管部门"] + ITEM_HEADER
    rows = [header] + [["稳岗政策" if i == 0 else None, "人社局" if i == 0 else None] + item_row(事项编码=f"T-{i}")
                       for i in range(4)]
    result = read_items(write_xlsx(rows, merges=["A2:A4"]))
    assert [r.values["policy_title"] for r in result.items] == ["稳岗政策"] * 3 + [None]
    assert [r.values["department"] for r in result.items] == ["人社局", None, None, None]


def test_remark_and_total_rows_before_and_after_the_table_are_not_records(write_xlsx):
    rows = [["备注：请按模板填写"], ITEM_HEADER, item_row(), ["注：本表由财政局汇总"],
            ["说明", "以上事项按年度兑现"], item_row(事项编码="T-2"), ["合计", None, None, None, None, None, None, 20, 200]]
    result = read_items(write_xlsx(rows, merges=["A4:M4"]))
    assert result.errors == [] and [r.row for r in result.items] == [3, 6]
    assert [(w.row, w.value, w.message) for w in result.warnings] == [(7, "合计", "合计行不是事项，未导入")]


def test_a_unit_stated_above_the_table_applies_once_to_money_columns_without_their_own(write_xlsx):
    header = [h if h != "资金规模" else "资金规模（元）" for h in ITEM_HEADER]
    rows = [["某市奖补事项清单"], ["填报单位：某局　　金额单位：万元"], header,
            item_row(单户上限="10", 资金规模="300000"), item_row(事项编码="T-2", 单户上限="50000元")]
    result = read_items(write_xlsx(rows))
    assert [(r.values["cap"], r.values["budget"]) for r in result.items] == [
        (Decimal("100000"), Decimal("300000")), (Decimal("50000"), Decimal("100"))]
    assert [(w.row, w.column) for w in result.warnings] == [(3, "单户上限")]
    assert "万元" in result.warnings[0].message


def test_the_sheet_whose_header_matches_is_read_and_named(write_xlsx):
    notes = [["填表说明"], ["1. 事项编码由各市自行编制"], ["2. 金额以万元计"]]
    path = write_xlsx(notes, title="填表说明", extra={"事项清单": [ITEM_HEADER, item_row()], "Sheet3": []})
    result = read_items(path)
    assert result.sheet_used == "事项清单" and [r.sheet for r in result.items] == ["事项清单"]
    assert result.sheet_note == "文件有 3 个工作表，已读取表头匹配的工作表“事项清单”（未读取：填表说明、Sheet3）"


def test_when_no_sheet_matches_the_missing_columns_of_the_nearest_one_are_reported(write_xlsx):
    partial = [h for h in ITEM_HEADER if h != "考核年度"]
    path = write_xlsx([["填表说明"]], title="说明", extra={"清单": [partial, item_row()[:len(partial)]]})
    with pytest.raises(MissingColumnsError) as info:
        read_items(path)
    assert info.value.missing == ("考核年度",) and "清单" in info.value.message


def test_a_unit_on_the_group_row_of_a_two_row_header_applies_to_its_columns(write_xlsx):
    group = [None] * 7 + ["资金安排（万元）", None] + [None] * 4
    rows = [group, ITEM_HEADER, item_row(单户上限=0.5, 资金规模="200")]
    result = read_items(write_xlsx(rows, merges=["H1:I1"]))
    assert result.errors == []
    assert (result.items[0].values["cap"], result.items[0].values["budget"]) == (Decimal("5000"), Decimal("2000000"))


@pytest.mark.parametrize(("cell", "expected"), [("2026/3/1 0:00", date(2026, 3, 1)), ("2026-03-01 00:00:00", date(2026, 3, 1))])
def test_a_csv_date_with_a_midnight_time_from_excel_is_that_day(write_csv, cell, expected):
    assert read_items(write_csv([ITEM_HEADER, item_row(申报开始=cell)])).items[0].values["apply_start"] == expected


def test_a_date_with_a_real_time_of_day_is_an_error(write_csv):
    result = read_items(write_csv([ITEM_HEADER, item_row(申报开始="2026/3/1 9:30")]))
    assert one_error(result)[1:] == (2, "申报开始", "2026/3/1 9:30")


def test_a_yuan_sign_means_yuan_even_under_a_wan_yuan_header(write_csv):
    header = [h if h != "单户上限" else "单户上限（万元）" for h in ITEM_HEADER]
    result = read_items(write_csv([header, item_row(单户上限="￥200,000.00")]))
    assert result.items[0].values["cap"] == Decimal("200000")


USCC_TAIL = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@given(st.text("0123456789", min_size=8, max_size=8), st.text(USCC_TAIL, min_size=9, max_size=9))
def test_any_valid_credit_code_survives_spacing_case_and_full_width(head, tail):
    code = head + tail + uscc.calc_check_digit(head + tail)
    noisy = "\u3000" + code[:6].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + " " + code[6:].lower()
    assert credit_code(noisy) == credit_code(code) == code
