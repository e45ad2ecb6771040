"""compile_rule: syntax, typing, labels, suffixes, refusals and the error messages people see."""

from decimal import Decimal

import pytest

from rules import (
    ForbiddenError,
    RuleError,
    RuleSyntaxError,
    RuleTypeError,
    UnknownNameError,
    compile_rule,
)

DESIGN_EXAMPLES = [
    ("first_qualified_on['高新技术企业'] >= d'2025-01-01' and first_qualified_on['高新技术企业'] <= d'2025-12-31'", "rule"),
    ("ui_paid_months >= 12 and (layoff_rate <= 0.055 or (employees <= 30 and layoff_rate <= 0.20))", "rule"),
    ("'科技型中小企业' in 资质 and 研发费用 >= 100万", "rule"),
    ("$min([研发费用 * 0.05, 50万])", "amount"),
    ("ui_premium_paid * (scale == '大型' ? 0.30 : 0.60)", "amount"),
    ("taxable_income <= 3000000 and employees <= 300 and total_assets <= 50000000", "rule"),
]


@pytest.mark.parametrize(("text", "kind"), DESIGN_EXAMPLES)
def test_every_design_example_compiles(text, kind):
    assert compile_rule(text, kind).kind == kind


def test_chinese_labels_and_codes_compile_to_the_same_fields():
    assert compile_rule("研发费用 >= 100万").fields == compile_rule("rd_expense >= 1000000").fields == {"rd_expense"}


def test_prev_label_names_the_prev_field():
    assert compile_rule("上年度营业收入 < 营业收入").fields == {"revenue", "revenue_prev"}


def test_wan_and_yi_suffixes_are_plain_numbers(as_of):
    rule = compile_rule("营业收入 >= 1.5亿 and 研发费用 == 100万")
    assert rule.evaluate({"revenue": Decimal(150_000_000), "rd_expense": Decimal(1_000_000)}, as_of).value is True
    assert rule.evaluate({"revenue": Decimal(149_999_999), "rd_expense": Decimal(1_000_000)}, as_of).value is False


def test_labels_inside_string_literals_stay_strings(as_of):
    rule = compile_rule("name == '研发费用100万'")
    assert rule.fields == {"name"}
    assert rule.evaluate({"name": "研发费用100万"}, as_of).value is True


def test_full_width_operators_are_folded():
    assert compile_rule("营业收入 ＞＝ １００万").fields == {"revenue"}


def test_render_zh_shows_labels_and_keeps_the_written_amounts():
    rule = compile_rule("rd_expense >= 100万 and scale != '大型' and 'revenue' in qualifications")
    assert rule.render_zh() == "研发费用 >= 100万 and 企业规模 != '大型' and 'revenue' in 资质"


def test_render_zh_shows_as_of_as_assessment_date():
    assert compile_rule("established_on <= as_of").render_zh() == "成立日期 <= 评估日期"


def test_fields_lists_derived_codes_as_written():
    assert compile_rule("layoff_rate <= 0.055").fields == {"layoff_rate"}


def test_comparing_money_with_a_string_is_a_type_error_naming_both_types():
    with pytest.raises(RuleTypeError) as info:
        compile_rule("revenue >= '100'")
    error = info.value
    assert "数值" in error.expected and "number" in error.expected
    assert "字符串" in error.found
    assert error.position == 11


def test_type_error_position_points_into_the_original_chinese_text():
    with pytest.raises(RuleTypeError) as info:
        compile_rule("营业收入 >= 100万 and 企业规模 > 3")
    text = "营业收入 >= 100万 and 企业规模 > 3"
    assert text[info.value.position] == "3"


def test_misspelt_field_suggests_the_nearest_field():
    with pytest.raises(UnknownNameError) as info:
        compile_rule("revnue > 1")
    assert info.value.suggestion == "revenue"
    assert "did you mean revenue (营业收入)" in info.value.message
    assert info.value.position == 0


def test_misspelt_chinese_label_suggests_the_nearest_field():
    with pytest.raises(UnknownNameError) as info:
        compile_rule("从业人数 > 1 and 营业收人 > 1")
    assert info.value.suggestion == "revenue"
    assert info.value.position == 13


def test_syntax_error_gives_the_position():
    with pytest.raises(RuleSyntaxError) as info:
        compile_rule("revenue >= >= 1")
    assert info.value.position == 11


def test_unterminated_string_is_a_syntax_error():
    with pytest.raises(RuleSyntaxError):
        compile_rule("name == 'abc")


def test_empty_rule_is_refused():
    with pytest.raises(RuleSyntaxError):
        compile_rule("   ")


def test_rule_must_be_boolean():
    with pytest.raises(RuleTypeError) as info:
        compile_rule("revenue * 0.1")
    assert "布尔" in info.value.expected


def test_amount_must_be_a_number():
    with pytest.raises(RuleTypeError) as info:
        compile_rule("revenue > 1", kind="amount")
    assert "数值" in info.value.expected


@pytest.mark.parametrize("text", ["revenue == null", "$now > d'2020-01-01'", "$today > d'2020-01-01'",
                                  "$random(10) > 1", "$len('x') > 1", "name =~ 'a.*'", "[x for x in [1]] == [1]"])
def test_null_clock_random_and_other_constructs_are_forbidden(text):
    with pytest.raises(ForbiddenError):
        compile_rule(text)


@pytest.mark.parametrize("text", ["$min([revenue, 1]) > 0", "$max([revenue, 1]) > 0", "$abs(revenue) > 0",
                                  "$sum([revenue, tax_paid]) > 0"])
def test_min_max_abs_sum_are_allowed(text):
    assert compile_rule(text).fields


def test_logic_operands_must_be_boolean():
    with pytest.raises(RuleTypeError):
        compile_rule("revenue > 1 and 'x'")


def test_membership_in_a_list_must_match_the_member_type():
    with pytest.raises(RuleTypeError):
        compile_rule("employees in ['a', 'b']")


def test_qualification_dates_can_only_be_compared_with_dates():
    with pytest.raises(RuleTypeError):
        compile_rule("qualified_on['高新技术企业'] >= 2025")


def test_every_error_is_a_rule_error_with_a_chinese_message():
    with pytest.raises(RuleError) as info:
        compile_rule("revenue >= '100'")
    assert "类型不匹配" in str(info.value)
    assert info.value.to_dict()["position"] == 11


def test_unknown_kind_is_a_value_error():
    with pytest.raises(ValueError):
        compile_rule("revenue > 1", kind="verdict")


def test_compiled_rules_survive_pickling(as_of):
    import pickle

    rule = pickle.loads(pickle.dumps(compile_rule("营业收入 >= 100万", "rule")))
    assert rule.evaluate({"revenue": Decimal(1_000_000)}, as_of).value is True


def test_position_of_a_forbidden_builtin_is_in_the_original_text():
    text = "营业收入 >= 100万 and established_on < $now"
    with pytest.raises(ForbiddenError) as info:
        compile_rule(text)
    assert text[info.value.position :].startswith("$now")
