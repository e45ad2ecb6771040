"""The quota report: each city's redeemable items against its target (晋政发〔2024〕8号 item 18: 不少于100项)."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select

from policy_hub.extensions import db
from policy_hub.models import Item
from rules import RuleError, compile_rule, regions

MODES = ("apply_free", "instant_apply", "on_application")
REASONS = {
    "not_started": "申报窗口尚未开始",
    "expired": "申报窗口已结束",
    "unfunded": "未安排资金（资金规模为空或为0，且非税收减免）",
    "missing_rule": "免申即享/即申即享事项缺少资格规则或金额公式",
    "rule_invalid": "资格规则或金额公式无法编译",
}


def not_counted_reason(item: Item, on: date) -> str | None:
    """Why a listed item does not count as redeemable on ``on``, as a reason code; None when it counts."""
    if item.apply_start and on < item.apply_start:
        return "not_started"
    if item.apply_end and on > item.apply_end:
        return "expired"
    if not (item.budget_fen and item.budget_fen > 0) and item.category != "税收减免":
        return "unfunded"
    if item.mode in ("apply_free", "instant_apply"):
        if not item.eligibility or not item.amount_formula:
            return "missing_rule"
        try:
            compile_rule(item.eligibility, "rule")
            compile_rule(item.amount_formula, "amount")
        except RuleError:
            return "rule_invalid"
    return None


def _block(code: str, name: str, items: list[Item], on: date, target: int | None) -> dict:
    redeemable = dict.fromkeys(MODES, 0)
    not_counted = []
    listed = [i for i in items if i.status == "listed"]
    for item in listed:
        reason = not_counted_reason(item, on)
        if reason is None:
            redeemable[item.mode] += 1
        else:
            not_counted.append({"region_code": item.region_code, "item_code": item.code, "reason_code": reason,
                                "reason": REASONS[reason]})
    redeemable["total"] = sum(redeemable[m] for m in MODES)
    block = {"city_code": code, "city_name": name, "listed": len(listed), "redeemable": redeemable,
             "not_counted": not_counted}
    if target is not None:
        block["target"] = target
        block["shortfall"] = max(0, target - redeemable["total"])
    return block


def quota_report(on: date, *, city_code: str | None = None) -> dict:
    """``{as_of, target, cities: [...], province: {...}}`` as documented for ``policy-hub quota report``.

    One block per city (all 11, or just ``city_code``): listed (int), redeemable {apply_free, instant_apply,
    on_application, total}, target, shortfall, not_counted [{region_code, item_code, reason_code, reason}].
    Provincial items (140000) are reported apart and count toward no city.
    """
    target = int(current_app.config["QUOTA_TARGET"])
    items = db.session.scalars(select(Item).order_by(Item.region_code, Item.code)).all()
    cities = []
    for city in regions.cities():
        if city_code and city.code != city_code:
            continue
        own = [i for i in items if regions.city_of(i.region_code) == city.code]
        cities.append(_block(city.code, city.name, own, on, target))
    province = _block(regions.PROVINCE_CODE, "山西省（省级事项）",
                      [i for i in items if i.region_code == regions.PROVINCE_CODE], on, None)
    return {"as_of": on.isoformat(), "target": target, "cities": cities, "province": province}
