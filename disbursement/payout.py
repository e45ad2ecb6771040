"""The payout file (支付清单, xlsx) sent to the bank, one row per award, and stable payment references."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import astuple, dataclass

from openpyxl import Workbook
from openpyxl.styles import Font

from disbursement.errors import PayoutError
from rules.money import fen_to_yuan

logger = logging.getLogger(__name__)

SHEET_NAME = "支付清单"
SUMMARY_SHEET_NAME = "汇总"
HEADER: tuple[str, ...] = (
    "批次号", "序号", "支付编号", "收款单位名称", "统一社会信用代码", "开户银行", "银行账号",
    "金额（元）", "资金用途", "事项编码",
)  # fmt: skip
AMOUNT_FORMAT = "0.00"
TEXT_FORMAT = "@"
# Characters that make a spreadsheet treat a cell as a formula (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Payment reference scheme: "PH" + award id zero-padded to 10 digits + attempt zero-padded to 2 digits,
# e.g. award 42, first attempt -> "PH000000004201". Letters and digits only, as bank reference fields
# often refuse punctuation. A retry after a failed payment gets attempt + 1, hence a new reference, so
# every bank answer maps to exactly one attempt.
_REF_RE = re.compile(r"^PH(\d{10})(\d{2})$")


def payment_ref(award_id: int, attempt: int) -> str:
    """Stable payment reference (支付编号) for one payment attempt of an award.

    Args:
        award_id: positive award id, at most 10 digits.
        attempt: 1 for the first batch, +1 per reschedule, at most 99.

    Raises:
        ValueError: an id or attempt out of range.
    """
    if isinstance(award_id, bool) or not isinstance(award_id, int) or not 0 < award_id < 10**10:
        raise ValueError(f"award_id must be an int in 1..9999999999, got {award_id!r}")
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 0 < attempt < 100:
        raise ValueError(f"attempt must be an int in 1..99, got {attempt!r}")
    return f"PH{award_id:010d}{attempt:02d}"


def parse_payment_ref(ref: str) -> tuple[int, int] | None:
    """Inverse of payment_ref: (award_id, attempt), or None if ``ref`` does not follow the scheme."""
    m = _REF_RE.match(ref.strip().upper())
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        return None
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class PayoutLine:
    """One row of the payout file. ``amount_fen`` is integer 分; codes and account number are text."""

    batch_no: str
    seq: int
    payment_ref: str
    payee_name: str
    credit_code: str
    bank_name: str
    account_no: str
    amount_fen: int
    purpose: str
    item_code: str


def batch_total_fen(lines: Sequence[PayoutLine]) -> int:
    """Sum of the lines' amounts in 分."""
    return sum(line.amount_fen for line in lines)


def batch_fingerprint(batch_no: str, lines: Sequence[PayoutLine]) -> str:
    """SHA-256 hex of the batch's content, to refuse re-sending the same batch number with other content."""
    h = hashlib.sha256(batch_no.encode("utf-8"))
    for line in sorted(lines, key=lambda x: x.seq):
        h.update(b"\x1e" + "\x1f".join(str(v) for v in astuple(line)).encode("utf-8"))
    return h.hexdigest()


def validate_batch(batch_no: str, lines: Sequence[PayoutLine]) -> None:
    """Check a batch before writing it.

    Raises:
        PayoutError: empty batch, a line of another batch, sequence not 1..n, a duplicate or malformed
            payment reference, a non-integer or non-positive amount, or an empty payee field.
    """
    if not batch_no or not batch_no.strip():
        raise PayoutError("批次号不能为空", batch_no)
    if not lines:
        raise PayoutError(f"批次 {batch_no} 没有支付明细", batch_no)
    seqs = [line.seq for line in lines]
    if sorted(seqs) != list(range(1, len(lines) + 1)):
        raise PayoutError(f"批次 {batch_no} 的序号应为 1..{len(lines)} 且不重复，实际为 {sorted(seqs)}", seqs)
    seen: set[str] = set()
    for line in lines:
        where = f"批次 {batch_no} 序号 {line.seq}"
        if line.batch_no != batch_no:
            raise PayoutError(f"{where}：批次号应为 {batch_no}，实际为 {line.batch_no}", line.batch_no)
        if parse_payment_ref(line.payment_ref) is None:
            raise PayoutError(f"{where}：支付编号格式应为 PH+12 位数字，实际为 {line.payment_ref!r}", line.payment_ref)
        if line.payment_ref in seen:
            raise PayoutError(f"{where}：支付编号 {line.payment_ref} 重复", line.payment_ref)
        seen.add(line.payment_ref)
        amount = line.amount_fen
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise PayoutError(f"{where}：金额应为正整数（分），实际为 {amount!r}", amount)
        for label, value in (("收款单位名称", line.payee_name), ("统一社会信用代码", line.credit_code),
                             ("开户银行", line.bank_name), ("银行账号", line.account_no)):  # fmt: skip
            if not value or not str(value).strip():
                raise PayoutError(f"{where}：{label}不能为空", value)


def _text_cell(ws, row: int, col: int, value: str) -> None:
    """Write ``value`` as a text cell; a formula-like value gets quotePrefix so Excel never evaluates it."""
    cell = ws.cell(row=row, column=col)
    cell.value = str(value)
    cell.data_type = "s"  # openpyxl would otherwise mark a leading "=" as a formula
    cell.number_format = TEXT_FORMAT
    if cell.value.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True


def write_payout_xlsx(batch_no: str, lines: Sequence[PayoutLine]) -> bytes:
    """Write the 支付清单 xlsx for one batch and return its bytes.

    Sheet 支付清单: the header row ``HEADER``, then one row per line in seq order. 金额（元） is a Decimal
    with two places (number format 0.00); every other column is a text cell (number format '@'), so credit
    codes and account numbers keep their digits. Sheet 汇总: 批次号, 笔数, 合计金额（元）, for the totals check.

    Raises:
        PayoutError: see validate_batch.
    """
    validate_batch(batch_no, lines)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    for col, title in enumerate(HEADER, start=1):
        _text_cell(ws, 1, col, title)
        ws.cell(row=1, column=col).font = Font(bold=True)
    amount_col = HEADER.index("金额（元）") + 1
    for r, line in enumerate(sorted(lines, key=lambda x: x.seq), start=2):
        values = (line.batch_no, str(line.seq), line.payment_ref, line.payee_name, line.credit_code,
                  line.bank_name, line.account_no, None, line.purpose, line.item_code)  # fmt: skip
        for col, value in enumerate(values, start=1):
            if col == amount_col:
                cell = ws.cell(row=r, column=col, value=fen_to_yuan(line.amount_fen))
                cell.number_format = AMOUNT_FORMAT
            elif col == 2:
                ws.cell(row=r, column=col, value=line.seq)  # 序号 stays a number
            else:
                _text_cell(ws, r, col, value or "")
    for col, width in zip("ABCDEFGHIJ", (18, 6, 18, 30, 22, 24, 26, 14, 20, 14), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"

    summary = wb.create_sheet(SUMMARY_SHEET_NAME)
    for col, title in enumerate(("批次号", "笔数", "合计金额（元）"), start=1):
        _text_cell(summary, 1, col, title)
    _text_cell(summary, 2, 1, batch_no)
    summary.cell(row=2, column=2, value=len(lines))
    total = summary.cell(row=2, column=3, value=fen_to_yuan(batch_total_fen(lines)))
    total.number_format = AMOUNT_FORMAT

    buf = io.BytesIO()
    wb.save(buf)
    logger.info("payout batch %s written: %s lines", batch_no, len(lines))
    return buf.getvalue()
