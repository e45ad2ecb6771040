"""Open an uploaded file as a list of sheets of raw cell values, refusing unsafe or unreadable files first.

The reader is chosen from the content, never the file name: the zip magic means xlsx, anything without NUL
bytes is text (CSV). Merged cells are filled with their top-left value; other blanks stay blank (None).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from importers.errors import (
    FileTooLargeError,
    UndecodableFileError,
    UnsupportedFormatError,
    ZipBombError,
)

logger = logging.getLogger(__name__)

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True)
class Limits:
    """Caps checked before parsing. Bytes, rows (per sheet), unpacked bytes and compression ratio of an xlsx."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_rows: int = 100_000
    max_unpacked_bytes: int = 200 * 1024 * 1024
    max_ratio: float = 100.0


DEFAULT_LIMITS = Limits()


@dataclass
class Sheet:
    """One table: ``rows`` is a list of (1-based row number, cell values); blank cells are None."""

    name: str
    rows: list[tuple[int, list[Any]]]
    epoch: datetime | None = None  # the workbook's date system, None for CSV
    is_csv: bool = False


def load_sheets(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> list[Sheet]:
    """Read ``path`` into sheets (one for a CSV, one per worksheet for an xlsx).

    Raises FileTooLargeError, ZipBombError, UnsupportedFormatError or UndecodableFileError.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise FileTooLargeError(f"文件 {path.name} 大小 {size} 字节，超过上限 {limits.max_file_bytes} 字节")
    data = path.read_bytes()
    if data.startswith(ZIP_MAGIC):
        return _load_xlsx(data, path.name, limits)
    if data.startswith(OLE_MAGIC):
        raise UnsupportedFormatError(f"文件 {path.name} 是旧版 Excel（.xls）格式，请另存为 .xlsx 或 CSV 后再导入")
    if b"\x00" in data:
        raise UnsupportedFormatError(f"文件 {path.name} 既不是 xlsx 工作簿也不是文本（CSV）文件")
    return [_load_csv(decode_text(data, path.name), path.name, limits)]


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
    lines = text.count("\n") + 1
    if lines > limits.max_rows + 1:
        raise FileTooLargeError(f"文件 {name} 有约 {lines} 行，超过上限 {limits.max_rows} 行")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[Any]]] = []
    start = 1
    try:
        for record in reader:
            rows.append((start, [cell if cell != "" else None for cell in record]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UnsupportedFormatError(f"文件 {name} 第 {start} 行不是有效的 CSV：{exc}") from None
    return Sheet(name=name, rows=rows, is_csv=True)


def _check_zip(data: bytes, name: str, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnsupportedFormatError(f"文件 {name} 不是有效的 xlsx 工作簿（压缩包损坏）") from None
    infos = archive.infolist()
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise UnsupportedFormatError(f"文件 {name} 是压缩包但不是 xlsx 工作簿")
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if unpacked > limits.max_unpacked_bytes:
        raise ZipBombError(f"文件 {name} 解压后 {unpacked} 字节，超过上限 {limits.max_unpacked_bytes} 字节")
    worst = max((i.file_size / max(i.compress_size, 1) for i in infos), default=0.0)
    if unpacked / packed > limits.max_ratio or worst > limits.max_ratio * 2:
        raise ZipBombError(f"文件 {name} 压缩比异常（{worst:.0f} 倍），疑似压缩炸弹，已拒绝")


def _load_xlsx(data: bytes, name: str, limits: Limits) -> list[Sheet]:
    _check_zip(data, name, limits)
    import openpyxl  # uses defusedxml when installed (a declared dependency)

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        logger.info("xlsx %s unreadable: %s", name, exc)
        raise UnsupportedFormatError(f"文件 {name} 无法按 xlsx 读取：{type(exc).__name__}") from None
    sheets = []
    for ws in book.worksheets:
        if ws.max_row > limits.max_rows + 1:
            raise FileTooLargeError(f"工作表 {ws.title} 有 {ws.max_row} 行，超过上限 {limits.max_rows} 行")
        grid = [list(r) for r in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:
            top = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(grid) else None
            for r in range(rng.min_row, min(rng.max_row, len(grid)) + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    if c <= len(grid[r - 1]):
                        grid[r - 1][c - 1] = top
        rows = [(i + 1, values) for i, values in enumerate(grid)]
        sheets.append(Sheet(name=ws.title, rows=rows, epoch=book.epoch))
    return sheets
