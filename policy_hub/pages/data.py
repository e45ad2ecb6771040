"""Data officer pages: department feed import with preview, and the data-quality view."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from policy_hub.extensions import db
from policy_hub.pages.common import (
    page_blueprint,
    roles_required,
    save_upload,
    send_error_report,
    stored_upload,
)
from policy_hub.services import InputRejected
from policy_hub.services import feeds as feed_service

bp = page_blueprint("data", __name__, url_prefix="/data")
SOURCE_CHOICES = (("market", "市场监管"), ("tax", "税务"), ("hr", "人社"), ("qualifications", "资质"),
                  ("credit", "信用"))
SOURCE_LABELS = dict(SOURCE_CHOICES)


@bp.get("")
@roles_required("data_officer")
def home():
    return render_template("data/home.html", sources=SOURCE_CHOICES, source_labels=SOURCE_LABELS,
                           unregistered=feed_service.unregistered_enterprises(current_user),
                           imports=feed_service.recent_imports(current_user))


@bp.post("/upload")
@roles_required("data_officer")
def upload():
    source = request.form.get("source", "")
    if source not in SOURCE_LABELS:
        raise InputRejected("请选择数据来源部门")
    token, path, filename = save_upload("feed", source=source)
    summary = feed_service.import_feed(path, source, current_user, filename=filename)
    return render_template("data/preview.html", summary=summary, token=token, filename=filename,
                           source_label=SOURCE_LABELS[source])


@bp.post("/commit")
@roles_required("data_officer")
def commit():
    path, meta = stored_upload(request.form.get("token", ""), "feed")
    summary = feed_service.import_feed(path, meta["source"], current_user, commit=True, filename=meta["filename"],
                                       skip_invalid=bool(request.form.get("skip_invalid")))
    db.session.commit()
    flash(f"{SOURCE_LABELS[meta['source']]}数据已导入：{summary['enterprises']} 家企业，"
          f"新增观测 {summary['new_observations']} 条", "success")
    return redirect(url_for("data.home"))


@bp.post("/errors.xlsx")
@roles_required("data_officer")
def error_report():
    """The preview's error report: the uploaded rows plus a 错误原因 column."""
    path, meta = stored_upload(request.form.get("token", ""), "feed")
    summary = feed_service.import_feed(path, meta["source"], current_user, filename=meta["filename"])
    return send_error_report(path, summary["errors"], meta["filename"], summary.get("header_rows"))
