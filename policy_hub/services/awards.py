"""Awards: creation from matching, the state machine with audit, maker-checker approval and budget reservation."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from disbursement.accounts import mask_account, names_match, normalise_account_no
from disbursement.approval import check_second_approver
from disbursement.errors import DisbursementError
from disbursement.states import DEAD_STATES, INITIAL_STATES, next_state
from policy_hub.extensions import db
from policy_hub.models import Award, Enterprise, Item, MatchResult
from policy_hub.models.types import utcnow
from policy_hub.services import Conflict, InputRejected, NotFound
from policy_hub.services import audit as audit_service
from policy_hub.services.budget import (  # noqa: F401  (re-exported: payouts posts and releases here)
    check_budget,
    post_payment,
    release_budget,
    reserve_budget,
)
from policy_hub.services.crypto import encrypt_account
from policy_hub.services.users import require_enterprise, require_region, require_role
from rules.money import format_yuan, yuan_to_fen
from rules.regions import within

logger = logging.getLogger(__name__)

TAX_RELIEF = "税收减免"
UNAPPROVED = ("proposed", "objected", "notified", "confirmed", "reviewed", "awaiting_second_approval")


def _period_key(item: Item, fiscal_year: int) -> int:
    return 0 if item.period == "once" else fiscal_year


def transition(award: Award, action: str, actor_id: int | None, **ctx) -> str:
    """Move ``award`` by ``action`` (disbursement.states) and write the audit row in the same transaction.

    The state changes by compare-and-set (``UPDATE … WHERE state = :before``), so two people acting on the same
    award at once cannot both succeed: the second gets Conflict, never a double reservation or payment.
    """
    before = award.state
    try:
        after = next_state(before, action, **ctx)
    except DisbursementError as exc:
        raise Conflict(str(exc)) from exc
    db.session.flush()
    res = db.session.execute(
        update(Award).where(Award.id == award.id, Award.state == before)
        .values(state=after, updated_at=utcnow()).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise Conflict("该奖补已被他人处理（状态已变化），请刷新后重试")
    set_committed_value(award, "state", after)
    if ctx.get("reason"):
        award.reason = ctx["reason"]
    db.session.flush()
    audit_service.record(actor_id, f"award.{action}", "award", award.id,
                         {"state": before, "amount_fen": award.amount_fen},
                         {"state": after, "amount_fen": award.amount_fen})
    return after


def _advance_notice(award: Award, item: Item, today: date, actor_id: int | None) -> None:
    """Out of 公示: 税收减免 items are granted, the others notified, once the notice period has ended."""
    if award.state == "proposed" and (award.notice_until is None or today > award.notice_until):
        tax = item.category == TAX_RELIEF
        transition(award, "grant" if tax else "notify", actor_id, tax_relief=tax, notice_ended=True)


def sync_apply_free_awards(fiscal_year: int, items: list[Item], verdicts, as_of: date,
                           actor_id: int | None, *, credit_codes: set[str] | None = None) -> tuple[int, int, int]:
    """Create awards for eligible apply-free pairs that have no live award; withdraw or flag the rest.

    ``credit_codes`` limits the sync to those enterprises (a re-match of one enterprise); None means every
    enterprise the items reach. Returns (created, withdrawn, flagged). Superseded and unknown pairs are never
    awarded.
    """
    apply_free = {i.id: i for i in items if i.mode == "apply_free"}
    eligible = {(v.item_id, v.credit_code): v for v in verdicts
                if v.verdict == "eligible" and v.item_id in apply_free}
    live = {}
    query = select(Award).where(Award.item_id.in_(list(apply_free)), Award.kind == "apply_free",
                                Award.state.not_in(DEAD_STATES))
    if credit_codes is not None:
        query = query.where(Award.credit_code.in_(sorted(credit_codes)))
    for a in db.session.scalars(query):
        if a.fiscal_year == fiscal_year or a.period_key == 0:
            live[(a.item_id, a.credit_code)] = a
    created = withdrawn = flagged = 0
    for (item_id, credit_code), v in sorted(eligible.items()):
        if (item_id, credit_code) in live:
            continue
        if v.amount is None:  # an apply-free item always has a formula (checked at import); never pay "unknown"
            logger.warning("item %s: eligible pair without an amount, no award created", item_id)
            continue
        item = apply_free[item_id]
        award = Award(item_id=item_id, item_revision=item.revision, credit_code=credit_code,
                      fiscal_year=fiscal_year, period_key=_period_key(item, fiscal_year), kind="apply_free",
                      state="proposed", amount_fen=yuan_to_fen(v.amount),
                      as_of=as_of, explanation=v.explanation, inputs=v.inputs,
                      notice_until=as_of + timedelta(days=item.notice_days) if item.notice_days else None)
        db.session.add(award)
        db.session.flush()
        audit_service.record(actor_id, "award.propose", "award", award.id, None,
                             {"state": "proposed", "amount_fen": award.amount_fen, "item_id": item_id})
        _advance_notice(award, item, as_of, actor_id)
        created += 1
    for key, award in live.items():
        if award.state == "proposed" and key in eligible:
            _advance_notice(award, apply_free[key[0]], as_of, actor_id)  # its 公示 may have ended since
        if key in eligible or award.fiscal_year != fiscal_year:
            continue
        if award.state in UNAPPROVED:
            transition(award, "withdraw", actor_id, reason=f"{as_of.isoformat()} 重新匹配后不再符合条件")
            withdrawn += 1
        elif award.state in ("approved", "scheduled", "payment_failed", "paid") and not award.flagged:
            award.flagged = f"{as_of.isoformat()} 重新匹配后不再符合条件，请财政核查"
            flagged += 1
    from policy_hub.services.lifecycle import lapse_overdue, post_check_declared  # they import this module

    lapse_overdue(as_of, actor_id)  # notified awards whose item's deadline has passed
    post_check_declared(as_of, actor_id)  # 告知承诺 values that department data now contradicts
    db.session.flush()
    return created, withdrawn, flagged


# -- lookups with scope -----------------------------------------------------------------------------------

def get_award(user, award_id: int) -> Award:
    """One award: the enterprise's own, or one of an item in a finance user's region. 404 / 403 otherwise."""
    award = db.session.get(Award, award_id)
    if award is None:
        raise NotFound(f"奖补 {award_id} 不存在")
    if user.role == "enterprise":
        require_enterprise(user, award.credit_code)
    else:
        require_region(user, award.item.region_code)
    return award


def finance_queue(user, states: tuple[str, ...] | None = None) -> list[Award]:
    """Awards of items in the finance user's region, optionally in the given states, oldest first."""
    require_role(user, "finance_reviewer", "finance_approver", "province_admin")
    query = select(Award).join(Item).order_by(Award.id)
    if states:
        query = query.where(Award.state.in_(states))
    return [a for a in db.session.scalars(query) if within(a.item.region_code, user.region_code)]


