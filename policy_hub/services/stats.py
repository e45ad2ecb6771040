"""Payout statistics per item and per city (直达快享: how fast eligible money reaches enterprises)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import func, select

from disbursement.states import DEAD_STATES
from policy_hub.extensions import db
from policy_hub.models import Award, Enterprise, Item, MatchResult, Payment
from policy_hub.services.users import can_see_region, require_role
from rules import regions
from rules.money import format_yuan

# States an award reaches only after approval (its money was reserved at some point).
APPROVED_STATES = ("approved", "scheduled", "payment_failed", "paid", "clawback_pending", "recovered")
UNKNOWN_CITY = "unknown"


def median_days(days: Iterable[int]) -> Decimal | None:
    """The median of whole days as a Decimal (x.5 for an even count), None for no values. Never float."""
    values = sorted(days)
    if not values:
        return None
    mid = len(values) // 2
    if len(values) % 2:
        return Decimal(values[mid])
    return (Decimal(values[mid - 1]) + Decimal(values[mid])) / 2


def _bucket() -> dict:
    return {"eligible_fen": 0, "approved_fen": 0, "paid_fen": 0, "enterprises": set(), "days": []}


def _row(key: dict, b: dict) -> dict:
    median = median_days(b["days"])
    return {**key,
            "eligible_fen": b["eligible_fen"], "approved_fen": b["approved_fen"], "paid_fen": b["paid_fen"],
            "eligible_yuan": format_yuan(b["eligible_fen"]), "approved_yuan": format_yuan(b["approved_fen"]),
            "paid_yuan": format_yuan(b["paid_fen"]), "enterprises": len(b["enterprises"]),
            "payments": len(b["days"]), "median_days_to_pay": None if median is None else str(median)}


def payout_stats(user) -> dict:
    """Per item and per city (the enterprise's 地市): money eligible, approved and paid, enterprises, and speed.

    Returns ``{"items": [...], "cities": [...], "total": {...}}``; every row has eligible_fen (current
    eligible verdicts), approved_fen (awards that passed approval, incl. later paid/failed), paid_fen (gross
    paid, 分), the same three as 元 strings, enterprises (distinct enterprises eligible or holding a live
    award), payments (paid awards) and median_days_to_pay (days from the award's assessment date, the day
    eligibility was established, to the bank's processing date of its successful payment; a decimal string,
    None when nothing was paid). Items and cities outside the user's region are left out.
    """
    require_role(user, "province_admin", "finance_reviewer", "finance_approver")
    items = {i.id: i for i in db.session.scalars(select(Item)) if can_see_region(user, i.region_code)}
    city_of = dict(db.session.execute(select(Enterprise.credit_code, Enterprise.city_code)).all())
    by_item: dict[int, dict] = defaultdict(_bucket)
    by_city: dict[str, dict] = defaultdict(_bucket)
    total = _bucket()

    def add(item_id: int, code: str, field: str, value):
        for b in (by_item[item_id], by_city[city_of.get(code) or UNKNOWN_CITY], total):
            if field == "enterprises":
                b["enterprises"].add(code)
            elif field == "days":
                b["days"].append(value)
            else:
                b[field] += value

    for r in db.session.scalars(select(MatchResult).where(MatchResult.verdict == "eligible",
                                                          MatchResult.item_id.in_(list(items)))):
        add(r.item_id, r.credit_code, "eligible_fen", r.amount_fen or 0)
        add(r.item_id, r.credit_code, "enterprises", None)
    paid_on = dict(db.session.execute(select(Payment.award_id, func.min(Payment.processed_on))
                                      .where(Payment.result == "success").group_by(Payment.award_id)).all())
    for a in db.session.scalars(select(Award).where(Award.item_id.in_(list(items)))):
        if a.state not in DEAD_STATES:
            add(a.item_id, a.credit_code, "enterprises", None)
        if a.state in APPROVED_STATES:
            add(a.item_id, a.credit_code, "approved_fen", a.amount_fen)
        add(a.item_id, a.credit_code, "paid_fen", a.paid_fen or 0)
        if a.id in paid_on and paid_on[a.id] is not None:
            add(a.item_id, a.credit_code, "days", (paid_on[a.id] - a.as_of).days)
    names = {r.code: r.name for r in regions.cities()}
    item_rows = [_row({"item_id": i, "item_code": items[i].code, "item_name": items[i].name,
                       "region_code": items[i].region_code}, b) for i, b in sorted(by_item.items())]
    city_rows = [_row({"city_code": c, "city_name": names.get(c, "未知地市")}, b) for c, b in sorted(by_city.items())]
    return {"items": item_rows, "cities": city_rows, "total": _row({}, total)}
