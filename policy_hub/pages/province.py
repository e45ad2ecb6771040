"""Province operator: the read-only overview (quota of every city, items and awards by state)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from policy_hub.pages.common import date_arg, page_blueprint, roles_required
from policy_hub.services import awards as award_service
from policy_hub.services import items as item_service
from policy_hub.services import quota as quota_service

bp = page_blueprint("province", __name__, url_prefix="/province")


@bp.get("")
@roles_required("province_admin")
def home():
    on = date_arg()
    return render_template("province/home.html", on=on, report=quota_service.quota_report(on),
                           item_counts=item_service.status_counts(current_user, on),
                           award_counts=award_service.state_counts(current_user))
