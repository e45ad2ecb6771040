"""The ``policy-hub`` subcommands. Each parses its options, calls one service and prints the result."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import click

from policy_hub.cli import (
    EXIT_OK,
    EXIT_REJECTED,
    _as_of,
    _emit,
    _issue_text,
    as_of_option,
    cli,
    command,
    json_option,
)
from policy_hub.services.users import SYSTEM

SOURCES = ("market", "tax", "hr", "qualifications", "credit")
COUNT_KEYS = ("created", "updated", "unchanged")


def _print_preview(summary: dict, counts: tuple[str, ...]) -> None:
    state = "已导入" if summary.get("committed") else "预览（未写入，加 --commit 导入）"
    click.echo(state + "：" + "，".join(f"{k}={summary[k]}" for k in counts))
    for e in summary["errors"]:
        click.echo("  错误 " + _issue_text(e))
    for w in summary["warnings"][:20]:
        click.echo("  提示 " + _issue_text(w))


@cli.group("items")
def items_group() -> None:
    """奖补事项：导入、导出。"""


@items_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--commit", is_flag=True, help="写入数据库（默认只预览）")
@click.option("--skip-invalid", is_flag=True, help="跳过有错误的行，导入其余")
@json_option
@command
def items_import(path, commit, skip_invalid, as_json):
    """Import a reward-item list (xlsx/csv). Preview by default."""
    from policy_hub.services.items import import_items

    summary = import_items(path, SYSTEM, commit=commit, skip_invalid=skip_invalid)
    _emit(as_json, summary)
    if not as_json:
        _print_preview(summary, COUNT_KEYS)
    return EXIT_REJECTED if summary["errors"] and not (commit and skip_invalid) else EXIT_OK


@cli.group("enterprises")
def enterprises_group() -> None:
    """企业数据（一企一档）：导入部门数据。"""


@enterprises_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", required=True, type=click.Choice(SOURCES), help="数据来源部门")
@click.option("--commit", is_flag=True)
@click.option("--skip-invalid", is_flag=True)
@json_option
@command
def enterprises_import(path, source, commit, skip_invalid, as_json):
    """Import one department feed. Preview by default."""
    from policy_hub.services.feeds import import_feed

    summary = import_feed(path, source, SYSTEM, commit=commit, skip_invalid=skip_invalid)
    _emit(as_json, summary)
    if not as_json:
        _print_preview(summary, ("enterprises", "observations", "new_observations"))
    return EXIT_REJECTED if summary["errors"] and not (commit and skip_invalid) else EXIT_OK


@cli.command("match")
@as_of_option
@json_option
@command
def match_cmd(as_of, as_json):
    """Run matching for an assessment date (on rq workers when Redis is configured)."""
    from policy_hub import jobs

    run = jobs.submit("match", {"as_of": _as_of(as_of).isoformat()})
    if run.status != "done":
        raise RuntimeError(f"match job {run.job_id} {run.status}: {run.error or ''}")
    result = {k: run.result[k] for k in ("as_of", "items_evaluated", "enterprises", "eligible", "unknown",
                                         "ineligible", "awards_created")}
    _emit(as_json, result, "，".join(f"{k}={v}" for k, v in result.items()))


@cli.group("matches")
def matches_group() -> None:
    """匹配结果。"""


MATCH_HEADER = ["credit_code", "item_region_code", "item_code", "fiscal_year", "mode", "verdict", "amount_yuan",
                "missing_fields"]


@matches_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@command
def matches_export(path):
    """Export eligible and unknown pairs as CSV (UTF-8, no BOM), sorted by the first four columns."""
    from policy_hub.services.matching import current_results
    from rules.money import format_yuan

    rows = []
    for r in current_results():
        if r.verdict not in ("eligible", "unknown"):
            continue
        rows.append([r.credit_code, r.item.region_code, r.item.code, r.fiscal_year, r.item.mode, r.verdict,
                     format_yuan(r.amount_fen) if r.verdict == "eligible" else "", ";".join(r.missing_fields)])
    rows.sort(key=lambda x: (x[0], x[1], x[2], x[3]))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MATCH_HEADER)
    writer.writerows(rows)
    Path(path).write_text(buf.getvalue(), encoding="utf-8")
    click.echo(f"已导出 {len(rows)} 行到 {path}", err=True)


@cli.group("quota")
def quota_group() -> None:
    """上架数量考核。"""


@quota_group.command("report")
@as_of_option
@json_option
@command
def quota_report_cmd(as_of, as_json):
    """Per-city redeemable items against the target."""
    from policy_hub.services.quota import quota_report

    report = quota_report(_as_of(as_of))
    _emit(as_json, report, format_quota(report))


def format_quota(report: dict) -> str:
    lines = [f"上架考核（{report['as_of']}，目标 {report['target']} 项/市）",
             f"{'地市':<8}{'上架':>5}{'免申即享':>6}{'即申即享':>6}{'依申请':>6}{'可兑现':>6}{'缺口':>6}"]
    for c in report["cities"]:
        r = c["redeemable"]
        lines.append(f"{c['city_name']:<8}{c['listed']:>6}{r['apply_free']:>9}{r['instant_apply']:>9}"
                     f"{r['on_application']:>8}{r['total']:>8}{c['shortfall']:>7}")
    p = report["province"]
    lines.append(f"省级事项：上架 {p['listed']}，可兑现 {p['redeemable']['total']}（不计入各市）")
    return "\n".join(lines)


@cli.group("users")
def users_group() -> None:
    """用户管理。"""


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(
    ["enterprise", "city_admin", "finance_reviewer", "finance_approver", "data_officer", "province_admin"]))
@click.option("--region", "region_code", default=None, help="区划代码（省级 140000）")
@click.option("--credit-code", default=None, help="企业用户的统一社会信用代码")
@click.option("--password-stdin", is_flag=True, required=True, help="从标准输入读取密码")
@json_option
@command
def users_create(username, role, region_code, credit_code, password_stdin, as_json):
    """Create a user; the password is read from standard input."""
    from policy_hub.services.users import create_user

    password = sys.stdin.readline().rstrip("\n")
    user = create_user(username, role, password, region_code=region_code, credit_code=credit_code)
    _emit(as_json, {"id": user.id, "username": user.username, "role": user.role, "region_code": user.region_code,
                    "credit_code": user.credit_code}, f"已创建用户 {username}（{user.role_label}）")


@cli.group("audit")
def audit_group() -> None:
    """审计链。"""


def _anchor_arg(_ctx, _param, value):
    if value is None:
        return None
    from policy_hub.services.audit import parse_anchor

    try:
        return parse_anchor(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@audit_group.command("verify")
@click.option("--anchor", default=None, callback=_anchor_arg, metavar="SEQ:HASH",
              help="同时核对已公布的锚点（audit anchor 的输出）")
@json_option
@command
def audit_verify(anchor, as_json):
    """Recompute the hash chain; name the first row that does not verify (exit 1 if any, or if the anchor fails)."""
    from policy_hub.services.audit import verify

    result = verify(anchor)
    text = (f"审计链完整：{result['rows']} 行，最新 #{result['head_seq']} {result['head_hash']}"
            + ("，与锚点一致" if anchor else "") if result["ok"] else f"审计链校验失败：{result['problem']}")
    _emit(as_json, result, text)
    return EXIT_OK if result["ok"] else EXIT_REJECTED


@audit_group.command("anchor")
@json_option
@command
def audit_anchor(as_json):
    """Print the latest audit row's sequence number and hash as SEQ:HASH, to publish elsewhere."""
    from policy_hub.services.audit import anchor

    result = anchor()
    result["anchor"] = f"{result['seq']}:{result['hash']}"
    _emit(as_json, result, result["anchor"])


@cli.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@command
def serve(host, port):
    """Serve the web app."""
    _serve(host, port)


def _serve(host: str, port: int) -> None:
    """Werkzeug's threaded server (Flask's ``app.run`` refuses to run inside the flask CLI)."""
    from flask import current_app
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


@cli.command("worker")
@click.option("--burst", is_flag=True, help="处理完队列后退出")
@command
def worker(burst):
    """Run an rq worker (needs POLICY_HUB_REDIS_URL)."""
    from flask import current_app

    from policy_hub import jobs

    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError("POLICY_HUB_REDIS_URL is not set: jobs run inline, no worker is needed")
    jobs.work(burst=burst)


@cli.command("demo")
@click.option("--no-serve", is_flag=True, help="只准备数据并打印摘要，不启动网站")
@command
def demo(no_serve):
    """Migrate, import examples/, match for 2026-06-30, print a summary and serve on :5000."""

    from policy_hub.services.demo import run_demo

    click.echo(run_demo())
    if not no_serve:
        from policy_hub.extensions import db

        db.session.commit()
        click.echo("网站：http://127.0.0.1:5000 （Ctrl+C 退出）")
        _serve("127.0.0.1", 5000)
