"""Finance pages: the award queue (初审/审批/驳回), payout batches and bank-return reconciliation."""

from __future__ import annotations

import io

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from disbursement.states import STATES
from policy_hub.extensions import db
from policy_hub.pages.common import page_blueprint, roles_required, save_upload
from policy_hub.pages.profile_view import page_profile
from policy_hub.services import InputRejected, lifecycle, payee
from policy_hub.services import awards as award_service
from policy_hub.services import payouts as payout_service
from rules.money import parse_yuan_text

bp = page_blueprint("finance", __name__, url_prefix="/finance")
FINANCE = ("finance_reviewer", "finance_approver")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _grouped(awards) -> list[tuple[str, list]]:
    by_state: dict[str, list] = {}
    for a in awards:
        by_state.setdefault(a.state, []).append(a)
    return [(s, by_state[s]) for s in STATES if s in by_state]


@bp.get("")
@roles_required(*FINANCE)
def queue():
    awards = award_service.finance_queue(current_user)
    names = award_service.enterprise_names({a.credit_code for a in awards})
    return render_template("finance/queue.html", groups=_grouped(awards), names=names,
                           batches=payout_service.batches(current_user))


@bp.post("/awards/<int:award_id>/review")
@roles_required(*FINANCE)
def review(award_id: int):
    award_service.review(current_user, award_id)
    db.session.commit()
    flash(f"奖补 #{award_id} 已初审", "success")
    return redirect(url_for("finance.queue"))


@bp.post("/awards/<int:award_id>/approve")
@roles_required(*FINANCE)
def approve(award_id: int):
    award = award_service.approve(current_user, award_id)
    db.session.commit()
    flash(f"奖补 #{award_id} 已审批" if award.state == "approved" else f"奖补 #{award_id} 超过限额，待第二审批人复核",
          "success")
    return redirect(url_for("finance.queue"))


@bp.post("/awards/<int:award_id>/reject")
@roles_required(*FINANCE)
def reject(award_id: int):
    award_service.reject(current_user, award_id, request.form.get("reason", ""))
    db.session.commit()
    flash(f"奖补 #{award_id} 已驳回", "info")
    return redirect(url_for("finance.queue"))


LIFECYCLE = {  # form action -> (service, message)
    "withdraw": (lifecycle.withdraw, "已撤回，预留资金已释放"),
    "abandon": (lifecycle.abandon_payment, "已终止支付，预留资金已释放"),
    "clawback": (lifecycle.open_clawback, "已发起追回"),
}


@bp.post("/awards/<int:award_id>/<any(withdraw, abandon, clawback):action>")
@roles_required(*FINANCE)
def lifecycle_action(award_id: int, action: str):
    service, message = LIFECYCLE[action]
    service(current_user, award_id, request.form.get("reason", ""))
    db.session.commit()
    flash(f"奖补 #{award_id} {message}", "success")
    return redirect(url_for("finance.queue"))


@bp.post("/awards/<int:award_id>/objection")
@roles_required(*FINANCE)
def resolve_objection(award_id: int):
    uphold = request.form.get("ruling") == "uphold"
    lifecycle.resolve_objections(current_user, award_id, uphold=uphold, reason=request.form.get("reason", ""))
    db.session.commit()
    flash(f"奖补 #{award_id} 异议已处理（{'成立，已撤回' if uphold else '不成立'}）", "success")
    return redirect(url_for("finance.queue"))


@bp.post("/awards/<int:award_id>/fix-account")
@roles_required(*FINANCE)
def fix_account(award_id: int):
    payee.fix_account(current_user, award_id,
                      **{k: request.form.get(k, "") for k in ("account_name", "bank", "account_no")})
    db.session.commit()
    flash(f"奖补 #{award_id} 收款账户已更正，将进入下一支付批次", "success")
    return redirect(url_for("finance.queue"))


@bp.post("/awards/<int:award_id>/recovery")
@roles_required(*FINANCE)
def recovery(award_id: int):
    try:
        amount = parse_yuan_text(request.form.get("amount_yuan", ""))
    except ValueError as exc:
        raise InputRejected(f"追回{exc}") from None
    lifecycle.record_recovery(current_user, award_id, amount, request.form.get("reason", ""),
                              final=request.form.get("final") == "on")
    db.session.commit()
    flash(f"奖补 #{award_id} 已登记追回", "success")
    return redirect(url_for("finance.queue"))


@bp.post("/batches")
@roles_required(*FINANCE)
def build_batch():
    batch = payout_service.build_batch(current_user)
    db.session.commit()
    if batch is None:
        flash("没有可排入支付批次的奖补（需已审批且已确认收款账户）", "info")
        return redirect(url_for("finance.queue"))
    flash(f"已生成支付批次 {batch.batch_no}：{batch.line_count} 笔", "success")
    return redirect(url_for("finance.batch", batch_id=batch.id))


@bp.get("/batches/<int:batch_id>")
@roles_required(*FINANCE)
def batch(batch_id: int):
    return render_template("finance/batch.html", batch=payout_service.get_batch(current_user, batch_id))


@bp.get("/batches/<int:batch_id>/download")
@roles_required(*FINANCE)
def download(batch_id: int):
    filename, data = payout_service.export_batch(current_user, batch_id)
    db.session.commit()  # the export is audited
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=filename)


@bp.post("/returns")
@roles_required(*FINANCE)
def bank_return():
    _token, path, filename = save_upload("bank_return")
    summary = payout_service.reconcile(current_user, path, filename=filename)
    db.session.commit()
    return render_template("finance/reconcile.html", summary=summary, filename=filename)


@bp.get("/enterprises/<credit_code>")
@roles_required(*FINANCE)
def enterprise(credit_code: str):
    profile = page_profile(current_user, credit_code)
    db.session.commit()  # the read is recorded (ProfileAccess)
    return render_template("finance/enterprise.html", profile=profile)
