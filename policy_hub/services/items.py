"""Reward-item imports (preview, then an atomic commit) and item lookups, scoped to the user's region."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from importers import read_items
from policy_hub.extensions import db
from policy_hub.models import ImportBatch, Item, ItemAllocation, ItemRevision, User
from policy_hub.services import InputRejected, NotFound
from policy_hub.services import audit as audit_service
from policy_hub.services.users import can_see_region, require_region, require_role
from rules import regions
from rules.money import yuan_to_fen

logger = logging.getLogger(__name__)

# Item fields in DESIGN.md's names, in the order they are compared and shown.
ITEM_FIELDS = (
    "code", "name", "policy_title", "policy_doc_no", "department", "region_code", "category", "mode",
    "eligibility", "conditions_text", "amount_formula", "standard_text", "cap", "budget", "funding_source",
    "paying_agency", "fiscal_year", "apply_start", "apply_end", "contact", "period", "exclusive_group",
    "commitment_allowed", "notice_days", "status",
)
MONEY_FIELDS = {"cap": "cap_fen", "budget": "budget_fen"}


def _stored(values: dict) -> dict:
    """Imported values -> the JSON-able form kept in revisions and compared on re-import (money in 分)."""
    out: dict = {}
    for name in ITEM_FIELDS:
        value = values.get(name)
        if name in MONEY_FIELDS:
            out[MONEY_FIELDS[name]] = None if value is None else yuan_to_fen(Decimal(value))
        elif isinstance(value, dt.date):
            out[name] = value.isoformat()
        else:
            out[name] = value
    return out


def _allocations_stored(allocs) -> list[dict]:
    return sorted(
        ({"city_code": a.city_code, "slots": a.slots,
          "amount_fen": None if a.amount is None else yuan_to_fen(a.amount)} for a in allocs),
        key=lambda a: a["city_code"],
    )


def item_snapshot(item: Item) -> dict:
    """The stored item in the same JSON-able form as ``_stored``, plus its allocations."""
    out = {}
    for name in ITEM_FIELDS:
        col = MONEY_FIELDS.get(name, name)
        value = getattr(item, col)
        out[col] = value.isoformat() if isinstance(value, dt.date) else value
    out["allocations"] = [
        {"city_code": a.city_code, "slots": a.slots, "amount_fen": a.amount_fen} for a in item.allocations
    ]
    return out


def import_items(path: str | Path, user: User, *, commit: bool = False, skip_invalid: bool = False,
                 filename: str | None = None) -> dict:
    """Preview (default) or commit an item list file.

    Returns ``{created, updated, unchanged, errors, warnings, changes, sheet, committed}``: counts are ints,
    errors/warnings are ``{sheet,row,column,value,message}`` dicts, changes lists per item what would change.
    Raises InputRejected on commit when the file has errors and ``skip_invalid`` is false (nothing is written),
    importers.ImportFileError when the file cannot be read at all.
    """
    require_role(user, "city_admin")
    path = Path(path)
    result = read_items(path)
    errors = [i.to_dict() for i in result.errors]
    warnings = [i.to_dict() for i in result.warnings]
    allocs_by_code: dict[str, list] = {}
    for a in result.allocations:
        allocs_by_code.setdefault(a.item_code, []).append(a)

    plans = []
    for rec in result.items:
        values = rec.values
        if not can_see_region(user, values["region_code"]):
            errors.append({"sheet": rec.sheet, "row": rec.row, "column": "适用区域", "value": values["region_code"],
                           "message": f"无权导入 {values['region_code']} 的事项：超出本账号管辖区域 {user.region_code}"})
            continue
        new = _stored(values)
        new["allocations"] = _allocations_stored(allocs_by_code.get(values["code"], []))
        item = db.session.scalar(
            select(Item).where(Item.region_code == values["region_code"], Item.code == values["code"]))
        old = item_snapshot(item) if item else None
        changed = sorted(k for k in new if old is None or old.get(k) != new[k])
        plans.append((rec, item, new, changed))

    summary = {
        "created": sum(1 for _, item, _, _ in plans if item is None),
        "updated": sum(1 for _, item, _, ch in plans if item is not None and ch),
        "unchanged": sum(1 for _, item, _, ch in plans if item is not None and not ch),
        "errors": errors,
        "warnings": warnings,
        "changes": [{"region_code": n["region_code"], "code": n["code"], "row": r.row,
                     "action": "create" if i is None else ("update" if ch else "unchanged"),
                     "fields": [] if i is None else ch} for r, i, n, ch in plans],
        "sheet": result.sheet_used,
        "committed": False,
    }
    if not commit:
        return summary
    if errors and not skip_invalid:
        raise InputRejected(f"文件有 {len(errors)} 处错误，未导入任何事项；可修正后重试，或选择跳过错误行", errors)
    if not any(i is None or ch for _, i, _, ch in plans):
        summary["committed"] = True
        return summary

    batch = ImportBatch(kind="items", source=None, filename=filename or path.name,
                        sha256=hashlib.sha256(path.read_bytes()).hexdigest(), user_id=user.id,
                        summary={k: summary[k] for k in ("created", "updated", "unchanged")})
    db.session.add(batch)
    db.session.flush()
    for _rec, item, new, changed in plans:
        if item is not None and not changed:
            continue
        _write_item(item, new, batch, user)
    audit_service.record(user.id, "items.import", "import_batch", batch.id, None,
                         {k: summary[k] for k in ("created", "updated", "unchanged")})
    summary["committed"] = True
    return summary


def _write_item(item: Item | None, new: dict, batch: ImportBatch, user: User) -> Item:
    before = None if item is None else {"revision": item.revision}
    if item is None:
        item = Item(region_code=new["region_code"], code=new["code"], revision=1, reserved_fen=0, paid_fen=0)
        db.session.add(item)
    else:
        item.revision += 1
    for key, value in new.items():
        if key == "allocations":
            continue
        if key in ("apply_start", "apply_end") and value is not None:
            value = dt.date.fromisoformat(value)
        setattr(item, key, value)
    db.session.flush()
    existing = {a.city_code: a for a in item.allocations}
    for alloc in new["allocations"]:
        row = existing.get(alloc["city_code"])
        if row is None:
            row = ItemAllocation(item_id=item.id, city_code=alloc["city_code"], used_slots=0, reserved_fen=0,
                                 paid_fen=0)
            db.session.add(row)
        row.slots, row.amount_fen = alloc["slots"], alloc["amount_fen"]
    db.session.add(ItemRevision(item_id=item.id, revision=item.revision, values=new, import_id=batch.id))
    db.session.flush()
    audit_service.record(user.id, "item.create" if before is None else "item.revise", "item", item.id, before,
                         {"revision": item.revision, "budget_fen": item.budget_fen, "status": item.status})
    return item


def visible_items(user: User, *, region_code: str | None = None) -> list[Item]:
    """Items the user may see: a region user sees its region and below; enterprises see listed items."""
    query = select(Item).order_by(Item.region_code, Item.code)
    items = db.session.scalars(query).all()
    if user.role == "enterprise":
        return [i for i in items if i.status == "listed"]
    items = [i for i in items if can_see_region(user, i.region_code)]
    if region_code:
        items = [i for i in items if regions.within(i.region_code, region_code)]
    return items


def get_item(user: User, item_id: int) -> Item:
    """One item by id, refused (403) outside the user's region. Enterprises may read listed items."""
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(f"事项 {item_id} 不存在")
    if user.role == "enterprise":
        if item.status != "listed":
            raise NotFound(f"事项 {item_id} 不存在")
        return item
    require_region(user, item.region_code)
    return item


def find_item(region_code: str, code: str) -> Item:
    item = db.session.scalar(select(Item).where(Item.region_code == region_code, Item.code == code))
    if item is None:
        raise NotFound(f"事项 {region_code}/{code} 不存在")
    return item


def status_counts(user: User, on: dt.date) -> dict[str, dict[str, int]]:
    """Visible items counted ``{"status": {draft|listed|delisted|expired: n}, "mode": {mode: n}}`` on ``on``."""
    by_status: dict[str, int] = {}
    by_mode: dict[str, int] = {}
    for item in visible_items(user):
        status = item.display_status(on)
        by_status[status] = by_status.get(status, 0) + 1
        by_mode[item.mode] = by_mode.get(item.mode, 0) + 1
    return {"status": by_status, "mode": by_mode}
