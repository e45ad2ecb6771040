"""The award state machine, exactly as the table in DESIGN.md "Awards and disbursement".

``TRANSITIONS[state][action]`` is the target state. Two actions have a context-dependent target or guard:
``approve`` (needs ``amount_fen`` and ``second_threshold_fen``) and the notice exits ``notify``/``grant``
(税收减免 items are granted, all others notified). ``dismiss_objection`` on a 税收减免 award
(``tax_relief=True``) goes to ``granted``, the notice exit such an award takes, since it is never notified.
Reasons are required for ``ACTIONS_REQUIRING_REASON``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from disbursement.approval import (
    AWAITING_SECOND_APPROVAL,
    check_reason,
    check_recovery,
    needs_second_approval,
)
from disbursement.errors import InvalidTransition
from disbursement.labels import ACTION_LABELS, STATE_LABELS  # noqa: F401  (re-exported)

TRANSITIONS: Mapping[str, Mapping[str, str]] = {
    "proposed": {"object": "objected", "notify": "notified", "grant": "granted", "withdraw": "withdrawn"},
    # withdraw from objected/reviewed/awaiting_second_approval: DESIGN's re-matching rule withdraws any
    # not-yet-approved award whose pair is no longer eligible.
    "objected": {"dismiss_objection": "notified", "uphold_objection": "withdrawn", "withdraw": "withdrawn"},
    "notified": {"confirm": "confirmed", "decline": "declined", "lapse": "lapsed", "withdraw": "withdrawn"},
    "confirmed": {"review": "reviewed", "reject": "rejected", "withdraw": "withdrawn"},
    # approve's target may be awaiting_second_approval instead: see next_state.
    "reviewed": {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"},
    "awaiting_second_approval": {"second_approve": "approved", "reject": "rejected", "withdraw": "withdrawn"},
    "approved": {"schedule": "scheduled", "withdraw": "withdrawn"},
    "scheduled": {"pay": "paid", "fail_payment": "payment_failed"},
    "payment_failed": {"reschedule": "scheduled", "abandon": "payment_abandoned"},
    "paid": {"open_clawback": "clawback_pending"},
    "clawback_pending": {"recover": "recovered"},
    "granted": {},
    "declined": {},
    "lapsed": {},
    "rejected": {},
    "withdrawn": {},
    "payment_abandoned": {},
    "recovered": {},
}

STATES: tuple[str, ...] = tuple(TRANSITIONS)
ACTIONS: frozenset[str] = frozenset(a for exits in TRANSITIONS.values() for a in exits)

# DESIGN lists paid as final: the payment lifecycle is over; only a clawback may still open from it.
FINAL_STATES: frozenset[str] = frozenset(
    {"declined", "lapsed", "rejected", "withdrawn", "payment_abandoned", "recovered", "granted", "paid"}
)
TERMINAL_STATES: frozenset[str] = frozenset(s for s, exits in TRANSITIONS.items() if not exits)
DEAD_STATES: frozenset[str] = frozenset({"declined", "lapsed", "rejected", "withdrawn", "payment_abandoned"})
LIVE_STATES: frozenset[str] = frozenset(STATES) - DEAD_STATES
RESERVING_STATES: frozenset[str] = frozenset({"approved", "scheduled", "payment_failed"})
ACTIONS_REQUIRING_REASON: frozenset[str] = frozenset(
    {"reject", "withdraw", "dismiss_objection", "uphold_objection", "open_clawback", "abandon"})

# Entry states by 兑现方式: an instant-apply application that passes its instant re-check starts at confirmed.
INITIAL_STATES: Mapping[str, str] = {"apply_free": "proposed", "instant_apply": "confirmed"}

def allowed_actions(state: str) -> frozenset[str]:
    """Names of the actions the table allows from ``state`` (guards not evaluated). Raises KeyError."""
    return frozenset(TRANSITIONS[state])


def _require(ctx: Mapping[str, Any], state: str, action: str, *names: str) -> None:
    missing = [n for n in names if n not in ctx]
    if missing:
        raise TypeError(f"next_state({state!r}, {action!r}) needs context {', '.join(missing)}")


def _guard(state: str, action: str, ctx: Mapping[str, Any]) -> str | None:
    """Check the action's guard; return an overriding target state, or None for the table's target."""
    if action in ACTIONS_REQUIRING_REASON:
        _require(ctx, state, action, "reason")
        check_reason(action, ctx["reason"])
    if state == "proposed" and action in ("notify", "grant"):
        _require(ctx, state, action, "tax_relief", "notice_ended")
        if not ctx["notice_ended"]:
            raise InvalidTransition(state, action, "公示期尚未结束")
        if action == "grant" and not ctx["tax_relief"]:
            raise InvalidTransition(state, action, "只有税收减免事项可移交税务")
        if action == "notify" and ctx["tax_relief"]:
            raise InvalidTransition(state, action, "税收减免事项不推送确认，应移交税务")
    if action == "object" and ctx.get("notice_ended"):
        raise InvalidTransition(state, action, "公示期已结束，不能再提出异议")
    if action == "approve":
        _require(ctx, state, action, "amount_fen", "second_threshold_fen")
        if needs_second_approval(ctx["amount_fen"], ctx["second_threshold_fen"]):
            return AWAITING_SECOND_APPROVAL
    if action == "recover":
        _require(ctx, state, action, "recovered_fen", "paid_fen")
        check_recovery(ctx["recovered_fen"], ctx["paid_fen"])
    if action == "dismiss_objection" and ctx.get("tax_relief"):
        return "granted"
    return None


# Targets a guard may choose instead of the table's (see _guard).
_OVERRIDES: Mapping[tuple[str, str], frozenset[str]] = {
    ("reviewed", "approve"): frozenset({AWAITING_SECOND_APPROVAL}),
    ("objected", "dismiss_objection"): frozenset({"granted"}),
}


def possible_targets(state: str, action: str) -> frozenset[str]:
    """Every state ``action`` can lead to from ``state`` (table target plus guard overrides); empty if illegal.

    Used to check recorded (before, after) pairs, e.g. audit rows, against the machine.
    """
    target = TRANSITIONS.get(state, {}).get(action)
    if target is None:
        return frozenset()
    return frozenset({target}) | _OVERRIDES.get((state, action), frozenset())


def next_state(state: str, action: str, **ctx: Any) -> str:
    """The state an award moves to when ``action`` is taken in ``state``.

    Context keywords (required where the action needs them; a missing one is a programming error):
        reason (str): for reject, withdraw, dismiss_objection, uphold_objection, open_clawback, abandon;
            must be non-empty.
        tax_relief (bool), notice_ended (bool): for notify and grant out of proposed.
        notice_ended (bool, optional): object is refused once the notice has ended.
        amount_fen (int), second_threshold_fen (int | None): for approve; above the threshold the award
            goes to awaiting_second_approval.
        recovered_fen (int), paid_fen (int): for recover; 0 < recovered <= paid.
        tax_relief (bool, optional): for dismiss_objection; a 税收减免 award is granted instead of notified.

    Raises:
        InvalidTransition: unknown state or action, an action the table does not allow, or a failed guard.
        MissingReason: a reason-requiring action without a reason.
        DisbursementError: recover with recovered_fen outside (0, paid_fen].
        TypeError: required context missing.
    """
    exits = TRANSITIONS.get(state)
    if exits is None:
        raise InvalidTransition(state, action, "未知状态")
    if action not in exits:
        raise InvalidTransition(state, action)
    return _guard(state, action, ctx) or exits[action]
