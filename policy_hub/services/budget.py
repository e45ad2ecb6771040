"""Item budgets and city allocations (分): reserve at approval, post at payment, release on a final failure.

Every change is a conditional ``UPDATE … WHERE reserved + paid + :a <= budget`` (never read-check-write), and the
CHECK constraints on ``items`` and ``item_allocations`` refuse anything that would still overspend or go negative.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from policy_hub.extensions import db
from policy_hub.models import Award, BudgetEntry, Enterprise, Item, ItemAllocation
from policy_hub.services import Conflict


def reserve_budget(award: Award) -> None:
    """Reserve the award's amount with conditional UPDATEs (never read-check-write), item then city allocation.

    Raises Conflict when the item budget or the city's allocation (money or slots) would be exceeded.
    """
    item, amount = award.item, award.amount_fen
    if item.budget_fen is None:
        raise Conflict(f"事项 {item.code} 未设置资金规模，不能审批拨付")
    res = db.session.execute(
        update(Item).where(Item.id == item.id, Item.reserved_fen + Item.paid_fen + amount <= Item.budget_fen)
        .values(reserved_fen=Item.reserved_fen + amount).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise Conflict(f"事项 {item.code} 预算不足，无法审批")
    if item.allocations:
        ent = db.session.get(Enterprise, award.credit_code)
        city = ent.city_code if ent else None
        res = db.session.execute(
            update(ItemAllocation).where(
                ItemAllocation.item_id == item.id, ItemAllocation.city_code == city,
                (ItemAllocation.amount_fen.is_(None))
                | (ItemAllocation.reserved_fen + ItemAllocation.paid_fen + amount <= ItemAllocation.amount_fen),
                (ItemAllocation.slots.is_(None)) | (ItemAllocation.used_slots + 1 <= ItemAllocation.slots),
            ).values(reserved_fen=ItemAllocation.reserved_fen + amount, used_slots=ItemAllocation.used_slots + 1)
            .execution_options(synchronize_session=False))
        if res.rowcount != 1:
            raise Conflict(f"事项 {item.code} 在 {city} 的分市名额或额度已用完")
    db.session.expire(item)


def check_budget(award: Award) -> None:
    """Refuse (Conflict) when the item budget or the city allocation could not take the award now.

    Advisory only (no reservation): the binding check is ``reserve_budget``'s conditional UPDATE.
    """
    from disbursement.approval import can_reserve

    item, amount = award.item, award.amount_fen
    db.session.refresh(item)
    if item.budget_fen is None or not can_reserve(item.budget_fen, item.reserved_fen, item.paid_fen, amount):
        raise Conflict(f"事项 {item.code} 预算不足，无法审批")
    alloc = _allocation_of(award)
    if item.allocations and alloc is None:
        raise Conflict(f"事项 {item.code} 未给该企业所在地市分配名额或额度")
    if alloc is not None:
        db.session.refresh(alloc)
        if ((alloc.amount_fen is not None and not can_reserve(alloc.amount_fen, alloc.reserved_fen,
                                                               alloc.paid_fen, amount))
                or (alloc.slots is not None and alloc.used_slots + 1 > alloc.slots)):
            raise Conflict(f"事项 {item.code} 在 {alloc.city_code} 的分市名额或额度已用完")


def _allocation_of(award: Award) -> ItemAllocation | None:
    ent = db.session.get(Enterprise, award.credit_code)
    if ent is None or not award.item.allocations:
        return None
    return db.session.scalar(select(ItemAllocation).where(ItemAllocation.item_id == award.item_id,
                                                          ItemAllocation.city_code == ent.city_code))


def post_payment(award: Award) -> None:
    """Reserved -> paid on the item and the city allocation."""
    amount = award.amount_fen
    db.session.execute(update(Item).where(Item.id == award.item_id).values(
        reserved_fen=Item.reserved_fen - amount, paid_fen=Item.paid_fen + amount))
    _allocation_update(award, paid=True)
    award.paid_fen = amount


def release_budget(award: Award) -> None:
    """Give the reservation back (final payment failure or a withdrawal after approval)."""
    amount = award.amount_fen
    db.session.execute(update(Item).where(Item.id == award.item_id).values(reserved_fen=Item.reserved_fen - amount))
    _allocation_update(award, paid=False)


def _allocation_update(award: Award, *, paid: bool) -> None:
    ent = db.session.get(Enterprise, award.credit_code)
    if not award.item.allocations or ent is None:
        return
    amount = award.amount_fen
    values = ({"reserved_fen": ItemAllocation.reserved_fen - amount, "paid_fen": ItemAllocation.paid_fen + amount}
              if paid else {"reserved_fen": ItemAllocation.reserved_fen - amount,
                            "used_slots": ItemAllocation.used_slots - 1})
    db.session.execute(update(ItemAllocation).where(
        ItemAllocation.item_id == award.item_id, ItemAllocation.city_code == ent.city_code).values(**values))


def rebudgeted(item_id: int | None) -> tuple[int, dict[str, int]]:
    """Re-budget entries of an item (分): (total on the item, {city_code: total on that city's allocation}).

    The item list file states the budget as listed; ``items.budget_fen`` is that plus these entries, so a
    re-import keeps money put back after clawbacks (services.items adds them back, and compares without them).
    """
    if item_id is None:
        return 0, {}
    rows = db.session.execute(select(BudgetEntry.city_code, func.sum(BudgetEntry.amount_fen))
                              .where(BudgetEntry.item_id == item_id).group_by(BudgetEntry.city_code)).all()
    return sum(int(s) for _, s in rows), {c: int(s) for c, s in rows if c is not None}
