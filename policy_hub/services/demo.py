"""The demo: migrate, create one login per role, import examples/, match for 2026-06-30, summarise."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import func, select

from policy_hub.extensions import db
from policy_hub.models import Award, Item, MatchResult, User
from policy_hub.services.feeds import import_feed
from policy_hub.services.items import import_items
from policy_hub.services.matching import run_match
from policy_hub.services.quota import quota_report
from policy_hub.services.users import create_user
from rules import regions

logger = logging.getLogger(__name__)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = date(2026, 6, 30)
DEMO_PASSWORD = "demo-2026"
ITEM_FILES = (
    ("太原市2025年度惠企政策奖补事项清单.xlsx", "ty_admin"),
    ("大同市2025年度奖补事项清单.csv", "dt_admin"),
    ("山西省2025年度省级惠企政策奖补事项清单.xlsx", "sx_admin"),
)
FEED_FILES = (
    ("企业登记信息_市场监管.csv", "market"),
    ("企业纳税信息_税务_2024-2025.xlsx", "tax"),
    ("企业参保信息_人社_2024-2025.csv", "hr"),
    ("企业资质认定名单_科技工信统计.xlsx", "qualifications"),
    ("严重失信主体名单_信用.csv", "credit"),
)
STAFF = (
    ("ty_admin", "city_admin", "140100", "太原市事项管理员"),
    ("dt_admin", "city_admin", "140200", "大同市事项管理员"),
    ("sx_admin", "city_admin", "140000", "省级事项管理员"),
    ("ty_reviewer", "finance_reviewer", "140100", "太原市财政局初审"),
    ("ty_approver", "finance_approver", "140100", "太原市财政局审批"),
    ("ty_approver2", "finance_approver", "140100", "太原市财政局复核（第二审批人）"),
    ("sx_reviewer", "finance_reviewer", "140000", "省财政厅初审（省级事项）"),
    ("sx_approver", "finance_approver", "140000", "省财政厅审批（省级事项）"),
    ("data_officer", "data_officer", "140000", "省数据局数据专员"),
    ("province", "province_admin", "140000", "省级平台运营"),
)


def _user(username: str, role: str, **scope) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    return user or create_user(username, role, DEMO_PASSWORD, **scope)


def run_demo() -> str:
    """Prepare the demo database (idempotent) and return the printed summary."""
    upgrade()
    staff = {name: _user(name, role, region_code=region) for name, role, region, _ in STAFF}
    lines = ["== 导入奖补事项 =="]
    for filename, admin in ITEM_FILES:
        s = import_items(EXAMPLES / filename, staff[admin], commit=True, skip_invalid=True)
        lines.append(f"{filename}：新增 {s['created']}，更新 {s['updated']}，未变 {s['unchanged']}，"
                     f"跳过错误 {len(s['errors'])} 处")
        lines += [f"    {e['sheet']} 第{e['row']}行 {e['column']}：{e['message']}" for e in s["errors"]]
    lines.append("== 导入部门数据 ==")
    for filename, source in FEED_FILES:
        s = import_feed(EXAMPLES / filename, source, staff["data_officer"], commit=True, skip_invalid=True)
        lines.append(f"{filename}：{s['enterprises']} 家企业，新增观测 {s['new_observations']}，"
                     f"跳过错误 {len(s['errors'])} 处")
        lines += [f"    第{e['row']}行 {e['column']}：{e['message']}（{e['value']}）" for e in s["errors"][:5]]
    db.session.commit()
    counts = run_match(AS_OF, actor_id=None)
    db.session.commit()
    enterprise = _demo_enterprise()
    if enterprise:
        _user("qiye", "enterprise", credit_code=enterprise)
    db.session.commit()
    return "\n".join(lines + _summary(counts, staff, enterprise))


def _demo_enterprise() -> str | None:
    """A Taiyuan enterprise with an apply-free award of a Taiyuan item and an instant-apply listing, so the
    enterprise page shows both (falls back to any Taiyuan award holder)."""
    with_award = select(Award.credit_code).join(Item).where(Item.region_code.like("1401%"))
    instant = (select(MatchResult.credit_code).join(Item)
               .where(Item.mode == "instant_apply", MatchResult.verdict == "eligible"))
    row = db.session.execute(with_award.where(Award.credit_code.in_(instant)).order_by(Award.credit_code)
                             .limit(1)).first() or db.session.execute(with_award.order_by(Award.credit_code)
                                                                      .limit(1)).first()
    return row[0] if row else None


def _summary(counts: dict, staff: dict, enterprise: str | None) -> list[str]:
    from policy_hub.cli_commands import format_quota

    per_city = dict(db.session.execute(select(Item.region_code, func.count(Item.id)).group_by(Item.region_code)).all())
    by_city: dict[str, int] = {}
    for code, n in per_city.items():
        key = "山西省（省级）" if code == regions.PROVINCE_CODE else regions.regions()[regions.city_of(code)].name
        by_city[key] = by_city.get(key, 0) + n
    awards = db.session.scalar(select(func.count(Award.id)))
    results = db.session.scalar(select(func.count(MatchResult.id)))
    lines = [
        "", f"== 匹配结果（评估日期 {counts['as_of']}）==",
        "事项（按地市）：" + "，".join(f"{k} {v}" for k, v in sorted(by_city.items())),
        f"参与匹配企业：{counts['enterprises']}（无登记信息未匹配：{counts['unregistered']}）",
        f"评估事项：{counts['items_evaluated']}；符合 {counts['eligible']}，待补充信息 {counts['unknown']}，"
        f"不符合 {counts['ineligible']}，从高从优被替代 {counts['superseded']}",
        f"本次新建免申即享奖补：{counts['awards_created']}（累计 {awards}；存储结果 {results} 条）",
        "", format_quota(quota_report(AS_OF)), "", "== 演示账号（密码均为 " + DEMO_PASSWORD + "）==",
    ]
    for name, _role, _region, label in STAFF:
        lines.append(f"  {name:<14}{label}")
    if enterprise:
        lines.append(f"  {'qiye':<14}企业用户（{enterprise}）")
    return lines
