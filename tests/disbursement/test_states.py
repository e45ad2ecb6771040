"""The award state machine against DESIGN.md's table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from disbursement import (
    ACTIONS,
    FINAL_STATES,
    LIVE_STATES,
    RESERVING_STATES,
    STATE_LABELS,
    STATES,
    TERMINAL_STATES,
    DisbursementError,
    InvalidTransition,
    allowed_actions,
    next_state,
    post_payment,
    release,
    reserve,
)
from disbursement.errors import MissingReason
from disbursement.states import possible_targets

# Copied by hand from DESIGN.md "Awards and disbursement": state -> next states, plus withdraw from the
# not-yet-approved states (DESIGN: re-matching withdraws any not-yet-approved award no longer eligible).
DESIGN_NEXT = {
    "proposed": {"objected", "notified", "granted", "withdrawn"},
    # plus granted: a dismissed objection on a 税收减免 award takes that award's notice exit (see states.py).
    "objected": {"notified", "withdrawn", "granted"},
    "notified": {"confirmed", "declined", "lapsed", "withdrawn"},
    "confirmed": {"reviewed", "rejected", "withdrawn"},
    "reviewed": {"approved", "awaiting_second_approval", "rejected", "withdrawn"},
    "awaiting_second_approval": {"approved", "rejected", "withdrawn"},
    "approved": {"scheduled", "withdrawn"},
    "scheduled": {"paid", "payment_failed"},
    "payment_failed": {"scheduled", "payment_abandoned"},
    "paid": {"clawback_pending"},
    "clawback_pending": {"recovered"},
    "granted": set(),
    "declined": set(),
    "lapsed": set(),
    "rejected": set(),
    "withdrawn": set(),
    "payment_abandoned": set(),
    "recovered": set(),
}
DESIGN_FINAL = {"declined", "lapsed", "rejected", "withdrawn", "payment_abandoned", "recovered", "granted", "paid"}


def ctx_variants(state: str, action: str) -> list[dict]:
    """Every context under which the action is valid (approve has two outcomes; notice exits depend on item)."""
    if action == "approve":
        return [
            {"amount_fen": 100, "second_threshold_fen": 1000},
            {"amount_fen": 5000, "second_threshold_fen": 1000},
        ]
    if state == "proposed" and action == "notify":
        return [{"tax_relief": False, "notice_ended": True}]
    if state == "proposed" and action == "grant":
        return [{"tax_relief": True, "notice_ended": True}]
    if action == "dismiss_objection":
        return [{"reason": "异议不成立"}, {"reason": "异议不成立", "tax_relief": True}]
    if action in ("reject", "withdraw", "uphold_objection", "open_clawback", "abandon"):
        return [{"reason": "复核发现不符合条件"}]
    if action == "recover":
        return [{"recovered_fen": 500, "paid_fen": 500}]
    return [{}]


def test_the_state_list_is_exactly_the_design_table():
    assert set(STATES) == set(DESIGN_NEXT)
    assert set(STATE_LABELS) == set(STATES)
    assert FINAL_STATES == DESIGN_FINAL


@pytest.mark.parametrize("state", sorted(DESIGN_NEXT))
def test_every_design_transition_is_allowed_and_nothing_else_is_reachable(state):
    reached = {
        next_state(state, action, **ctx)
        for action in allowed_actions(state)
        for ctx in ctx_variants(state, action)
    }
    assert reached == DESIGN_NEXT[state]


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("proposed", "approve"),
        ("proposed", "confirm"),
        ("objected", "notify"),
        ("notified", "pay"),
        ("notified", "review"),
        ("reviewed", "second_approve"),
        ("awaiting_second_approval", "approve"),
        ("approved", "pay"),
        ("scheduled", "withdraw"),
        ("scheduled", "schedule"),
        ("payment_failed", "pay"),
        ("paid", "withdraw"),
        ("paid", "fail_payment"),
        ("granted", "notify"),
        ("withdrawn", "confirm"),
        ("recovered", "open_clawback"),
        ("declined", "confirm"),
        ("lapsed", "confirm"),
    ],
)
def test_a_forbidden_action_is_refused_with_the_state_and_action(state, action):
    with pytest.raises(InvalidTransition) as info:
        next_state(state, action, reason="x", amount_fen=1, second_threshold_fen=None)
    assert (info.value.state, info.value.action) == (state, action)


def test_an_unknown_state_or_action_is_refused():
    with pytest.raises(InvalidTransition):
        next_state("cancelled", "withdraw", reason="x")
    with pytest.raises(InvalidTransition):
        next_state("proposed", "teleport")


def test_a_tax_relief_item_is_granted_after_the_notice_and_never_notified():
    assert next_state("proposed", "grant", tax_relief=True, notice_ended=True) == "granted"
    with pytest.raises(InvalidTransition):
        next_state("proposed", "notify", tax_relief=True, notice_ended=True)
    with pytest.raises(InvalidTransition):
        next_state("proposed", "grant", tax_relief=False, notice_ended=True)


def test_no_notification_before_the_notice_ends_and_no_objection_after():
    with pytest.raises(InvalidTransition):
        next_state("proposed", "notify", tax_relief=False, notice_ended=False)
    with pytest.raises(InvalidTransition):
        next_state("proposed", "object", notice_ended=True)
    assert next_state("proposed", "object", notice_ended=False) == "objected"


def test_approval_above_the_threshold_waits_for_a_second_approver():
    assert next_state("reviewed", "approve", amount_fen=1_000_00, second_threshold_fen=1_000_00) == "approved"
    assert (
        next_state("reviewed", "approve", amount_fen=1_000_01, second_threshold_fen=1_000_00)
        == "awaiting_second_approval"
    )
    assert next_state("reviewed", "approve", amount_fen=10**12, second_threshold_fen=None) == "approved"


@pytest.mark.parametrize("reason", [None, "", "   "])
@pytest.mark.parametrize("state", ["confirmed", "reviewed", "awaiting_second_approval"])
def test_a_rejection_without_a_reason_is_refused(state, reason):
    with pytest.raises(MissingReason):
        next_state(state, "reject", reason=reason)


def test_a_missing_context_is_a_programming_error():
    with pytest.raises(TypeError):
        next_state("reviewed", "approve")
    with pytest.raises(TypeError):
        next_state("notified", "withdraw")


def test_recovery_never_exceeds_the_paid_amount():
    assert next_state("clawback_pending", "recover", recovered_fen=100, paid_fen=100) == "recovered"
    with pytest.raises(DisbursementError):
        next_state("clawback_pending", "recover", recovered_fen=101, paid_fen=100)
    with pytest.raises(DisbursementError):
        next_state("clawback_pending", "recover", recovered_fen=0, paid_fen=100)


def test_live_and_reserving_state_sets_follow_the_design():
    assert set(STATES) - LIVE_STATES == {"declined", "lapsed", "rejected", "withdrawn", "payment_abandoned"}
    assert RESERVING_STATES == {"approved", "scheduled", "payment_failed"}
    assert TERMINAL_STATES == DESIGN_FINAL - {"paid"}


def test_every_action_name_from_the_brief_exists():
    assert {
        "object", "dismiss_objection", "uphold_objection", "notify", "grant", "withdraw", "confirm", "decline",
        "lapse", "review", "approve", "second_approve", "reject", "schedule", "pay", "fail_payment",
        "reschedule", "abandon", "open_clawback", "recover",
    } == ACTIONS  # fmt: skip


walk_choices = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 1)), max_size=30)


@given(start=st.sampled_from(["proposed", "confirmed"]), choices=walk_choices, amount=st.integers(1, 10**9))
def test_a_walk_of_valid_actions_never_leaves_a_final_state_except_into_clawback(start, choices, amount):
    state, seen_final = start, None
    budget, reserved, paid = 10**10, 0, 0
    for pick, variant in choices:
        actions = sorted(allowed_actions(state))
        if not actions:
            break
        action = actions[pick % len(actions)]
        variants = ctx_variants(state, action)
        ctx = variants[variant % len(variants)]
        if action == "recover":
            ctx = {"recovered_fen": amount, "paid_fen": paid}
        new = next_state(state, action, **ctx)
        # Budget bookkeeping follows RESERVING_STATES: reserve on entry, post on paid, release otherwise.
        if new in RESERVING_STATES and state not in RESERVING_STATES:
            reserved = reserve(budget, reserved, paid, amount)
        elif state in RESERVING_STATES and new == "paid":
            reserved, paid = post_payment(reserved, paid, amount)
        elif state in RESERVING_STATES and new not in RESERVING_STATES:
            reserved = release(reserved, amount)
        if seen_final is not None:
            assert (state, new) in {("paid", "clawback_pending"), ("clawback_pending", "recovered")}
        if state in FINAL_STATES:
            seen_final = state
        assert state not in TERMINAL_STATES
        if state not in LIVE_STATES:
            raise AssertionError(f"moved out of dead state {state}")
        state = new
        assert reserved == (amount if state in RESERVING_STATES else 0)
        assert paid == (amount if state in {"paid", "clawback_pending", "recovered"} else 0)
        assert reserved + paid <= budget


@pytest.mark.parametrize("state", sorted(DESIGN_NEXT))
def test_possible_targets_are_exactly_what_next_state_can_reach(state):
    for action in ACTIONS:
        reached = {next_state(state, action, **ctx) for ctx in ctx_variants(state, action)} if (
            action in allowed_actions(state)) else set()
        assert possible_targets(state, action) == reached


@pytest.mark.parametrize("action", ["dismiss_objection", "uphold_objection", "abandon", "open_clawback"])
def test_objection_rulings_abandonment_and_clawback_need_a_reason(action):
    state = {"dismiss_objection": "objected", "uphold_objection": "objected", "abandon": "payment_failed",
             "open_clawback": "paid"}[action]
    with pytest.raises(MissingReason):
        next_state(state, action, reason="  ")


def test_a_dismissed_objection_notifies_the_enterprise_and_grants_a_tax_relief_award():
    assert next_state("objected", "dismiss_objection", reason="不成立") == "notified"
    assert next_state("objected", "dismiss_objection", reason="不成立", tax_relief=True) == "granted"
    assert next_state("objected", "uphold_objection", reason="成立", tax_relief=True) == "withdrawn"
