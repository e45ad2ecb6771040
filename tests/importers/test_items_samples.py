"""The three real item lists in examples/. Expected values were read off the files (openpyxl / a text editor)."""

from datetime import date
from decimal import Decimal

import pytest

from importers import read_items

from .conftest import EXAMPLES

TAIYUAN = EXAMPLES / "太原市2025年度惠企政策奖补事项清单.xlsx"
PROVINCE = EXAMPLES / "山西省2025年度省级惠企政策奖补事项清单.xlsx"
DATONG = EXAMPLES / "大同市2025年度奖补事项清单.csv"


@pytest.fixture(scope="module")
def taiyuan():
    return read_items(TAIYUAN)


def by_code(result):
    return {r.values["code"]: r for r in result.items}


def test_taiyuan_has_ten_valid_items_on_rows_5_to_14_and_no_issues(taiyuan):
    assert [r.row for r in taiyuan.items] == list(range(5, 15))
    assert taiyuan.errors == [] and taiyuan.warnings == []
    assert taiyuan.sheet_used == "奖补事项清单"


def test_the_policy_name_merged_over_its_items_is_filled_into_each(taiyuan):
    items = by_code(taiyuan)
    for code in ("TY-KJ-001", "TY-KJ-002", "TY-KJ-003"):
        assert items[code].values["policy_title"] == "太原市支持科技创新若干措施"
        assert items[code].values["policy_doc_no"] == "并政发〔2025〕3号"
        assert items[code].values["department"] == "太原市科学技术局"
    assert items["TY-YS-003"].values["policy_title"] == "太原市优化营商环境惠企措施"


def test_the_wan_yuan_header_unit_is_applied_to_cap_and_budget(taiyuan):
    v = by_code(taiyuan)["TY-KJ-001"].values
    assert (v["cap"], v["budget"]) == (Decimal("200000"), Decimal("20000000"))
    assert by_code(taiyuan)["TY-YS-001"].values["cap"] == Decimal("5000")  # 0.5 万元
    assert by_code(taiyuan)["TY-YS-002"].values["budget"] == Decimal("10000000")  # full-width １０００ 万元


def test_taiyuan_dates_in_every_spelling_are_read(taiyuan):
    items = by_code(taiyuan)
    assert (items["TY-YS-001"].values["apply_start"], items["TY-YS-001"].values["apply_end"]) == (
        date(2026, 3, 1), date(2026, 12, 31))  # '2026.3.1' and serial 46387
    assert items["TY-GX-003"].values["apply_end"] == date(2026, 12, 31)  # '2026年12月31日'
    assert items["TY-GX-001"].values["apply_end"] == date(2027, 6, 30)


def test_taiyuan_enumerations_defaults_and_region_names(taiyuan):
    items = by_code(taiyuan)
    kj1 = items["TY-KJ-001"].values
    assert kj1["mode"] == "apply_free" and kj1["category"] == "奖励" and kj1["region_code"] == "140100"
    assert (kj1["period"], kj1["status"], kj1["commitment_allowed"], kj1["notice_days"]) == ("yearly", "listed", False, 0)
    assert kj1["fiscal_year"] == 2025 and kj1["paying_agency"] == "财政" and kj1["contact"] == "0351-0000001"
    assert kj1["amount_formula"] == "200000"
    assert items["XD-GX-001"].values["region_code"] == "140105"  # 小店区
    assert items["TY-KJ-003"].values["mode"] == "instant_apply"
    ys3 = items["TY-YS-003"].values
    assert (ys3["mode"], ys3["eligibility"], ys3["amount_formula"], ys3["cap"]) == (
        "on_application", None, None, Decimal("3000000"))


def test_the_province_list_has_four_items_and_eleven_city_allocations():
    result = read_items(PROVINCE)
    assert result.errors == []
    items = by_code(result)
    assert sorted(items) == ["SX-GX-001", "SX-RS-001", "SX-RS-002", "SX-SW-001"]
    assert {r.values["region_code"] for r in result.items} == {"140000"}
    assert items["SX-RS-001"].values["paying_agency"] == "失业保险基金"
    assert items["SX-RS-001"].values["budget"] == Decimal("500000000")
    assert items["SX-RS-001"].values["cap"] is None
    tax = items["SX-SW-001"].values
    assert (tax["category"], tax["paying_agency"], tax["budget"], tax["contact"]) == ("税收减免", "税务", None, "12366")
    assert items["SX-RS-002"].values["paying_agency"] == "财政"  # 就业补助资金
    assert len(result.allocations) == 11
    assert result.allocations_sheet == "分市额度"
    first = result.allocations[0]
    assert (first.item_code, first.city_code, first.slots, first.amount, first.row) == (
        "SX-GX-001", "140100", 30, Decimal("6000000"), 2)
    assert sum(a.slots for a in result.allocations) == 100
    assert sum(a.amount for a in result.allocations) == Decimal("20000000")


def test_datong_has_three_valid_items_and_the_window_error_on_row_5():
    result = read_items(DATONG)
    assert [r.values["code"] for r in result.items] == ["DT-KJ-001", "DT-GX-001", "DT-GX-002"]
    assert [(e.sheet, e.row, e.column, e.value) for e in result.errors] == [
        ("大同市2025年度奖补事项清单.csv", 5, "申报截止", "2025-12-31")]
    assert "早于申报开始 2026-03-01" in result.errors[0].message


def test_datong_amounts_written_as_text_with_units():
    items = by_code(read_items(DATONG))
    assert (items["DT-KJ-001"].values["cap"], items["DT-KJ-001"].values["budget"]) == (
        Decimal("150000"), Decimal("15000000"))
    assert (items["DT-GX-001"].values["cap"], items["DT-GX-001"].values["budget"]) == (
        Decimal("2000000"), Decimal("20000000"))
    assert (items["DT-GX-002"].values["cap"], items["DT-GX-002"].values["budget"]) == (
        Decimal("100000"), Decimal("5000000"))
    assert items["DT-GX-002"].values["apply_start"] == date(2026, 3, 1)
    assert items["DT-KJ-001"].values["region_code"] == "140200"
