"""Reward-item imports (preview, then an atomic commit) and item lookups, scoped to the user's region."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from importers import ImportFileError, cells, read_items
from importers.allocations import ALLOCATION_COLUMNS
from importers.export import ExportError, write_items
from importers.header import cell, data_rows, find_header
from importers.items import ITEM_COLUMNS
from importers.source import load_sheets
from policy_hub.extensions import db
from policy_hub.models import ImportBatch, Item, ItemAllocation, ItemRevision, User
from policy_hub.services import InputRejected, NotFound, import_limits
from policy_hub.services import audit as audit_service
from policy_hub.services.budget import rebudgeted
from policy_hub.services.users import can_see_region, require_region, require_role
from rules import regions
from rules.money import fen_to_yuan, format_yuan, yuan_to_fen

logger = logging.getLogger(__name__)

# Item fields in DESIGN.md's names, in the order they are compared and shown.
ITEM_FIELDS = (
    "code", "name", "policy_title", "policy_doc_no", "department", "region_code", "category", "mode",
    "eligibility", "conditions_text", "amount_formula", "standard_text", "cap", "budget", "funding_source",
    "paying_agency", "fiscal_year", "apply_start", "apply_end", "contact", "period", "exclusive_group",
    "commitment_allowed", "notice_days", "status",
)
MONEY_FIELDS = {"cap": "cap_fen", "budget": "budget_fen"}
# Chinese labels of the compared keys (the import column names), for "what changed" in previews.
FIELD_LABELS = {**{c.field: c.names[0] for c in ITEM_COLUMNS}, "cap_fen": "单户上限", "budget_fen": "资金规模",
                "paying_agency": "兑付主体", "allocations": "分市额度"}


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
    total, by_city = rebudgeted(item.id)  # compared and exported as listed, without re-budgeted money
    if out["budget_fen"] is not None:
        out["budget_fen"] -= total
    out["allocations"] = [
        {"city_code": a.city_code, "slots": a.slots,
         "amount_fen": None if a.amount_fen is None else a.amount_fen - by_city.get(a.city_code, 0)}
        for a in item.allocations
    ]
    return out


def import_items(path: str | Path, user: User, *, commit: bool = False, skip_invalid: bool = False,
                 filename: str | None = None) -> dict:
    """Preview (default) or commit an item list file.

    Returns ``{created, updated, unchanged, errors, warnings, changes, missing, sheet, header_rows, committed}``:
    counts are ints; errors/warnings are ``{sheet,row,column,value,message}`` dicts; ``changes`` lists per item
    ``{region_code, code, row, action: create|update|unchanged, fields: [stored keys], labels: [Chinese]}``;
    ``missing`` lists stored items (not delisted) of the regions in the file that the file no longer contains,
    ``{id, region_code, code, name, status}``: they are kept, and can be delisted with ``delist_items``;
    ``header_rows`` maps sheet name -> header row (for the error report).
    Raises InputRejected on commit when the file has errors and ``skip_invalid`` is false (nothing is written),
    importers.ImportFileError when the file cannot be read at all.
    """
    require_role(user, "city_admin")
    path = Path(path)
    result = read_items(path, import_limits("items"))
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
        cut = _cuts_below_committed(rec, item, new) if item is not None else []
        if cut:
            errors.extend(cut)
            continue
        plans.append((rec, item, new, changed))

    summary = {
        "created": sum(1 for _, item, _, _ in plans if item is None),
        "updated": sum(1 for _, item, _, ch in plans if item is not None and ch),
        "unchanged": sum(1 for _, item, _, ch in plans if item is not None and not ch),
        "errors": errors,
        "warnings": warnings,
        "changes": [{"region_code": n["region_code"], "code": n["code"], "row": r.row,
                     "action": "create" if i is None else ("update" if ch else "unchanged"),
                     "fields": [] if i is None else ch,
                     "labels": [] if i is None else [FIELD_LABELS.get(k, k) for k in ch]} for r, i, n, ch in plans],
        "sheet": result.sheet_used,
        "committed": False,
    }
    header_rows, bad_codes = _layout(path, result.sheet_used,
                                     {e["row"] for e in errors if e["sheet"] == result.sheet_used})
    summary["header_rows"] = header_rows
    summary["missing"] = _missing({(n["region_code"], n["code"]) for _, _, n, _ in plans}, bad_codes)
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


def _layout(path: Path, sheet_name: str, error_rows: set[int]) -> tuple[dict[str, int], set[str]]:
    """Header row per sheet, and the item codes written on rows with errors (invalid, not "missing")."""
    header_rows: dict[str, int] = {}
    bad_codes: set[str] = set()
    for sheet in load_sheets(path):
        columns = ITEM_COLUMNS if sheet.name == sheet_name else ALLOCATION_COLUMNS
        try:
            header = find_header(sheet, columns)
        except ImportFileError:  # the reader already reported this sheet
            continue
        header_rows[sheet.name] = header.row
        if sheet.name != sheet_name:
            continue
        for row_no, values in data_rows(sheet, header):
            raw = cell(values, header, "code")
            if row_no in error_rows and raw is not None:
                bad_codes.add(cells.compact(raw).upper())
    return header_rows, bad_codes


def _missing(seen: set[tuple[str, str]], bad_codes: set[str]) -> list[dict]:
    file_regions = {region for region, _ in seen}
    if not file_regions:
        return []
    stored = db.session.scalars(select(Item).where(Item.region_code.in_(file_regions), Item.status != "delisted")
                                .order_by(Item.region_code, Item.code)).all()
    return [{"id": i.id, "region_code": i.region_code, "code": i.code, "name": i.name, "status": i.status}
            for i in stored if (i.region_code, i.code) not in seen and i.code not in bad_codes]


def _cuts_below_committed(rec, item: Item, new: dict) -> list[dict]:
    """Row errors for a budget, city amount or slot count below what approvals already reserved or paid."""
    total, by_city = rebudgeted(item.id)
    out = []

    def error(column: str, value, message: str) -> None:
        out.append({"sheet": rec.sheet, "row": rec.row, "column": column, "value": value, "message": message})

    committed = item.reserved_fen + item.paid_fen
    if new["budget_fen"] is not None and new["budget_fen"] + total < committed:
        error("资金规模", format_yuan(new["budget_fen"]),
              f"资金规模不能低于已审批预留与已支付之和 {format_yuan(committed - total)} 元（预留 "
              f"{format_yuan(item.reserved_fen)} 元，已支付 {format_yuan(item.paid_fen)} 元）")
    stored = {a.city_code: a for a in item.allocations}
    for alloc in new["allocations"]:
        row = stored.get(alloc["city_code"])
        if row is None:
            continue
        used = row.reserved_fen + row.paid_fen - by_city.get(row.city_code, 0)
        if alloc["amount_fen"] is not None and alloc["amount_fen"] < used:
            error("分市额度", f"{row.city_code} {format_yuan(alloc['amount_fen'])}",
                  f"{row.city_code} 的分市额度不能低于已审批预留与已支付之和 {format_yuan(used)} 元")
        if alloc["slots"] is not None and alloc["slots"] < row.used_slots:
            error("分市额度", f"{row.city_code} {alloc['slots']}",
                  f"{row.city_code} 的分市名额不能少于已占用的 {row.used_slots} 个")
    return out


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
    total, by_city = rebudgeted(item.id)
    if item.budget_fen is not None:
        item.budget_fen += total
    existing = {a.city_code: a for a in item.allocations}
    for alloc in new["allocations"]:
        row = existing.get(alloc["city_code"])
        if row is None:
            row = ItemAllocation(item_id=item.id, city_code=alloc["city_code"], used_slots=0, reserved_fen=0,
                                 paid_fen=0)
            db.session.add(row)
        row.slots = alloc["slots"]
        row.amount_fen = None if alloc["amount_fen"] is None else alloc["amount_fen"] + by_city.get(alloc["city_code"], 0)
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


def delist_items(user: User, item_ids) -> list[Item]:
    """Delist (下架) these items of the user's region: status ``delisted``, a new revision, one audit row each.

    Items already delisted are left as they are (and not returned). Raises NotFound for an unknown id, Forbidden
    outside the user's region or role. Flushes, never commits.
    """
    require_role(user, "city_admin")
    ids: set[int] = set()
    for raw in item_ids:
        text = raw if isinstance(raw, str) else str(raw)
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**31:  # int() would take "1_0", " 9 "
            raise InputRejected(f"事项编号“{raw}”无效")
        ids.add(int(text))
    if not ids:
        raise InputRejected("请选择要下架的事项")
    done = []
    for item_id in sorted(ids):
        item = get_item(user, item_id)
        if item.status == "delisted":
            continue
        before = {"revision": item.revision, "status": item.status}
        item.status = "delisted"
        item.revision += 1
        db.session.add(ItemRevision(item_id=item.id, revision=item.revision, values=item_snapshot(item)))
        db.session.flush()
        audit_service.record(user.id, "item.delist", "item", item.id, before,
                             {"revision": item.revision, "status": item.status})
        done.append(item)
    return done


def item_values(item: Item) -> dict:
    """The stored item by DESIGN.md field names: cap/budget as Decimal 元, dates as dates (import/export form)."""
    snap = item_snapshot(item)
    out = {name: getattr(item, MONEY_FIELDS.get(name, name)) for name in ITEM_FIELDS}
    for name, col in MONEY_FIELDS.items():
        out[name] = None if snap[col] is None else fen_to_yuan(snap[col])
    return out


def item_json(item: Item) -> dict:
    """The stored item as JSON: DESIGN.md field names, amounts as 元 strings with two decimals (null when
    empty; ``budget`` includes re-budgeted money, also given as ``rebudgeted``), dates ISO; plus revision,
    reserved, paid and allocations ``{city_code, slots, amount, used_slots,
    reserved, paid}``."""
    out = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in item_values(item).items()}
    for name, col in MONEY_FIELDS.items():
        out[name] = format_yuan(getattr(item, col)) or None
    out.update(revision=item.revision, reserved=format_yuan(item.reserved_fen), paid=format_yuan(item.paid_fen),
               rebudgeted=format_yuan(rebudgeted(item.id)[0]),
               allocations=[{"city_code": a.city_code, "slots": a.slots, "amount": format_yuan(a.amount_fen) or None,
                             "used_slots": a.used_slots, "reserved": format_yuan(a.reserved_fen),
                             "paid": format_yuan(a.paid_fen)} for a in item.allocations])
    return out


def export_items(path: str | Path, user: User, *, region_code: str | None = None) -> int:
    """Write the items the user sees (within ``region_code`` if given) to ``path`` in the import format (xlsx or
    csv by suffix, see importers.export). Importing that file changes nothing. Returns the number of items.
    Raises InputRejected for an unsupported suffix, or CSV with 分市额度."""
    items = visible_items(user, region_code=region_code)
    allocations = [{"item_code": i.code, "city_code": a["city_code"], "slots": a["slots"],
                    "amount": None if a["amount_fen"] is None else fen_to_yuan(a["amount_fen"])}
                   for i in items for a in item_snapshot(i)["allocations"]]  # as listed, without re-budgets
    try:
        write_items(path, [item_values(i) for i in items], allocations)
    except ExportError as exc:
        raise InputRejected(exc.message) from None
    return len(items)
