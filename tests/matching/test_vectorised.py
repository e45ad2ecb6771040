"""The vectorised engine: exact boundaries, the profile frame, jurisdiction, and the sample items of examples/."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rules
from importers import read_feed, read_items
from matching.engine import MatchItem, match
from matching.profiles import build_profiles
from matching.vector_compile import Rows, Store, compile_vector
from matching.vector_frame import profile_frame
from matching.vectorised import FALLBACKS, match_vectorised
from tests.matching.factories import item, profile

AS_OF = date(2026, 6, 30)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FEEDS = (
    ("企业登记信息_市场监管.csv", "market"),
    ("企业纳税信息_税务_2024-2025.xlsx", "tax"),
    ("企业参保信息_人社_2024-2025.csv", "hr"),
    ("企业资质认定名单_科技工信统计.xlsx", "qualifications"),
    ("严重失信主体名单_信用.csv", "credit"),
)
ITEM_FILES = ("山西省2025年度省级惠企政策奖补事项清单.xlsx", "太原市2025年度惠企政策奖补事项清单.xlsx", "大同市2025年度奖补事项清单.csv")


def available() -> bool:
    return all((EXAMPLES / name).exists() for name, _ in FEEDS) and all((EXAMPLES / f).exists() for f in ITEM_FILES)


@cache
def sample_profiles() -> dict[str, dict]:
    """Profiles of the example enterprises for fiscal year 2025, as of 2026-06-30."""
    frames, closed = [], set()
    for name, source in FEEDS:
        feed = read_feed(EXAMPLES / name, source)
        closed |= feed.covered_lists
        frame = feed.observations.assign(source=source)
        frames.append(frame)
    observations = pd.concat(frames, ignore_index=True)
    observations["seq"] = range(len(observations))
    build = build_profiles(observations, fiscal_year=2025, as_of=AS_OF, closed_lists=frozenset(closed),
                           credit_list_imported=True)
    return build.profiles


@cache
def sample_items() -> tuple[MatchItem, ...]:
    """Every item with a rule in the three example item lists, as the engine sees them."""
    out = []
    for name in ITEM_FILES:
        for record in read_items(EXAMPLES / name).items:
            v = record.values
            if not v.get("eligibility"):
                continue
            out.append(MatchItem(
                item_id=len(out) + 1, region_code=v["region_code"], code=v["code"], mode=v["mode"],
                category=v["category"], eligibility=v["eligibility"], amount_formula=v.get("amount_formula"),
                cap=None if v.get("cap") is None else Decimal(v["cap"]), exclusive_group=v.get("exclusive_group"),
                fiscal_year=v["fiscal_year"],
            ))
    return tuple(out)


def outcome(result) -> tuple:
    return ([(v.credit_code, v.item_id, v.verdict, v.amount, v.missing_fields) for v in result.verdicts],
            result.totals, result.ineligible_counts)


def evaluate(text: str, profiles: dict, kind: str = "rule"):
    store = Store(profile_frame(profiles, AS_OF))
    return compile_vector(rules.compile_rule(text, kind)).evaluate(Rows(store, slice(0, len(profiles))))


def test_eleven_layoffs_of_two_hundred_staff_pass_a_five_point_five_percent_limit():
    v = evaluate("layoff_rate <= 0.055", {"a": profile(layoff_count=11, employees=200),
                                          "b": profile(layoff_count=12, employees=200)})
    assert v.known.tolist() == [True, True] and v.val.tolist() == [True, False]


def test_thirty_percent_of_1234567_85_is_370370_36_after_half_up_rounding():
    people = {"a": profile(ui_premium_paid=Decimal("1234567.85"))}
    result = match_vectorised(people, [item("ui_premium_paid > 0", "ui_premium_paid * 0.30", item_id=1)], AS_OF)
    assert [v.amount for v in result.verdicts] == [Decimal("370370.36")]
    as_float = np.float64(123456785) * 0.30 / 100  # float64 on 分 lands just below .355 ...
    assert Decimal(float(as_float)).quantize(Decimal("0.01"), "ROUND_HALF_UP") == Decimal("370370.35")  # ... and pays .35


def test_division_by_zero_is_unknown_with_no_missing_field_and_unknown_inputs_name_their_field():
    v = evaluate("revenue / employees > 1", {"a": profile(revenue=Decimal(5), employees=0),
                                             "b": profile(revenue=None, employees=3)})
    assert v.known.tolist() == [False, False]
    assert [rules_codes(int(b)) for b in v.miss] == [(), ("revenue",)]


def rules_codes(bits: int) -> tuple[str, ...]:
    from matching.vector_ops import codes_of
    return codes_of(bits)


def test_a_closed_qualification_list_makes_absence_false_and_an_open_one_unknown():
    closed = profile(closed_lists=frozenset({"高新技术企业"}))
    open_ = profile()
    v = evaluate("'高新技术企业' in qualifications or qualified_on['高新技术企业'] >= d'2025-01-01'",
                 {"a": closed, "b": open_})
    assert v.known.tolist() == [True, False] and not v.val[0]
    assert rules_codes(int(v.miss[1])) == ("qualifications", "qualified_on")


def test_money_with_whole_fen_is_int64_fen_and_finer_money_stays_exact_decimal():
    frame = profile_frame({"a": profile(revenue=Decimal("1.23")), "b": profile(revenue=None)}, AS_OF, {"revenue"})
    assert str(frame["revenue"].dtype) == "Int64" and frame["revenue"].tolist()[0] == 123
    assert frame.attrs["scales"]["revenue"] == 2 and frame["revenue"].isna().tolist() == [False, True]
    finer = profile_frame({"a": profile(revenue=Decimal("1.234"))}, AS_OF, {"revenue"})
    assert finer["revenue"].dtype == object and finer["revenue"].iloc[0] == Decimal("1.234")


@pytest.mark.parametrize(("industry", "employees", "revenue", "scale"), [
    ("3511", 250, Decimal("150000000"), "小型"),
    ("3511", 1200, Decimal("300000000"), "中型"),
    ("6510", 8, Decimal("20000000"), "微型"),
    ("3511", None, Decimal("1000000"), "微型"),  # below the small revenue floor whatever the headcount
    ("3511", None, Decimal("150000000"), None),
    ("6610", 5, Decimal(1), None),  # 金融业 is outside the standard
])
def test_scale_is_derived_by_column_as_the_standard_and_rules_derive_say(industry, employees, revenue, scale):
    p = profile(industry_code=industry, employees=employees, revenue=revenue)
    frame = profile_frame({"a": p}, AS_OF, {"scale"})
    assert frame["scale"].iloc[0] == scale == rules.derive(p, AS_OF)["scale"]


def test_a_county_item_sees_only_its_county_and_a_city_item_its_whole_city():
    people = {"a": profile("a", region_code="140105"), "b": profile("b", region_code="140106"),
              "c": profile("c", region_code="140100"), "d": profile("d", region_code="140212")}
    items = [item("abnormal_listed == false or true", item_id=1, region_code="140105"),
             item("true or employees > 0", item_id=2, region_code="140100"),
             item("true or employees > 0", item_id=3, region_code="140000")]
    got = match_vectorised(people, items, AS_OF, chunk_size=1)
    pairs = {(v.credit_code, v.item_id) for v in got.verdicts}
    assert pairs == {("a", 1), ("a", 2), ("b", 2), ("c", 2), ("a", 3), ("b", 3), ("c", 3), ("d", 3)}
    assert outcome(got) == outcome(match(people, items, AS_OF))


def test_identical_clauses_are_evaluated_once_per_jurisdiction_and_chunk():
    people = {"a": profile(employees=5)}
    store = Store(profile_frame(people, AS_OF))
    rows = Rows(store, slice(0, 1))
    compile_vector(rules.compile_rule("employees >= 1 and revenue > 0")).evaluate(rows)
    cached = dict(rows.cache)
    compile_vector(rules.compile_rule("employees >= 1 or tax_paid > 0")).evaluate(rows)
    shared = [k for k in cached if "employees" in str(k) and "ge" in str(k)]
    assert shared and all(rows.cache[k] is cached[k] for k in shared)


@pytest.mark.skipif(not available(), reason="examples/ not present")
def test_every_sample_item_gives_identical_results_in_both_engines_without_fallback():
    people, items = sample_profiles(), sample_items()
    assert len(items) >= 15 and len(people) > 1900
    expected = match(people, items, AS_OF)
    FALLBACKS.clear()
    for chunk in (50_000, 333):
        got = match_vectorised(people, items, AS_OF, chunk_size=chunk)
        assert outcome(got) == outcome(expected)
    assert not FALLBACKS
    assert expected.totals["eligible"] > 1000 and expected.totals["unknown"] > 0
    assert [v.explanation for v in got.verdicts] == [v.explanation for v in expected.verdicts]
    assert np.mean([bool(v.inputs) for v in got.verdicts]) == 1.0
