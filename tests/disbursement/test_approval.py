"""Maker-checker and budget arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from disbursement import (
    BudgetExceeded,
    DisbursementError,
    MakerCheckerError,
    MissingReason,
    approve_outcome,
    available_fen,
    can_reserve,
    check_recovery,
    check_rejection,
    check_reviewer,
    check_second_approver,
    post_payment,
    release,
    reserve,
)


def test_the_approver_may_not_be_the_reviewer():
    with pytest.raises(MakerCheckerError) as info:
        approve_outcome(reviewer_id=7, approver_id=7, amount_fen=100, second_threshold_fen=None)
    assert info.value.actor_id == 7


def test_a_different_approver_approves_below_the_threshold():
    assert approve_outcome(7, 8, amount_fen=50_000_00, second_threshold_fen=50_000_00) == "approved"


def test_above_the_threshold_a_second_approval_is_needed():
    assert approve_outcome(7, 8, amount_fen=50_000_01, second_threshold_fen=50_000_00) == "awaiting_second_approval"


@pytest.mark.parametrize("second", [7, 8, None])
def test_the_second_approver_must_be_a_third_person(second):
    with pytest.raises(MakerCheckerError):
        check_second_approver(reviewer_id=7, first_approver_id=8, second_id=second)


def test_a_third_person_may_give_the_second_approval():
    check_second_approver(reviewer_id=7, first_approver_id=8, second_id=9)


def test_the_applicant_may_not_review_its_own_application():
    with pytest.raises(MakerCheckerError):
        check_reviewer(5, applicant_id=5)
    with pytest.raises(MakerCheckerError):
        check_reviewer(None)
    check_reviewer(6, applicant_id=5)


def test_a_rejection_needs_a_non_empty_reason():
    assert check_rejection("  资料不全 ") == "资料不全"
    with pytest.raises(MissingReason):
        check_rejection(" ")


def test_reservation_stops_at_the_budget():
    assert available_fen(1000, 300, 200) == 500
    assert reserve(1000, 300, 200, 500) == 800
    with pytest.raises(BudgetExceeded) as info:
        reserve(1000, 300, 200, 501, limit_name="太原市分配额度")
    assert (info.value.amount_fen, info.value.available_fen) == (501, 500)
    assert "太原市分配额度" in str(info.value)


def test_payment_moves_money_from_reserved_to_paid_and_release_cannot_go_negative():
    assert post_payment(800, 200, 500) == (300, 700)
    with pytest.raises(DisbursementError):
        release(100, 101)


def test_amounts_must_be_integer_fen():
    with pytest.raises(TypeError):
        available_fen(1000.0, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(DisbursementError):
        can_reserve(1000, 0, 0, -1)


def test_recovery_is_at_most_what_was_paid():
    check_recovery(100, 100)
    with pytest.raises(DisbursementError):
        check_recovery(101, 100)


@given(budget=st.integers(0, 10**12), amounts=st.lists(st.integers(1, 10**11), max_size=40))
def test_reserving_in_any_order_never_exceeds_the_budget(budget, amounts):
    reserved = 0
    for a in amounts:
        if can_reserve(budget, reserved, 0, a):
            reserved = reserve(budget, reserved, 0, a)
        else:
            with pytest.raises(BudgetExceeded):
                reserve(budget, reserved, 0, a)
        assert 0 <= reserved <= budget
