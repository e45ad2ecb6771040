"""The payout xlsx, read back with openpyxl, and payment references."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from disbursement import (
    PayoutError,
    batch_fingerprint,
    batch_total_fen,
    parse_payment_ref,
    payment_ref,
    write_payout_xlsx,
)
from disbursement.payout import HEADER

from .factories import payout_line

EXPECTED_HEADER = ["批次号", "序号", "支付编号", "收款单位名称", "统一社会信用代码", "开户银行", "银行账号",
                   "金额（元）", "资金用途", "事项编码"]  # fmt: skip


def load(lines):
    data = write_payout_xlsx("PB2026063001", lines)
    return load_workbook(io.BytesIO(data))


def test_the_header_is_exactly_the_design_header():
    ws = load([payout_line()])["支付清单"]
    assert [c.value for c in ws[1]] == EXPECTED_HEADER
    assert list(HEADER) == EXPECTED_HEADER


def test_codes_and_account_numbers_are_text_cells_keeping_leading_zeros():
    ws = load([payout_line()])["支付清单"]
    code, account = ws["E2"], ws["G2"]
    assert (code.value, code.data_type, code.number_format) == ("01140100MA0000001X", "s", "@")
    assert (account.value, account.data_type, account.number_format) == ("0502123456789012345", "s", "@")


def test_amounts_are_yuan_with_two_decimal_places():
    ws = load([payout_line(1, amount_fen=1_234_50), payout_line(2, amount_fen=7)])["支付清单"]
    assert ws["H2"].number_format == "0.00" and ws["H2"].data_type == "n"
    assert Decimal(str(ws["H2"].value)).quantize(Decimal("0.01")) == Decimal("1234.50")
    assert Decimal(str(ws["H3"].value)).quantize(Decimal("0.01")) == Decimal("0.07")


def test_formula_like_text_is_written_as_quoted_text_never_a_formula():
    line = payout_line(payee_name="=HYPERLINK(\"http://x\",\"点我\")", purpose="+1+2", item_code="@SUM(A1)")
    ws = load([line])["支付清单"]
    for ref in ("D2", "I2", "J2"):
        assert ws[ref].data_type == "s", ref
        assert ws[ref].quotePrefix, ref
    assert ws["D2"].value == "=HYPERLINK(\"http://x\",\"点我\")"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert not ws["C2"].quotePrefix


def test_rows_come_out_in_sequence_order_with_a_totals_sheet():
    lines = [payout_line(2, amount_fen=300), payout_line(1, amount_fen=200), payout_line(3, amount_fen=1)]
    wb = load(lines)
    assert [r[1].value for r in wb["支付清单"].iter_rows(min_row=2)] == [1, 2, 3]
    assert batch_total_fen(lines) == 501
    summary = wb["汇总"]
    assert summary["A2"].value == "PB2026063001" and summary["B2"].value == 3
    assert Decimal(str(summary["C2"].value)).quantize(Decimal("0.01")) == Decimal("5.01")


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [payout_line(1), payout_line(1, award_id=2)],  # seq repeated
        [payout_line(1), payout_line(3)],  # gap
        [payout_line(1), payout_line(2, award_id=1)],  # same payment_ref
        [payout_line(1, amount_fen=0)],
        [payout_line(1, amount_fen=12.5)],
        [payout_line(1, batch_no="OTHER")],
        [payout_line(1, payment_ref="12345")],
        [payout_line(1, account_no=" ")],
    ],
)
def test_an_inconsistent_batch_is_refused(lines):
    with pytest.raises(PayoutError):
        write_payout_xlsx("PB2026063001", lines)


def test_the_fingerprint_changes_when_any_line_changes():
    lines = [payout_line(1), payout_line(2)]
    assert batch_fingerprint("B", lines) == batch_fingerprint("B", list(reversed(lines)))
    assert batch_fingerprint("B", lines) != batch_fingerprint("B", [payout_line(1), payout_line(2, amount_fen=1)])


def test_payment_references_follow_the_documented_scheme():
    assert payment_ref(42, 1) == "PH000000004201"
    assert parse_payment_ref("ph000000004201") == (42, 1)
    assert parse_payment_ref("PH0000000042") is None
    for bad in ((0, 1), (1, 0), (1, 100), (10**10, 1), (True, 1)):
        with pytest.raises(ValueError):
            payment_ref(*bad)


@given(st.integers(1, 10**10 - 1), st.integers(1, 99))
def test_a_payment_reference_round_trips_and_differs_per_attempt(award_id, attempt):
    ref = payment_ref(award_id, attempt)
    assert parse_payment_ref(ref) == (award_id, attempt)
    assert ref != payment_ref(award_id, attempt % 99 + 1)


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
@pytest.mark.parametrize("column,field", [("D", "payee_name"), ("F", "bank_name"), ("I", "purpose"),
                                          ("J", "item_code")])
def test_every_formula_trigger_in_every_text_column_is_kept_as_quoted_text(trigger, column, field):
    value = f"{trigger}1+2*cmd|' /C calc'!A0"
    ws = load([payout_line(**{field: value})])["支付清单"]
    cell = ws[f"{column}2"]
    # XML normalises a stored CR to LF on reading; the cell is still quoted text, never a formula.
    assert (cell.value, cell.data_type, cell.quotePrefix) == (value.replace("\r", "\n"), "s", True)


@given(st.text(min_size=1, max_size=30).filter(lambda t: t.strip() and "\x00" not in t),
       st.text(alphabet="0123456789", min_size=6, max_size=32))
def test_any_payee_text_and_account_round_trip_as_text_and_nothing_is_a_formula(name, account):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    name = ILLEGAL_CHARACTERS_RE.sub("", name).replace("\r", "\n")  # xlsx cannot hold control characters
    if not name.strip():
        return
    ws = load([payout_line(payee_name=name, account_no=account)])["支付清单"]
    assert ws["D2"].value == name and ws["G2"].value == account
    assert ws["D2"].quotePrefix == name.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
