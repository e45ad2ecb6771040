"""The prebuilt profile frame: a province run, one item and one enterprise reuse it and equal the per-record
engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from matching.engine import match
from matching.vector_prepared import build_frame, jurisdiction_order
from matching.vectorised import match_enterprise, match_frame, match_item, match_vectorised
from tests.matching.factories import item, profile

AS_OF = date(2026, 6, 30)


def people() -> dict[str, dict]:
    regions = ["140105", "140106", "140212", "140100", None, "149999", "140105", "140213"]
    out = {}
    for i, region in enumerate(regions):
        code = f"91140105MA000000{i:02d}"
        out[code] = profile(code, region_code=region, employees=10 * i, revenue=Decimal(1_000_000 * i),
                            tax_credit_rating="AB"[i % 2], qualifications=frozenset({"高新技术企业"} if i % 3 else ()))
    return out


ITEMS = [
    item("employees >= 20 and tax_credit_rating in ['A', 'M']", "revenue * 0.015", item_id=1, region_code="140100"),
    item("'高新技术企业' in qualifications or employees > 60", "20万", item_id=2, region_code="140000"),
    item("revenue >= 300万", item_id=3, region_code="140212"),
]


def outcome(result) -> tuple:
    return ([(v.credit_code, v.item_id, v.verdict, v.amount, v.missing_fields) for v in result.verdicts],
            result.totals, result.ineligible_counts)


def test_a_run_over_a_prebuilt_frame_equals_the_per_record_engine_and_the_frame_is_reusable():
    frame = build_frame(people(), AS_OF)
    first = match_frame(frame, ITEMS, AS_OF, chunk_size=3)
    again = match_frame(frame, ITEMS, AS_OF)
    expected = match(people(), ITEMS, AS_OF)
    assert outcome(first) == outcome(again) == outcome(expected)
    assert expected.totals["eligible"] > 0 and expected.totals["ineligible"] > 0
    assert [v.explanation for v in first.verdicts] == [v.explanation for v in expected.verdicts]


def test_one_item_over_the_prebuilt_frame_equals_the_per_record_engine_for_that_item():
    frame = build_frame(people(), AS_OF)
    for it in ITEMS:
        assert outcome(match_item(frame, it, AS_OF)) == outcome(match(people(), [it], AS_OF))


def test_one_enterprise_gives_what_the_vectorised_run_gives_for_it():
    for code, p in people().items():
        assert outcome(match_enterprise(p, ITEMS, AS_OF)) == outcome(match_vectorised({code: p}, ITEMS, AS_OF))


def test_a_frame_for_another_date_or_without_an_items_field_is_refused():
    frame = build_frame(people(), AS_OF, {"employees"})
    with pytest.raises(ValueError, match="as_of"):
        match_frame(frame, ITEMS[:1], date(2026, 7, 1))
    with pytest.raises(ValueError, match="revenue"):
        match_frame(frame, ITEMS[:1], AS_OF)


def test_jurisdiction_order_makes_every_city_and_county_one_span_and_leaves_out_rows_without_a_region():
    frame = build_frame(people(), AS_OF)
    order, n_province, spans = jurisdiction_order(frame.frame)
    regions = frame.frame["region_code"].to_numpy(dtype=object)[order]
    assert None not in regions.tolist() and len(order) == len(people()) - 1
    assert n_province == len(people()) - 2  # 149999 is not a Shanxi region: after the province span
    for code, (a, b) in spans.items():
        inside = np.array([r == code or r[:4] + "00" == code for r in regions])
        assert inside[a:b].all() and not inside[:a].any() and not inside[b:].any()


def test_jurisdiction_order_equals_sorting_the_rows_one_by_one():
    from rules.regions import city_of, regions

    frame = build_frame(people(), AS_OF).frame
    table = regions()
    keys = sorted((0 if r in table else 1, (city_of(r) or "") if r in table else "", r, i)
                  for i, r in enumerate(frame["region_code"].to_numpy(dtype=object).tolist()) if r)
    order, n_province, _ = jurisdiction_order(frame)
    assert order.tolist() == [k[3] for k in keys]
    assert n_province == sum(1 for k in keys if k[0] == 0)
