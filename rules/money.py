"""Money helpers shared by every package: 元 as ``Decimal``, 分 as ``int``. Never ``float``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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
