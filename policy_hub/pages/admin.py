"""City (region) administrator pages: items of the region, item import with preview (and its error report),
delisting, the item-list template, the quota report."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from importers.template import write_template
from policy_hub.extensions import db
from policy_hub.pages.common import (
    date_arg,
    page_blueprint,
    roles_required,
    save_upload,
    send_error_report,
    send_xlsx,
    stored_upload,
)
from policy_hub.services import items as item_service
from policy_hub.services import quota as quota_service
from rules import regions

bp = page_blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/items")
@roles_required("city_admin")
def items():
    on = date_arg()
    city = regions.city_of(current_user.region_code)
    report = quota_service.quota_report(on, city_code=city)
    if city is not None:
        report = {**report, "province": None}
    return render_template("admin/items.html", items=item_service.visible_items(current_user), on=on,
                           report=report)


@bp.get("/items/<int:item_id>")
@roles_required("city_admin")
def item(item_id: int):
    return render_template("admin/item.html", item=item_service.get_item(current_user, item_id), on=date_arg())


@bp.post("/items/upload")
@roles_required("city_admin")
def upload():
    token, path, filename = save_upload("items")
    summary = item_service.import_items(path, current_user, filename=filename)
    return render_template("admin/preview.html", summary=summary, token=token, filename=filename)


@bp.post("/items/commit")
@roles_required("city_admin")
def commit():
    path, meta = stored_upload(request.form.get("token", ""), "items")
    summary = item_service.import_items(path, current_user, commit=True, filename=meta["filename"],
                                        skip_invalid=bool(request.form.get("skip_invalid")))
    db.session.commit()
    flash(f"导入完成：新增 {summary['created']} 项，更新 {summary['updated']} 项，未变 {summary['unchanged']} 项"
          + (f"，跳过错误 {len(summary['errors'])} 处" if summary["errors"] else ""), "success")
    if summary["missing"]:
        flash(f"{len(summary['missing'])} 项未出现在本次清单（未删除）："
              + "、".join(m["code"] for m in summary["missing"][:20]) + "；如已停止实施，可在事项页下架", "warning")
    return redirect(url_for("admin.items"))


@bp.post("/items/errors.xlsx")
@roles_required("city_admin")
def error_report():
    path, meta = stored_upload(request.form.get("token", ""), "items")
    summary = item_service.import_items(path, current_user, filename=meta["filename"])
    return send_error_report(path, summary["errors"], meta["filename"], summary["header_rows"])


@bp.post("/items/delist")
@roles_required("city_admin")
def delist():
    done = item_service.delist_items(current_user, request.form.getlist("item_id"))
    db.session.commit()
    flash(f"已下架 {len(done)} 项：{'、'.join(i.code for i in done)}" if done else "所选事项均已是下架状态", "success")
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/admin/") and "//" not in back else url_for("admin.items"))


@bp.get("/items/template.xlsx")
@roles_required("city_admin")
def template():
    return send_xlsx(write_template, "奖补事项清单模板.xlsx")
