"""Small text and date normalisers for the files the bank sends back (kept here: no importers import)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

_SPACE_RE = re.compile(r"\s+")
_PAREN_RE = re.compile(r"\(.*?\)")
_DATE_RES = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = date(1899, 12, 30)


def nfkc(text: str) -> str:
    """NFKC (full-width digits and letters, NBSP, ideographic space -> ASCII), then strip."""
    return unicodedata.normalize("NFKC", text).strip()


def normalise_header(value: object) -> str:
    """A header cell for matching: NFKC, no whitespace, no parenthesised note ("处理结果（成功/失败）")."""
    if not isinstance(value, str):
        return ""
    return _PAREN_RE.sub("", _SPACE_RE.sub("", nfkc(value)))


def cell_text(value: object) -> str | None:
    """A code-like cell as text; None when blank.

    Raises:
        ValueError: a number that is not a whole number, or is too long to have kept its digits.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"应为文本，实际为逻辑值 {value}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= 1e15:
            raise ValueError(f"编号被存为数字 {value!r}，可能已丢失位数；应存为文本")
        return str(int(value))
    if isinstance(value, datetime | date):
        raise ValueError(f"应为文本，实际为日期 {value}")
    text = nfkc(str(value))
    return text or None


def parse_date(value: object) -> date:
    """A date from a date/datetime cell, an Excel serial, or 2026-03-01, 2026/3/1, 2026.3.1, 20260301,
    2026年3月1日.

    Raises:
        ValueError: blank or not a date (Chinese message with the expected forms).
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 <= value <= 80000:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        if float(value).is_integer():
            value = str(int(value))  # 20260301 typed as a number
    text = nfkc(str(value)) if value is not None else ""
    if not text:
        raise ValueError("处理日期为空；应为日期，如 2026-03-01")
    for pattern in _DATE_RES:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
    raise ValueError(f"无法识别的日期 {text!r}；应为 2026-03-01、2026/3/1、2026年3月1日 或 20260301")
