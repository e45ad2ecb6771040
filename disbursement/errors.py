"""Exceptions of the disbursement core. Each carries the offending value; ``str()`` is a Chinese message."""

from __future__ import annotations

from typing import Any

from disbursement.labels import ACTION_LABELS, STATE_LABELS


class DisbursementError(Exception):
    """Base of every error raised by the disbursement package."""


class InvalidTransition(DisbursementError):
    """An action that the award state machine does not allow from ``state`` (or whose guard failed)."""

    def __init__(self, state: str, action: str, reason: str | None = None) -> None:
        self.state = state
        self.action = action
        self.reason = reason
        msg = (f"奖补当前为“{STATE_LABELS.get(state, state)}”，不能执行“{ACTION_LABELS.get(action, action)}”"
               f"（{state} → {action}）")
        super().__init__(f"{msg}：{reason}" if reason else msg)


class MakerCheckerError(DisbursementError):
    """A person acting twice where the four-eyes (or six-eyes) rule requires different people."""

    def __init__(self, message: str, actor_id: Any = None) -> None:
        self.actor_id = actor_id
        super().__init__(message)


class MissingReason(DisbursementError):
    """A rejection, withdrawal or clawback without a non-empty reason."""

    def __init__(self, action: str, value: Any = None) -> None:
        self.action = action
        self.value = value
        super().__init__(f"“{ACTION_LABELS.get(action, action)}”必须填写原因，收到的是：{value!r}")


class BudgetExceeded(DisbursementError):
    """Reserving ``amount_fen`` would take reserved + paid above the limit (budget or city allocation)."""

    def __init__(self, amount_fen: int, available_fen: int, limit_name: str = "预算") -> None:
        self.amount_fen = amount_fen
        self.available_fen = available_fen
        self.limit_name = limit_name
        super().__init__(f"{limit_name}不足：需要 {amount_fen} 分，可用 {available_fen} 分")


class PayoutError(DisbursementError):
    """A payout batch that cannot be written (bad sequence, duplicate reference, non-positive amount...)."""

    def __init__(self, message: str, value: Any = None) -> None:
        self.value = value
        super().__init__(message)


class ReturnFileError(DisbursementError):
    """A problem in a bank return file, located by sheet, row (1-based, as the user sees it) and column.

    Used both as a raised file-level error (no header, undecodable, too big) and as the element type of
    ``BankReturn.errors`` for row-level problems.
    """

    def __init__(
        self,
        message: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
    ) -> None:
        self.message = message
        self.sheet = sheet
        self.row = row
        self.column = column
        self.value = value
        where = "".join(
            part
            for part in (
                f"工作表“{sheet}”" if sheet else "",
                f"第 {row} 行" if row is not None else "",
                f"“{column}”列" if column else "",
            )
        )
        super().__init__(f"{where}：{message}" if where else message)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReturnFileError) and (
            (self.message, self.sheet, self.row, self.column, self.value)
            == (other.message, other.sheet, other.row, other.column, other.value)
        )

    def __hash__(self) -> int:
        return hash((self.message, self.sheet, self.row, self.column, str(self.value)))
