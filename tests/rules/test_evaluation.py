"""Evaluation: Kleene logic, unknown propagation, closed-world qualifications, exact Decimal boundaries."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import compile_rule

T, F, U = True, False, None
# profile values for a boolean field that make `abnormal_listed` true, false or unknown
_AS = {T: {"abnormal_listed": True}, F: {"abnormal_listed": False}, U: {}}
_BS = {T: {"serious_dishonest": True}, F: {"serious_dishonest": False}, U: {}}


@pytest.mark.parametrize(
    ("a", "b", "expected_and", "expected_or"),
    [
        (T, T, T, T), (T, F, F, T), (T, U, U, T),
        (F, T, F, T), (F, F, F, F), (F, U, F, U),
        (U, T, U, T), (U, F, F, U), (U, U, U, U),
    ],
)
def test_and_or_follow_kleene_truth_tables(a, b, expected_and, expected_or, as_of):
    profile = {**_AS[a], **_BS[b]}
    assert compile_rule("abnormal_listed and serious_dishonest").evaluate(profile, as_of).value is expected_and
    assert compile_rule("abnormal_listed or serious_dishonest").evaluate(profile, as_of).value is expected_or


@pytest.mark.parametrize(("a", "expected"), [(T, F), (F, T), (U, U)])
def test_not_follows_kleene(a, expected, as_of):
    assert compile_rule("not abnormal_listed").evaluate(_AS[a], as_of).value is expected


def test_false_and_unknown_is_false_with_nothing_missing(as_of):
    outcome = compile_rule("employees > 10 and revenue > 1").evaluate({"employees": 5}, as_of)
    assert outcome.value is False
    assert outcome.missing == ()


def test_unknown_result_lists_sorted_distinct_missing_codes(as_of):
    rule = compile_rule("ui_paid_months >= 12 and (layoff_rate <= 0.055 or (employees <= 30 and layoff_rate <= 0.20))")
    outcome = rule.evaluate({"ui_paid_months": 12}, as_of)
    assert outcome.value is None
    assert outcome.missing == ("employees", "layoff_rate")


def test_comparison_with_an_unknown_operand_is_unknown(as_of):
    outcome = compile_rule("revenue > revenue_prev").evaluate({"revenue": Decimal(5)}, as_of)
    assert (outcome.value, outcome.missing) == (None, ("revenue_prev",))


def test_arithmetic_and_functions_with_an_unknown_operand_are_unknown(as_of):
    outcome = compile_rule("$min([(rd_expense - rd_expense_prev) * 0.10, 1000000])", "amount").evaluate(
        {"rd_expense": Decimal(10)}, as_of
    )
    assert (outcome.value, outcome.missing) == (None, ("rd_expense_prev",))


def test_ternary_with_unknown_condition_is_unknown(as_of):
    outcome = compile_rule("ui_premium_paid * (scale == '大型' ? 0.30 : 0.60)", "amount").evaluate(
        {"ui_premium_paid": Decimal(100)}, as_of
    )
    assert (outcome.value, outcome.missing) == (None, ("scale",))


def test_division_by_zero_is_unknown(as_of):
    outcome = compile_rule("rd_expense / revenue > 0.03").evaluate(
        {"rd_expense": Decimal(1), "revenue": Decimal(0)}, as_of
    )
    assert outcome.value is None


def test_layoff_rate_boundary_is_exact(as_of):
    rule = compile_rule("layoff_rate <= 0.055")
    assert rule.evaluate({"layoff_rate": Decimal(11) / Decimal(200)}, as_of).value is True
    assert rule.evaluate({"layoff_rate": Decimal(12) / Decimal(200)}, as_of).value is False


def test_thirty_percent_of_an_amount_is_exact_before_rounding(as_of):
    rule = compile_rule("ui_premium_paid * (scale == '大型' ? 0.30 : 0.60)", "amount")
    value = rule.evaluate({"ui_premium_paid": Decimal("1234567.85"), "scale": "大型"}, as_of).value
    assert value == Decimal("370370.355")


def test_integers_are_evaluated_as_decimals(as_of):
    value = compile_rule("new_graduate_hires * 1500", "amount").evaluate({"new_graduate_hires": 3}, as_of).value
    assert value == Decimal(4500) and isinstance(value, Decimal)


def test_float_money_in_a_profile_is_refused(as_of):
    with pytest.raises(TypeError):
        compile_rule("revenue > 1").evaluate({"revenue": 1.5}, as_of)


def test_date_literals_compare_as_calendar_dates(as_of):
    rule = compile_rule("established_on >= d'2025-01-01'")
    assert rule.evaluate({"established_on": datetime.date(2025, 1, 1)}, as_of).value is True
    assert rule.evaluate({"established_on": datetime.date(2024, 12, 31)}, as_of).value is False


def test_as_of_is_the_assessment_date():
    rule = compile_rule("established_on <= as_of")
    profile = {"established_on": datetime.date(2026, 1, 1)}
    assert rule.evaluate(profile, datetime.date(2026, 1, 1)).value is True
    assert rule.evaluate(profile, datetime.date(2025, 12, 31)).value is False


def test_membership_in_a_list_literal(as_of):
    rule = compile_rule("entity_type in ['有限责任公司', '股份有限公司']")
    assert rule.evaluate({"entity_type": "有限责任公司"}, as_of).value is True
    assert rule.evaluate({"entity_type": "合伙企业"}, as_of).value is False
    assert rule.evaluate({}, as_of).missing == ("entity_type",)


class TestClosedWorldQualifications:
    RULE = "'高新技术企业' in qualifications"
    DATE_RULE = "first_qualified_on['高新技术企业'] >= d'2025-01-01'"

    def test_held_qualification_is_true(self, as_of):
        assert compile_rule(self.RULE).evaluate({"qualifications": frozenset({"高新技术企业"})}, as_of).value is True

    def test_absent_from_an_imported_list_is_false(self, as_of):
        profile = {"qualifications": frozenset(), "closed_lists": frozenset({"高新技术企业"})}
        assert compile_rule(self.RULE).evaluate(profile, as_of).value is False

    def test_absent_without_an_imported_list_is_unknown(self, as_of):
        outcome = compile_rule(self.RULE).evaluate({"qualifications": frozenset({"科技型中小企业"})}, as_of)
        assert (outcome.value, outcome.missing) == (None, ("qualifications",))

    def test_date_comparison_is_false_when_absent_from_an_imported_list(self, as_of):
        profile = {"first_qualified_on": {}, "closed_lists": frozenset({"高新技术企业"})}
        assert compile_rule(self.DATE_RULE).evaluate(profile, as_of).value is False
        assert compile_rule("not (" + self.DATE_RULE + ")").evaluate(profile, as_of).value is True

    def test_date_comparison_is_unknown_without_an_imported_list(self, as_of):
        outcome = compile_rule(self.DATE_RULE).evaluate({"first_qualified_on": {}}, as_of)
        assert (outcome.value, outcome.missing) == (None, ("first_qualified_on",))

    def test_date_comparison_uses_the_recorded_date(self, as_of):
        profile = {"first_qualified_on": {"高新技术企业": datetime.date(2024, 12, 1)}}
        assert compile_rule(self.DATE_RULE).evaluate(profile, as_of).value is False


class TestClauses:
    def test_each_comparison_is_a_clause_with_labels_values_and_outcome(self, as_of):
        rule = compile_rule("营业收入 >= 100万 and employees <= 30")
        outcome = rule.evaluate({"revenue": Decimal("2000000.50")}, as_of)
        assert [c.to_dict() for c in outcome.clauses] == [
            {"text": "营业收入 >= 1000000", "values": {"营业收入": "2000000.50"}, "outcome": "pass"},
            {"text": "从业人数 <= 30", "values": {"从业人数": "未知"}, "outcome": "unknown"},
        ]

    def test_membership_tests_are_clauses(self, as_of):
        outcome = compile_rule("'科技型中小企业' in 资质").evaluate({"qualifications": frozenset({"科技型中小企业"})}, as_of)
        assert outcome.clauses[0].outcome == "pass"
        assert outcome.clauses[0].values == {"资质": "科技型中小企业"}


_bool = st.sampled_from([True, False, None])


@given(_bool)
def test_not_of_unknown_stays_unknown_and_x_and_not_x_is_never_true(a):
    profile = {} if a is None else {"abnormal_listed": a}
    day = datetime.date(2026, 6, 30)
    negated = compile_rule("not abnormal_listed").evaluate(profile, day).value
    assert (negated is None) == (a is None)
    assert compile_rule("abnormal_listed and not abnormal_listed").evaluate(profile, day).value is not True
    assert compile_rule("abnormal_listed or not abnormal_listed").evaluate(profile, day).value is not False


@given(st.one_of(st.none(), st.integers(-10**12, 10**12)), st.one_of(st.none(), st.integers(-10**12, 10**12)))
def test_comparison_is_unknown_exactly_when_an_operand_is_unknown(a, b):
    profile = {k: Decimal(v) for k, v in (("revenue", a), ("revenue_prev", b)) if v is not None}
    outcome = compile_rule("revenue >= revenue_prev").evaluate(profile, datetime.date(2026, 6, 30))
    if a is None or b is None:
        assert outcome.value is None
        assert set(outcome.missing) == {k for k, v in (("revenue", a), ("revenue_prev", b)) if v is None}
    else:
        assert outcome.value is (a >= b)


@given(st.decimals(min_value=0, max_value=10**10, places=2), st.sampled_from(["大型", "中型", "小型", "微型"]))
def test_amounts_keep_exact_decimal_precision(paid, scale):
    value = compile_rule("ui_premium_paid * (scale == '大型' ? 0.30 : 0.60)", "amount").evaluate(
        {"ui_premium_paid": paid, "scale": scale}, datetime.date(2026, 6, 30)
    ).value
    assert value == paid * (Decimal("0.30") if scale == "大型" else Decimal("0.60"))
