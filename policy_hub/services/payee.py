"""Fixing the payee account of a failed payment, so the award can go into a new batch (DESIGN "Payee").

A payment the bank returned (state ``payment_failed``) is never re-sent as it is: the enterprise itself or a
finance user of the item's region corrects the account first. Only then does ``payouts.build_batch`` pick the
award up again (one fix, one new attempt). The audit row holds ids and states, never the account.
"""

from __future__ import annotations

from sqlalchemy import select

from policy_hub.extensions import db
from policy_hub.models import Award, Payment
from policy_hub.services import Conflict
from policy_hub.services import audit as audit_service
from policy_hub.services import awards as award_service
from policy_hub.services.payouts import ACCOUNT_FIXED, FINANCE
from policy_hub.services.users import require_enterprise, require_role

FIX_ROLES = ("enterprise", *FINANCE)


def last_failure(award_id: int) -> Payment | None:
    """The award's latest payment if the bank answered it with a failure, else None."""
    last = db.session.scalar(select(Payment).where(Payment.award_id == award_id).order_by(Payment.id.desc()).limit(1))
    return last if last is not None and last.result == "failure" else None


def fix_account(user, award_id: int, *, account_name: str, bank: str, account_no: str) -> Award:
    """Correct the payee of a failed payment; the award stays ``payment_failed`` until the next batch.

    Args:
        user: the enterprise of the award, or a finance reviewer/approver whose region covers the item.
        account_name, bank: non-empty text; account_no: 6-32 digits (spaces, dashes, full-width allowed),
            stored encrypted, only its last four digits kept in clear.

    Raises:
        Forbidden: another enterprise, or a role that may not fix accounts, or a region outside the user's.
        NotFound: no such award. Conflict: the award is not a failed payment.
        InputRejected: a blank name or bank, or a malformed account number.
    """
    require_role(user, *FIX_ROLES)
    award = award_service.get_award(user, award_id)
    if user.role == "enterprise":
        require_enterprise(user, award.credit_code)
    failed = last_failure(award.id)
    if award.state != "payment_failed" or failed is None:
        raise Conflict(f"奖补 #{award.id} 当前不是“支付失败”状态，无需修改收款账户")
    award_service._set_payee(award, account_name, bank, account_no)  # validation and encryption live there
    award.reason = ACCOUNT_FIXED
    db.session.flush()
    audit_service.record(user.id, "award.payee_fix", "award", award.id,
                         {"state": award.state, "failed_payment_ref": failed.payment_ref,
                          "failure_code": failed.failure_code},
                         {"state": award.state, "payee_changed": True, "name_mismatch": award.payee_name_mismatch})
    return award
