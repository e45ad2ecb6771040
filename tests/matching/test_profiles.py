"""build_profiles: authoritative sources, corrections, fiscal years, qualifications and list feeds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from matching.profiles import Conflict, build_profiles
from tests.matching.factories import CODE_A, CODE_B, frame, obs, recognition, registration

AS_OF = date(2026, 6, 30)
HIGH_TECH = "高新技术企业"


def build(*rows, closed=frozenset(), credit=False, fy=2025, as_of=AS_OF):
    return build_profiles(frame(*rows), fiscal_year=fy, as_of=as_of, closed_lists=closed, credit_list_imported=credit)


def test_a_non_authoritative_value_is_recorded_as_a_conflict_and_does_not_overwrite():
    result = build(
        registration(),
        obs(CODE_A, "employees", 50, source="hr", year=2025, seq=1),
        obs(CODE_A, "employees", 55, source="tax", year=2025, seq=2),
    )
    assert result.profiles[CODE_A]["employees"] == 50
    assert result.sources[CODE_A]["employees"] == "hr"
    assert result.conflicts == [Conflict(CODE_A, "employees", 2025, "hr", 50, "tax", 55)]


def test_an_agreeing_other_source_is_not_a_conflict():
    result = build(
        registration(),
        obs(CODE_A, "revenue", Decimal("100.00"), source="tax", year=2025),
        obs(CODE_A, "revenue", Decimal("100"), source="hr", year=2025),
    )
    assert result.conflicts == []


def test_a_later_observation_of_the_same_source_is_a_correction():
    result = build(
        registration(),
        obs(CODE_A, "revenue", Decimal("900"), source="tax", year=2025, seq=20),
        obs(CODE_A, "revenue", Decimal("100"), source="tax", year=2025, seq=10),
    )
    assert result.profiles[CODE_A]["revenue"] == Decimal("900")
    assert result.conflicts == []


def test_a_field_only_another_source_reported_takes_that_value():
    result = build(registration(), obs(CODE_A, "employees", 12, source="tax", year=2025))
    assert result.profiles[CODE_A]["employees"] == 12
    assert result.sources[CODE_A]["employees"] == "tax"


def test_yearly_values_go_to_the_plain_code_for_fy_and_prev_for_fy_minus_one():
    result = build(
        registration(),
        obs(CODE_A, "revenue", Decimal("300"), source="tax", year=2025),
        obs(CODE_A, "revenue", Decimal("200"), source="tax", year=2024),
        obs(CODE_A, "revenue", Decimal("100"), source="tax", year=2023),
    )
    p = result.profiles[CODE_A]
    assert (p["revenue"], p["revenue_prev"]) == (Decimal("300"), Decimal("200"))
    assert Decimal("100") not in p.values()
    assert result.sources[CODE_A]["revenue_prev"] == "tax"


def test_a_value_two_years_back_is_neither_fy_nor_prev():
    p = build(registration(), obs(CODE_A, "revenue", Decimal("100"), source="tax", year=2023)).profiles[CODE_A]
    assert "revenue" not in p and "revenue_prev" not in p


def test_an_unreported_field_is_absent_never_zero():
    p = build(registration(), obs(CODE_A, "revenue", Decimal("1"), source="tax", year=2025)).profiles[CODE_A]
    assert "employees" not in p and "revenue_prev" not in p and "rd_expense" not in p


def test_a_qualification_is_held_only_inside_its_validity_window():
    result = build(
        registration(),
        recognition(CODE_A, HIGH_TECH, date(2022, 11, 1), date(2025, 10, 31)),  # expired before as_of
        recognition(CODE_A, "科技型中小企业", date(2026, 3, 1), date(2026, 12, 31)),
        recognition(CODE_A, "规上工业企业", date(2020, 1, 1), None),  # open-ended
        recognition(CODE_A, "专精特新中小企业", date(2026, 7, 1), date(2029, 6, 30)),  # after as_of
    )
    p = result.profiles[CODE_A]
    assert p["qualifications"] == frozenset({"科技型中小企业", "规上工业企业"})
    assert p["qualified_on"][HIGH_TECH] == date(2022, 11, 1)  # kept though expired
    assert "专精特新中小企业" not in p["qualified_on"]


def test_the_window_is_inclusive_on_both_ends():
    for day in (date(2023, 1, 1), date(2025, 12, 31)):
        p = build(registration(), recognition(CODE_A, HIGH_TECH, date(2023, 1, 1), date(2025, 12, 31)), as_of=day)
        assert HIGH_TECH in p.profiles[CODE_A]["qualifications"]


def test_qualified_on_is_the_latest_and_first_qualified_on_the_earliest_recognition():
    p = build(
        registration(),
        recognition(CODE_A, HIGH_TECH, date(2019, 12, 2), date(2022, 12, 1)),
        recognition(CODE_A, HIGH_TECH, date(2025, 11, 20), date(2028, 11, 19)),
        recognition(CODE_A, HIGH_TECH, date(2022, 12, 14), date(2025, 12, 13)),
    ).profiles[CODE_A]
    assert p["qualified_on"][HIGH_TECH] == date(2025, 11, 20)
    assert p["first_qualified_on"][HIGH_TECH] == date(2019, 12, 2)
    assert HIGH_TECH in p["qualifications"]


def test_an_enterprise_absent_from_every_list_holds_nothing_and_carries_the_closed_lists():
    p = build(registration(), closed=frozenset({HIGH_TECH})).profiles[CODE_A]
    assert p["qualifications"] == frozenset()
    assert p["closed_lists"] == frozenset({HIGH_TECH})


def test_serious_dishonest_is_true_when_listed_false_when_the_list_was_imported_else_unknown():
    rows = (registration(CODE_A), registration(CODE_B), obs(CODE_A, "serious_dishonest", True, source="credit"))
    imported = build(*rows, credit=True).profiles
    assert imported[CODE_A]["serious_dishonest"] is True
    assert imported[CODE_B]["serious_dishonest"] is False
    not_imported = build(*rows, credit=False).profiles
    assert not_imported[CODE_A]["serious_dishonest"] is True
    assert "serious_dishonest" not in not_imported[CODE_B]


def test_an_enterprise_without_registration_is_listed_as_unregistered_and_not_profiled():
    result = build(registration(CODE_A), obs(CODE_B, "revenue", Decimal("5"), source="tax", year=2025))
    assert result.unregistered == [CODE_B]
    assert set(result.profiles) == {CODE_A}


def test_an_unknown_field_code_is_refused():
    with pytest.raises(ValueError, match="turnover"):
        build(registration(), obs(CODE_A, "turnover", Decimal("5"), source="tax", year=2025))


def test_a_prev_code_or_a_yearly_field_without_year_is_refused():
    with pytest.raises(ValueError):
        build(registration(), obs(CODE_A, "revenue_prev", Decimal("5"), source="tax", year=2024))
    with pytest.raises(ValueError, match="fiscal year"):
        build(registration(), obs(CODE_A, "revenue", Decimal("5"), source="tax"))
