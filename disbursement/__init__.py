"""Disbursement core: award state machine, maker-checker and budget rules, payout and bank-return files,
reconciliation plans and the audit hash chain. Pure: no Flask, SQLAlchemy or policy_hub imports."""

from disbursement.accounts import mask_account, names_match, normalise_account_no, normalise_name
from disbursement.approval import (
    approve_outcome,
    available_fen,
    can_reserve,
    check_reason,
    check_recovery,
    check_rejection,
    check_reviewer,
    check_second_approver,
    needs_second_approval,
    post_payment,
    release,
    reserve,
)
from disbursement.audit import (
    GENESIS_HASH,
    AuditRecord,
    append_record,
    audit_payload,
    canonical_json,
    chain_hash,
    verify_chain,
)
from disbursement.bank_return import (
    FAILURE_CODES,
    BankReturn,
    ReturnRow,
    classify_failure,
    read_bank_return,
    write_bank_return_csv,
    write_bank_return_xlsx,
)
from disbursement.errors import (
    BudgetExceeded,
    DisbursementError,
    InvalidTransition,
    MakerCheckerError,
    MissingReason,
    PayoutError,
    ReturnFileError,
)
from disbursement.payout import (
    PayoutLine,
    batch_fingerprint,
    batch_total_fen,
    parse_payment_ref,
    payment_ref,
    validate_batch,
    write_payout_xlsx,
)
from disbursement.reconcile import (
    PaymentStatus,
    PlannedChange,
    ReconcileIssue,
    ReconcilePlan,
    apply_plan,
    plan_reconciliation,
)
from disbursement.states import (
    ACTIONS,
    FINAL_STATES,
    INITIAL_STATES,
    LIVE_STATES,
    RESERVING_STATES,
    STATE_LABELS,
    STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    allowed_actions,
    next_state,
)

__all__ = [
    "ACTIONS", "FAILURE_CODES", "FINAL_STATES", "GENESIS_HASH", "INITIAL_STATES", "LIVE_STATES",
    "RESERVING_STATES", "STATES", "STATE_LABELS", "TERMINAL_STATES", "TRANSITIONS",
    "AuditRecord", "BankReturn", "BudgetExceeded", "DisbursementError", "InvalidTransition",
    "MakerCheckerError", "MissingReason", "PaymentStatus", "PayoutError", "PayoutLine", "PlannedChange",
    "ReconcileIssue", "ReconcilePlan", "ReturnFileError", "ReturnRow",
    "allowed_actions", "append_record", "apply_plan", "approve_outcome", "audit_payload", "available_fen",
    "batch_fingerprint", "batch_total_fen", "can_reserve", "canonical_json", "chain_hash", "check_reason",
    "check_recovery", "check_rejection", "check_reviewer", "check_second_approver", "classify_failure",
    "mask_account", "names_match", "needs_second_approval", "next_state", "normalise_account_no",
    "normalise_name", "parse_payment_ref", "payment_ref", "plan_reconciliation", "post_payment",
    "read_bank_return", "release", "reserve", "validate_batch", "verify_chain", "write_bank_return_csv",
    "write_bank_return_xlsx", "write_payout_xlsx",
]  # fmt: skip
