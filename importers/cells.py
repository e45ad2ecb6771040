"""Cell parsers: each takes a raw cell (str from CSV, typed value from openpyxl) and returns a typed value,
None for a blank cell, or raises CellError with a Chinese message that says what was expected. Never guesses.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from rules.money import MAX_AMOUNT_YUAN

UNIT_FACTORS: dict[str, Decimal] = {
    "元": Decimal(1),
    "万元": Decimal(10_000),
    "万": Decimal(10_000),
    "亿元": Decimal(100_000_000),
    "亿": Decimal(100_000_000),
}
_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
_UNIT = "亿元|万元|亿|万|元"
_AMOUNT = re.compile(rf"(?:最高|不超过|最多|上限)?(?:人民币)?(¥|RMB)?(\d[\d,]*(?:\.\d+)?)({_UNIT})?")
_RANGE = re.compile(rf"\d(?:{_UNIT})?(?:-|~|至|到|—|–)\d")
_LIST = re.compile(rf"\d(?:{_UNIT})?(?:、|;|/|和|及|或)\d")
# What Excel shows of a number typed into a General cell with 12+ digits: 9.11401E+17.
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+?\d+", re.IGNORECASE)
# Excel keeps 15 significant digits; longer numbers have already lost their tail.
EXCEL_DIGITS = 15
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_DATE_SEP = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
# Excel writes a date cell into CSV as "2026/3/1 0:00"; only a midnight time is accepted after a date.
_MIDNIGHT = re.compile(r"\s+0?0:00(?::00)?$")
_DATE_CN = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
# Excel serials accepted only for 1950-01-01 .. 2100-12-31; outside that a number is not a date.
_SERIAL_MIN, _SERIAL_MAX = 18264, 73415
_EXCEL_1900 = date(1899, 12, 30)
_EXCEL_1904 = date(1904, 1, 1)
TRUE_WORDS = frozenset({"是", "Y", "YES", "TRUE", "1", "√"})
FALSE_WORDS = frozenset({"否", "N", "NO", "FALSE", "0", "×"})


class CellError(ValueError):
    """A cell that cannot be read as the expected type; ``message`` is Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Unreadable:
    """A workbook cell whose value must not be used: a formula without a cached result, or an Excel error
    value (#N/A, #DIV/0!...). ``shown`` is what goes into an Issue, ``message`` the reason (Chinese).
    Every parser below raises CellError for it; it is never read as blank or 0.
    """

    __slots__ = ("shown", "message")

    def __init__(self, shown: str, message: str):
        self.shown, self.message = shown, message

    @classmethod
    def formula(cls, formula: str | None) -> Unreadable:
        shown = f"={formula}" if formula else "=（公式）"
        return cls(shown, f"是公式（{shown}）但文件中没有保存计算结果；请用 Excel 或 WPS 打开该文件、保存后重新导入")

    @classmethod
    def error(cls, code: str) -> Unreadable:
        return cls(code, f"是 Excel 错误值 {code}；请修正公式或填写实际值")

    def __repr__(self) -> str:
        return f"Unreadable({self.shown!r})"


def check(value: Any) -> Any:
    """``value`` unchanged; raises CellError when it is Unreadable."""
    if isinstance(value, Unreadable):
        raise CellError(value.message)
    return value


def is_blank(value: Any) -> bool:
    """None, or text that is empty after normalisation."""
    return value is None or (isinstance(value, str) and text(value) is None)


def show(value: Any) -> str:
    """The raw cell as text for an Issue: dates as ISO, numbers without float noise."""
    if value is None:
        return ""
    if isinstance(value, Unreadable):
        return value.shown
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        number = decimal_of(value)  # as Excel shows it: 15 significant digits, no float noise
        return str(int(number)) if number == number.to_integral_value() else str(number)
    return str(value)


def text(value: Any) -> str | None:
    """NFKC-normalised text with NBSP/ideographic spaces trimmed; None when blank. CellError for Unreadable."""
    check(value)
    if value is None:
        return None
    if isinstance(value, (datetime, date, float, int)):
        value = show(value)
    out = unicodedata.normalize("NFKC", str(value)).replace("\u00a0", " ").replace("\u3000", " ").strip()
    return out or None


def raw_text(value: Any) -> str | None:
    """Text kept as written (rules, formulas): only surrounding whitespace removed; None when blank."""
    check(value)
    if value is None:
        return None
    out = (value if isinstance(value, str) else show(value)).strip(" \t\r\n\u00a0\u3000")
    return out or None


def compact(value: Any) -> str:
    """Text with every kind of whitespace removed (for headers, codes, numbers)."""
    return _SPACES.sub("", text(value) or "")


