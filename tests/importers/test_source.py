import io
import zipfile

import pytest

from importers import (
    FileTooLargeError,
    Limits,
    NoHeaderError,
    UndecodableFileError,
    UnsupportedFormatError,
    ZipBombError,
    read_feed,
    read_items,
)
from importers.source import decode_text, load_sheets

from .conftest import ITEM_HEADER, item_row

CREDIT_ROWS = [["统一社会信用代码", "主体名称", "严重失信主体名单"], ["91140107QU7BAC9L8R", "山西盛创0261科技有限公司", "是"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_utf8_with_or_without_bom_and_gbk_files_are_read(write_csv, encoding):
    path = write_csv(CREDIT_ROWS, encoding=encoding)
    result = read_feed(path, "credit")
    assert result.enterprises == 1
    assert result.errors == []


def test_a_latin1_file_is_refused_not_misread_as_chinese(write_csv):
    rows = [["统一社会信用代码".encode().hex(), "Société Générale", "Créée à Genève, réseau élargi"]] * 3
    path = write_csv(rows, encoding="latin-1")
    with pytest.raises(UndecodableFileError):
        read_feed(path, "credit")


def test_latin1_bytes_that_happen_to_decode_as_gb18030_are_refused():
    data = "Résidence Générale Méditerranée Bérénice".encode("latin-1")
    data.decode("gb18030")  # the trap: it decodes
    with pytest.raises(UndecodableFileError):
        decode_text(data, "x.csv")


def test_a_gbk_file_with_a_rare_name_character_is_still_read():
    assert decode_text("统一社会信用代码,企业名称\n1,山西𬱖鑫科技有限公司\n".encode("gb18030"), "x.csv").startswith("统一")


def test_a_file_over_the_byte_limit_is_refused_before_parsing(write_csv):
    path = write_csv(CREDIT_ROWS * 50)
    with pytest.raises(FileTooLargeError):
        read_feed(path, "credit", limits=Limits(max_file_bytes=1000))


def test_a_csv_with_too_many_rows_is_refused(write_csv):
    path = write_csv(CREDIT_ROWS + [CREDIT_ROWS[1]] * 20)
    with pytest.raises(FileTooLargeError):
        read_feed(path, "credit", limits=Limits(max_rows=10))


def test_a_sheet_with_too_many_rows_is_refused(write_xlsx):
    path = write_xlsx([ITEM_HEADER] + [item_row(事项编码=f"T-{i}") for i in range(20)])
    with pytest.raises(FileTooLargeError):
        read_items(path, limits=Limits(max_rows=10))


def _zip_bomb(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b"0" * 20_000_000 + b">")
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(buf.getvalue())
    return path


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path):
    path = _zip_bomb(tmp_path)
    assert path.stat().st_size < 100_000
    with pytest.raises(ZipBombError):
        read_items(path)


def test_an_xlsx_unpacking_over_the_size_cap_is_refused(write_xlsx):
    path = write_xlsx([ITEM_HEADER, item_row()])
    with pytest.raises(ZipBombError):
        read_items(path, limits=Limits(max_unpacked_bytes=2000))


def test_the_reader_is_chosen_from_the_content_not_the_name(write_xlsx):
    path = write_xlsx([ITEM_HEADER, item_row()], name="looks_like.csv")
    assert [i.values["code"] for i in read_items(path).items] == ["T-001"]


@pytest.mark.parametrize(
    "content",
    [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, b"\x89PNG\r\n\x1a\n\x00\x00", b"PK\x03\x04garbage"],
)
def test_a_damaged_xls_a_binary_and_a_broken_zip_are_unsupported(tmp_path, content):
    path = tmp_path / "x.xlsx"
    path.write_bytes(content)
    with pytest.raises(UnsupportedFormatError):
        load_sheets(path)


def test_a_zip_that_is_not_a_workbook_is_unsupported(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    path = tmp_path / "doc.xlsx"
    path.write_bytes(buf.getvalue())
    with pytest.raises(UnsupportedFormatError):
        load_sheets(path)


def test_a_file_without_a_known_header_row_is_refused(write_csv):
    path = write_csv([["甲", "乙"], ["1", "2"]])
    with pytest.raises(NoHeaderError):
        read_items(path)