# -- enterprise actions -------------------------------------------------------------------------------------

def confirm_payee(user, award_id: int, *, account_name: str, bank: str, account_no: str) -> Award:
    """The enterprise confirms its payee account (encrypted at rest); a holder-name mismatch is flagged."""
    award = get_award(user, award_id)
    require_enterprise(user, award.credit_code)
    _set_payee(award, account_name, bank, account_no)
    transition(award, "confirm", user.id)
    return award


def _set_payee(award: Award, account_name: str, bank: str, account_no: str) -> None:
    """Validate and store the payee (account encrypted at rest); a holder-name mismatch is flagged."""
    try:
        account_no = normalise_account_no(account_no)  # NFKC: full-width digits become ASCII
    except DisbursementError as exc:
        raise InputRejected(str(exc)) from exc
    if not (account_name or "").strip() or not (bank or "").strip():
        raise InputRejected("请填写账户名称和开户银行")
    ent = db.session.get(Enterprise, award.credit_code)
    award.payee_name, award.payee_bank = account_name.strip(), bank.strip()
    award.payee_key_id, award.payee_account_enc = encrypt_account(account_no)
    award.payee_account_last4 = account_no[-4:]
    award.payee_name_mismatch = not names_match(account_name, ent.name if ent else None)
    logger.info("award %s payee set (%s)", award.id, mask_account(account_no))


