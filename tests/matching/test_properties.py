"""Properties of match() that hold for every profile and item set."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.engine import match_one
from tests.matching.factories import item, profile

AS_OF = date(2026, 6, 30)
STATUSES = st.sampled_from([None, "存续", "在业", "吊销", "注销", "迁出"])
DISHONEST = st.sampled_from([None, True, False])
EMPLOYEES = st.one_of(st.none(), st.integers(min_value=0, max_value=400))
MONEY = st.one_of(st.none(), st.decimals(min_value=-1000, max_value=10**7, places=2))

ITEMS = [
    item("employees >= 10", "ui_premium_paid * 0.6", exclusive_group="稳岗", item_id=901),
    item("employees >= 20 or ui_premium_paid > 0", "ui_premium_paid * 0.3", exclusive_group="稳岗", item_id=902),
    item("employees >= 0", "1000", exclusive_group="稳岗", region_code="140000", item_id=903),
    item("employees < 300", "5000", exclusive_group="规模", item_id=904),
    item("ui_premium_paid >= 0", "5000", exclusive_group="规模", cap=Decimal("4999.995"), item_id=905),
    item("employees >= 1", None, item_id=906),
]
GROUP_SIZE = Counter(i.exclusive_group for i in ITEMS if i.exclusive_group)


@settings(max_examples=150, deadline=None)
@given(status=STATUSES, dishonest=DISHONEST, employees=EMPLOYEES, premium=MONEY)
def test_no_verdict_is_eligible_when_a_baseline_field_is_false(status, dishonest, employees, premium):
    p = profile(operating_status=status, serious_dishonest=dishonest, employees=employees, ui_premium_paid=premium)
    result = match_one(p, ITEMS, AS_OF)
    baseline_false = dishonest is True or (status is not None and status not in ("存续", "在业"))
    kinds = {v.verdict for v in result.verdicts}
    if baseline_false:
        assert kinds == {"ineligible"}
    for v in result.verdicts:
        if v.verdict == "unknown":
            assert v.missing_fields and list(v.missing_fields) == sorted(set(v.missing_fields))
        if v.verdict == "eligible" and v.amount is not None:
            assert v.amount > 0 and v.amount == v.amount.quantize(Decimal("0.01"))


@settings(max_examples=150, deadline=None)
@given(employees=EMPLOYEES, premium=MONEY)
def test_each_group_keeps_at_most_one_eligible_member_and_supersedes_only_eligible_ones(employees, premium):
    result = match_one(profile(employees=employees, ui_premium_paid=premium), ITEMS, AS_OF)
    by_id = {i.item_id: i for i in ITEMS}
    eligible = Counter(by_id[v.item_id].exclusive_group for v in result.verdicts if v.verdict == "eligible")
    superseded = Counter(by_id[v.item_id].exclusive_group for v in result.verdicts if v.verdict == "superseded")
    for group, size in GROUP_SIZE.items():
        assert eligible[group] <= 1
        assert superseded[group] <= size - 1
        if superseded[group]:
            assert eligible[group] == 1
            winner = next(v for v in result.verdicts if v.verdict == "eligible" and by_id[v.item_id].exclusive_group == group)
            losers = [v for v in result.verdicts if v.verdict == "superseded" and by_id[v.item_id].exclusive_group == group]
            assert all(winner.amount >= loser.amount for loser in losers)
