"""Streaming reader for large CSV feeds: the header is found as for any file, then the data rows come in pandas
chunks of raw text, with bounded memory.

Only plain CSV takes this path: UTF-8 (with or without BOM) or GB18030/GBK text without quote characters, so
every physical line is one record and its number is the row shown in Excel. Anything else (xlsx, quoted
fields) returns None and is read by ``importers.source.load_sheets`` as before.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from importers.errors import FileTooLargeError
from importers.header import HEADER_SCAN_ROWS, Column, Header, find_header
from importers.source import OLE_MAGIC, ZIP_MAGIC, Limits, Sheet, decode_text, refuse_non_table

BLOCK = 4 * 1024 * 1024


@dataclass
class CsvTable:
    """A plain CSV: its encoding, delimiter, the header found, and the number of data columns to read."""

    path: Path
    encoding: str
    delimiter: str
    sheet: Sheet  # the first rows only, for the header
    header: Header
    width: int

    def chunks(self, rows: int) -> Iterator[tuple[int, pd.DataFrame, list[list[str]]]]:
        """Per ``rows`` lines: (row number of the first line, DataFrame of the first ``width`` columns as str,
        '' for blank, and the split lines themselves). Without quotes a line splits at every delimiter."""
        with self.path.open(encoding=self.encoding, newline=None) as fh:
            for _ in range(self.header.index + 1):
                fh.readline()
            first = self.header.row + 1
            while lines := list(itertools.islice(fh, rows)):
                split = [line.rstrip("\n").split(self.delimiter) for line in lines]
                columns = {c: [r[c] if c < len(r) else "" for r in split] for c in range(self.width)}
                yield first, pd.DataFrame(columns, dtype=object), split
                first += len(lines)


def open_csv(path: str | os.PathLike[str], columns: tuple[Column, ...], prefixes: tuple[str, ...],
             limits: Limits) -> CsvTable | None:
    """The streaming view of ``path``, or None when the file is not a plain CSV (see the module docstring).

    Raises FileTooLargeError, UndecodableFileError and the header errors of ``find_header``, with the messages
    ``load_sheets`` gives.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise FileTooLargeError(f"文件 {path.name} 大小 {size} 字节，超过上限 {limits.max_file_bytes} 字节")
    with path.open("rb") as fh:
        head = fh.read(BLOCK)
    if not head.startswith((ZIP_MAGIC, OLE_MAGIC)):
        refuse_non_table(head, path.name)  # the same refusals (empty, PDF, HTML, UTF-16...) as load_sheets
    if head.startswith((ZIP_MAGIC, OLE_MAGIC)) or b"\x00" in head or b'"' in head or not head.strip():
        return None
    encoding, lines = _scan(path, head)
    if encoding is None:
        return None
    if lines > limits.max_rows + 1:
        raise FileTooLargeError(f"文件 {path.name} 有约 {lines} 行，超过上限 {limits.max_rows} 行")
    text = _head_text(head, encoding, path.name)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    top = text.split("\n")[:HEADER_SCAN_ROWS]
    rows = [(i + 1, [c if c != "" else None for c in rec])
            for i, rec in enumerate(csv.reader(io.StringIO("\n".join(top)), delimiter=delimiter))]
    sheet = Sheet(name=path.name, rows=rows, is_csv=True)
    header = find_header(sheet, columns, prefixes)
    width = max(header.columns.values()) + 1
    return CsvTable(path, encoding, delimiter, sheet, header, width)


def _scan(path: Path, head: bytes) -> tuple[str | None, int]:
    """The encoding pandas should use and the line count; (None, n) when a quote or NUL appears later on."""
    lines = 0
    utf8 = codecs.getincrementaldecoder("utf-8")()
    ok = True
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            if b'"' in block or b"\x00" in block or block.count(b"\r") != block.count(b"\r\n"):
                return None, lines  # quotes, or bare CR line ends: load_sheets' csv reader decides
            lines += block.count(b"\n")
            if ok:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    ok = False
    if ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            ok = False
    if ok:
        return ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"), lines + 1
    if head.startswith(codecs.BOM_UTF8):
        return None, lines + 1  # a broken UTF-8 file: load_sheets gives the exact refusal
    return "gb18030", lines + 1


def _head_text(head: bytes, encoding: str, name: str) -> str:
    # Cut at the last newline so no multi-byte character is split; decode_text refuses what is not UTF-8/GBK.
    head = head[:262144]
    cut = head[: head.rfind(b"\n") + 1] or head
    if encoding == "gb18030":
        return decode_text(cut, name)
    return cut.decode(encoding)
