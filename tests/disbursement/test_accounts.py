"""Masking account numbers and comparing holder names."""

from __future__ import annotations

import pytest

from disbursement import DisbursementError, mask_account, names_match, normalise_account_no


def test_an_account_number_shows_only_its_last_four_digits():
    assert mask_account("6222 0212 3456 7890 123") == "**** **** 0123"
    assert mask_account("６２２２０２１２３４５６７８１２３４") == "**** **** 1234"


@pytest.mark.parametrize("short", ["", None, "1234", "12345678"])
def test_a_short_or_missing_number_is_masked_completely(short):
    assert mask_account(short) == "****"


def test_account_numbers_are_normalised_to_digits_and_bad_ones_refused_without_echoing_them():
    assert normalise_account_no("6222-0212 3456 7890") == "6222021234567890"
    with pytest.raises(DisbursementError) as info:
        normalise_account_no("6222O21234567890")
    assert "6222O2" not in str(info.value)


def test_holder_names_match_after_width_and_space_normalisation():
    assert names_match("太原市 晋阳科技有限公司（分公司）", "太原市晋阳科技有限公司(分公司)")
    assert names_match("ＡＢＣ科技有限公司", "abc科技有限公司")
    assert not names_match("太原市晋阳科技有限公司", "太原市晋阳科技股份有限公司")
    assert not names_match("", "")


def test_full_width_digits_become_ascii_and_other_scripts_are_refused():
    assert normalise_account_no("６２２７ ００００ １２３４") == "622700001234"
    with pytest.raises(DisbursementError):
        normalise_account_no("٦٢٢٧٠٠٠٠١٢٣٤")  # Arabic-Indic digits: isdigit() but not a bank account
