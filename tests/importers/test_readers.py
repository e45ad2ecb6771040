"""Readers: formats chosen by content, refusals that say what the file is, limits, formulas. Inputs built in code."""

import io
import re
import time
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.styles import Font

from importers import (
    EmptyFileError,
    FileTooLargeError,
    Limits,
    NoHeaderError,
    UndecodableFileError,
    UnsupportedFormatError,
    ZipBombError,
    read_feed,
    read_items,
)

from .conftest import ITEM_HEADER, item_row

xlwt = pytest.importorskip("xlwt", reason="xlwt (a dev dependency) builds the legacy .xls inputs")


def write_xls(path, rows, merges=()):
    """A BIFF8 .xls; datetime cells get a date format so xlrd sees date cells, as from Excel."""
    book = xlwt.Workbook()
    ws = book.add_sheet("奖补事项清单")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    merged = {(r1, c1): (r1, r2, c1, c2) for r1, r2, c1, c2 in merges}
    covered = {(r, c) for r1, r2, c1, c2 in merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if (r, c) in merged:
                ws.write_merge(*merged[r, c], value)
            elif (r, c) in covered or value is None:
                continue
            elif isinstance(value, datetime):
                ws.write(r, c, value, date_style)
            else:
                ws.write(r, c, value)
    book.save(str(path))
    return path


def item_table():
    """Title row, header, three items sharing one policy name, a date cell and numbers, as administrators send."""
    header = ["政策名称"] + ITEM_HEADER
    rows = [["某市2025年度奖补事项清单"], header]
    for i, (cap, start) in enumerate([(10, datetime(2026, 3, 1)), ("0.57", "2026年3月1日"), (2.5, "2026/3/1")]):
        rows.append(["科技创新若干措施" if i == 0 else None] + item_row(事项编码=f"T-{i}", 单户上限=cap, 申报开始=start))
    return rows


def test_a_legacy_xls_is_read_with_merges_dates_and_numbers_like_the_same_xlsx(tmp_path, write_xlsx):
    rows = item_table()
    xls = read_items(write_xls(tmp_path / "list.xls", rows, merges=[(2, 4, 0, 0)]))
    xlsx = read_items(write_xlsx(rows, merges=["A3:A5"]))
    assert xls.errors == [] and xls.sheet_used == "奖补事项清单"
    assert [r.values for r in xls.items] == [r.values for r in xlsx.items]
    assert [r.values["policy_title"] for r in xls.items] == ["科技创新若干措施"] * 3
    assert [r.values["cap"] for r in xls.items] == [Decimal("10"), Decimal("0.57"), Decimal("2.5")]
    assert {r.values["apply_start"] for r in xls.items} == {date(2026, 3, 1)}
    assert [r.row for r in xls.items] == [3, 4, 5]


def test_the_reader_follows_the_content_so_an_xls_named_csv_is_read_as_xls(tmp_path):
    path = write_xls(tmp_path / "list.csv", item_table())
    assert [r.values["code"] for r in read_items(path).items] == ["T-0", "T-1", "T-2"]


def test_an_xls_over_the_row_limit_is_refused(tmp_path):
    path = write_xls(tmp_path / "big.xls", [ITEM_HEADER] + [item_row(事项编码=f"T-{i}") for i in range(30)])
    with pytest.raises(FileTooLargeError, match="行"):
        read_items(path, limits=Limits(max_rows=10))


def test_a_password_protected_workbook_is_refused_with_how_to_fix(tmp_path):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le"))
    with pytest.raises(UnsupportedFormatError, match="密码"):
        read_items(path)


@pytest.mark.parametrize("content", [b"", b" \r\n\t ", b"\xef\xbb\xbf", b",,,\r\n,,\r\n"])
def test_an_empty_file_says_it_is_empty(tmp_path, content):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(EmptyFileError) as info:
        read_items(path)
    assert "空" in info.value.message and "表头" not in info.value.message


def test_a_workbook_with_only_empty_sheets_says_it_is_empty(write_xlsx):
    with pytest.raises(EmptyFileError, match="没有任何数据"):
        read_items(write_xlsx([], extra={"Sheet2": []}))


@pytest.mark.parametrize(
    ("content", "error", "says"),
    [
        (b"%PDF-1.7\n1 0 obj <<>> endobj\n", UnsupportedFormatError, "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", UnsupportedFormatError, "图片"),
        ("<html><body><table><tr><td>事项编码</td></tr></table></body></html>".encode(), UnsupportedFormatError, "网页"),
        (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
         UnsupportedFormatError, "XML"),
        ("事项编码\t事项名称\n".encode("utf-16"), UndecodableFileError, "UTF-16"),
        (bytes(range(1, 32)) * 10, UnsupportedFormatError, "控制字符"),
    ],
)
def test_a_file_that_is_not_a_table_is_refused_saying_what_it_is(tmp_path, content, error, says):
    path = tmp_path / "upload.xls"
    path.write_bytes(content)
    with pytest.raises(error, match=says):
        read_items(path)


@pytest.mark.parametrize(("member", "says"), [("mimetype", "ODS"), ("word/document.xml", "Word"), ("a.csv", "解压")])
def test_a_zip_that_is_not_an_xlsx_says_what_it_is(tmp_path, member, says):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(member, "application/vnd.oasis.opendocument.spreadsheet" if member == "mimetype" else "x")
    path = tmp_path / "x.xlsx"
    path.write_bytes(buf.getvalue())
    with pytest.raises(UnsupportedFormatError, match=says):
        read_items(path)


def test_text_without_a_header_quotes_the_first_row_it_saw(write_csv):
    with pytest.raises(NoHeaderError) as info:
        read_items(write_csv([["姓名", "电话"], ["张三", "123"]]))
    assert "第 1 行是“姓名、电话”" in info.value.message


def test_gbk_and_utf8_bom_csv_of_the_same_table_give_identical_records(write_csv):
    rows = [ITEM_HEADER, item_row(事项名称="高新技术企业认定奖励", 资金来源="市级财政（科技专项）", 单户上限="１，０００"),
            item_row(事项编码="T-002", 适用区域="阳泉市城区", 申报开始="2026年3月1日")]
    gbk = read_items(write_csv(rows, encoding="gbk", name="gbk.csv"))
    bom = read_items(write_csv(rows, encoding="utf-8-sig", name="bom.csv"))
    assert gbk.errors == [] and len(gbk.items) == 2
    assert [(r.row, r.values) for r in gbk.items] == [(r.row, r.values) for r in bom.items]
    assert gbk.items[0].values["name"] == "高新技术企业认定奖励"


def _bomb(tmp_path, megabytes):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<sheetData>" + b"<row>" * (megabytes * 1024 * 1024 // 5))
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(buf.getvalue())
    return path


def test_an_xlsx_bomb_is_refused_in_under_a_second(tmp_path):
    path = _bomb(tmp_path, 60)
    assert path.stat().st_size < 1_000_000
    start = time.perf_counter()
    with pytest.raises(ZipBombError, match="压缩"):
        read_items(path)
    assert time.perf_counter() - start < 1.0


def test_too_many_rows_in_an_xlsx_are_refused_before_the_sheet_is_built(write_xlsx, monkeypatch):
    path = write_xlsx([ITEM_HEADER] + [item_row(事项编码=f"T-{i}") for i in range(50)])
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("parsed before the row check"))
    with pytest.raises(FileTooLargeError, match="10 行"):
        read_items(path, limits=Limits(max_rows=10))


