"""Clawback and re-budget arithmetic, and the 告知承诺 post-check, as pure functions on integer 分.

Rules (DESIGN.md "Awards and disbursement", Cap and Immutability): a clawback is recorded as new recovery
entries whose sum never exceeds what was paid; recovered money becomes available again only through an explicit
re-budget entry, and an item never re-budgets more than was recovered on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from disbursement.errors import DisbursementError


def _fen(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int in 分, got {type(value).__name__}")
    return value


def recovered_after(paid_fen: int, recovered_fen: int, amount_fen: int) -> int:
    """The award's recovered total (分) after a new recovery entry of ``amount_fen``.

    Raises:
        DisbursementError: ``amount_fen`` <= 0, or the total would exceed ``paid_fen`` (recovered <= paid).
    """
    paid, recovered, amount = (_fen("paid_fen", paid_fen), _fen("recovered_fen", recovered_fen),
                               _fen("amount_fen", amount_fen))
    if amount <= 0:
        raise DisbursementError(f"追回金额应大于 0 分，收到 {amount} 分")
    if recovered + amount > paid:
        raise DisbursementError(f"追回后合计 {recovered + amount} 分将超过已支付 {paid} 分"
                                f"（已追回 {recovered} 分，本次 {amount} 分）")
    return recovered + amount


def rebudget_room(recovered_total_fen: int, rebudgeted_total_fen: int) -> int:
    """Recovered money on an item not yet put back into its budget (分)."""
    return _fen("recovered_total_fen", recovered_total_fen) - _fen("rebudgeted_total_fen", rebudgeted_total_fen)


def check_rebudget(amount_fen: int, recovered_total_fen: int, rebudgeted_total_fen: int) -> None:
    """A re-budget entry puts back at most the recovered money not yet re-budgeted. Raises DisbursementError."""
    amount = _fen("amount_fen", amount_fen)
    room = rebudget_room(recovered_total_fen, rebudgeted_total_fen)
    if amount <= 0:
        raise DisbursementError(f"重新安排预算的金额应大于 0 分，收到 {amount} 分")
    if amount > room:
        raise DisbursementError(f"重新安排预算 {amount} 分超过可重新安排的已追回资金 {room} 分"
                                f"（已追回 {recovered_total_fen} 分，已重新安排 {rebudgeted_total_fen} 分）")


def _norm(value: Any) -> Any:
    """A JSON-able profile value in a comparable form: numbers as Decimal, lists/sets as sorted tuples."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value.strip()
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(sorted(str(v) for v in value))
    return value


def contradictions(declared: Mapping[str, Any], actual: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{field code: (declared, actual)}`` for self-declared values that a later known value contradicts.

    A field absent from ``actual`` or None there is still unknown: not a contradiction. Numbers compare by
    value (``"1000000"`` equals ``1000000.00``).
    """
    found = {}
    for code, value in declared.items():
        if actual.get(code) is None:
            continue
        if _norm(value) != _norm(actual[code]):
            found[code] = (value, actual[code])
    return found
