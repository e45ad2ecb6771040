"""Maker-checker policy and budget arithmetic, as pure functions on ids and integer 分.

The database enforces the budget with a conditional ``UPDATE … WHERE reserved + paid + :a <= budget``; the
helpers here state the same rule so services and tests share one definition. Legal source of the
maker-checker rule: DESIGN.md "Awards and disbursement" (Invariants, Maker-checker).
"""

from __future__ import annotations

from collections.abc import Hashable

from disbursement.errors import BudgetExceeded, DisbursementError, MakerCheckerError, MissingReason

APPROVED = "approved"
AWAITING_SECOND_APPROVAL = "awaiting_second_approval"


def _check_fen(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int in 分, got {type(value).__name__}")
    if value < 0:
        raise DisbursementError(f"{name} 不能为负数：{value}")


def check_reviewer(actor_id: Hashable, *, applicant_id: Hashable | None = None) -> None:
    """Check that ``actor_id`` may do the first finance review of an award.

    Args:
        actor_id: the reviewing user's id; must not be None.
        applicant_id: the user who applied for or entered the award, if any; may not review it.

    Raises:
        MakerCheckerError: no reviewer, or the reviewer is the applicant.
    """
    if actor_id is None:
        raise MakerCheckerError("初审必须记录审核人", actor_id)
    if applicant_id is not None and actor_id == applicant_id:
        raise MakerCheckerError(f"申请人（用户 {actor_id}）不能审核自己的申请", actor_id)


def needs_second_approval(amount_fen: int, second_threshold_fen: int | None) -> bool:
    """True when an award strictly above the configured threshold (分) needs a second approver.

    ``second_threshold_fen`` None means no second approval is ever required.
    """
    _check_fen("amount_fen", amount_fen)
    if second_threshold_fen is None:
        return False
    _check_fen("second_threshold_fen", second_threshold_fen)
    return amount_fen > second_threshold_fen


def approve_outcome(
    reviewer_id: Hashable, approver_id: Hashable, amount_fen: int, second_threshold_fen: int | None
) -> str:
    """The state an award moves to when ``approver_id`` approves what ``reviewer_id`` reviewed.

    Returns:
        'approved', or 'awaiting_second_approval' when ``amount_fen`` > ``second_threshold_fen``.

    Raises:
        MakerCheckerError: the approver is missing or is the reviewer.
    """
    if approver_id is None:
        raise MakerCheckerError("审批必须记录审批人", approver_id)
    if approver_id == reviewer_id:
        raise MakerCheckerError(f"审批人不能与初审人相同（用户 {approver_id}）", approver_id)
    if needs_second_approval(amount_fen, second_threshold_fen):
        return AWAITING_SECOND_APPROVAL
    return APPROVED


def check_second_approver(reviewer_id: Hashable, first_approver_id: Hashable, second_id: Hashable) -> None:
    """Check that the second approver is a third person, distinct from the reviewer and first approver.

    Raises:
        MakerCheckerError: ``second_id`` is missing or equals one of the other two.
    """
    if second_id is None:
        raise MakerCheckerError("复核必须记录复核人", second_id)
    if second_id == reviewer_id:
        raise MakerCheckerError(f"复核人不能与初审人相同（用户 {second_id}）", second_id)
    if second_id == first_approver_id:
        raise MakerCheckerError(f"复核人不能与第一审批人相同（用户 {second_id}）", second_id)


def check_reason(action: str, reason: object) -> str:
    """Return the stripped reason for ``action``; raise MissingReason if it is not a non-empty string."""
    if not isinstance(reason, str) or not reason.strip():
        raise MissingReason(action, reason)
    return reason.strip()


def check_rejection(reason: object) -> str:
    """A rejection needs a non-empty reason; returns it stripped. Raises MissingReason."""
    return check_reason("reject", reason)


# --- budget arithmetic (all integer 分) ---------------------------------------------------------------


def available_fen(budget_fen: int, reserved_fen: int, paid_fen: int) -> int:
    """Money still free under a limit: budget − reserved − paid (分). Negative means already overspent."""
    for name, v in (("budget_fen", budget_fen), ("reserved_fen", reserved_fen), ("paid_fen", paid_fen)):
        _check_fen(name, v)
    return budget_fen - reserved_fen - paid_fen


def can_reserve(budget_fen: int, reserved_fen: int, paid_fen: int, amount_fen: int) -> bool:
    """Whether reserved + paid + amount <= budget: the condition of the database's conditional UPDATE."""
    _check_fen("amount_fen", amount_fen)
    return amount_fen <= available_fen(budget_fen, reserved_fen, paid_fen)


def reserve(budget_fen: int, reserved_fen: int, paid_fen: int, amount_fen: int, limit_name: str = "预算") -> int:
    """Reserve ``amount_fen`` at approval; returns the new reserved total (分).

    Raises:
        BudgetExceeded: reserved + paid + amount would exceed the budget (or the city allocation, named
            by ``limit_name``, e.g. "太原市分配额度").
    """
    if not can_reserve(budget_fen, reserved_fen, paid_fen, amount_fen):
        raise BudgetExceeded(amount_fen, available_fen(budget_fen, reserved_fen, paid_fen), limit_name)
    return reserved_fen + amount_fen


def release(reserved_fen: int, amount_fen: int) -> int:
    """Release a reservation (withdrawal after approval, or payment abandoned); returns the new reserved."""
    _check_fen("reserved_fen", reserved_fen)
    _check_fen("amount_fen", amount_fen)
    if amount_fen > reserved_fen:
        raise DisbursementError(f"释放金额 {amount_fen} 分超过已预留 {reserved_fen} 分")
    return reserved_fen - amount_fen


def post_payment(reserved_fen: int, paid_fen: int, amount_fen: int) -> tuple[int, int]:
    """Move a paid award's money from reserved to paid; returns (reserved_fen, paid_fen). Total unchanged."""
    new_reserved = release(reserved_fen, amount_fen)
    _check_fen("paid_fen", paid_fen)
    return new_reserved, paid_fen + amount_fen


def check_recovery(recovered_fen: int, paid_fen: int) -> None:
    """A clawback recovers at most what was paid (0 < recovered <= paid). Raises DisbursementError.

    Recovered money does not return to the available budget by itself (a finance user re-budgets it as a
    ledger entry), so no budget figure changes here.
    """
    _check_fen("recovered_fen", recovered_fen)
    _check_fen("paid_fen", paid_fen)
    if recovered_fen == 0 or recovered_fen > paid_fen:
        raise DisbursementError(f"追回金额 {recovered_fen} 分应大于 0 且不超过已支付 {paid_fen} 分")
