"""Reading (and, for demos and tests, writing) the bank's return file (回单), xlsx or csv.

Columns: 支付编号, 处理结果 (成功/失败), 失败原因, 银行流水号, 处理日期. The header row is found below any
title rows by its column names (or synonyms). Rows that do not parse are reported in ``errors`` with sheet,
row, column and value; they are never guessed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import zipfile
from dataclasses import dataclass, field
from datetime import date

from openpyxl import Workbook, load_workbook

from disbursement.errors import ReturnFileError
from disbursement.textutil import cell_text, normalise_header, parse_date

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 200_000
HEADER_SEARCH_ROWS = 20

HEADER: tuple[str, ...] = ("支付编号", "处理结果", "失败原因", "银行流水号", "处理日期")
REQUIRED = ("支付编号", "处理结果", "处理日期")
SYNONYMS: dict[str, tuple[str, ...]] = {
    "支付编号": ("支付编号", "付款编号", "业务参考号", "客户参考号", "支付参考号"),
    "处理结果": ("处理结果", "交易结果", "处理状态", "交易状态", "支付结果"),
    "失败原因": ("失败原因", "错误原因", "错误信息", "退票原因", "备注"),
    "银行流水号": ("银行流水号", "流水号", "交易流水号", "银行交易流水号"),
    "处理日期": ("处理日期", "交易日期", "记账日期", "入账日期"),
}
SUCCESS_WORDS = frozenset({"成功", "交易成功", "支付成功", "处理成功", "已成功", "已入账"})
FAILURE_WORDS = frozenset({"失败", "交易失败", "支付失败", "处理失败", "退票", "已退回", "退回"})

FAILURE_CODES: tuple[str, ...] = ("户名不符", "账号不存在", "账户冻结", "账户已销户", "其他")
# Checked in order; the first matching keyword decides. 户名 comes first: "户名与账号不符" is a name mismatch.
_FAILURE_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("户名不符", ("户名", "账户名称", "收款人名称", "名称不符", "名称不一致")),
    ("账户已销户", ("销户", "注销", "已关闭", "账户关闭")),
    ("账户冻结", ("冻结", "止付")),
    ("账号不存在", ("不存在", "无此账", "无此卡", "账号错误", "卡号错误", "账号有误", "无效账号")),
)


def classify_failure(reason: str | None) -> str:
    """Map the bank's free-text failure reason to one of FAILURE_CODES ('其他' when nothing matches)."""
    text = normalise_header(reason or "")
    for code, keywords in _FAILURE_KEYWORDS:
        if any(k in text for k in keywords):
            return code
    return "其他"


@dataclass(frozen=True)
class ReturnRow:
    """One bank answer: ``row`` is the 1-based row (xlsx) or line (csv) number in the file."""

    row: int
    payment_ref: str
    success: bool
    failure_reason_raw: str | None
    failure_code: str | None  # one of FAILURE_CODES for a failure, None for a success
    bank_txn_no: str | None
    processed_on: date


@dataclass
class BankReturn:
    """A parsed return file: valid ``rows`` in file order, row-level ``errors`` (ReturnFileError values)."""

    rows: list[ReturnRow]
    errors: list[ReturnFileError] = field(default_factory=list)
    sheet: str | None = None
    header_row: int = 0
    file_format: str = "xlsx"  # 'xlsx' | 'csv'
    sha256: str = ""  # of the file bytes, so the app can recognise a re-import of the same file


def _read_bytes(source: str | os.PathLike[str] | bytes) -> bytes:
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        if os.path.getsize(source) > MAX_FILE_BYTES:
            raise ReturnFileError(f"文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB 上限", value=os.fspath(source))
        with open(source, "rb") as fh:
            data = fh.read()
    if len(data) > MAX_FILE_BYTES:
        raise ReturnFileError(f"文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB 上限", value=len(data))
    if not data:
        raise ReturnFileError("文件为空")
    return data


