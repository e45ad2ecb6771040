"""Column layouts of the department feeds, by source. Field codes are the vocabulary's (DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass

from importers.header import Column
from rules.vocabulary import FIELDS

OPERATING_STATUSES = ("存续", "在业", "吊销", "注销", "迁出")
TAX_CREDIT_RATINGS = ("A", "B", "M", "C", "D")
QUALIFICATION_FIELD = "qualification_recognition"


@dataclass(frozen=True)
class FeedColumn(Column):
    """``kind``: credit_code | year | text | money | int | date | bool | region | industry | enum | ignore."""

    kind: str = "text"
    choices: tuple[str, ...] = ()
    default_unit: str | None = None  # money unit when neither header nor cell says
    cross_check: bool = False  # another department owns the field: kept as this source's value, for conflicts


@dataclass(frozen=True)
class FeedSpec:
    source: str
    title: str  # department, for messages
    columns: tuple[FeedColumn, ...]
    yearly: bool = False


def _code() -> FeedColumn:
    return FeedColumn("credit_code", ("统一社会信用代码", "社会信用代码", "信用代码"), required=True, kind="credit_code")


def _year() -> FeedColumn:
    return FeedColumn("fiscal_year", ("所属年度", "年度", "纳税年度", "统计年度"), required=True, kind="year")


def _names(*names: str) -> FeedColumn:
    # Recognised so the header is found, but not emitted: only 市场监管 is authoritative for the name.
    return FeedColumn("_name", names, kind="ignore")


SPECS: dict[str, FeedSpec] = {
    "market": FeedSpec("market", "市场监管", (
        _code(),
        FeedColumn("name", ("企业名称", "市场主体名称", "名称"), kind="text"),
        FeedColumn("region_code", ("住所所在地行政区划代码", "注册地区划", "行政区划代码", "区划代码", "住所行政区划代码"),
                   kind="region"),
        FeedColumn("established_on", ("成立日期", "注册日期"), kind="date"),
        FeedColumn("registered_capital", ("注册资本",), kind="money", default_unit="万元"),
        FeedColumn("entity_type", ("市场主体类型", "企业类型", "主体类型"), kind="text"),
        FeedColumn("industry_code", ("行业代码", "国民经济行业代码"), kind="industry"),
        FeedColumn("operating_status", ("登记状态", "经营状态"), kind="enum", choices=OPERATING_STATUSES),
        FeedColumn("abnormal_listed", ("是否列入经营异常名录", "经营异常名录", "列入经营异常名录"), kind="bool"),
    )),
    "tax": FeedSpec("tax", "税务", (
        _code(), _year(), _names("纳税人名称", "企业名称"),
        FeedColumn("revenue", ("营业收入",), kind="money"),
        FeedColumn("total_assets", ("资产总额",), kind="money"),
        FeedColumn("taxable_income", ("应纳税所得额",), kind="money"),
        FeedColumn("tax_paid", ("纳税总额",), kind="money"),
        FeedColumn("rd_expense", ("研发费用",), kind="money"),
        FeedColumn("tax_credit_rating", ("纳税信用等级",), kind="enum", choices=TAX_CREDIT_RATINGS),
        # Cross-check: 所得税年报 reports 从业人数, which 人社 owns. Kept as the tax value, never the profile's.
        FeedColumn("employees", ("从业人数", "从业人数(年平均)"), kind="int", cross_check=True),
    ), yearly=True),
    "hr": FeedSpec("hr", "人社", (
        _code(), _year(), _names("单位名称", "企业名称"),
        FeedColumn("employees", ("参保职工人数(年平均)", "参保职工人数", "从业人数"), kind="int"),
        FeedColumn("ui_premium_paid", ("失业保险缴费",), kind="money"),
        FeedColumn("ui_paid_months", ("失业保险连续足额缴费月数", "失业保险足额缴费月数"), kind="int"),
        FeedColumn("layoff_count", ("裁员人数",), kind="int"),
        FeedColumn("new_graduate_hires", ("新招用高校毕业生人数",), kind="int"),
    ), yearly=True),
    "qualifications": FeedSpec("qualifications", "科技/工信/统计", (
        _code(), _names("企业名称"),
        FeedColumn("name", ("资质名称", "资质类型", "认定类型"), required=True, kind="text"),
        FeedColumn("recognized_on", ("认定日期", "认定时间"), required=True, kind="date"),
        FeedColumn("valid_until", ("有效期至", "有效期截止", "到期日期"), kind="date"),
    )),
    "credit": FeedSpec("credit", "信用", (
        _code(), _names("主体名称", "企业名称"),
        FeedColumn("serious_dishonest", ("严重失信主体名单", "是否严重失信主体", "严重失信主体", "是否列入严重失信主体名单"),
                   kind="bool"),
    )),
}


# Fields that more than one department reports (cross-check columns): the only ones that can be in conflict.
CROSS_CHECK_FIELDS = frozenset(col.field for spec in SPECS.values() for col in spec.columns if col.cross_check)


def foreign_columns(source: str) -> dict[str, tuple[str, str]]:
    """Header names of other departments' own columns -> (field, owning source), for ``source``'s files.

    A feed updates only the fields its department owns (DESIGN.md "Vocabulary"): such a column in its file is
    ignored, with a warning, unless ``source``'s spec declares it as a cross-check column.
    """
    out: dict[str, tuple[str, str]] = {}
    for other, spec in SPECS.items():
        if other == source:
            continue
        for col in spec.columns:
            if col.kind in ("credit_code", "year", "ignore"):
                continue
            for name in col.names:
                out.setdefault(name, (col.field, owner(other, col.field)))
    return out


def owner(source: str, fld: str) -> str:
    """The department that owns ``fld`` as read by ``source``'s spec (rules.vocabulary; list columns: the list's)."""
    if source in ("qualifications", "credit") or fld not in FIELDS:
        return source
    return FIELDS[fld].source


# 上年度营业收入 is revenue of the row's own 年度: the prefix never shifts the year.
HEADER_PREFIXES = ("上年度", "本年度", "年度")
