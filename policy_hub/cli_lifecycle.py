"""``policy-hub awards lapse|object|resolve|withdraw|abandon|clawback|recover|rebudget``: the award life cycle
beyond review and approval (services.lifecycle). Registered on the ``awards`` group of cli_finance, so cli.py
imports this module after cli_finance.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from policy_hub.cli import RECORD_ID, _as_of, _emit, as_of_option, cli, command, json_option
from policy_hub.extensions import db
from policy_hub.services import InputRejected, lifecycle
from rules.money import format_yuan, parse_yuan_text

awards_group = cli.commands.get("awards")
if awards_group is None:  # cli_finance not loaded (yet): own the group
    @cli.group("awards")
    def awards_group() -> None:
        """奖补（免申即享/即申即享）"""


def _user(username: str):
    from policy_hub.models import User

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InputRejected(f"用户 {username} 不存在（--as 应为已创建的用户名）")
    return user


def _fen(yuan: str) -> int:
    try:
        return parse_yuan_text(yuan)
    except ValueError as exc:
        raise InputRejected(str(exc)) from None


def _as(fn):
    return click.option("--as", "username", required=True, metavar="USERNAME", help="以该用户身份操作")(fn)


def _reason(fn):
    return click.option("--reason", required=True, help="原因（必填）")(fn)


def _award_doc(award) -> dict:
    return {"id": award.id, "state": award.state, "reason": award.reason, "amount_fen": award.amount_fen,
            "paid_fen": award.paid_fen, "recovered_fen": award.recovered_fen}


@awards_group.command("lapse")
@as_of_option
@json_option
@command
def awards_lapse(as_of, as_json):
    """Notified awards not confirmed by the item's deadline (apply_end) become lapsed (已逾期)."""
    day = _as_of(as_of)
    n = lifecycle.lapse_overdue(day)
    _emit(as_json, {"as_of": day.isoformat(), "lapsed": n}, f"{day.isoformat()}：{n} 项奖补逾期未确认，已标记为已逾期")


@awards_group.command("post-check")
@as_of_option
@json_option
@command
def awards_post_check(as_of, as_json):
    """Compare self-declared (告知承诺) values with department data; a false one withdraws, flags or claws back."""
    day = _as_of(as_of)
    found = lifecycle.post_check_declared(day)
    _emit(as_json, {"as_of": day.isoformat(), "contradicted": found},
          f"{day.isoformat()}：{len(found)} 项告知承诺与部门数据不符")


@awards_group.command("object")
@click.argument("award_id", type=RECORD_ID)
@_as
@click.option("--text", required=True, help="异议内容")
@as_of_option
@json_option
@command
def awards_object(award_id, username, text, as_of, as_json):
    """File an objection to an award under public notice (公示)."""
    o = lifecycle.file_objection(_user(username), award_id, text, _as_of(as_of))
    _emit(as_json, {"objection_id": o.id, "award_id": award_id}, f"已登记异议 #{o.id}（奖补 #{award_id}）")


@awards_group.command("resolve")
@click.argument("award_id", type=RECORD_ID)
@_as
@click.option("--uphold/--dismiss", required=True, help="异议成立（撤回）或不成立（推送企业）")
@_reason
@json_option
@command
def awards_resolve(award_id, username, uphold, reason, as_json):
    """Resolve the objections of an objected award, with a reason."""
    award = lifecycle.resolve_objections(_user(username), award_id, uphold=uphold, reason=reason)
    _emit(as_json, _award_doc(award), f"奖补 #{award_id}：{award.state}")


def _simple(name: str, fn, help_text: str):
    @click.argument("award_id", type=RECORD_ID)
    @_as
    @_reason
    @json_option
    @command
    def run(award_id, username, reason, as_json):
        award = fn(_user(username), award_id, reason)
        _emit(as_json, _award_doc(award), f"奖补 #{award_id}：{award.state}")

    run.__doc__ = help_text
    return awards_group.command(name)(run)


_simple("withdraw", lifecycle.withdraw, "Withdraw an award not yet scheduled (releases an approved one's budget).")
_simple("abandon", lifecycle.abandon_payment, "Stop a failed payment for good (releases its budget).")
_simple("clawback", lifecycle.open_clawback, "Open a clawback on a paid award.")


@awards_group.command("recover")
@click.argument("award_id", type=RECORD_ID)
@_as
@click.option("--amount", required=True, help="本次追回金额（元）")
@_reason
@click.option("--final", is_flag=True, help="追回结束（不足额也结案）")
@json_option
@command
def awards_recover(award_id, username, amount, reason, final, as_json):
    """Record money recovered on a clawback (recovered never exceeds paid)."""
    entry = lifecycle.record_recovery(_user(username), award_id, _fen(amount), reason, final=final)
    _emit(as_json, {"entry_id": entry.id, "award_id": award_id, "amount_fen": entry.amount_fen},
          f"已登记追回 {format_yuan(entry.amount_fen)} 元（奖补 #{award_id}）")


@awards_group.command("rebudget")
@click.argument("item_id", type=RECORD_ID)
@_as
@click.option("--amount", required=True, help="重新安排的已追回资金（元）")
@_reason
@click.option("--city", "city_code", default=None, help="同时增加该地市的分市额度")
@json_option
@command
def awards_rebudget(item_id, username, amount, reason, city_code, as_json):
    """Put recovered money back into an item's budget as an audited ledger entry."""
    entry = lifecycle.rebudget(_user(username), item_id, _fen(amount), reason, city_code=city_code)
    _emit(as_json, {"entry_id": entry.id, "item_id": item_id, "amount_fen": entry.amount_fen},
          f"事项 #{item_id} 预算增加 {format_yuan(entry.amount_fen)} 元（重新安排追回资金）")
