"""Open an uploaded file as a list of sheets of raw cell values, refusing unsafe or unreadable files first.

The reader is chosen from the content (magic bytes), never the file name: the zip magic means xlsx, the OLE2
magic a legacy xls (xlrd), and text without NUL bytes CSV. Other known formats (PDF, images, web pages saved
as .xls, UTF-16 text) are refused with a message saying what the file is. Merged cells are filled with their
top-left value; other blanks stay blank (None).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from importers.errors import (
    EmptyFileError,
    FileTooLargeError,
    UndecodableFileError,
    UnsupportedFormatError,
)
from importers.workbooks import RESAVE, load_xls, load_xlsx

logger = logging.getLogger(__name__)

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")  # an OLE container holding a password-protected xlsx
_OTHER_FORMATS = (
    (b"%PDF", "PDF 文档"), (b"\x89PNG", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"), (b"GIF8", "GIF 图片"),
    (b"Rar!", "RAR 压缩包"), (b"7z\xbc\xaf", "7z 压缩包"), (b"\x1f\x8b", "gzip 压缩包"), (b"{\\rtf", "RTF 文档"),
)


@dataclass(frozen=True)
class Limits:
    """Caps checked before parsing: file bytes, rows per sheet (data rows, the header not counted), columns,
    unpacked bytes and compression ratio of an xlsx. Defaults suit a city item list or a department feed in
    xlsx; services pass larger ones for big CSV feeds (e.g. from their upload-size setting).
    """

    max_file_bytes: int = 20 * 1024 * 1024
    max_rows: int = 100_000
    max_unpacked_bytes: int = 200 * 1024 * 1024
    max_ratio: float = 100.0
    max_columns: int = 200


DEFAULT_LIMITS = Limits()


@dataclass
class Sheet:
    """One table: ``rows`` is a list of (1-based row number, cell values); blank cells are None."""

    name: str
    rows: list[tuple[int, list[Any]]]
    epoch: datetime | None = None  # the workbook's date system, None for CSV
    is_csv: bool = False
    # merged ranges as (min_row, max_row, min_col, max_col), 1-based inclusive; already filled into ``rows``
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)


def load_sheets(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> list[Sheet]:
    """Read ``path`` into sheets (one for a CSV, one per worksheet for an xlsx or xls).

    Raises EmptyFileError, FileTooLargeError, ZipBombError, UnsupportedFormatError or UndecodableFileError.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise FileTooLargeError(f"文件 {path.name} 大小 {size} 字节，超过上限 {limits.max_file_bytes} 字节")
    if size == 0:
        raise EmptyFileError(f"文件 {path.name} 是空文件（0 字节），请检查是否上传了正确的文件")
    data = path.read_bytes()
    if data.startswith(ZIP_MAGIC):
        sheets = load_xlsx(data, path.name, limits)
    elif data.startswith(OLE_MAGIC):
        if _ENCRYPTED in data:
            raise UnsupportedFormatError(f"文件 {path.name} 设置了打开密码（已加密），请在 Excel 或 WPS 中取消密码后保存再导入")
        sheets = load_xls(data, path.name, limits)
    else:
        sheets = [_load_csv(_text_of(data, path.name), path.name, limits)]
    if not any(any(v is not None for v in values) for sheet in sheets for _, values in sheet.rows):
        kind = "所有单元格都是空的" if sheets and sheets[0].is_csv else "所有工作表都是空的"
        raise EmptyFileError(f"文件 {path.name} 中没有任何数据（{kind}），请检查是否上传了正确的文件")
    return sheets


def _text_of(data: bytes, name: str) -> str:
    """The text of a CSV upload, after ``refuse_non_table``."""
    refuse_non_table(data, name)
    return decode_text(data, name)


def refuse_non_table(data: bytes, name: str) -> None:
    """Refuse, from the first bytes of an upload that is not a workbook, what is not a CSV table: empty or
    blank files (EmptyFileError), PDFs, images, archives, web pages and XML saved as .xls, binary files
    (UnsupportedFormatError) and UTF-16 text (UndecodableFileError). Each message says what the file is.
    """
    if not data.strip(b" \t\r\n\x0b\x0c").removeprefix(b"\xef\xbb\xbf").strip():
        raise EmptyFileError(f"文件 {name} 是空文件（没有任何内容），请检查是否上传了正确的文件")
    for magic, what in _OTHER_FORMATS:
        if data.startswith(magic):
            raise UnsupportedFormatError(f"文件 {name} 是{what}，不是表格；请上传 .xlsx、.xls 或 .csv 文件")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UndecodableFileError(f"文件 {name} 是 UTF-16 编码（Excel“Unicode 文本”），请另存为“CSV UTF-8”或 .xlsx")
    if b"\x00" in data:
        raise UnsupportedFormatError(f"文件 {name} 既不是 xlsx/xls 工作簿也不是文本（CSV）文件；请上传 .xlsx、.xls 或 .csv 文件")
    start = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")) or b"<html" in start[:2048]:
        raise UnsupportedFormatError(f"文件 {name} 实际是网页（HTML）格式（常见于业务系统导出的“xls”）；{RESAVE}")
    if start.startswith(b"<?xml"):
        what = "Excel 2003 XML 表格" if b"schemas-microsoft-com:office:spreadsheet" in start else "XML 文件"
        raise UnsupportedFormatError(f"文件 {name} 是{what}，不是 CSV；{RESAVE}")
    # Bytes below 0x20 never occur inside UTF-8 or GBK characters, so counting them needs no decoding.
    controls = sum(1 for b in data[:65536] if b < 0x20 and b not in (0x09, 0x0A, 0x0D))
    if controls > 8:
        raise UnsupportedFormatError(f"文件 {name} 含有大量控制字符，不是文本表格；请上传 .xlsx、.xls 或 .csv 文件")


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else GB18030/GBK. Anything else, Latin-1 included, is refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UndecodableFileError(f"文件 {name} 带 UTF-8 BOM 但内容不是有效的 UTF-8（第 {exc.start} 字节）") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise UndecodableFileError(f"文件 {name} 的编码无法识别，请保存为 UTF-8 或 GBK 编码") from None
    if not _looks_chinese(text):
        raise UndecodableFileError(f"文件 {name} 不是 UTF-8 或 GBK 编码（疑似 Latin-1 等其他编码），请另存为 UTF-8")
    return text


def _looks_chinese(text: str) -> bool:
    # Latin-1 bytes also decode as GB18030, but mostly into rare characters outside GB2312 or into symbols.
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return True
    rare = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
            if unicodedata.category(ch) != "Lo" and not unicodedata.category(ch).startswith(("P", "Z", "N")):
                rare += 1
        except UnicodeEncodeError:
            rare += 1
    return rare <= len(wide) * 0.1


def _load_csv(text: str, name: str, limits: Limits) -> Sheet:
    lines = text.rstrip("\r\n").count("\n") + 1
    if lines > limits.max_rows + 1:
        raise FileTooLargeError(f"文件 {name} 有约 {lines} 行，超过上限 {limits.max_rows} 行，请拆分后分批导入")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[Any]]] = []
    start = 1
    try:
        for record in reader:
            if len(record) > limits.max_columns:
                raise FileTooLargeError(f"文件 {name} 第 {start} 行有 {len(record)} 列，超过上限 {limits.max_columns} 列")
            rows.append((start, [cell if cell != "" else None for cell in record]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UnsupportedFormatError(f"文件 {name} 第 {start} 行不是有效的 CSV：{exc}") from None
    return Sheet(name=name, rows=rows, is_csv=True)
