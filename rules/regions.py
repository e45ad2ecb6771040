"""Administrative divisions of Shanxi (GB/T 2260, 2023 statistical codes) and jurisdiction tests.

The table ships as ``rules/data/regions_shanxi.csv``: one row per division, columns ``code`` (str, 6 digits),
``name`` (str), ``level`` ('province' | 'city' | 'county'), ``parent_code`` (str, '' for the province).
Development zones are county-level units.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

PROVINCE_CODE = "140000"


class RegionError(ValueError):
    """A region name or code that the division table cannot resolve. ``candidates`` lists ambiguous matches."""

    def __init__(self, message: str, value: str, candidates: tuple[str, ...] = ()):
        super().__init__(message)
        self.value = value
        self.candidates = candidates


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str  # 'province' | 'city' | 'county'
    parent_code: str | None

    @property
    def full_name(self) -> str:
        """Name qualified by its city for counties (阳泉市城区), as shown to people."""
        if self.level == "county" and self.parent_code:
            return regions()[self.parent_code].name + self.name
        return self.name


@cache
def regions() -> dict[str, Region]:
    """All divisions by code."""
    text = resources.files("rules").joinpath("data/regions_shanxi.csv").read_text(encoding="utf-8")
    out: dict[str, Region] = {}
    for row in csv.DictReader(text.splitlines()):
        out[row["code"]] = Region(row["code"], row["name"], row["level"], row["parent_code"] or None)
    return out


def cities() -> list[Region]:
    """The 11 prefecture-level cities, by code."""
    return sorted((r for r in regions().values() if r.level == "city"), key=lambda r: r.code)


def city_of(code: str | None) -> str | None:
    """The city code a division belongs to (a city is its own city); None for the province or an unknown code."""
    region = regions().get(code or "")
    if region is None or region.level == "province":
        return None
    return region.code if region.level == "city" else region.parent_code


def level_of(code: str) -> str:
    """'province' | 'city' | 'county' for a known code. Raises RegionError for an unknown code."""
    try:
        return regions()[code].level
    except KeyError:
        raise RegionError(f"行政区划代码 {code} 不在山西省区划表中", code) from None


def within(code: str | None, scope: str) -> bool:
    """True when division ``code`` lies inside ``scope`` (itself, its city, or the province)."""
    if not code:
        return False
    if scope == PROVINCE_CODE:
        return code in regions()
    if code == scope:
        return True
    region = regions().get(code)
    return region is not None and region.parent_code == scope


def resolve(value: str) -> str:
    """Resolve a division code or name (太原市, 小店区, 阳泉市城区, 山西省) to its code.

    Raises RegionError when the value is unknown, or ambiguous (城区 is both 140302 and 140502): the error lists
    the candidates as "code name" strings.
    """
    value = (value or "").strip()
    table = regions()
    if value in table:
        return value
    if value in ("山西省", "山西", "全省"):
        return PROVINCE_CODE
    exact = [r for r in table.values() if r.name == value or r.full_name == value]
    if len(exact) == 1:
        return exact[0].code
    if len(exact) > 1:
        cands = tuple(f"{r.code} {r.full_name}" for r in exact)
        raise RegionError(f"区划名称“{value}”有多个匹配：{'、'.join(cands)}，请写全称或代码", value, cands)
    raise RegionError(f"区划“{value}”不在山西省区划表中", value)
