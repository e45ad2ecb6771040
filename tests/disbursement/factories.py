"""Small builders for disbursement tests."""

from __future__ import annotations

from datetime import date

from disbursement import PaymentStatus, PayoutLine, ReturnRow, payment_ref


def payout_line(seq: int = 1, award_id: int | None = None, amount_fen: int = 1_234_50, **overrides) -> PayoutLine:
    values = {
        "batch_no": "PB2026063001",
        "seq": seq,
        "payment_ref": payment_ref(award_id or seq, 1),
        "payee_name": f"太原市测试科技有限公司{seq}",
        "credit_code": "01140100MA0000001X",
        "bank_name": "中国工商银行太原分行",
        "account_no": "0502123456789012345",
        "amount_fen": amount_fen,
        "purpose": "2025年高新技术企业认定奖励",
        "item_code": "TY-2025-001",
    }
    values.update(overrides)
    return PayoutLine(**values)


def return_row(award_id: int, success: bool = True, row: int = 0, attempt: int = 1, **overrides) -> ReturnRow:
    values = {
        "row": row,
        "payment_ref": payment_ref(award_id, attempt),
        "success": success,
        "failure_reason_raw": None if success else "户名不符",
        "failure_code": None if success else "户名不符",
        "bank_txn_no": f"TXN{award_id:08d}" if success else None,
        "processed_on": date(2026, 7, 3),
    }
    values.update(overrides)
    return ReturnRow(**values)


def scheduled(award_id: int, amount_fen: int = 100_00, attempt: int = 1) -> PaymentStatus:
    return PaymentStatus(payment_ref(award_id, attempt), award_id, "scheduled", amount_fen)