def test_too_many_columns_are_refused_in_xlsx_and_csv(write_xlsx, write_csv):
    wide = ITEM_HEADER + [f"备用{i}" for i in range(20)]
    for path in (write_xlsx([wide, item_row()]), write_csv([wide, item_row()])):
        with pytest.raises(FileTooLargeError, match="列"):
            read_items(path, limits=Limits(max_columns=20))


def test_formatting_far_below_the_table_is_not_counted_as_rows(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(ITEM_HEADER)
    book.active.append(item_row())
    book.active.cell(row=5000, column=300).font = Font(bold=True)
    book.save(tmp_path / "styled.xlsx")
    result = read_items(tmp_path / "styled.xlsx", limits=Limits(max_rows=100, max_columns=50))
    assert [r.values["code"] for r in result.items] == ["T-001"]


def test_openpyxl_parses_through_defusedxml_and_a_dtd_in_a_sheet_is_refused(write_xlsx, tmp_path):
    assert openpyxl.xml.DEFUSEDXML is True
    src = write_xlsx([ITEM_HEADER, item_row()])
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    path = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = laughs + re.sub(rb"^<\?xml[^>]*\?>", b"", data)
            zout.writestr(info, data)
    with pytest.raises(UnsupportedFormatError, match="不安全"):
        read_items(path)


def patch_sheet(path, pattern, replacement):
    """Rewrite the first worksheet's XML the way another program would have written it."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts["xl/worksheets/sheet1.xml"], n = re.subn(pattern, replacement, parts["xl/worksheets/sheet1.xml"])
    assert n, "pattern not found"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_a_formula_without_a_cached_value_is_an_error_never_blank_or_zero(write_xlsx):
    # openpyxl, like many export tools, writes formulas without computing them: <f>…</f><v/>.
    path = write_xlsx([ITEM_HEADER, item_row(单户上限="=5*2"), item_row(事项编码="T-002", 事项名称='=CONCAT("a","b")')])
    result = read_items(path)
    assert result.items == []
    assert [(e.sheet, e.row, e.column, e.value) for e in result.errors] == [
        ("Sheet1", 2, "单户上限", "=5*2"), ("Sheet1", 3, "事项名称", '=CONCAT("a","b")')]
    assert all("请用 Excel 或 WPS 打开该文件、保存后重新导入" in e.message for e in result.errors)


def test_a_formula_with_its_cached_value_is_read_as_that_value(write_xlsx):
    path = patch_sheet(write_xlsx([ITEM_HEADER, item_row(单户上限="=5*2")]), rb"<f>5\*2</f><v\s*/>",
                       b"<f>5*2</f><v>10</v>")
    result = read_items(path)
    assert result.errors == [] and result.items[0].values["cap"] == Decimal("10")


def test_a_formula_whose_cached_result_is_empty_text_is_blank(write_xlsx):
    path = write_xlsx([ITEM_HEADER, item_row(资金来源='=IF(1=1,"","x")')])
    path = patch_sheet(path, rb'<c r="J2"><f>(.*?)</f><v\s*/></c>', rb'<c r="J2" t="str"><f>\1</f><v></v></c>')
    result = read_items(path)
    assert result.errors == [] and result.items[0].values["funding_source"] is None


def test_an_excel_error_value_is_an_error_with_its_code(write_xlsx):
    result = read_items(write_xlsx([ITEM_HEADER, item_row(资金规模="#DIV/0!")]))
    assert [(e.row, e.column, e.value) for e in result.errors] == [(2, "资金规模", "#DIV/0!")]
    assert "错误值 #DIV/0!" in result.errors[0].message


def test_a_formula_credit_code_in_a_feed_is_an_error(write_xlsx):
    path = write_xlsx([["统一社会信用代码", "主体名称", "严重失信主体名单"], ['=A5&""', "某公司", "是"]])
    result = read_feed(path, "credit")
    assert [(e.row, e.column, e.value) for e in result.errors] == [(2, "统一社会信用代码", '=A5&""')]
    assert "WPS" in result.errors[0].message


def test_an_error_value_in_an_xls_is_an_error_not_text(tmp_path):
    book = xlwt.Workbook()
    ws = book.add_sheet("清单")
    for r, row in enumerate([ITEM_HEADER, item_row(资金规模=None)]):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    ws.row(1).set_cell_error(ITEM_HEADER.index("资金规模"), 0x07)  # #DIV/0!
    book.save(str(tmp_path / "e.xls"))
    result = read_items(tmp_path / "e.xls")
    assert [(e.sheet, e.row, e.column, e.value) for e in result.errors] == [("清单", 2, "资金规模", "#DIV/0!")]


def test_a_pretty_printed_sheet_with_styled_empty_cells_loses_nothing(write_xlsx):
    path = patch_sheet(write_xlsx([ITEM_HEADER, item_row(资金来源="省级财政")]), rb"<c ", b"\n    <c ")
    path = patch_sheet(path, rb"</row>", b'<c r="Z2" s="0"/>\n  </row>')
    path = patch_sheet(path, rb"<is>", b"\n      <is>")
    result = read_items(path)
    assert result.errors == [] and result.items[0].values["funding_source"] == "省级财政"
    assert result.items[0].values["apply_end"] == date(2026, 12, 31)  # the last column
