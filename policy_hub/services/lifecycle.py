"""The award life cycle beyond review and approval: 公示 objections, lapsing, finance withdrawal, abandoned
payments, the 告知承诺 post-check, clawback recovery entries and re-budget entries.

Every state change goes through ``awards.transition`` (compare-and-set plus an audit row); money moves through
conditional UPDATEs (services.budget) and the CHECK constraints of migration 0004. Amounts in 分.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import func, select, update

from disbursement.approval import check_reason
from disbursement.errors import DisbursementError
from disbursement.recovery import check_rebudget, contradictions, recovered_after
from policy_hub.extensions import db
from policy_hub.models import Award, AwardObjection, AwardRecovery, BudgetEntry, Item, ItemAllocation
from policy_hub.models.types import utcnow
from policy_hub.services import Conflict, InputRejected, NotFound
from policy_hub.services import audit as audit_service
from policy_hub.services.awards import TAX_RELIEF, UNAPPROVED, get_award, transition
from policy_hub.services.budget import release_budget
from policy_hub.services.users import require_region, require_role

logger = logging.getLogger(__name__)
FINANCE = ("finance_reviewer", "finance_approver")
NOTICE_STAFF = ("city_admin", "province_admin", *FINANCE)


def _reason(action: str, reason: str | None) -> str:
    try:
        return check_reason(action, reason)
    except DisbursementError as exc:
        raise InputRejected(str(exc)) from exc


def _award(award_id: int) -> Award:
    award = db.session.get(Award, award_id)
    if award is None:
        raise NotFound(f"奖补 {award_id} 不存在")
    return award


# -- 公示 objections --------------------------------------------------------------------------------------

def file_objection(user, award_id: int, text: str, today: date) -> AwardObjection:
    """Anyone logged in may object to an award under public notice (公示), up to its last day ``notice_until``.

    The first objection moves the award to ``objected``; later ones are recorded on it. Raises InputRejected
    (empty text), Conflict (not under notice, or the notice has ended).
    """
    text = _reason("object", text)
    award = _award(award_id)
    if award.state not in ("proposed", "objected") or award.notice_until is None:
        raise Conflict(f"奖补 {award_id} 不在公示期内，不能提出异议")
    if today > award.notice_until:
        raise Conflict(f"公示期已于 {award.notice_until.isoformat()} 结束，不能再提出异议")
    objection = AwardObjection(award_id=award.id, filed_by=user.id, text=text, filed_at=utcnow())
    db.session.add(objection)
    db.session.flush()
    if award.state == "proposed":
        transition(award, "object", user.id, notice_ended=False)
    audit_service.record(user.id, "objection.file", "award", award.id, None, {"objection_id": objection.id})
    return objection


def resolve_objections(user, award_id: int, *, uphold: bool, reason: str) -> Award:
    """Resolve every open objection of an ``objected`` award, with a reason. Dismissed: the award is notified
    (税收减免: granted); upheld: it is withdrawn. Raises InputRejected (no reason), Conflict, Forbidden."""
    require_role(user, *NOTICE_STAFF)
    action = "uphold_objection" if uphold else "dismiss_objection"
    reason = _reason(action, reason)
    award = _award(award_id)
    require_region(user, award.item.region_code)
    transition(award, action, user.id, reason=reason, tax_relief=award.item.category == TAX_RELIEF)
    now = utcnow()
    for o in db.session.scalars(select(AwardObjection).where(AwardObjection.award_id == award.id,
                                                            AwardObjection.resolution.is_(None))):
        o.resolution, o.resolution_reason = ("upheld" if uphold else "dismissed"), reason
        o.resolved_by, o.resolved_at = user.id, now
    db.session.flush()
    return award


# -- deadlines ---------------------------------------------------------------------------------------------

def lapse_overdue(as_of: date, actor_id: int | None = None) -> int:
    """Notified awards whose item's deadline (``apply_end``) passed before ``as_of`` without an answer become
    ``lapsed``. Idempotent; returns how many lapsed now."""
    overdue = db.session.scalars(select(Award).join(Item, Award.item_id == Item.id).where(
        Award.state == "notified", Item.apply_end.is_not(None), Item.apply_end < as_of).order_by(Award.id)).all()
    for award in overdue:
        transition(award, "lapse", actor_id)
    if overdue:
        logger.info("%s awards lapsed as of %s", len(overdue), as_of)
    return len(overdue)


# -- finance: withdraw, abandon --------------------------------------------------------------------------

def withdraw(user, award_id: int, reason: str) -> Award:
    """Finance withdraws an award not yet scheduled (with a reason); an approved one releases its reservation."""
    require_role(user, *FINANCE)
    reason = _reason("withdraw", reason)
    award = get_award(user, award_id)
    before = award.state
    transition(award, "withdraw", user.id, reason=reason)
    if before == "approved":
        release_budget(award)
    return award


def abandon_payment(user, award_id: int, reason: str) -> Award:
    """A failed payment that will not be retried (终止支付): final, and its reservation is released."""
    require_role(user, *FINANCE)
    reason = _reason("abandon", reason)
    award = get_award(user, award_id)
    transition(award, "abandon", user.id, reason=reason)
    release_budget(award)
    return award


# -- 告知承诺 post-check and clawback ---------------------------------------------------------------------

def post_check(award_id: int, actual: dict, actor_id: int | None, *, source: str = "核查") -> dict:
    """Compare an award's self-declared values with values known later (``actual``: {field code: value}).

    A contradicted declaration opens a clawback on a paid award, withdraws one not yet scheduled (releasing an
    approved one's reservation), and flags a scheduled or failed one for finance. Returns
    ``{award_id, contradicted: {code: [declared, actual]}, action: none|clawback|withdrawn|flagged}``.
    """
    award = _award(award_id)
    found = contradictions(award.declared or {}, actual)
    out = {"award_id": award.id, "contradicted": {k: [str(a), str(b)] for k, (a, b) in found.items()},
           "action": "none"}
    if not found:
        return out
    reason = f"告知承诺{source}不实：" + "；".join(f"{k} 承诺 {a}，核实为 {b}" for k, (a, b) in found.items())
    if award.state == "paid":
        transition(award, "open_clawback", actor_id, reason=reason)
        out["action"] = "clawback"
    elif award.state in (*UNAPPROVED, "approved"):
        before = award.state
        transition(award, "withdraw", actor_id, reason=reason)
        if before == "approved":
            release_budget(award)
        out["action"] = "withdrawn"
    else:
        award.flagged = reason
        out["action"] = "flagged"
    audit_service.record(actor_id, "award.post_check", "award", award.id, None,
                         {"contradicted": sorted(found), "action": out["action"]})
    return out


POST_CHECKED = ("confirmed", "reviewed", "awaiting_second_approval", "approved", "scheduled", "payment_failed", "paid")


def post_check_declared(as_of: date, actor_id: int | None = None) -> list[dict]:
    """The 告知承诺 post-check against department data: every award with self-declared values (in a state where
    it can still be withdrawn, flagged or clawed back) is compared with its enterprise's current profile for the
    award's fiscal year. Run by each match (the award sync) and by ``policy-hub awards post-check``; idempotent
    (an award already flagged for its commitment is not checked again). Returns the non-"none" outcomes of
    ``post_check``.
    """
    from policy_hub.services.feeds import load_observations
    from policy_hub.services.matching import profiles_for_year
    from rules.evaluator import is_na

    outcomes = []
    for award in db.session.scalars(select(Award).where(Award.kind == "instant_apply",
                                                        Award.state.in_(POST_CHECKED)).order_by(Award.id)).all():
        if not award.declared or (award.flagged or "").startswith("告知承诺"):
            continue
        build = profiles_for_year(award.fiscal_year, as_of, load_observations(award.credit_code))
        profile = build.profiles.get(award.credit_code) or {}
        actual = {c: profile.get(c) for c in award.declared if not is_na(profile.get(c))}
        out = post_check(award.id, actual, actor_id, source="部门数据核查")
        if out["action"] != "none":
            outcomes.append(out)
    return outcomes


def open_clawback(user, award_id: int, reason: str) -> Award:
    """Finance opens a clawback on a paid award (paid in error, or a failed post-check), with a reason."""
    require_role(user, *FINANCE)
    reason = _reason("open_clawback", reason)
    award = get_award(user, award_id)
    transition(award, "open_clawback", user.id, reason=reason)
    return award


def record_recovery(user, award_id: int, amount_fen: int, reason: str, *, final: bool = False) -> AwardRecovery:
    """Record money recovered on a clawback as a new entry; recovered <= paid is kept by a conditional UPDATE
    and the awards CHECK. When everything paid is back, or ``final``, the award becomes ``recovered``.
    Recovered money is NOT available again until a re-budget entry (``rebudget``)."""
    require_role(user, *FINANCE)
    reason = _reason("recover", reason)
    award = get_award(user, award_id)
    if award.state != "clawback_pending":
        raise Conflict(f"奖补 {award_id} 不在追回中，不能登记追回")
    try:
        recovered_after(award.paid_fen, award.recovered_fen, amount_fen)
    except DisbursementError as exc:
        raise InputRejected(str(exc)) from exc
    res = db.session.execute(update(Award).where(
        Award.id == award.id, Award.state == "clawback_pending",
        Award.recovered_fen + amount_fen <= Award.paid_fen).values(recovered_fen=Award.recovered_fen + amount_fen)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise Conflict("追回金额将超过已支付金额，或该奖补已被他人处理，请刷新后重试")
    entry = AwardRecovery(award_id=award.id, amount_fen=amount_fen, reason=reason, recorded_by=user.id)
    db.session.add(entry)
    db.session.flush()
    db.session.refresh(award)
    audit_service.record(user.id, "award.recovery", "award", award.id, {"recovered_fen": award.recovered_fen
                                                                        - amount_fen},
                         {"recovered_fen": award.recovered_fen, "entry_id": entry.id, "amount_fen": amount_fen})
    if final or award.recovered_fen == award.paid_fen:
        transition(award, "recover", user.id, recovered_fen=award.recovered_fen, paid_fen=award.paid_fen)
    return entry


def rebudget(user, item_id: int, amount_fen: int, reason: str, *, city_code: str | None = None) -> BudgetEntry:
    """Put recovered money back into an item's budget (and a city's allocation) as an audited ledger entry.

    The item row is locked first, so concurrent entries never re-budget more than was recovered on the item.
    Raises InputRejected (no reason, or more than the recovered money not yet re-budgeted), NotFound.
    """
    require_role(user, *FINANCE)
    reason = _reason("rebudget", reason)
    item = db.session.scalar(select(Item).where(Item.id == item_id).with_for_update()
                             .execution_options(populate_existing=True))
    if item is None:
        raise NotFound(f"事项 {item_id} 不存在")
    require_region(user, item.region_code)
    recovered = db.session.scalar(select(func.coalesce(func.sum(Award.recovered_fen), 0))
                                  .where(Award.item_id == item.id))
    rebudgeted = db.session.scalar(select(func.coalesce(func.sum(BudgetEntry.amount_fen), 0))
                                   .where(BudgetEntry.item_id == item.id))
    try:
        check_rebudget(amount_fen, int(recovered), int(rebudgeted))
    except DisbursementError as exc:
        raise InputRejected(str(exc)) from exc
    before = item.budget_fen
    item.budget_fen = (item.budget_fen or 0) + amount_fen
    if city_code is not None:
        res = db.session.execute(update(ItemAllocation).where(
            ItemAllocation.item_id == item.id, ItemAllocation.city_code == city_code,
            ItemAllocation.amount_fen.is_not(None)).values(amount_fen=ItemAllocation.amount_fen + amount_fen))
        if res.rowcount != 1:
            raise InputRejected(f"事项 {item.code} 没有 {city_code} 的分市额度")
    entry = BudgetEntry(item_id=item.id, city_code=city_code, kind="rebudget", amount_fen=amount_fen,
                        reason=reason, created_by=user.id)
    db.session.add(entry)
    db.session.flush()
    audit_service.record(user.id, "budget.rebudget", "item", item.id, {"budget_fen": before},
                         {"budget_fen": item.budget_fen, "entry_id": entry.id, "amount_fen": amount_fen})
    return entry
