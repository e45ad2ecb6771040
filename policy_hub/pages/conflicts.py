"""Data officer page: the conflict report (sources that disagree) and resolving a conflict with a reason."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from policy_hub.extensions import db
from policy_hub.pages.common import page_blueprint, roles_required
from policy_hub.pages.profile_view import show
from policy_hub.services import InputRejected
from policy_hub.services import conflicts as conflict_service
from rules import FIELDS, SOURCES

bp = page_blueprint("conflicts", __name__, url_prefix="/data/conflicts")
STATUS_LABELS = {"open": "待处理", "resolved": "已处理", "reopened": "已重新出现"}


@bp.get("")
@roles_required("data_officer")
def index():
    credit_code = (request.args.get("credit_code") or "").strip().upper() or None
    show_resolved = request.args.get("all") == "1"
    entries = conflict_service.conflict_report(current_user, credit_code, include_resolved=show_resolved)
    for entry in entries:
        for v in entry["values"]:
            v["shown"] = show(entry["field"], v["value"])
    return render_template("data/conflicts.html", entries=entries, credit_code=credit_code or "",
                           show_resolved=show_resolved, sources=SOURCES, status_labels=STATUS_LABELS)


@bp.post("/resolve")
@roles_required("data_officer")
def resolve():
    form = request.form
    year = (form.get("fiscal_year") or "").strip()
    if year and not year.isdigit():
        raise InputRejected(f"年度 {year} 无效")
    seen = (form.get("seen_resolution") or "").strip()
    if seen and not seen.isdigit():
        raise InputRejected("页面数据无效，请刷新后重试")
    result = conflict_service.resolve_conflict(current_user, form.get("credit_code", ""), form.get("field", ""),
                                               int(year) if year else None, form.get("source", ""),
                                               form.get("reason", ""), seen_resolution=int(seen) if seen else None)
    db.session.commit()
    flash(f"已处理：{result['credit_code']} 的{FIELDS[result['field']].label}采用{SOURCES.get(result['source'], result['source'])}"
          "的数据", "success")
    return redirect(url_for("conflicts.index", credit_code=result["credit_code"]))