def _xlsx_tables(data: bytes) -> list[tuple[str, list[tuple[object, ...]]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(info.file_size for info in zf.infolist()) > MAX_UNZIPPED_BYTES:
                raise ReturnFileError("xlsx 解压后过大，疑似压缩炸弹，拒绝读取")
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ReturnFileError:
        raise
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ReturnFileError(f"无法读取 xlsx 文件：{exc.__class__.__name__}") from exc
    try:
        tables = []
        for ws in wb.worksheets:
            rows = []
            for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
                if i > MAX_ROWS:
                    raise ReturnFileError(f"行数超过 {MAX_ROWS} 上限", sheet=ws.title)
                rows.append(tuple(values))
            tables.append((ws.title, rows))
        return tables
    finally:
        wb.close()


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReturnFileError("文件以 UTF-8 BOM 开头，但内容不是有效的 UTF-8") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ReturnFileError("无法识别文件编码：应为 UTF-8（可带 BOM）或 GBK/GB18030") from exc


def _csv_table(data: bytes) -> list[tuple[object, ...]]:
    text = _decode(data)
    first = text.splitlines()[0] if text else ""
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows: list[tuple[object, ...]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            # Pad so that a multi-line quoted field keeps later rows on their own line numbers.
            while len(rows) < reader.line_num - 1:
                rows.append(())
            rows.append(tuple(record))
            if len(rows) > MAX_ROWS:
                raise ReturnFileError(f"行数超过 {MAX_ROWS} 上限")
    except csv.Error as exc:  # e.g. a field over csv's size limit, or an unclosed quote with a NUL
        raise ReturnFileError(f"第 {reader.line_num} 行附近不是有效的 CSV（{exc}）；请用银行导出的原始回单文件") from None
    return rows


def _find_header(rows: list[tuple[object, ...]]) -> tuple[int, dict[str, int]] | None:
    lookup = {normalise_header(s): canon for canon, syns in SYNONYMS.items() for s in syns}
    for idx, values in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        for col, value in enumerate(values):
            canon = lookup.get(normalise_header(value if isinstance(value, str) else ""))
            if canon and canon not in columns:
                columns[canon] = col
        if all(c in columns for c in REQUIRED):
            return idx, columns
    return None


def _is_footer(values: tuple[object, ...]) -> bool:
    first = next((v for v in values if v not in (None, "")), None)
    return isinstance(first, str) and normalise_header(first).startswith(("合计", "总计", "共计", "小计"))


def _parse_rows(
    rows: list[tuple[object, ...]], header_idx: int, columns: dict[str, int], sheet: str | None
) -> tuple[list[ReturnRow], list[ReturnFileError]]:
    parsed: list[ReturnRow] = []
    errors: list[ReturnFileError] = []
    for idx in range(header_idx + 1, len(rows)):
        values = rows[idx]
        rowno = idx + 1

        def raw(name: str, values: tuple[object, ...] = values) -> object:
            col = columns.get(name)
            return values[col] if col is not None and col < len(values) else None

        texts = {}
        row_errors = []
        for name in HEADER[:4]:
            try:
                texts[name] = cell_text(raw(name))
            except ValueError as exc:
                row_errors.append(ReturnFileError(str(exc), sheet=sheet, row=rowno, column=name, value=raw(name)))
                texts[name] = None
        if not row_errors and not any(texts.values()) and raw("处理日期") in (None, ""):
            continue  # blank line
        if _is_footer(values):
            continue
        ref = texts["支付编号"]
        if not ref and "支付编号" not in {e.column for e in row_errors}:
            row_errors.append(ReturnFileError("支付编号为空", sheet=sheet, row=rowno, column="支付编号", value=None))
        result = texts["处理结果"]
        success = None
        if result in SUCCESS_WORDS:
            success = True
        elif result in FAILURE_WORDS:
            success = False
        elif "处理结果" not in {e.column for e in row_errors}:
            row_errors.append(ReturnFileError(f"处理结果应为“成功”或“失败”，实际为 {result!r}",
                                              sheet=sheet, row=rowno, column="处理结果", value=raw("处理结果")))  # fmt: skip
        processed_on = None
        try:
            processed_on = parse_date(raw("处理日期"))
        except ValueError as exc:
            row_errors.append(ReturnFileError(str(exc), sheet=sheet, row=rowno, column="处理日期", value=raw("处理日期")))
        if row_errors or success is None or processed_on is None or not ref:
            errors.extend(row_errors)
            continue
        # The bank's own words, as written (not NFKC-folded): stored next to the classified code.
        raw_reason = raw("失败原因")
        reason = str(raw_reason).strip() or None if raw_reason is not None and texts["失败原因"] else None
        parsed.append(ReturnRow(
            row=rowno, payment_ref=ref.upper(), success=success, failure_reason_raw=reason,
            failure_code=None if success else classify_failure(reason),
            bank_txn_no=texts["银行流水号"], processed_on=processed_on,
        ))  # fmt: skip
    return parsed, errors


def read_bank_return(source: str | os.PathLike[str] | bytes) -> BankReturn:
    """Read a bank return file, xlsx or csv, chosen by content (zip magic), not by file name.

    Args:
        source: a path, or the file's bytes. CSV may be UTF-8 (with or without BOM) or GBK/GB18030.

    Returns:
        BankReturn: rows (one ReturnRow per valid data row, in file order, duplicates kept for
        reconciliation to report) and errors (ReturnFileError with sheet/row/column/value, in Chinese).

    Raises:
        ReturnFileError: file empty, too big, undecodable, or no header row with 支付编号/处理结果/处理日期.
    """
    data = _read_bytes(source)
    digest = hashlib.sha256(data).hexdigest()
    if data.startswith(b"PK\x03\x04"):
        tables: list[tuple[str | None, list[tuple[object, ...]]]] = list(_xlsx_tables(data))
        fmt = "xlsx"
    else:
        tables = [(None, _csv_table(data))]
        fmt = "csv"
    for sheet, rows in tables:
        found = _find_header(rows)
        if found is None:
            continue
        header_idx, columns = found
        parsed, errors = _parse_rows(rows, header_idx, columns, sheet)
        logger.info("bank return read: %s rows, %s errors (%s)", len(parsed), len(errors), fmt)
        return BankReturn(parsed, errors, sheet, header_idx + 1, fmt, digest)
    raise ReturnFileError(
        f"未找到表头：前 {HEADER_SEARCH_ROWS} 行中应有“支付编号”“处理结果”“处理日期”等列，应为 {'、'.join(HEADER)}"
    )


def _row_values(r: ReturnRow) -> tuple[object, ...]:
    return (r.payment_ref, "成功" if r.success else "失败", r.failure_reason_raw or "", r.bank_txn_no or "",
            r.processed_on)  # fmt: skip


def write_bank_return_xlsx(rows: list[ReturnRow], title: str = "代发业务处理结果回单") -> bytes:
    """Simulate the bank: an xlsx with a title row, a blank row, the HEADER row, then one row per answer.

    ``ReturnRow.row`` is ignored; rows are written in the given order. Texts are text cells; 处理日期 is a
    date cell (yyyy-mm-dd).
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "回单"
    ws.append([title])
    ws.append([])
    ws.append(list(HEADER))
    for r in rows:
        ws.append(list(_row_values(r)))
        for cell in ws[ws.max_row][:4]:
            cell.number_format = "@"
        ws.cell(row=ws.max_row, column=5).number_format = "yyyy-mm-dd"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_bank_return_csv(rows: list[ReturnRow], encoding: str = "gb18030") -> bytes:
    """Simulate the bank as CSV (header row only) in ``encoding``: 'gb18030', 'gbk', 'utf-8' or 'utf-8-sig'."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    for r in rows:
        values = _row_values(r)
        writer.writerow([*values[:4], values[4].isoformat()])  # type: ignore[union-attr]
    return buf.getvalue().encode(encoding)
