"""The sample registration and credit feeds, read straight with pandas, through build_profiles and match."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from matching.engine import match
from matching.profiles import build_profiles
from tests.matching.factories import item

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGISTRATION = EXAMPLES / "企业登记信息_市场监管.csv"
CREDIT = EXAMPLES / "严重失信主体名单_信用.csv"

pytestmark = pytest.mark.skipif(not REGISTRATION.exists() or not CREDIT.exists(), reason="examples/ not present")


def observations() -> pd.DataFrame:
    reg = pd.read_csv(REGISTRATION, dtype=str, encoding="utf-8-sig")
    credit = pd.read_csv(CREDIT, dtype=str)
    rows = []
    for i, r in enumerate(reg.itertuples(index=False)):
        code = r.统一社会信用代码
        rows += [
            (code, "region_code", r.住所所在地行政区划代码, "market", i),
            (code, "operating_status", r.登记状态, "market", i),
            (code, "abnormal_listed", r.是否列入经营异常名录 == "是", "market", i),
        ]
    rows += [(c, "serious_dishonest", True, "credit", 10_000 + i) for i, c in enumerate(credit.统一社会信用代码)]
    df = pd.DataFrame(rows, columns=["credit_code", "field", "value", "source", "seq"])
    df["fiscal_year"] = pd.array([pd.NA] * len(df), dtype="Int64")
    return df


def test_sample_feeds_give_listed_enterprises_no_eligible_verdict():
    build = build_profiles(
        observations(), fiscal_year=2025, as_of=date(2026, 6, 30), closed_lists=frozenset(), credit_list_imported=True
    )
    listed = set(pd.read_csv(CREDIT, dtype=str).统一社会信用代码)
    assert len(build.profiles) == 2000 and build.unregistered == [] and build.conflicts == []
    assert {c for c, p in build.profiles.items() if p["serious_dishonest"]} == listed

    result = match(build.profiles, [item("abnormal_listed == false", "1000", region_code="140000")], date(2026, 6, 30))
    eligible = {v.credit_code for v in result.verdicts if v.verdict == "eligible"}
    assert result.totals["pairs"] == 2000 and result.totals["unknown"] == 0
    assert not eligible & listed
    inactive = {c for c, p in build.profiles.items() if p["operating_status"] not in ("存续", "在业")}
    assert len(inactive) == 99 and not eligible & inactive
    assert 1500 < len(eligible) < 1901
