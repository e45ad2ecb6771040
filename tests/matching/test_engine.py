"""match(): jurisdiction, baseline exclusions, amounts, verdict order, exclusive groups, explanations."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

import rules
from matching.engine import match, match_one
from tests.matching.factories import CODE_A, CODE_B, item, profile

AS_OF = date(2026, 6, 30)


def only(result):
    assert len(result.verdicts) == 1, result.verdicts
    return result.verdicts[0]


def test_a_city_item_sees_its_county_enterprise_and_not_another_citys():
    taiyuan = item(region_code="140100")
    datong = item(region_code="140200")
    province = item(region_code="140000")
    result = match({CODE_A: profile(employees=20)}, [taiyuan, datong, province], AS_OF)
    assert {v.item_id for v in result.verdicts} == {taiyuan.item_id, province.item_id}
    assert result.totals["pairs"] == 2
    assert datong.item_id not in result.ineligible_counts


def test_a_county_item_sees_only_its_own_county():
    xiaodian = item(region_code="140105")
    yingze = item(region_code="140106")
    result = match({CODE_A: profile(employees=20)}, [xiaodian, yingze], AS_OF)
    assert [v.item_id for v in result.verdicts] == [xiaodian.item_id]


def test_the_province_item_sees_every_enterprise_in_shanxi():
    province = item(region_code="140000")
    profiles = {CODE_A: profile(CODE_A, employees=20), CODE_B: profile(CODE_B, region_code="140802", employees=20)}
    assert len(match(profiles, [province], AS_OF).verdicts) == 2


@pytest.mark.parametrize("fields", [{"operating_status": "注销"}, {"operating_status": "吊销"}, {"serious_dishonest": True}])
def test_baseline_exclusions_make_a_true_rule_ineligible(fields):
    result = match_one(profile(employees=20, **fields), [item()], AS_OF)
    assert only(result).verdict == "ineligible"
    assert result.totals["ineligible"] == 1


@pytest.mark.parametrize("status", ["存续", "在业"])
def test_both_active_statuses_pass_the_baseline(status):
    assert only(match_one(profile(employees=20, operating_status=status), [item()], AS_OF)).verdict == "eligible"


def test_an_unknown_status_makes_a_true_rule_unknown_with_operating_status_missing():
    v = only(match_one(profile(employees=20, operating_status=None), [item()], AS_OF))
    assert v.verdict == "unknown"
    assert v.missing_fields == ("operating_status",)


def test_unknown_baseline_and_unknown_rule_fields_are_all_listed_sorted():
    v = only(match_one(profile(serious_dishonest=None), [item("employees >= 10")], AS_OF))
    assert v.verdict == "unknown"
    assert v.missing_fields == ("employees", "serious_dishonest")


def test_a_false_rule_is_ineligible_even_when_the_baseline_is_unknown():
    result = match({CODE_A: profile(employees=5, operating_status=None)}, [item("employees >= 10")], AS_OF)
    assert result.verdicts == []
    assert result.totals["ineligible"] == 1


def test_the_amount_is_capped_before_it_is_rounded_once_half_up():
    v = only(match_one(profile(employees=20), [item(amount_formula="employees * 1000", cap="2.675")], AS_OF))
    assert v.amount == Decimal("2.68")


def test_thirty_percent_of_an_amount_rounds_half_up_to_fen():
    it = item("revenue > 0", "revenue * 0.3")
    v = only(match_one(profile(revenue=Decimal("1234567.85")), [it], AS_OF))
    assert (v.verdict, v.amount) == ("eligible", Decimal("370370.36"))


def test_an_amount_under_the_cap_is_not_touched_by_the_cap():
    it = item("revenue > 0", "revenue * 0.3", cap=Decimal("500000"))
    assert only(match_one(profile(revenue=Decimal("1000")), [it], AS_OF)).amount == Decimal("300.00")


@pytest.mark.parametrize("revenue", ["100", "50", "100.004"])
def test_an_amount_that_rounds_to_zero_or_less_is_ineligible(revenue):
    it = item("revenue > 0", "revenue - 100")
    result = match({CODE_A: profile(revenue=Decimal(revenue))}, [it], AS_OF)
    assert result.verdicts == [] and result.ineligible_counts == {it.item_id: 1}


def test_a_known_zero_amount_is_ineligible_even_when_the_rule_is_unknown():
    it = item("employees >= 10", "revenue * 0")
    assert only(match_one(profile(revenue=Decimal("5")), [it], AS_OF)).verdict == "ineligible"


def test_an_unknown_amount_makes_a_true_rule_unknown_and_names_the_amount_field():
    it = item("employees >= 10", "ui_premium_paid * 0.6")
    v = only(match_one(profile(employees=20), [it], AS_OF))
    assert (v.verdict, v.amount, v.missing_fields) == ("unknown", None, ("ui_premium_paid",))


def test_an_item_without_formula_is_eligible_on_the_rule_alone():
    v = only(match_one(profile(employees=20), [item(amount_formula=None)], AS_OF))
    assert (v.verdict, v.amount) == ("eligible", None)


def test_the_highest_amount_wins_an_exclusive_group_and_the_others_are_superseded():
    low = item(amount_formula="1000", exclusive_group="稳岗")
    high = item(amount_formula="2000", exclusive_group="稳岗")
    other = item(amount_formula="500", exclusive_group="其他")
    result = match_one(profile(employees=20), [low, high, other], AS_OF)
    kinds = {v.item_id: v.verdict for v in result.verdicts}
    assert kinds == {low.item_id: "superseded", high.item_id: "eligible", other.item_id: "eligible"}
    assert result.totals["superseded"] == 1 and result.totals["eligible"] == 2
    loser = next(v for v in result.verdicts if v.item_id == low.item_id)
    assert loser.explanation[-1]["winner_item_id"] == high.item_id


def test_a_tie_goes_to_the_lowest_region_code_then_code():
    city_b = item(amount_formula="1000", exclusive_group="g", region_code="140100", code="B")
    city_a = item(amount_formula="1000", exclusive_group="g", region_code="140100", code="A")
    county = item(amount_formula="1000", exclusive_group="g", region_code="140105", code="0")
    result = match_one(profile(employees=20), [county, city_b, city_a], AS_OF)
    winners = [v.item_id for v in result.verdicts if v.verdict == "eligible"]
    assert winners == [city_a.item_id]


def test_an_unknown_member_does_not_block_an_eligible_one():
    unknown = item("layoff_count <= 3", "1000000", exclusive_group="g")
    eligible = item("employees >= 10", "1000", exclusive_group="g")
    result = match_one(profile(employees=20), [unknown, eligible], AS_OF)
    assert {v.item_id: v.verdict for v in result.verdicts} == {unknown.item_id: "unknown", eligible.item_id: "eligible"}


def test_exclusive_groups_are_per_fiscal_year():
    y2024 = item(amount_formula="1000", exclusive_group="g", fiscal_year=2024)
    y2025 = item(amount_formula="2000", exclusive_group="g", fiscal_year=2025)
    result = match_one(profile(employees=20), [y2024, y2025], AS_OF)
    assert all(v.verdict == "eligible" for v in result.verdicts)


def test_an_item_whose_rule_does_not_compile_raises_naming_the_item():
    with pytest.raises(rules.RuleError, match="BAD-1"):
        match_one(profile(), [item("employees >= ", code="BAD-1")], AS_OF)


def test_totals_and_ineligible_counts_add_up():
    profiles = {CODE_A: profile(CODE_A, employees=20), CODE_B: profile(CODE_B, employees=5)}
    it = item("employees >= 10")
    result = match(profiles, [it], AS_OF)
    assert result.totals == {"pairs": 2, "eligible": 1, "unknown": 0, "ineligible": 1, "superseded": 0}
    assert result.ineligible_counts == {it.item_id: 1}
    assert [v.credit_code for v in result.verdicts] == [CODE_A]


def test_a_verdict_explains_baseline_rule_and_amount_as_json_with_the_inputs_used():
    it = item("revenue >= 100万", "revenue * 0.05", cap=Decimal("500000"))
    v = only(match_one(profile(revenue=Decimal("2000000"), employees=7), [it], AS_OF))
    json.dumps({"explanation": v.explanation, "inputs": v.inputs})  # raises if not JSON-able
    kinds = [c.get("kind") for c in v.explanation]
    assert kinds[:3] == ["baseline"] * 3 and kinds[-1] == "amount"
    assert len(v.explanation) > 4  # the rule's own clause(s) sit between
    assert v.explanation[-1]["amount"] == "100000.00"
    assert v.inputs["revenue"] == "2000000" and v.inputs["operating_status"] == "存续"
    assert "employees" not in v.inputs


def test_a_closed_list_makes_an_absent_qualification_ineligible_and_an_open_one_unknown():
    it = item("'高新技术企业' in qualifications")
    closed = match_one(profile(closed_lists=frozenset({"高新技术企业"})), [it], AS_OF)
    assert only(closed).verdict == "ineligible"
    opened = only(match_one(profile(), [it], AS_OF))
    assert opened.verdict == "unknown" and "qualifications" in opened.missing_fields
    held = match_one(profile(qualifications=frozenset({"高新技术企业"})), [it], AS_OF)
    assert only(held).verdict == "eligible"


def test_keep_ineligible_false_drops_ineligible_verdicts_from_match_one():
    result = match_one(profile(employees=1), [item()], AS_OF, keep_ineligible=False)
    assert result.verdicts == [] and result.totals["ineligible"] == 1


def test_a_division_by_zero_in_a_derived_field_is_unknown_and_reported_as_a_data_issue():
    v = only(match_one(profile(employees=0, layoff_count=0), [item("layoff_rate <= 0.055")], AS_OF))
    assert v.verdict == "unknown" and "layoff_rate" in v.missing_fields
    issues = [c for c in v.explanation if c["kind"] == "data_issues"]
    assert issues and issues[0]["issues"][0]["field"] == "layoff_rate"


def test_an_absurd_formula_result_is_never_paid_and_does_not_stop_the_run():
    broken = item("employees >= 1", "10 ** 30")
    fine = item("employees >= 1", "1000")
    result = match({CODE_A: profile(employees=5)}, [broken, fine], AS_OF)
    by_item = {v.item_id: v for v in result.verdicts}
    assert by_item[broken.item_id].verdict == "unknown" and by_item[broken.item_id].amount is None
    assert any(e.get("error") for e in by_item[broken.item_id].explanation if e.get("kind") == "amount")
    assert by_item[fine.item_id].verdict == "eligible" and by_item[fine.item_id].amount == Decimal("1000.00")
