"""Reconciliation plans: idempotent, and never guessing."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from disbursement import (
    apply_plan,
    payment_ref,
    plan_reconciliation,
    read_bank_return,
    write_bank_return_xlsx,
)

from .factories import return_row, scheduled


def payments_for(*award_ids, amount_fen=100_00):
    return {payment_ref(a, 1): scheduled(a, amount_fen) for a in award_ids}


def test_successes_are_paid_and_failures_fail_with_their_code():
    payments = payments_for(1, 2)
    rows = [return_row(1, row=4), return_row(2, success=False, row=5, failure_reason_raw="账户冻结", failure_code="账户冻结")]
    plan = plan_reconciliation(rows, payments)
    assert [(c.award_id, c.bank_txn_no) for c in plan.to_pay] == [(1, "TXN00000001")]
    assert [(c.award_id, c.failure_code, c.failure_reason_raw) for c in plan.to_fail] == [(2, "账户冻结", "账户冻结")]
    assert not plan.has_problems
    assert plan.summary()["paid_fen"] == 100_00 and plan.summary()["failed_fen"] == 100_00


def test_applying_the_same_file_twice_changes_nothing_the_second_time():
    payments = payments_for(1, 2, 3)
    data = write_bank_return_xlsx([return_row(1), return_row(2, success=False), return_row(3)])
    rows = read_bank_return(data).rows
    first = plan_reconciliation(rows, payments)
    assert first.changes == 3
    after = apply_plan(payments, first)
    assert {s.state for s in after.values()} == {"paid", "payment_failed"}
    second = plan_reconciliation(rows, after)
    assert second.changes == 0 and not second.has_problems
    assert len(second.already_applied) == 3
    assert apply_plan(after, second) == after


def test_an_unknown_reference_is_reported_not_applied():
    plan = plan_reconciliation([return_row(99, row=7)], payments_for(1))
    assert plan.changes == 0
    assert [(i.kind, i.row, i.payment_ref) for i in plan.unknown_refs] == [("unknown_ref", 7, payment_ref(99, 1))]
    assert "第 7 行" in plan.unknown_refs[0].message


def test_a_reference_twice_in_one_file_is_reported_and_none_of_its_rows_applied():
    rows = [return_row(1, row=2), return_row(2, row=3), return_row(1, row=4, success=False)]
    plan = plan_reconciliation(rows, payments_for(1, 2))
    assert [c.award_id for c in plan.to_pay] == [2]
    assert [(i.row, i.award_id) for i in plan.duplicates] == [(2, 1), (4, 1)]
    assert plan.to_fail == []


def test_an_answer_that_contradicts_the_recorded_one_is_reported():
    recorded = {
        payment_ref(1, 1): replace(scheduled(1), state="paid", result="success", bank_txn_no="TXN00000001"),
        payment_ref(2, 1): replace(scheduled(2), state="payment_failed", result="failure"),
        payment_ref(3, 1): replace(scheduled(3), state="paid", result="success", bank_txn_no="OTHER"),
    }
    rows = [return_row(1, success=False, row=2), return_row(2, row=3), return_row(3, row=4)]
    plan = plan_reconciliation(rows, recorded)
    assert plan.changes == 0
    assert [i.award_id for i in plan.contradictions] == [1, 2, 3]


def test_an_answer_for_an_award_that_is_not_scheduled_is_reported():
    payments = {payment_ref(1, 1): replace(scheduled(1), state="approved")}
    plan = plan_reconciliation([return_row(1)], payments)
    assert plan.changes == 0 and [i.kind for i in plan.wrong_state] == ["wrong_state"]


def test_a_retry_has_its_own_reference_so_the_old_failure_does_not_block_it():
    payments = {
        payment_ref(1, 1): replace(scheduled(1), state="payment_failed", result="failure"),
        payment_ref(1, 2): scheduled(1, attempt=2),
    }
    plan = plan_reconciliation([return_row(1, attempt=2)], payments)
    assert [c.payment_ref for c in plan.to_pay] == [payment_ref(1, 2)]


@given(
    outcomes=st.lists(st.booleans(), min_size=1, max_size=15),
    order=st.randoms(use_true_random=False),
)
def test_reconciling_any_file_is_idempotent(outcomes, order):
    payments = payments_for(*range(1, len(outcomes) + 1))
    rows = [return_row(i, success=ok, row=i + 1) for i, ok in enumerate(outcomes, start=1)]
    order.shuffle(rows)
    once = apply_plan(payments, plan_reconciliation(rows, payments))
    second = plan_reconciliation(rows, once)
    assert second.changes == 0 and not second.has_problems
    assert sum(s.state == "paid" for s in once.values()) == sum(outcomes)
