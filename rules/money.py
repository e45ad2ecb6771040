"""Money helpers shared by every package: 元 as ``Decimal``, 分 as ``int``. Never ``float``."""

from __future__ import annotations

import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
# Larger than any public budget (100万亿元) and small enough that 分 fit a BIGINT column.
MAX_AMOUNT_YUAN = Decimal(10) ** 14


def round_yuan(amount: Decimal) -> Decimal:
    """Round an amount in 元 once, half-up, to 分: ``Decimal('2.675')`` -> ``Decimal('2.68')``."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def yuan_to_fen(amount: Decimal) -> int:
    """元 (Decimal) -> integer 分, rounding half-up to 分 first."""
    return int(round_yuan(amount) * 100)


def fen_to_yuan(fen: int) -> Decimal:
    """Integer 分 -> 元 as a Decimal with exactly two places."""
    return (Decimal(int(fen)) / 100).quantize(FEN)


def format_yuan(fen: int | None) -> str:
    """Integer 分 -> the API/CSV form, a decimal string in 元 with two places (``"12345.67"``); '' for None."""
    return "" if fen is None else f"{fen_to_yuan(fen):.2f}"


def parse_yuan_text(text: str) -> int:
    """An amount typed by a user in 元 (``"1234.56"``, full-width digits allowed) -> integer 分.

    Raises ValueError with a Chinese message for anything that is not a finite positive number with at most two
    decimal places and at most MAX_AMOUNT_YUAN (NaN, Infinity, 1e30, 0.005 and "abc" are all refused).
    """
    raw = unicodedata.normalize("NFKC", str(text)).strip().replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"金额应为以元为单位的数字，如 1234.56，收到 {text!r}") from None
    if not value.is_finite() or value <= 0 or value > MAX_AMOUNT_YUAN:
        raise ValueError(f"金额应为大于 0、不超过 {MAX_AMOUNT_YUAN:,.0f} 元的数字，收到 {text!r}")
    if value != value.quantize(FEN):
        raise ValueError(f"金额最多精确到分（小数点后两位），收到 {text!r}")
    return yuan_to_fen(value)