def apply_instant(user, item_id: int, account_name: str, bank: str, account_no: str, *,
                  declared: dict[str, str] | None = None, accept_terms: bool = False) -> Award:
    """即申即享: the enterprise applies for an instant-apply item; eligibility is re-checked at once.

    ``declared`` ({field code: text}) covers unknown fields by a written commitment (告知承诺), only where the
    item allows it (``Item.commitment_allowed``) and the enterprise accepts the terms (``accept_terms``). The
    engine re-evaluates the pair now on the current profile overlaid with the declared values; the award
    records which values were self-declared (``Award.declared``, ``commitment_accepted_at``).
    Creates an Award (kind ``instant_apply``) in state ``confirmed`` with the verdict's amount, explanation and
    inputs, and the payee account. Idempotent: a live award for the same (item, enterprise, period) is returned
    as it is (the partial unique index ``uq_awards_live_pair`` guards concurrent applications).
    Raises NotFound (no such listed item), Conflict (not an instant-apply item, or the re-check is not
    eligible), InputRejected (bad account fields, a commitment not allowed or terms not accepted, bad values).
    """
    from policy_hub.services import commitment

    require_role(user, "enterprise")
    item = db.session.get(Item, item_id)
    if item is None or item.status != "listed":
        raise NotFound(f"事项 {item_id} 不存在或已下架")
    if item.mode != "instant_apply":
        raise Conflict(f"事项“{item.name}”不是即申即享事项，不能在线一键申请")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    if (item.apply_start and today < item.apply_start) or (item.apply_end and today > item.apply_end):
        raise Conflict(f"“{item.name}”当前不在申报期内（{item.apply_start} 至 {item.apply_end}）")
    period_key = _period_key(item, item.fiscal_year)
    existing = _live_award(item.id, user.credit_code, period_key)
    if existing is not None:
        return existing
    values: dict = {}
    if declared and any(str(v or "").strip() for v in declared.values()):
        if not item.commitment_allowed:
            raise InputRejected(f"事项“{item.name}”不允许以告知承诺代替缺少的信息")
        if not accept_terms:
            raise InputRejected("以告知承诺申请须勾选同意承诺条款")
        missing = commitment.evaluate_with(user.credit_code, item, today, {})
        values = commitment.parse_declared(declared, commitment.declarable(missing.missing_fields if missing
                                                                             else ()))
    # The instant re-check: the engine decides again now, on the current profile and the declared values.
    verdict = commitment.evaluate_with(user.credit_code, item, today, values)
    if verdict is None or verdict.verdict != "eligible" or verdict.amount is None:
        hint = ""
        if verdict is not None and verdict.verdict == "unknown":
            hint = "（缺少信息：" + "、".join(verdict.missing_fields) + "）"
        raise Conflict(f"即时复核未通过：贵企业当前不符合“{item.name}”的条件{hint}")
    if values and item.budget_fen is not None and yuan_to_fen(verdict.amount) > item.budget_fen:
        # A self-declared value that yields more than the whole budget is implausible: refuse it now, not at approval.
        raise InputRejected(f"按承诺值计算的金额 {format_yuan(yuan_to_fen(verdict.amount))} 元超过事项“{item.name}”的"
                            f"资金规模 {format_yuan(item.budget_fen)} 元，请核对填写的数值和单位")
    award = Award(item_id=item.id, item_revision=item.revision, credit_code=user.credit_code,
                  fiscal_year=item.fiscal_year, period_key=period_key, kind="instant_apply",
                  state=INITIAL_STATES["instant_apply"], amount_fen=yuan_to_fen(verdict.amount), as_of=today,
                  explanation=verdict.explanation, inputs=verdict.inputs,
                  declared=commitment.to_json(values) or None,
                  commitment_accepted_at=utcnow() if values else None)
    _set_payee(award, account_name, bank, account_no)
    try:
        with db.session.begin_nested():
            db.session.add(award)
            db.session.flush()
    except IntegrityError:  # a concurrent application won the race: return that one
        existing = _live_award(item.id, user.credit_code, period_key)
        if existing is None:
            raise
        return existing
    audit_service.record(user.id, "award.apply", "award", award.id, None,
                         {"state": award.state, "amount_fen": award.amount_fen, "item_id": item.id,
                          "declared_fields": sorted(values)})
    return award


