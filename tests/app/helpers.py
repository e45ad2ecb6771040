"""Data builders for app tests: load the example files through the services, as the demo does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from policy_hub.extensions import db

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = date(2026, 6, 30)
TAIYUAN_ITEMS = EXAMPLES / "太原市2025年度惠企政策奖补事项清单.xlsx"
DATONG_ITEMS = EXAMPLES / "大同市2025年度奖补事项清单.csv"
PROVINCE_ITEMS = EXAMPLES / "山西省2025年度省级惠企政策奖补事项清单.xlsx"
FEEDS = (
    ("企业登记信息_市场监管.csv", "market"),
    ("企业纳税信息_税务_2024-2025.xlsx", "tax"),
    ("企业参保信息_人社_2024-2025.csv", "hr"),
    ("企业资质认定名单_科技工信统计.xlsx", "qualifications"),
    ("严重失信主体名单_信用.csv", "credit"),
)


def load_feeds(officer) -> None:
    from policy_hub.services.feeds import import_feed

    for filename, source in FEEDS:
        import_feed(EXAMPLES / filename, source, officer, commit=True, skip_invalid=True)
    db.session.commit()


def load_items(admin, path: Path = TAIYUAN_ITEMS) -> dict:
    from policy_hub.services.items import import_items

    summary = import_items(path, admin, commit=True, skip_invalid=True)
    db.session.commit()
    return summary


def run_match_committed() -> dict:
    from policy_hub.services.matching import run_match

    counts = run_match(AS_OF)
    db.session.commit()
    return counts