def amount(value: Any, header_unit: str | None = None) -> Decimal | None:
    """An amount in 元. A unit written in the cell wins; otherwise the header's unit (万元) applies, once.

    Accepts numbers, "1,500万元", "最高200万元", "１，０００", "0.3万元", "15万", "￥200,000.00" (¥ means 元).
    Parsed with Decimal, never float. CellError for a range ("3万元-5万元"), a list ("10万元、20万元"), a negative,
    an amount finer than 1 分, or anything else unparseable.
    """
    factor = UNIT_FACTORS.get(header_unit or "元", Decimal(1))
    check(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError("应为金额，实际是逻辑值")
    if isinstance(value, (int, float, Decimal)):
        number = decimal_of(value)
        if not number.is_finite() or number < 0:
            raise CellError("金额应为不小于0的数")
        return _tidy(number * factor)
    s = compact(value)
    if not s:
        return None
    if _RANGE.search(s):
        raise CellError("金额是一个区间，应填写单一金额（如“50万元”）")
    if _LIST.search(s):
        raise CellError("金额包含多个数值，应填写单一金额（如“50万元”）")
    m = _AMOUNT.fullmatch(s)
    if not m or not _GROUPED.fullmatch(m.group(2)):
        raise CellError("无法识别的金额，应为数字，可带单位元/万元/亿元，如“1,500万元”“0.3万元”")
    number = Decimal(m.group(2).replace(",", ""))
    if m.group(3):
        factor = UNIT_FACTORS[m.group(3)]
    elif m.group(1):
        factor = Decimal(1)  # ¥ says 元 whatever the header says
    return _tidy(number * factor)


def decimal_of(value: int | float | Decimal) -> Decimal:
    """A number cell as Decimal without float noise: a float keeps at most Excel's 15 significant digits
    (0.1+0.2 stored as 0.30000000000000004 is 0.3, as Excel shows it)."""
    if isinstance(value, float):
        return Decimal(repr(value)) if len(repr(value).lstrip("-0.").replace(".", "")) <= EXCEL_DIGITS \
            else Decimal(format(value, f".{EXCEL_DIGITS}g"))
    return Decimal(value)


def _tidy(number: Decimal) -> Decimal:
    if number > MAX_AMOUNT_YUAN:
        raise CellError(f"金额过大（超过 {MAX_AMOUNT_YUAN:,.0f} 元），请检查单位和位数")
    if number != number.quantize(Decimal("0.01")):
        raise CellError(f"金额 {number} 元超出分位（小数点后最多2位），请检查单位和位数")
    # 0.5万 -> 5000, not 5000.0; keeps written decimals otherwise (29294.66).
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number


def integer(value: Any, what: str = "整数") -> int | None:
    """A non-negative whole number (persons, months, days)."""
    check(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(f"应为{what}，实际是逻辑值")
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"应为{what}（不带小数）")
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise CellError(f"应为不小于0的{what}")
        return value
    s = compact(value)
    if not s:
        return None
    s = re.sub(r"\.0+$", "", s)
    if not s.isdigit():
        raise CellError(f"应为不小于0的{what}")
    return int(s)


def year(value: Any) -> int | None:
    """A fiscal year 2000-2100, written 2025, 2025年 or 2025年度."""
    check(value)
    if value is None:
        return None
    s = compact(value)
    if not s:
        return None
    s = re.sub(r"(年度|年)$", "", s)
    s = re.sub(r"\.0$", "", s)
    if not (s.isdigit() and 2000 <= int(s) <= 2100):
        raise CellError("应为4位年度，如 2025")
    return int(s)


def to_date(value: Any, epoch: datetime | None = None) -> date | None:
    """A calendar date from a date cell, an Excel serial (xlsx cells only, 1950-2100), or text written
    2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日 or 20260301. Anything else raises CellError.
    """
    expected = "应为日期，如 2026-03-01、2026/3/1、2026.3.1、2026年3月1日 或 20260301"
    check(value)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise CellError(expected)
    if isinstance(value, (int, float)) and float(value).is_integer() and 19000101 <= value <= 21001231:
        value = str(int(value))  # 20260301 typed into a number cell: far beyond any plausible serial
    elif isinstance(value, (int, float)) and epoch is not None:
        if not float(value).is_integer() or not _SERIAL_MIN <= value <= _SERIAL_MAX:
            raise CellError(f"数字 {show(value)} 不是合理的 Excel 日期序号；{expected}")
        base = _EXCEL_1904 if epoch.year == 1904 else _EXCEL_1900
        return base + timedelta(days=int(value))
    s = compact(_MIDNIGHT.sub("", text(value) or ""))
    if not s:
        return None
    m = _DATE_SEP.fullmatch(s)
    parts = (m.group(1), m.group(3), m.group(4)) if m else None
    for pattern in (_DATE_CN, _DATE_COMPACT):
        m = pattern.fullmatch(s)
        if parts is None and m:
            parts = m.groups()
    if parts is None:
        raise CellError(expected)
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise CellError(f"日期不存在；{expected}") from None


def boolean(value: Any) -> bool | None:
    """是/否 (also Y/N, TRUE/FALSE, 1/0)."""
    check(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    s = compact(value).upper()
    if not s:
        return None
    if s in TRUE_WORDS:
        return True
    if s in FALSE_WORDS:
        return False
    raise CellError("应为“是”或“否”")


def code_text(value: Any, length: int | None = None, label: str = "代码") -> str | None:
    """A code kept as text. A numeric cell is accepted only if it still has ``length`` digits; a number that
    lost digits or a leading zero (0511 -> 511) is refused, as is any number over Excel's 15 digits and text
    in scientific notation (9.11401E+17, what a CSV saved from Excel holds for an 18-digit number).
    """
    check(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(f"{label}应为文本")
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"{label}以小数存储，应为文本格式")
        value = int(value)
    if isinstance(value, int) and len(str(abs(value))) > EXCEL_DIGITS:
        raise CellError(f"{label}以数字存储（{value}），超过15位的数字在 Excel 中末尾几位已变成0；"
                        "请将该列设为文本格式后重新填写")
    if isinstance(value, int):
        digits = str(value)
        if length is None or len(digits) != length:
            raise CellError(f"{label}以数字存储，可能已丢失前导零或位数；请将该列设为文本格式后重新填写")
        return digits
    s = compact(value).upper()
    if _SCIENTIFIC.fullmatch(s):
        raise CellError(f"{label}显示为科学计数法（{s}），说明在 Excel 中被当作数字保存，已丢失位数；"
                        "请将该列设为文本格式后重新填写")
    return s or None
