"""Item list round trips through the services and pages: re-import reports, missing items and delisting,
export that re-imports unchanged, the error report download and the template download."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from sqlalchemy import func, select

from policy_hub.extensions import db
from policy_hub.models import AuditEntry, Item, ItemRevision
from policy_hub.services import Forbidden, InputRejected
from policy_hub.services.items import delist_items, export_items, import_items, item_json
from rules.money import format_yuan
from tests.app.helpers import DATONG_ITEMS, PROVINCE_ITEMS, TAIYUAN_ITEMS


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def datong_lines() -> list[str]:
    return DATONG_ITEMS.read_bytes().decode("gbk").splitlines()


def write_gbk(path, lines) -> None:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


def test_a_changed_list_reports_created_updated_with_chinese_labels_unchanged_and_missing(make_user, tmp_path):
    admin = make_user("city_admin", region="140200")
    import_items(DATONG_ITEMS, admin, commit=True, skip_invalid=True)
    db.session.commit()
    lines = datong_lines()
    assert lines[1].split(",")[1] == "DT-KJ-001" and '"1,500万元"' in lines[1]
    changed = [lines[0], lines[1].replace('"1,500万元"', "1600万元"), lines[3],
               lines[1].replace("DT-KJ-001", "DT-KJ-009")]  # GX-001 dropped; invalid row 5 dropped too
    path = tmp_path / "大同_改.csv"
    write_gbk(path, changed)
    preview = import_items(path, admin)
    actions = {c["code"]: (c["action"], c["labels"]) for c in preview["changes"]}
    assert actions == {"DT-KJ-001": ("update", ["资金规模"]), "DT-GX-002": ("unchanged", []),
                       "DT-KJ-009": ("create", [])}
    assert (preview["created"], preview["updated"], preview["unchanged"]) == (1, 1, 1)
    assert [(m["code"], m["status"]) for m in preview["missing"]] == [("DT-GX-001", "listed")]
    summary = import_items(path, admin, commit=True)
    db.session.commit()
    assert [m["code"] for m in summary["missing"]] == ["DT-GX-001"]
    kept = db.session.scalar(select(Item).where(Item.code == "DT-GX-001"))
    assert kept.status == "listed"  # reported, never deleted
    assert db.session.scalar(select(Item.budget_fen).where(Item.code == "DT-KJ-001")) == 16_000_000_00


def test_an_invalid_row_is_not_reported_as_missing(make_user, tmp_path):
    admin = make_user("city_admin", region="140200")
    lines = datong_lines()
    path = tmp_path / "fixed.csv"
    write_gbk(path, lines[:4] + [lines[4].replace("2026-03-01,2025-12-31", "2025-03-01,2025-12-31")])
    import_items(path, admin, commit=True)
    db.session.commit()
    assert count(Item) == 4
    preview = import_items(DATONG_ITEMS, admin)  # DT-YS-001's window is wrong again: an error, not "missing"
    assert [e["row"] for e in preview["errors"]] == [5]
    assert preview["missing"] == []


def test_delisting_writes_a_revision_and_an_audit_row_and_leaves_the_missing_list(make_user, tmp_path):
    admin = make_user("city_admin", region="140200")
    import_items(DATONG_ITEMS, admin, commit=True, skip_invalid=True)
    db.session.commit()
    item = db.session.scalar(select(Item).where(Item.code == "DT-GX-001"))
    revisions, audits = count(ItemRevision), count(AuditEntry)
    assert [i.code for i in delist_items(admin, [str(item.id)])] == ["DT-GX-001"]
    db.session.commit()
    assert (item.status, item.revision) == ("delisted", 2)
    assert (count(ItemRevision), count(AuditEntry)) == (revisions + 1, audits + 1)
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()))
    assert (entry.action, entry.entity_id, json.loads(entry.payload)["after"]["status"]) == (
        "item.delist", str(item.id), "delisted")
    assert delist_items(admin, [item.id]) == []  # already delisted: nothing written
    lines = datong_lines()
    short = tmp_path / "short.csv"
    write_gbk(short, [lines[0], lines[1]])
    assert [m["code"] for m in import_items(short, admin)["missing"]] == ["DT-GX-002"]
    with pytest.raises(Forbidden):
        delist_items(make_user("city_admin", region="140100"), [item.id])
    for bad in ("abc", "1_0", " 9 ", "-1", "0", "９", str(2**31)):  # int() alone would accept some of these
        with pytest.raises(InputRejected, match="无效"):
            delist_items(admin, [bad])


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_exported_items_reimport_with_nothing_written(make_user, tmp_path, suffix):
    admin = make_user("city_admin", region="140000")
    import_items(TAIYUAN_ITEMS, admin, commit=True)
    import_items(DATONG_ITEMS, admin, commit=True, skip_invalid=True)
    if suffix == ".xlsx":
        import_items(PROVINCE_ITEMS, admin, commit=True)
    db.session.commit()
    path = tmp_path / f"export{suffix}"
    exported = export_items(path, admin)
    assert exported == count(Item) > 10
    before = (count(ItemRevision), count(AuditEntry))
    again = import_items(path, admin, commit=True)
    db.session.commit()
    assert (again["errors"], again["created"], again["updated"], again["unchanged"]) == ([], 0, 0, exported)
    assert again["missing"] == []
    assert (count(ItemRevision), count(AuditEntry)) == before


def test_csv_export_of_items_with_city_allocations_is_refused(make_user, tmp_path):
    admin = make_user("city_admin", region="140000")
    import_items(PROVINCE_ITEMS, admin, commit=True)
    db.session.commit()
    with pytest.raises(InputRejected, match="xlsx"):
        export_items(tmp_path / "p.csv", admin)


def test_item_json_uses_design_names_yuan_strings_and_iso_dates(make_user):
    admin = make_user("city_admin", region="140100")
    import_items(TAIYUAN_ITEMS, admin, commit=True)
    db.session.commit()
    item = db.session.scalar(select(Item).where(Item.code == "TY-KJ-001"))
    doc = item_json(item)
    assert (doc["code"], doc["region_code"], doc["mode"]) == ("TY-KJ-001", "140100", "apply_free")
    assert (doc["cap"], doc["budget"]) == ("200000.00", "20000000.00")  # 20 万元 and 2000 万元 in the file
    assert doc["apply_start"] == item.apply_start.isoformat() and doc["reserved"] == format_yuan(item.reserved_fen)


# -- pages -----------------------------------------------------------------------------------------------

def _upload(client, path, name):
    return client.post("/admin/items/upload", data={"file": (io.BytesIO(path.read_bytes()), name)},
                       content_type="multipart/form-data")


def _token(app) -> str:
    from pathlib import Path

    return next(p.parent.name for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file())


def test_the_preview_offers_the_error_report_with_the_original_rows_and_reasons(app, make_user, login):
    client = login(make_user("city_admin", region="140200"))
    html = _upload(client, DATONG_ITEMS, "大同.csv").get_data(as_text=True)
    assert "下载错误报告" in html
    resp = client.post("/admin/items/errors.xlsx", data={"token": _token(app)})
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    ws = book.worksheets[0]
    lines = datong_lines()
    width = len(lines[0].split(","))
    assert ws.cell(1, width + 1).value == "错误原因"
    assert ws.cell(5, 2).value == "DT-YS-001" and ws.cell(5, 19).value == "2025-12-31"
    assert ws.cell(5, width + 1).value.startswith("申报截止：") and "早于" in ws.cell(5, width + 1).value
    assert [ws.cell(r, width + 1).value for r in (2, 3, 4)] == [None, None, None]
    assert client.post("/admin/items/errors.xlsx", data={"token": "0" * 32}).status_code == 404


def test_the_preview_lists_missing_items_and_the_page_delists_them(app, make_user, login, tmp_path):
    admin = make_user("city_admin", region="140200")
    import_items(DATONG_ITEMS, admin, commit=True, skip_invalid=True)
    db.session.commit()
    lines = datong_lines()
    short = tmp_path / "short.csv"
    write_gbk(short, [lines[0], lines[1], lines[3]])
    client = login(admin)
    html = _upload(client, short, "short.csv").get_data(as_text=True)
    assert "未出现在本次清单 1 项" in html and "DT-GX-001" in html
    item = db.session.scalar(select(Item).where(Item.code == "DT-GX-001"))
    resp = client.post("/admin/items/delist", data={"item_id": str(item.id), "next": "//evil.example/"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/items")
    db.session.expire_all()
    assert db.session.get(Item, item.id).status == "delisted"
    page = client.get(f"/admin/items/{item.id}").get_data(as_text=True)
    assert "下架该事项" not in page and "已下架" in page


def test_the_items_page_offers_the_template_and_it_imports_cleanly(app, make_user, login, tmp_path):
    admin = make_user("city_admin", region="140100")
    client = login(admin)
    assert "/admin/items/template.xlsx" in client.get("/admin/items").get_data(as_text=True)
    resp = client.get("/admin/items/template.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    path = tmp_path / "template.xlsx"
    path.write_bytes(resp.data)
    preview = import_items(path, admin)
    assert (preview["errors"], preview["created"]) == ([], 1)


@pytest.mark.loaded
def test_a_budget_cut_below_approved_money_is_a_row_error_in_preview_and_commit(loaded, tmp_path):
    from policy_hub.models import Award
    from policy_hub.services import awards as award_service
    from policy_hub.services.users import create_user

    users = loaded["users"]
    award = db.session.scalar(select(Award).join(Item).where(Item.code == "TY-GX-003").order_by(Award.id).limit(1))
    firm = create_user("cut-firm", "enterprise", "password-123", credit_code=award.credit_code)
    award_service.confirm_payee(firm, award.id, account_name="x", bank="b", account_no="6222020200001111")
    award_service.review(users["reviewer"], award.id)
    award_service.approve(users["approver"], award.id)
    db.session.commit()
    item = award.item
    reserved = item.reserved_fen
    book = openpyxl.load_workbook(TAIYUAN_ITEMS)
    sheet = book.worksheets[0]
    (budget_col,) = [c.column for row in sheet.iter_rows(max_row=6) for c in row
                     if isinstance(c.value, str) and c.value.startswith("资金规模")]
    (row,) = [c.row for line in sheet.iter_rows() for c in line if c.value == "TY-GX-003"]
    sheet.cell(row=row, column=budget_col).value = 1  # 1 万元, below the reserved amount
    path = tmp_path / "cut.xlsx"
    book.save(path)
    summary = import_items(path, users["admin"])
    (error,) = [e for e in summary["errors"] if e["row"] == row]
    assert error["column"] == "资金规模" and format_yuan(reserved) in error["message"]
    with pytest.raises(InputRejected):
        import_items(path, users["admin"], commit=True)
    db.session.rollback()
    db.session.refresh(item)
    assert item.reserved_fen == reserved and item.budget_fen >= reserved
