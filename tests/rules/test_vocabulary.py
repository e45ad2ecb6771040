"""The vocabulary: every DESIGN field, _prev twins, labels, and JSON encoding round trips."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import FIELDS, SOURCES, decode_value, encode_value, field_for

DESIGN_CODES = {
    "credit_code", "name", "region_code", "city_code", "established_on", "registered_capital", "entity_type",
    "industry_code", "industry_section", "operating_status", "abnormal_listed", "revenue", "revenue_prev",
    "total_assets", "taxable_income", "tax_paid", "rd_expense", "rd_expense_prev", "tax_credit_rating",
    "employees", "employees_prev", "ui_premium_paid", "ui_paid_months", "layoff_count", "new_graduate_hires",
    "qualifications", "qualified_on", "first_qualified_on", "serious_dishonest", "scale", "layoff_rate",
    "rd_ratio", "age_years",
}
YEARLY = {"revenue", "total_assets", "taxable_income", "tax_paid", "rd_expense", "tax_credit_rating", "employees",
          "ui_premium_paid", "ui_paid_months", "layoff_count", "new_graduate_hires"}


def test_every_design_field_is_in_the_vocabulary():
    assert DESIGN_CODES <= set(FIELDS)


@pytest.mark.parametrize("code", sorted(YEARLY))
def test_every_yearly_field_has_a_prev_twin_labelled_shang_nian_du(code):
    twin = FIELDS[code + "_prev"]
    assert twin.label == "上年度" + FIELDS[code].label
    assert twin.type == FIELDS[code].type and twin.yearly


def test_every_field_has_a_known_source_and_type():
    for f in FIELDS.values():
        assert f.source in SOURCES
        assert f.type in {"string", "money", "integer", "date", "boolean", "fraction", "decimal", "set", "mapping"}
        assert f.derived == (f.source == "derived")


def test_labels_are_unique():
    labels = [f.label for f in FIELDS.values()]
    assert len(labels) == len(set(labels))


def test_field_for_accepts_code_or_label():
    assert field_for("revenue") is field_for("营业收入")
    assert field_for("上年度营业收入").code == "revenue_prev"


def test_field_for_unknown_suggests_the_nearest():
    with pytest.raises(KeyError, match="revenue"):
        field_for("revenu")


@pytest.mark.parametrize(
    ("code", "value"),
    [
        ("revenue", Decimal("1234567.85")),
        ("employees", 12),
        ("established_on", datetime.date(2025, 1, 31)),
        ("abnormal_listed", False),
        ("name", "太原某某科技有限公司"),
        ("qualifications", frozenset({"高新技术企业", "科技型中小企业"})),
        ("first_qualified_on", {"高新技术企业": datetime.date(2025, 3, 1)}),
        ("layoff_rate", Decimal("0.055")),
        ("revenue", None),
    ],
)
def test_encode_then_decode_returns_the_value(code, value):
    import json

    raw = json.loads(json.dumps(encode_value(code, value)))
    assert decode_value(code, raw) == value


def test_sets_encode_as_sorted_lists():
    assert encode_value("qualifications", frozenset({"b", "a"})) == ["a", "b"]


def test_float_money_is_refused_when_decoding():
    with pytest.raises(TypeError):
        decode_value("revenue", 1.5)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_money_round_trips_exactly(value):
    assert decode_value("revenue", encode_value("revenue", value)) == value