def _live_award(item_id: int, credit_code: str, period_key: int) -> Award | None:
    return db.session.scalar(select(Award).where(
        Award.item_id == item_id, Award.credit_code == credit_code, Award.period_key == period_key,
        Award.state.not_in(DEAD_STATES)))


def decline(user, award_id: int) -> Award:
    award = get_award(user, award_id)
    require_enterprise(user, award.credit_code)
    transition(award, "decline", user.id)
    return award


# -- finance actions ----------------------------------------------------------------------------------------

def review(user, award_id: int) -> Award:
    """First finance check (初审) by a finance reviewer."""
    require_role(user, "finance_reviewer")
    award = get_award(user, award_id)
    award.reviewer_id = user.id
    transition(award, "review", user.id)
    return award


def _recheck_eligible(award: Award) -> None:
    """Eligibility is re-checked at approval: the stored verdict must still be eligible for this pair.

    An award with self-declared values (告知承诺) is re-evaluated now on the current profile overlaid with them.
    """
    if award.item.status != "listed":
        raise Conflict("审批时复核资格未通过：事项已下架")
    if award.declared:
        from policy_hub.services import commitment

        verdict = commitment.evaluate_with(award.credit_code, award.item, award.as_of,
                                           commitment.from_json(award.declared))
        ok = verdict is not None and verdict.verdict == "eligible"
    else:
        result = db.session.scalar(select(MatchResult).where(
            MatchResult.item_id == award.item_id, MatchResult.credit_code == award.credit_code,
            MatchResult.fiscal_year == award.fiscal_year))
        ok = result is not None and result.verdict == "eligible"
    if not ok:
        raise Conflict("审批时复核资格未通过：该企业当前不符合条件")


def approve(user, award_id: int) -> Award:
    """Approval by a finance approver who is not the reviewer; above the threshold a second (third) person."""
    require_role(user, "finance_approver")
    award = get_award(user, award_id)
    _recheck_eligible(award)
    from flask import current_app

    threshold = yuan_to_fen(current_app.config["SECOND_APPROVAL_YUAN"])
    try:
        if award.state == "awaiting_second_approval":
            check_second_approver(award.reviewer_id, award.approver_id, user.id)
            award.second_approver_id = user.id
            action = "second_approve"
        else:
            if user.id == award.reviewer_id:
                raise Conflict("审批人不能与初审人为同一人")
            award.approver_id = user.id
            action = "approve"
    except DisbursementError as exc:
        raise Conflict(str(exc)) from exc
    if transition(award, action, user.id, amount_fen=award.amount_fen, second_threshold_fen=threshold) == "approved":
        reserve_budget(award)
    else:
        check_budget(award)  # budget re-checked at the first approval too; reserved at the final one
    return award


def reject(user, award_id: int, reason: str) -> Award:
    """驳回 with a required reason (InputRejected when blank)."""
    require_role(user, "finance_reviewer", "finance_approver")
    if not (reason or "").strip():
        raise InputRejected("驳回必须填写原因")
    award = get_award(user, award_id)
    transition(award, "reject", user.id, reason=reason.strip())
    return award


def state_counts(user) -> dict[str, int]:
    """``{state: number of awards}`` for awards of items in the user's region (province: all)."""
    require_role(user, "province_admin", "finance_reviewer", "finance_approver")
    rows = db.session.execute(select(Item.region_code, Award.state, func.count(Award.id))
                              .join(Item, Award.item_id == Item.id).group_by(Item.region_code, Award.state))
    counts: dict[str, int] = {}
    for region_code, state, n in rows:
        if within(region_code, user.region_code):
            counts[state] = counts.get(state, 0) + n
    return counts


def enterprise_names(credit_codes) -> dict[str, str]:
    """``{credit_code: registered name}`` for the given codes (unknown names are left out)."""
    codes = list(credit_codes)
    if not codes:
        return {}
    rows = db.session.execute(select(Enterprise.credit_code, Enterprise.name)
                              .where(Enterprise.credit_code.in_(codes)))
    return {code: name for code, name in rows if name}
