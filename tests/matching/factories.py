"""Small factories for matching tests: observations, profiles and items."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count
from typing import Any

import pandas as pd

from matching.engine import MatchItem

CODE_A = "91140105MA0000000A"  # check characters are not validated by matching
CODE_B = "91140105MA0000000B"

_seq = count(1)
_item_ids = count(1)


def obs(credit_code: str, field: str, value: Any, *, source: str, year: int | None = None, seq: int | None = None) -> dict:
    """One observation row."""
    return {
        "credit_code": credit_code,
        "field": field,
        "value": value,
        "fiscal_year": year,
        "source": source,
        "seq": next(_seq) if seq is None else seq,
    }


def registration(credit_code: str = CODE_A, region_code: str = "140105", status: str = "存续") -> list[dict]:
    """The 市场监管 rows that register an enterprise."""
    return [
        obs(credit_code, "region_code", region_code, source="market"),
        obs(credit_code, "operating_status", status, source="market"),
    ]


def recognition(credit_code: str, name: str, recognized_on: date, valid_until: date | None) -> dict:
    value = {"name": name, "recognized_on": recognized_on, "valid_until": valid_until}
    return obs(credit_code, "qualification_recognition", value, source="qualifications")


def frame(*rows: dict | list[dict]) -> pd.DataFrame:
    """An observations DataFrame with the documented dtypes."""
    flat: list[dict] = []
    for r in rows:
        flat.extend(r if isinstance(r, list) else [r])
    df = pd.DataFrame(flat, columns=["credit_code", "field", "value", "fiscal_year", "source", "seq"])
    df["fiscal_year"] = df["fiscal_year"].astype("Int64")
    df["value"] = df["value"].astype(object)
    return df


def profile(credit_code: str = CODE_A, **fields: Any) -> dict[str, Any]:
    """A registered, active, honest enterprise in 小店区 (140105); keyword arguments override or add fields
    (pass None to make a field unknown)."""
    base: dict[str, Any] = {
        "credit_code": credit_code,
        "region_code": "140105",
        "operating_status": "存续",
        "serious_dishonest": False,
        "qualifications": frozenset(),
        "qualified_on": {},
        "first_qualified_on": {},
        "closed_lists": frozenset(),
    }
    base.update(fields)
    return base


def item(
    eligibility: str = "employees >= 10",
    amount_formula: str | None = None,
    *,
    region_code: str = "140100",
    code: str | None = None,
    cap: Decimal | str | None = None,
    exclusive_group: str | None = None,
    fiscal_year: int = 2025,
    item_id: int | None = None,
) -> MatchItem:
    item_id = next(_item_ids) if item_id is None else item_id
    return MatchItem(
        item_id=item_id,
        region_code=region_code,
        code=code or f"T{item_id:04d}",
        mode="apply_free",
        category="财政补贴",
        eligibility=eligibility,
        amount_formula=amount_formula,
        cap=None if cap is None else Decimal(cap),
        exclusive_group=exclusive_group,
        fiscal_year=fiscal_year,
    )
