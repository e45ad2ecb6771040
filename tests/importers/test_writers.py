"""The pure writers: the error report, the import-format export, and the item-list template."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import Issue, read_items
from importers.cells import text
from importers.export import ExportError, item_header, write_items
from importers.items import ITEM_COLUMNS, MODES
from importers.report import ERROR_COLUMN, SUMMARY_SHEET, write_error_report
from importers.template import EXAMPLE_ROW, GUIDE_SHEET, HEADER_ROW, ITEM_SHEET, LISTS_SHEET, write_template
from rules import regions
from rules.vocabulary import FIELDS, Field

DANGEROUS = ["=HYPERLINK(\"http://x\")", "+86 351 1234567", "-2+3", "@SUM(A1)", "\tcmd"]


def _item(**overrides) -> dict:
    base = {c.field: None for c in ITEM_COLUMNS}
    base.update(code="A-001", name="测试事项", region_code="140100", category="奖励", mode="on_application",
                cap=Decimal("200000.50"), budget=Decimal("12345678901234.56"), funding_source="市级财政",
                fiscal_year=2025, apply_start=dt.date(2026, 3, 1), apply_end=dt.date(2026, 12, 31),
                period="once", commitment_allowed=True, notice_days=5, status="draft", policy_doc_no="0012号")
    base.update(overrides)
    return base


# -- error report ----------------------------------------------------------------------------------------

def test_error_report_keeps_rows_as_text_and_joins_every_reason_of_a_row(tmp_path):
    rows = [(1, ["清单标题", None, None]), (2, ["事项编码", "事项名称", "联系电话"]),
            (3, ["007", DANGEROUS[0], DANGEROUS[1]]), (4, ["008", DANGEROUS[2], DANGEROUS[3]]),
            (5, ["009", "好的一行", None])]
    issues = [Issue("表1", 3, "事项名称", DANGEROUS[0], "事项名称过长"),
              Issue("表1", 3, "联系电话", DANGEROUS[1], "电话格式不对"),
              Issue("表1", 4, "事项编码", "008", "编码重复"),
              Issue("表1", 99, "", "", "文件级问题")]
    out = tmp_path / "report.xlsx"
    write_error_report([("表1", rows)], issues, out, header_rows={"表1": 2})
    ws = openpyxl.load_workbook(out)["表1"]
    assert [[ws.cell(r, c).value for c in range(1, 4)] for r, _ in rows] == [list(v) for _, v in rows]
    assert ws.cell(2, 4).value == ERROR_COLUMN and ws.cell(1, 4).value is None
    assert ws.cell(3, 4).value == "事项名称：事项名称过长；联系电话：电话格式不对"
    assert ws.cell(4, 4).value == "事项编码：编码重复" and ws.cell(5, 4).value is None
    for r, c in ((3, 1), (3, 2), (3, 3), (4, 2), (4, 3)):
        assert ws.cell(r, c).data_type == "s"  # never a formula, codes keep their zeros
    assert ws.cell(3, 2).quotePrefix and not ws.cell(5, 2).quotePrefix
    summary = openpyxl.load_workbook(out)[SUMMARY_SHEET]
    listed = [[c.value for c in row] for row in summary.iter_rows(min_row=2)]
    assert listed == [[i.sheet, i.row, i.column or None, i.value or None, i.message] for i in issues]


def test_error_report_of_a_large_file_keeps_the_header_and_the_rows_with_errors(tmp_path):
    rows = [(1, ["编码", "名称"])] + [(n, [f"{n:04d}", "x"]) for n in range(2, 200)]
    out = tmp_path / "r.xlsx"
    write_error_report([("data.csv", rows)], [Issue("data.csv", 150, "名称", "x", "坏")], out,
                       only_error_rows=True)
    ws = openpyxl.load_workbook(out)["data.csv"]
    kept = [r[0].row for r in ws.iter_rows() if any(c.value is not None for c in r)]
    assert kept == [1, 150]
    assert (ws.cell(1, 3).value, ws.cell(150, 1).value, ws.cell(150, 3).value) == (ERROR_COLUMN, "0150", "名称：坏")


# -- export ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_exported_items_read_back_to_the_same_values(tmp_path, suffix):
    items = [_item(), _item(code="0002", mode="apply_free", eligibility="营业收入 >= 500万",
                            amount_formula="$min([研发费用 * 0.05, 50万])", cap=None, status="listed",
                            period="yearly", commitment_allowed=False, notice_days=0, region_code="140302",
                            contact=DANGEROUS[1], conditions_text=DANGEROUS[0], standard_text=DANGEROUS[3])]
    path = tmp_path / f"items{suffix}"
    write_items(path, items)
    result = read_items(path)
    assert result.errors == []
    for item, record in zip(items, result.items, strict=True):
        got = {k: v for k, v in record.values.items() if k != "paying_agency"}
        assert got == item


def test_export_refuses_csv_with_allocations_and_unknown_suffixes(tmp_path):
    alloc = [{"item_code": "A-001", "city_code": "140100", "slots": 3, "amount": Decimal("10")}]
    with pytest.raises(ExportError, match="xlsx"):
        write_items(tmp_path / "a.csv", [_item()], alloc)
    with pytest.raises(ExportError, match="不支持"):
        write_items(tmp_path / "a.txt", [_item()])
    write_items(tmp_path / "a.xlsx", [_item(region_code="140000")], alloc)
    back = read_items(tmp_path / "a.xlsx")
    assert [(a.item_code, a.city_code, a.slots, a.amount) for a in back.allocations] == [("A-001", "140100", 3,
                                                                                        Decimal("10"))]


_TEXT = st.text(st.sampled_from(list("事项政策补贴=+-@ ,\"'\n;abcXYZ019（）、")), min_size=1, max_size=30).filter(
    lambda s: text(s) == s)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(name=_TEXT, contact=_TEXT, suffix=st.sampled_from([".xlsx", ".csv"]))
def test_any_normalised_text_round_trips_through_export(tmp_path, name, contact, suffix):
    path = tmp_path / f"p{suffix}"
    write_items(path, [_item(name=name, contact=contact)])
    result = read_items(path)
    assert result.errors == []
    assert (result.items[0].values["name"], result.items[0].values["contact"]) == (name, contact)


def test_export_header_is_the_import_columns_with_money_in_yuan():
    header = item_header()
    assert header[0] == ITEM_COLUMNS[0].names[0] and "单户上限（元）" in header and len(header) == len(ITEM_COLUMNS)


# -- template --------------------------------------------------------------------------------------------

def test_template_example_row_imports_cleanly(tmp_path):
    path = tmp_path / "t.xlsx"
    write_template(path)
    result = read_items(path)
    assert (result.errors, result.sheet_used, len(result.items)) == ([], ITEM_SHEET, 1)
    assert result.items[0].row == EXAMPLE_ROW
    values = result.items[0].values
    assert values["mode"] == "apply_free" and values["eligibility"] and values["amount_formula"]


def test_template_has_every_header_and_drop_downs_from_a_hidden_list_sheet(tmp_path):
    path = tmp_path / "t.xlsx"
    write_template(path)
    book = openpyxl.load_workbook(path)
    ws = book[ITEM_SHEET]
    headers = [ws.cell(HEADER_ROW, c).value for c in range(1, len(ITEM_COLUMNS) + 1)]
    assert [h.rstrip("*").split("（")[0] for h in headers] == [c.names[0] for c in ITEM_COLUMNS]
    lists = book[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    columns = {lists.cell(1, c).value: [lists.cell(r, c).value for r in range(2, lists.max_row + 1)
                                        if lists.cell(r, c).value is not None]
               for c in range(1, lists.max_column + 1)}
    assert columns["兑现方式"] == list(MODES)
    assert set(columns["适用区域"]) == {r.full_name for r in regions.regions().values()}
    assert set(columns["可告知承诺"]) == {"是", "否"}
    by_column = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            by_column[headers[rng.min_col - 1].rstrip("*")] = (dv.formula1, rng.min_row, rng.max_row)
    assert set(by_column) == {"扶持类型", "兑现方式", "适用区域", "兑现频次", "可告知承诺", "状态"}
    formula, first, last = by_column["适用区域"]
    assert LISTS_SHEET in formula and first == EXAMPLE_ROW and last >= 1000


def test_template_cheat_sheet_lists_the_vocabulary_including_a_new_field(tmp_path, monkeypatch):
    new = Field("export_revenue", "出口额", "money", "元", "tax", True, False, "考核年度出口额，单位元")
    monkeypatch.setitem(FIELDS, new.code, new)
    path = tmp_path / "t.xlsx"
    write_template(path)
    guide = openpyxl.load_workbook(path)[GUIDE_SHEET]
    rows = {r[0]: r for r in guide.iter_rows(values_only=True) if r and r[0]}
    for code, f in FIELDS.items():
        assert rows[code][1] == f.label, code
    assert rows["export_revenue"][:5] == ("export_revenue", "出口额", "金额", "元", "税务")
    assert any(str(k).startswith("$") and "$min" in k for k in rows)
    assert "and / or / not" in rows


def test_an_error_report_reads_back_with_the_same_errors_and_formulas_as_text(tmp_path):
    from importers.header import best_sheet
    from importers.source import load_sheets
    from tests.importers.conftest import EXAMPLES

    book = openpyxl.load_workbook(EXAMPLES / "太原市2025年度惠企政策奖补事项清单.xlsx")
    ws = book.active
    ws["O5"], ws["F6"] = "3万元-5万元", "=A1&\"x\""  # a range, and a formula without a cached value
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    first = read_items(bad)
    sheets = load_sheets(bad)
    sheet, header = best_sheet(sheets, ITEM_COLUMNS)
    report = tmp_path / "report.xlsx"
    write_error_report([(s.name, s.rows) for s in sheets], first.errors, report, header_rows={sheet.name: header.row})
    out = openpyxl.load_workbook(report)[sheet.name]
    assert (out["F6"].value, out["F6"].data_type) == ("=A1&\"x\"", "s")
    assert [(e.row, e.column) for e in first.errors] == [(5, "资金规模（万元）"), (6, "事项名称")]
    assert "公式" in out.cell(6, out.max_column).value
    # The 错误原因 column is not an item column, so the report imports like the file (the formula is now text).
    again = read_items(report)
    assert again.errors == first.errors[:1]
    assert [r.values for r in again.items if r.row != 6] == [r.values for r in first.items]
