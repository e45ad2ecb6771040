from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from importers import cells

EPOCH_1900 = datetime(1899, 12, 30)


@pytest.mark.parametrize(
    ("raw", "header_unit", "expected"),
    [
        ("1,500万元", None, Decimal("15000000")),
        ("最高200万元", None, Decimal("2000000")),
        ("１０００", "万元", Decimal("10000000")),
        ("0.3万元", None, Decimal("3000")),
        ("15万元", None, Decimal("150000")),
        ("10万", None, Decimal("100000")),
        ("150000", None, Decimal("150000")),
        ("29294.66", "元", Decimal("29294.66")),
        (20, "万元", Decimal("200000")),
        (0.5, "万元", Decimal("5000")),
        ("\u00a0 15 万元\u3000", None, Decimal("150000")),
    ],
)
def test_amount_spellings_are_read_in_yuan(raw, header_unit, expected):
    assert cells.amount(raw, header_unit) == expected


def test_a_unit_in_the_cell_wins_over_the_header_unit_so_wan_is_applied_once():
    assert cells.amount("15万元", "万元") == Decimal("150000")
    assert cells.amount("15", "万元") == Decimal("150000")
    assert cells.amount("150000元", "万元") == Decimal("150000")


@pytest.mark.parametrize("raw", ["3万元-5万元", "3-5万元", "3万元~5万元", "3至5万元"])
def test_an_amount_range_is_an_error(raw):
    with pytest.raises(cells.CellError, match="区间"):
        cells.amount(raw)


@pytest.mark.parametrize("raw", ["约10万元", "十万元", "1,50万元", "-5", "10美元", True])
def test_an_unreadable_amount_is_an_error_not_a_guess(raw):
    with pytest.raises(cells.CellError):
        cells.amount(raw)


def test_a_blank_amount_is_unknown_not_zero():
    assert cells.amount(None) is None
    assert cells.amount(" \u3000") is None


@pytest.mark.parametrize(
    ("raw", "epoch"),
    [
        (datetime(2026, 3, 1), EPOCH_1900),
        (date(2026, 3, 1), None),
        ("2026-03-01", None),
        ("2026/3/1", None),
        ("2026.3.1", None),
        ("2026年3月1日", None),
        ("20260301", None),
        ("２０２６－０３－０１", None),
        (46082, EPOCH_1900),  # date(1899, 12, 30) + 46082 days
    ],
)
def test_every_accepted_date_spelling_reads_as_the_same_day(raw, epoch):
    assert cells.to_date(raw, epoch) == date(2026, 3, 1)


def test_the_serial_in_the_taiyuan_sheet_is_new_years_eve_2026():
    assert cells.to_date(46387, EPOCH_1900) == date(2026, 12, 31)


@pytest.mark.parametrize(
    ("raw", "epoch"),
    [
        ("2026-13-01", None),
        ("2026-02-30", None),
        ("01/03/2026", None),
        ("3/1/2026", None),
        ("2026-3/1", None),
        ("明年三月", None),
        ("46082", None),  # a serial typed as text in a CSV is not guessed
        (46082, None),  # numbers are serials only in a workbook
        (12, EPOCH_1900),  # implausible serial
        (46082.5, EPOCH_1900),
    ],
)
def test_a_bad_date_is_an_error_never_a_guess(raw, epoch):
    with pytest.raises(cells.CellError):
        cells.to_date(raw, epoch)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)))
def test_all_text_spellings_of_a_date_agree(day):
    spellings = [day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}.{day.month}.{day.day}",
                 f"{day.year}年{day.month}月{day.day}日", day.strftime("%Y%m%d")]
    assert {cells.to_date(s) for s in spellings} == {day}


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["万元", "万"]))
def test_wan_multiplies_by_ten_thousand_exactly(n, unit):
    assert cells.amount(f"{n}{unit}") == Decimal(n) * 10000
    assert cells.amount(f"{n:,}{unit}") == Decimal(n) * 10000


def test_a_code_that_lost_its_leading_zero_as_a_number_is_refused():
    with pytest.raises(cells.CellError, match="前导零"):
        cells.code_text(511, 4, "行业代码")
    assert cells.code_text(1741, 4, "行业代码") == "1741"
    assert cells.code_text("0511", 4, "行业代码") == "0511"
    assert cells.code_text(140105.0, 6, "行政区划代码") == "140105"


@pytest.mark.parametrize(("raw", "expected"), [("是", True), ("否", False), (" 是 ", True), (None, None)])
def test_yes_no_cells(raw, expected):
    assert cells.boolean(raw) is expected


def test_an_unknown_yes_no_word_is_an_error():
    with pytest.raises(cells.CellError, match="是"):
        cells.boolean("可能")
