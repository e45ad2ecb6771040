"""frame_from_observations builds exactly the frame of build_frame(build_profiles(...)), by column.

Random observations (several sources, fiscal years, corrections, conflicts, ties in seq, unknown values,
qualification recognitions, closed lists) and the sample feeds of examples/ go through both builders.
POLICY_HUB_HYPOTHESIS_EXAMPLES sets the number of random examples.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import read_feed
from matching.profiles import build_profiles
from matching.vector_build import frame_from_observations
from matching.vector_prepared import ProfileFrame, build_frame
from tests.matching.factories import frame as factory_frame
from tests.matching.factories import obs
from tests.matching.test_vectorised import EXAMPLES as EXAMPLE_DIR
from tests.matching.test_vectorised import FEEDS, available

AS_OF = date(2026, 6, 30)
FY = 2025
N_EXAMPLES = int(os.environ.get("POLICY_HUB_HYPOTHESIS_EXAMPLES", "300"))
CODES = tuple(f"9114010{i}MA000000{i}X" for i in range(5))
SOURCES = ("market", "tax", "hr", "qualifications", "credit")
QUALS = ("高新技术企业", "科技型中小企业", "专精特新中小企业")

money = st.one_of(st.integers(-10**6, 10**12).map(Decimal), st.integers(0, 10**9), st.sampled_from(
    [Decimal("0"), Decimal("1234567.85"), Decimal("0.005"), Decimal("12.3456"), Decimal("1E+20"), Decimal("3.10")]))
counts = st.one_of(st.integers(0, 2000), st.sampled_from([Decimal(200), Decimal("2.5"), 0]))
days = st.integers(-4000, 400).map(lambda d: AS_OF + timedelta(days=d))
VALUES = {
    "region_code": st.sampled_from(["140105", "140106", "140100", "140212", "149999", "", "110101"]),
    "operating_status": st.sampled_from(["存续", "在业", "吊销", "注销"]),
    "industry_code": st.sampled_from(["3511", "6510", "5110", "5210", "7010", "6610", "12", "", "9999"]),
    "entity_type": st.sampled_from(["有限责任公司", "合伙企业"]),
    "established_on": st.one_of(days, days.map(lambda d: datetime(d.year, d.month, d.day, 8, 30))),
    "registered_capital": money, "abnormal_listed": st.booleans(), "serious_dishonest": st.booleans(),
    "revenue": money, "total_assets": money, "rd_expense": money, "tax_paid": money,
    "employees": counts, "layoff_count": counts, "tax_credit_rating": st.sampled_from(["A", "B", "M"]),
}
YEARLY = {"revenue", "total_assets", "rd_expense", "tax_paid", "employees", "layoff_count", "tax_credit_rating"}


@st.composite
def observation(draw):
    code = draw(st.sampled_from(CODES))
    source = draw(st.sampled_from(SOURCES))
    seq = draw(st.integers(0, 8))  # ties happen: the earlier row wins within a source
    if draw(st.integers(0, 5)) == 0:
        on = draw(days)
        until = draw(st.one_of(st.none(), days))
        return obs(code, "qualification_recognition", {"name": draw(st.sampled_from(QUALS)), "recognized_on": on,
                                                       "valid_until": until}, source="qualifications", seq=seq)
    field = draw(st.sampled_from(sorted(VALUES)))
    value = draw(st.one_of(st.none(), VALUES[field])) if draw(st.integers(0, 6)) == 0 else draw(VALUES[field])
    year = draw(st.sampled_from([FY, FY, FY - 1, FY - 2])) if field in YEARLY else draw(st.sampled_from([None, FY]))
    return obs(code, field, value, source=source, year=year, seq=seq)


def obs_frame(rows: list[dict] | dict) -> pd.DataFrame:
    """factories.frame, with the values kept as the Python objects given (no float inference of ints)."""
    rows = rows if isinstance(rows, list) else [rows]
    df = factory_frame(rows)
    df["value"] = pd.Series([r["value"] for r in rows], dtype=object, index=df.index)
    return df


def resolutions_of(rows: list[dict], picks: list[tuple[int, bool]]) -> pd.DataFrame:
    """Resolutions choosing the source and value of some observed rows; ``stale`` ones choose another value."""
    out = []
    for i, stale in picks:
        r = rows[i % len(rows)] if rows else None
        if r is None or r["field"] == "qualification_recognition":
            continue
        out.append({"credit_code": r["credit_code"], "field": r["field"], "fiscal_year": r["fiscal_year"],
                    "source": r["source"], "value": "stale" if stale else r["value"]})
    frame = pd.DataFrame(out, columns=["credit_code", "field", "fiscal_year", "source", "value"])
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    frame["value"] = pd.Series([r["value"] for r in out], dtype=object, index=frame.index)
    return frame


def both(observations: pd.DataFrame, closed: frozenset[str], credit: bool, fields=None, resolutions=None):
    options = dict(fiscal_year=FY, as_of=AS_OF, closed_lists=closed, credit_list_imported=credit,
                   resolutions=resolutions)
    reference = build_profiles(observations, **options)
    built = frame_from_observations(observations, **options, fields=fields)
    return reference, build_frame(reference.profiles, AS_OF, fields), built


def assert_same_frame(expected: ProfileFrame, got: ProfileFrame) -> None:
    a, b = expected.frame, got.frame
    assert list(a.columns) == list(b.columns) and list(a.index) == list(b.index)
    assert a.attrs == b.attrs
    for col in a.columns:
        assert a[col].dtype == b[col].dtype, col
        assert (a[col].isna().to_numpy() == b[col].isna().to_numpy()).all(), col
        left, right = a[col].tolist(), b[col].tolist()
        # Same type and value (Decimal('3.10') is not Decimal('3.1') for the engine's fixed-point scale).
        assert [(type(x), str(x) if isinstance(x, Decimal) else x) for x in left] == \
            [(type(x), str(x) if isinstance(x, Decimal) else x) for x in right], col
    assert np.array_equal(expected.order, got.order) and expected.n_province == got.n_province
    assert expected.spans == got.spans and list(expected.codes) == list(got.codes)


@settings(max_examples=N_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(observation(), max_size=40), st.sets(st.sampled_from(QUALS)), st.booleans(),
       st.sampled_from([None, ("revenue", "rd_ratio_prev"), ("scale", "qualifications", "layoff_rate")]),
       st.lists(st.tuples(st.integers(0, 39), st.booleans()), max_size=6))
def test_random_observations_give_the_reference_frame(rows, closed, credit, fields, picks):
    observations = obs_frame(rows)
    resolutions = resolutions_of(rows, picks)
    reference, expected, built = both(observations, frozenset(closed), credit, fields, resolutions)
    assert_same_frame(expected, built.frame)
    assert built.conflicts == reference.conflicts and built.unregistered == reference.unregistered
    assert sorted(built.frame.profiles) == sorted(reference.profiles)
    codes, lazy = sorted(reference.profiles), built.frame.profiles
    for code in codes[::2]:  # the lazy profiles the explanations read are the reference's, one by one...
        assert lazy[code] == reference.profiles[code]
    lazy.prefetch(codes)  # ...or built together
    assert all(lazy[code] == reference.profiles[code] for code in codes)


def test_a_resolution_overrides_the_authority_while_its_value_stands():
    code = CODES[0]
    rows = [obs(code, "region_code", "140105", source="market", seq=1),
            obs(code, "employees", 50, source="hr", year=FY, seq=2),
            obs(code, "employees", 55, source="tax", year=FY, seq=3)]
    chosen = resolutions_of(rows, [(2, False)])
    reference, expected, built = both(obs_frame(rows), frozenset(), True, resolutions=chosen)
    assert_same_frame(expected, built.frame)
    assert built.frame.frame.loc[code, "employees"] == 55 and built.conflicts == reference.conflicts == []
    rows.append(obs(code, "employees", 56, source="tax", year=FY, seq=4))  # tax changed: the resolution is stale
    reference, expected, built = both(obs_frame(rows), frozenset(), True, resolutions=chosen)
    assert_same_frame(expected, built.frame)
    assert built.frame.frame.loc[code, "employees"] == 50 and built.conflicts == reference.conflicts != []


def test_conflicts_fallbacks_and_corrections_by_column():
    code = CODES[0]
    rows = [obs(code, "region_code", "140105", source="market", seq=1),
            obs(code, "employees", 50, source="hr", year=FY, seq=2),
            obs(code, "employees", 55, source="tax", year=FY, seq=3),  # conflict with the authority (hr)
            obs(code, "employees", 52, source="hr", year=FY, seq=4),   # a correction: 52 wins
            obs(code, "revenue", Decimal("9.5"), source="hr", year=FY, seq=5),  # only a non-authority source
            obs(CODES[1], "revenue", Decimal(1), source="tax", year=FY, seq=6)]  # unregistered
    reference, expected, built = both(obs_frame(rows), frozenset(), True)
    assert_same_frame(expected, built.frame)
    assert built.frame.frame.loc[code, "employees"] == 52 and built.frame.frame.loc[code, "revenue"] == 950
    assert [(c.other_source, c.other_value) for c in built.conflicts] == [("tax", 55)]
    assert built.unregistered == [CODES[1]] and built.frame.frame.loc[code, "serious_dishonest"] == False  # noqa: E712


def test_errors_are_those_of_build_profiles():
    with pytest.raises(ValueError, match="fiscal year"):
        frame_from_observations(obs_frame(obs(CODES[0], "revenue", Decimal(1), source="tax")), fiscal_year=FY,
                                as_of=AS_OF, closed_lists=frozenset(), credit_list_imported=False)
    with pytest.raises(ValueError, match="observable"):
        frame_from_observations(obs_frame(obs(CODES[0], "scale", "小型", source="market")), fiscal_year=FY,
                                as_of=AS_OF, closed_lists=frozenset(), credit_list_imported=False)
    with pytest.raises(TypeError):
        frame_from_observations(obs_frame(obs(CODES[0], "revenue", 1.5, source="market", year=FY)), fiscal_year=FY,
                                as_of=AS_OF, closed_lists=frozenset(), credit_list_imported=False)


@pytest.mark.skipif(not available(), reason="examples/ not present")
def test_the_sample_feeds_give_the_reference_frame():
    frames, closed = [], set()
    for name, source in FEEDS:
        feed = read_feed(EXAMPLE_DIR / name, source)
        closed |= feed.covered_lists
        frames.append(feed.observations.assign(source=source))
    observations = pd.concat(frames, ignore_index=True)
    observations["seq"] = range(len(observations))
    reference, expected, built = both(observations, frozenset(closed), True)
    assert len(reference.profiles) > 1000
    assert_same_frame(expected, built.frame)
    assert built.conflicts == reference.conflicts and built.unregistered == reference.unregistered
