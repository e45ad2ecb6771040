"""Reading bank return files (xlsx, csv in GBK / UTF-8 with and without BOM)."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from disbursement import (
    ReturnFileError,
    classify_failure,
    read_bank_return,
    write_bank_return_csv,
    write_bank_return_xlsx,
)

from .factories import return_row

ROWS = [
    return_row(1),
    return_row(2, success=False, failure_reason_raw="收款人户名与账号不符", failure_code="户名不符"),
    return_row(3, success=False, failure_reason_raw="账户已冻结", failure_code="账户冻结"),
]


def without_row_numbers(rows):
    return [(r.payment_ref, r.success, r.failure_reason_raw, r.failure_code, r.bank_txn_no, r.processed_on)
            for r in rows]  # fmt: skip


def test_an_xlsx_written_as_the_bank_reads_back_below_its_title_rows(tmp_path):
    path = tmp_path / "回单.xlsx"
    path.write_bytes(write_bank_return_xlsx(ROWS))
    result = read_bank_return(path)
    assert result.errors == []
    assert result.file_format == "xlsx" and result.header_row == 3
    assert [r.row for r in result.rows] == [4, 5, 6]
    assert without_row_numbers(result.rows) == without_row_numbers(ROWS)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_a_csv_reads_in_every_accepted_encoding(encoding):
    data = write_bank_return_csv(ROWS, encoding=encoding)
    assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    result = read_bank_return(data)
    assert result.file_format == "csv" and result.errors == []
    assert [r.row for r in result.rows] == [2, 3, 4]
    assert without_row_numbers(result.rows) == without_row_numbers(ROWS)


def test_the_format_is_chosen_by_content_not_by_file_name(tmp_path):
    path = tmp_path / "回单.csv"
    path.write_bytes(write_bank_return_xlsx(ROWS))
    assert read_bank_return(path).file_format == "xlsx"


def test_a_messy_csv_with_title_notes_synonyms_and_a_footer_is_read():
    text = (
        "中国建设银行代发业务回单\r\n"
        "打印日期：2026-07-04\r\n"
        "交易流水号,支付编号 , 处理结果（成功/失败）,失败原因,处理日期\r\n"
        "T1,ph000000000101,成功,,２０２６年７月３日\r\n"
        "\r\n"
        "T2,PH000000000201,失败,无此账户,2026.7.3\r\n"
        "合计,2笔,,,\r\n"
    )
    result = read_bank_return(text.encode("gbk"))
    assert result.errors == []
    assert [(r.row, r.payment_ref, r.success, r.failure_code, r.bank_txn_no, r.processed_on) for r in result.rows] == [
        (4, "PH000000000101", True, None, "T1", date(2026, 7, 3)),
        (6, "PH000000000201", False, "账号不存在", "T2", date(2026, 7, 3)),
    ]


def test_bad_rows_are_reported_with_row_column_and_value_and_the_rest_is_read():
    text = (
        "支付编号,处理结果,失败原因,银行流水号,处理日期\n"
        "PH000000000101,处理中,,T1,2026-07-03\n"
        "PH000000000201,成功,,T2,2026-13-40\n"
        ",成功,,T3,2026-07-03\n"
        "PH000000000401,成功,,T4,20260703\n"
    )
    result = read_bank_return(text.encode("utf-8"))
    assert [r.payment_ref for r in result.rows] == ["PH000000000401"]
    found = {(e.row, e.column, e.value) for e in result.errors}
    assert found == {(2, "处理结果", "处理中"), (3, "处理日期", "2026-13-40"), (4, "支付编号", None)}
    assert all("第" in str(e) and "行" in str(e) for e in result.errors)


def xlsx_bytes(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_cells_of_other_types_are_read_or_reported():
    data = xlsx_bytes([
        ["支付编号", "处理结果", "失败原因", "银行流水号", "处理日期"],
        ["PH000000000101", "成功", None, 123456789, datetime(2026, 7, 3, 10, 30)],
        ["PH000000000201", "成功", None, 1.2345678901234567e17, 46206],
        ["PH000000000301", "失败", "账户已销户", None, "2026/7/3"],
    ])  # fmt: skip
    result = read_bank_return(data)
    assert [(r.payment_ref, r.bank_txn_no, r.processed_on) for r in result.rows] == [
        ("PH000000000101", "123456789", date(2026, 7, 3)),
        ("PH000000000301", None, date(2026, 7, 3)),
    ]
    assert result.rows[1].failure_code == "账户已销户"
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [("Sheet1", 3, "银行流水号")]


def test_an_excel_serial_date_is_understood():
    data = xlsx_bytes([["支付编号", "处理结果", "处理日期"], ["PH000000000101", "成功", 46206]])
    assert read_bank_return(data).rows[0].processed_on == date(2026, 7, 3)


@pytest.mark.parametrize(
    "data",
    [b"", "付款人,金额\nA,1\n".encode("gbk"), b"\xff\xfe\x00\x00\x81\x30\xff\xff", b"PK\x03\x04broken"],
)
def test_a_file_without_a_readable_header_is_refused(data):
    with pytest.raises(ReturnFileError):
        read_bank_return(data)


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("户名不符", "户名不符"),
        ("收款人户名与账号不一致", "户名不符"),
        ("账号不存在", "账号不存在"),
        ("无此账户", "账号不存在"),
        ("账户冻结", "账户冻结"),
        ("该账户已被司法冻结", "账户冻结"),
        ("账户已销户", "账户已销户"),
        ("账户已注销", "账户已销户"),
        ("系统繁忙", "其他"),
        (None, "其他"),
    ],
)
def test_failure_reasons_are_classified(reason, code):
    assert classify_failure(reason) == code


def test_an_xlsx_that_unzips_too_large_is_refused(monkeypatch):
    import disbursement.bank_return as bank_return

    monkeypatch.setattr(bank_return, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(ReturnFileError, match="压缩炸弹"):
        read_bank_return(write_bank_return_xlsx(ROWS))


def test_an_oversized_file_is_refused_before_parsing(monkeypatch):
    import disbursement.bank_return as bank_return

    monkeypatch.setattr(bank_return, "MAX_FILE_BYTES", 10)
    with pytest.raises(ReturnFileError, match="上限"):
        read_bank_return(write_bank_return_csv(ROWS))


def test_a_bom_followed_by_gbk_bytes_is_refused_with_a_message():
    data = b"\xef\xbb\xbf" + "支付编号,处理结果,失败原因,银行流水号,处理日期\n".encode("gbk")
    with pytest.raises(ReturnFileError, match="UTF-8"):
        read_bank_return(data)


def test_the_failure_reason_is_kept_exactly_as_the_bank_wrote_it_next_to_its_code():
    from disbursement import read_bank_return, write_bank_return_csv
    from disbursement.bank_return import ReturnRow

    raw = "账户已冻结（司法冻结，ＦＲ０１）"
    data = write_bank_return_csv([ReturnRow(0, "PH000000000101", False, raw, None, None, date(2026, 7, 3))],
                                 encoding="utf-8")
    (row,) = read_bank_return(data).rows
    assert (row.failure_reason_raw, row.failure_code) == (raw, "账户冻结")


def test_a_csv_field_over_the_csv_size_limit_is_a_refusal_not_a_crash():
    data = ("支付编号,处理结果,失败原因,银行流水号,处理日期\nPH000000029501,成功," + "x" * 300_000 + ",T1,2026-12-01\n")
    with pytest.raises(ReturnFileError, match="不是有效的 CSV"):
        read_bank_return(data.encode("utf-8"))
