"""Item and feed imports through the services: preview, atomic commit, idempotent re-import, scope."""

from __future__ import annotations

import openpyxl
import pytest
from sqlalchemy import func, select

from policy_hub.extensions import db
from policy_hub.models import AuditEntry, Item, ItemRevision, Observation
from policy_hub.services import InputRejected
from policy_hub.services.feeds import import_feed
from policy_hub.services.items import import_items
from tests.app.helpers import DATONG_ITEMS, EXAMPLES, PROVINCE_ITEMS, TAIYUAN_ITEMS


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_preview_writes_nothing_and_commit_writes_every_item(make_user):
    admin = make_user("city_admin", region="140100")
    preview = import_items(TAIYUAN_ITEMS, admin)
    assert (preview["created"], preview["committed"], count(Item)) == (10, False, 0)
    import_items(TAIYUAN_ITEMS, admin, commit=True)
    db.session.commit()
    assert count(Item) == 10
    item = db.session.scalar(select(Item).where(Item.code == "TY-KJ-001"))
    # 单户上限（万元）20 and 资金规模（万元）2000 in the file: 200000 元 and 20000000 元, stored in 分.
    assert (item.cap_fen, item.budget_fen, item.mode, item.region_code) == (20_000_000, 2_000_000_000,
                                                                           "apply_free", "140100")
    assert item.policy_title == "太原市支持科技创新若干措施"  # merged cell over its three items
    assert db.session.scalar(select(Item).where(Item.code == "TY-KJ-003")).policy_title == item.policy_title


def test_reimporting_the_same_item_file_changes_nothing(make_user):
    admin = make_user("city_admin", region="140100")
    import_items(TAIYUAN_ITEMS, admin, commit=True)
    db.session.commit()
    before = (count(ItemRevision), count(AuditEntry))
    again = import_items(TAIYUAN_ITEMS, admin, commit=True)
    db.session.commit()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 10)
    assert (count(ItemRevision), count(AuditEntry)) == before


def test_a_changed_budget_creates_a_new_revision_naming_the_changed_field(make_user, tmp_path):
    admin = make_user("city_admin", region="140100")
    import_items(TAIYUAN_ITEMS, admin, commit=True)
    db.session.commit()
    wb = openpyxl.load_workbook(TAIYUAN_ITEMS)
    ws = wb.active
    assert ws["E5"].value == "TY-KJ-001" and ws["O5"].value == "2000"
    ws["O5"] = "2500"
    changed = tmp_path / "changed.xlsx"
    wb.save(changed)
    summary = import_items(changed, admin, commit=True)
    db.session.commit()
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 1, 9)
    change = next(c for c in summary["changes"] if c["code"] == "TY-KJ-001")
    assert change["fields"] == ["budget_fen"]
    item = db.session.scalar(select(Item).where(Item.code == "TY-KJ-001"))
    assert (item.revision, item.budget_fen) == (2, 2_500_000_000)


def test_datong_window_error_is_reported_by_row_and_blocks_commit_unless_skipped(make_user):
    admin = make_user("city_admin", region="140200")
    preview = import_items(DATONG_ITEMS, admin)
    assert [(e["row"], e["column"]) for e in preview["errors"]] == [(5, "申报截止")]
    assert "早于" in preview["errors"][0]["message"]
    with pytest.raises(InputRejected):
        import_items(DATONG_ITEMS, admin, commit=True)
    db.session.rollback()
    assert count(Item) == 0
    summary = import_items(DATONG_ITEMS, admin, commit=True, skip_invalid=True)
    db.session.commit()
    assert (summary["created"], count(Item)) == (3, 3)


def test_a_city_admin_cannot_import_another_citys_items(make_user):
    datong = make_user("city_admin", region="140200")
    preview = import_items(TAIYUAN_ITEMS, datong)
    assert preview["created"] == 0
    assert len(preview["errors"]) == 10 and all("无权" in e["message"] for e in preview["errors"])


def test_provincial_items_bring_their_city_allocations(make_user):
    admin = make_user("city_admin", region="140000")
    import_items(PROVINCE_ITEMS, admin, commit=True)
    db.session.commit()
    item = db.session.scalar(select(Item).where(Item.code == "SX-GX-001"))
    allocs = {a.city_code: (a.slots, a.amount_fen) for a in item.allocations}
    assert len(allocs) == 11
    assert allocs["140100"] == (30, 600_000_000)  # 30 家, 600 万元 = 6,000,000 元
    tax = db.session.scalar(select(Item).where(Item.code == "SX-SW-001"))
    assert (tax.category, tax.budget_fen, tax.paying_agency) == ("税收减免", None, "税务")


def test_market_feed_reports_the_three_bad_check_characters_and_reimport_adds_nothing(make_user):
    officer = make_user("data_officer", region="140000")
    path = EXAMPLES / "企业登记信息_市场监管.csv"
    preview = import_feed(path, "market", officer)
    bad = [(e["row"], e["value"]) for e in preview["errors"]]
    assert bad == [(2, "91140829Y1AWB92P00"), (3, "91140702HEH6DN5W90"), (4, "91140321H9MDRMDH80")]
    assert all("校验位" in e["message"] for e in preview["errors"])
    with pytest.raises(InputRejected):
        import_feed(path, "market", officer, commit=True)
    db.session.rollback()
    assert count(Observation) == 0
    first = import_feed(path, "market", officer, commit=True, skip_invalid=True)
    db.session.commit()
    stored = count(Observation)
    assert first["new_observations"] == stored > 0
    second = import_feed(path, "market", officer, commit=True, skip_invalid=True)
    db.session.commit()
    assert (second["new_observations"], count(Observation)) == (0, stored)


def test_a_data_officer_role_is_required_for_feeds(make_user):
    admin = make_user("city_admin", region="140100")
    from policy_hub.services import Forbidden

    with pytest.raises(Forbidden):
        import_feed(EXAMPLES / "严重失信主体名单_信用.csv", "credit", admin)


def test_a_shorter_credit_list_clears_the_missing_firms_and_the_preview_says_so(make_user, tmp_path):
    officer = make_user("data_officer", region="140000")
    full = EXAMPLES / "严重失信主体名单_信用.csv"
    import_feed(full, "credit", officer, commit=True)
    db.session.commit()
    lines = full.read_text(encoding="utf-8-sig").splitlines()
    short = tmp_path / "严重失信主体名单_部分.csv"
    short.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")  # header + one firm
    preview = import_feed(short, "credit", officer)
    assert any("少了 18 家" in w["message"] for w in preview["warnings"])
    import_feed(short, "credit", officer, commit=True)
    db.session.commit()
    values = db.session.scalars(select(Observation.value).where(Observation.field == "serious_dishonest")).all()
    assert (values.count(True), values.count(False)) == (19, 18)
