"""Amounts typed by users (recoveries, re-budgets) are parsed exactly or refused with a reason."""

import pytest

from rules.money import parse_yuan_text


@pytest.mark.parametrize("text, fen", [("1234.56", 123456), ("１００", 10000), (" 1,000.5 ", 100050), ("0.01", 1)])
def test_valid_amounts_become_exact_fen(text, fen):
    assert parse_yuan_text(text) == fen


@pytest.mark.parametrize("text, reason", [
    ("NaN", "大于 0"), ("Infinity", "大于 0"), ("-5", "大于 0"), ("0", "大于 0"), ("1e30", "大于 0"),
    ("0.005", "精确到分"), ("abc", "数字"), ("", "数字"),
])
def test_anything_else_is_refused_with_a_reason(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_yuan_text(text)
