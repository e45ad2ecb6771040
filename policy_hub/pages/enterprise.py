"""Enterprise pages: own profile, 免申即享 awards, 即申即享 listings, needs-information listings."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from policy_hub.extensions import db
from policy_hub.pages.common import page_blueprint, roles_required
from policy_hub.pages.profile_view import page_profile
from policy_hub.services import NotFound, commitment, payee
from policy_hub.services import awards as award_service
from policy_hub.services import matching as matching_service
from rules import FIELDS

bp = page_blueprint("enterprise", __name__, url_prefix="/enterprise")


def _own_profile() -> dict | None:
    try:
        return page_profile(current_user, current_user.credit_code)
    except NotFound:
        return None  # a login for an enterprise no department has reported yet


def _payee_form() -> dict:
    return {k: request.form.get(k, "") for k in ("account_name", "bank", "account_no")}


@bp.get("")
@roles_required("enterprise")
def home():
    profile = _own_profile()
    listings = matching_service.enterprise_listings(current_user)
    return render_template("enterprise/home.html", profile=profile, fields=FIELDS, declarable=commitment.declarable,
                           terms=commitment.TERMS, **listings)


@bp.get("/awards/<int:award_id>")
@roles_required("enterprise")
def award(award_id: int):
    record = award_service.get_award(current_user, award_id)
    profile = _own_profile()
    return render_template("enterprise/award.html", award=record, registered_name=profile and profile["name"],
                           fields=FIELDS, failure=payee.last_failure(record.id))


@bp.post("/awards/<int:award_id>/confirm")
@roles_required("enterprise")
def confirm(award_id: int):
    award_service.confirm_payee(current_user, award_id, **_payee_form())
    db.session.commit()
    flash("已确认收款账户，等待财政部门审核", "success")
    return redirect(url_for("enterprise.award", award_id=award_id))


@bp.post("/awards/<int:award_id>/fix-account")
@roles_required("enterprise")
def fix_account(award_id: int):
    payee.fix_account(current_user, award_id, **_payee_form())
    db.session.commit()
    flash("已更正收款账户，将在下一支付批次重新支付", "success")
    return redirect(url_for("enterprise.award", award_id=award_id))


@bp.post("/awards/<int:award_id>/decline")
@roles_required("enterprise")
def decline(award_id: int):
    award_service.decline(current_user, award_id)
    db.session.commit()
    flash("已放弃该项奖补", "info")
    return redirect(url_for("enterprise.award", award_id=award_id))


@bp.post("/items/<int:item_id>/apply")
@roles_required("enterprise")
def apply(item_id: int):
    declared = {k.removeprefix("declared_"): v for k, v in request.form.items() if k.startswith("declared_")}
    record = award_service.apply_instant(current_user, item_id, **_payee_form(), declared=declared,
                                         accept_terms=request.form.get("accept_terms") == "on")
    db.session.commit()
    flash("申请已提交，即时复核通过，等待财政部门审核", "success")
    return redirect(url_for("enterprise.award", award_id=record.id))
