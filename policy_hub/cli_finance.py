"""``policy-hub awards|payouts|stats``: finance operations, the same services (and role checks) as the pages.

``--as USERNAME`` acts as that user: its role, region and maker-checker identity apply exactly as on the pages.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy import select

from policy_hub.cli import EXIT_OK, EXIT_REJECTED, RECORD_ID, _emit, _issue_text, cli, command, json_option
from policy_hub.extensions import db
from policy_hub.services import InputRejected
from policy_hub.services.users import SYSTEM
from rules.money import format_yuan

SEES_ACCOUNT = ("enterprise", "finance_reviewer", "finance_approver")


def _acting(username: str | None):
    """The user named by ``--as`` (InputRejected if unknown); the CLI operator (SYSTEM) when omitted."""
    if not username:
        return SYSTEM
    from policy_hub.models import User

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InputRejected(f"用户 {username} 不存在（--as 应为已创建的用户名）")
    return user


def as_option(required: bool = True):
    return click.option("--as", "username", required=required, metavar="USERNAME", help="以该用户身份操作")


def _award_doc(award, user) -> dict:
    from disbursement.labels import STATE_LABELS

    doc = {"id": award.id, "item_code": award.item.code, "item_name": award.item.name,
           "credit_code": award.credit_code, "fiscal_year": award.fiscal_year, "state": award.state,
           "state_label": STATE_LABELS.get(award.state, award.state), "amount_fen": award.amount_fen,
           "amount_yuan": format_yuan(award.amount_fen), "reason": award.reason}
    if user.role in SEES_ACCOUNT:  # masked even then: the full number only ever goes into the payout file
        doc["payee_bank"] = award.payee_bank
        doc["payee_account"] = f"**** {award.payee_account_last4}" if award.payee_account_last4 else None
    return doc


@cli.group("awards")
def awards_group() -> None:
    """奖补：查询、确认收款账户、初审、审批、驳回。"""


@awards_group.command("list")
@click.option("--status", default=None, help="只列出该状态（如 notified、reviewed、approved）")
@as_option(required=False)
@json_option
@command
def awards_list(status, username, as_json):
    """List awards in the user's scope (the operator sees all), oldest first."""
    from disbursement.states import STATES
    from policy_hub.services import awards as award_service
    from policy_hub.services.matching import awards_for

    if status and status not in STATES:
        raise click.BadParameter(f"未知状态 {status}；可选：{', '.join(STATES)}", param_hint="--status")
    user = _acting(username)
    if user.role == "enterprise":
        awards = [a for a in awards_for(user.credit_code) if not status or a.state == status]
    else:
        awards = award_service.finance_queue(user, (status,) if status else None)
    docs = [_award_doc(a, user) for a in awards]
    _emit(as_json, {"awards": docs, "count": len(docs)},
          "\n".join(f"#{d['id']}\t{d['item_code']}\t{d['credit_code']}\t{d['state_label']}\t{d['amount_yuan']} 元"
                    for d in docs) or "（无）")


def _payee_options(fn):
    fn = click.option("--name", "account_name", default=None, help="账户名称（默认企业登记名称）")(fn)
    fn = click.option("--account", "account_no", required=True, help="银行账号")(fn)
    return click.option("--bank", required=True, help="开户银行")(fn)


def _holder(award_id: int, account_name: str | None) -> str:
    if account_name:
        return account_name
    from policy_hub.models import Award
    from policy_hub.services import awards as award_service

    award = db.session.get(Award, award_id)
    return award_service.enterprise_names([award.credit_code]).get(award.credit_code, "") if award else ""


@awards_group.command("confirm")
@click.argument("award_id", type=RECORD_ID)
@as_option()
@_payee_options
@json_option
@command
def awards_confirm(award_id, username, bank, account_no, account_name, as_json):
    """The enterprise confirms its payee account (stored encrypted; shown masked)."""
    from policy_hub.services import awards as award_service

    user = _acting(username)
    award = award_service.confirm_payee(user, award_id, account_name=_holder(award_id, account_name), bank=bank,
                                        account_no=account_no)
    doc = _award_doc(award, user)
    _emit(as_json, doc, f"奖补 #{award.id} 已确认收款账户 {doc['payee_account']}")


@awards_group.command("fix-account")
@click.argument("award_id", type=RECORD_ID)
@as_option()
@_payee_options
@json_option
@command
def awards_fix_account(award_id, username, bank, account_no, account_name, as_json):
    """Correct the payee account of a failed payment (the enterprise or finance); the next batch retries it."""
    from policy_hub.services.payee import fix_account

    user = _acting(username)
    award = fix_account(user, award_id, account_name=_holder(award_id, account_name), bank=bank,
                        account_no=account_no)
    doc = _award_doc(award, user)
    _emit(as_json, doc, f"奖补 #{award.id} 收款账户已更正为 {doc['payee_account']}，将排入下一批次")


def _finance_action(action: str):
    @click.argument("award_id", type=RECORD_ID)
    @as_option()
    @click.option("--reason", default=None, help="原因（驳回时必填）")
    @json_option
    @command
    def run(award_id, username, reason, as_json):
        from policy_hub.services import awards as award_service

        user = _acting(username)
        if action == "reject":
            award = award_service.reject(user, award_id, reason or "")
        else:
            award = getattr(award_service, action)(user, award_id)
        doc = _award_doc(award, user)
        _emit(as_json, doc, f"奖补 #{award.id}：{doc['state_label']}")

    run.__doc__ = {"review": "First finance check (初审).", "approve": "Approve (审批; a different person).",
                   "reject": "Reject with a reason (驳回)."}[action]
    return awards_group.command(action)(run)


for _action in ("review", "approve", "reject"):
    _finance_action(_action)


@cli.group("payouts")
def payouts_group() -> None:
    """支付批次：生成、导出支付清单、导入银行回单对账。"""


@payouts_group.command("batch")
@click.option("--region", "region_code", required=True, help="财政区划代码（如 140100）")
@as_option()
@json_option
@command
def payouts_batch(region_code, username, as_json):
    """Put every payable award of the region into a new batch and print its id."""
    from policy_hub.services.payouts import build_batch

    batch = build_batch(_acting(username), region_code)
    if batch is None:
        raise InputRejected("没有可排入支付批次的奖补：需已审批且已确认收款账户，支付失败的需先更正账户")
    doc = {"batch_id": batch.id, "batch_no": batch.batch_no, "lines": batch.line_count,
           "total_fen": batch.total_fen, "total_yuan": format_yuan(batch.total_fen)}
    _emit(as_json, doc, str(batch.id))
    if not as_json:
        click.echo(f"已生成支付批次 {batch.batch_no}：{batch.line_count} 笔，合计 {doc['total_yuan']} 元", err=True)


@payouts_group.command("export")
@click.argument("batch_id", type=RECORD_ID)
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@as_option()
@json_option
@command
def payouts_export(batch_id, path, username, as_json):
    """Write the batch's 支付清单 xlsx (the only output holding full account numbers)."""
    from policy_hub.services.payouts import export_batch

    _name, data = export_batch(_acting(username), batch_id)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)  # never a half-written file where the bank upload expects one
    _emit(as_json, {"batch_id": batch_id, "path": str(target), "bytes": len(data)}, f"已导出支付清单到 {target}")


@payouts_group.command("reconcile")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@as_option()
@json_option
@command
def payouts_reconcile(path, username, as_json):
    """Apply a bank return file (xlsx/csv). Idempotent; problem rows are reported, never applied.

    Exit 1 when nothing could be applied and the file had problems (unknown, duplicate, contradicting rows
    or unreadable rows); otherwise 0, with any problems listed.
    """
    from policy_hub.services.payouts import reconcile

    summary = reconcile(_acting(username), path)
    problems = summary["issues"] and any(i["kind"] != "already_applied" for i in summary["issues"])
    problems = bool(problems or summary["errors"])
    _emit(as_json, summary, f"已入账 {summary['to_pay']} 笔（{format_yuan(summary['paid_fen'])} 元），"
                            f"失败 {summary['to_fail']} 笔，已登记过 {summary['already_applied']} 笔")
    if not as_json:
        for i in summary["issues"]:
            if i["kind"] != "already_applied":
                click.echo(f"  问题 {i['message']}", err=True)
        for e in summary["errors"]:
            click.echo(f"  错误 {_issue_text(e)}", err=True)
    return EXIT_REJECTED if problems and summary["to_pay"] + summary["to_fail"] == 0 else EXIT_OK


@cli.group("stats")
def stats_group() -> None:
    """统计。"""


@stats_group.command("payouts")
@as_option(required=False)
@json_option
@command
def stats_payouts(username, as_json):
    """Per item and per city: eligible, approved and paid money, enterprises, median days to payment."""
    from policy_hub.services.stats import payout_stats

    report = payout_stats(_acting(username))
    lines = ["按事项：事项编码 | 符合条件(元) | 已审批(元) | 已支付(元) | 企业数 | 支付中位天数"]
    lines += [f"{r['item_code']} | {r['eligible_yuan']} | {r['approved_yuan']} | {r['paid_yuan']} | "
              f"{r['enterprises']} | {r['median_days_to_pay'] or '—'}" for r in report["items"]]
    lines.append("按地市：地市 | 符合条件(元) | 已审批(元) | 已支付(元) | 企业数 | 支付中位天数")
    lines += [f"{r['city_name']} | {r['eligible_yuan']} | {r['approved_yuan']} | {r['paid_yuan']} | "
              f"{r['enterprises']} | {r['median_days_to_pay'] or '—'}" for r in report["cities"]]
    _emit(as_json, report, "\n".join(lines))
