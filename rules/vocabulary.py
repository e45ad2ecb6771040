"""The enterprise profile vocabulary (一企一档): every field a rule may name, with its type, unit and source.

A profile is a ``Mapping[str, Any]`` keyed by field code; a missing key or ``None`` means UNKNOWN. Typed values:
money/fraction/decimal -> ``Decimal``, integer -> ``int``, date -> ``datetime.date``, boolean -> ``bool``,
string -> ``str``, set -> ``frozenset[str]``, mapping -> ``dict[str, date]``. The reserved key
``"closed_lists"`` holds a ``frozenset[str]`` of qualification names whose authoritative list was imported.
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

CLOSED_LISTS = "closed_lists"
AS_OF = "as_of"
AS_OF_LABEL = "评估日期"

SOURCES: dict[str, str] = {
    "market": "市场监管",
    "tax": "税务",
    "hr": "人社",
    "qualifications": "科技/工信/统计",
    "credit": "信用",
    "derived": "系统派生",
}

TYPES = ("string", "money", "integer", "date", "boolean", "fraction", "decimal", "set", "mapping")
NUMERIC_TYPES = frozenset({"money", "integer", "fraction", "decimal"})


@dataclass(frozen=True)
class Field:
    """One profile field. ``type`` is one of TYPES; ``unit`` is '元', 'persons', 'months', 'fraction 0-1',
    'years' or ''; ``source`` a key of SOURCES."""

    code: str
    label: str
    type: str
    unit: str
    source: str
    yearly: bool
    derived: bool
    description: str

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


# code, label, type, unit, source, yearly, description
_BASE: tuple[tuple[str, str, str, str, str, bool, str], ...] = (
    ("credit_code", "统一社会信用代码", "string", "", "market", False, "18位统一社会信用代码（GB 32100，含校验位）"),
    ("name", "企业名称", "string", "", "market", False, "登记的企业名称"),
    ("region_code", "注册地区划", "string", "", "market", False, "注册地县级行政区划代码（GB/T 2260，6位）"),
    ("city_code", "所属地市", "string", "", "derived", False, "由注册地区划推出的地市代码（6位）"),
    ("established_on", "成立日期", "date", "", "market", False, "营业执照成立日期"),
    ("registered_capital", "注册资本", "money", "元", "market", False, "注册资本，单位元"),
    ("entity_type", "市场主体类型", "string", "", "market", False, "有限责任公司、股份有限公司、个人独资企业、合伙企业等"),
    ("industry_code", "行业代码", "string", "", "market", False, "国民经济行业分类（GB/T 4754-2017）4位小类代码"),
    ("industry_section", "行业门类", "string", "", "derived", False, "由行业代码前两位（大类）推出的门类 A–T"),
    ("operating_status", "登记状态", "string", "", "market", False, "存续、在业、吊销、注销、迁出"),
    ("abnormal_listed", "经营异常名录", "boolean", "", "market", False, "是否列入经营异常名录"),
    ("revenue", "营业收入", "money", "元", "tax", True, "考核年度营业收入，单位元"),
    ("total_assets", "资产总额", "money", "元", "tax", True, "考核年度资产总额，单位元"),
    ("taxable_income", "应纳税所得额", "money", "元", "tax", True, "考核年度应纳税所得额，单位元"),
    ("tax_paid", "纳税总额", "money", "元", "tax", True, "考核年度纳税总额，单位元"),
    ("rd_expense", "研发费用", "money", "元", "tax", True, "考核年度研发费用，单位元"),
    ("tax_credit_rating", "纳税信用等级", "string", "", "tax", True, "A、B、M、C、D"),
    ("employees", "从业人数", "integer", "persons", "hr", True, "年平均参保从业人数，单位人"),
    ("ui_premium_paid", "失业保险缴费", "money", "元", "hr", True, "年度实际缴纳失业保险费，单位元"),
    ("ui_paid_months", "失业保险足额缴费月数", "integer", "months", "hr", True, "年度足额缴纳失业保险费月数"),
    ("layoff_count", "裁员人数", "integer", "persons", "hr", True, "年度裁员人数，单位人"),
    ("new_graduate_hires", "新招用高校毕业生人数", "integer", "persons", "hr", True, "年度新招用高校毕业生人数"),
    ("qualifications", "资质", "set", "", "qualifications", False,
     "认定日期 ≤ 评估日期 ≤ 有效期至 的资质名称集合（高新技术企业、科技型中小企业、专精特新中小企业、规上工业企业…）"),
    ("qualified_on", "资质认定日期", "mapping", "", "qualifications", False, "资质 → 最近一次认定日期（过期也保留）"),
    ("first_qualified_on", "首次认定日期", "mapping", "", "qualifications", False, "资质 → 有记录的最早认定日期"),
    ("serious_dishonest", "严重失信主体", "boolean", "", "credit", False, "是否列入严重失信主体名单"),
    ("scale", "企业规模", "string", "", "derived", True, "大型/中型/小型/微型，按工信部联企业〔2011〕300号划型"),
    ("layoff_rate", "裁员率", "fraction", "fraction 0-1", "derived", True, "裁员人数 ÷ 从业人数"),
    ("rd_ratio", "研发投入强度", "fraction", "fraction 0-1", "derived", True, "研发费用 ÷ 营业收入"),
    ("age_years", "成立年限", "decimal", "years", "derived", False, "（评估日期 − 成立日期）天数 ÷ 365.25"),
)


def _build() -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for code, label, type_, unit, source, yearly, description in _BASE:
        derived = source == "derived"
        fields[code] = Field(code, label, type_, unit, source, yearly, derived, description)
        if yearly:
            fields[code + "_prev"] = Field(
                code + "_prev", "上年度" + label, type_, unit, source, True, derived, "上一年度：" + description
            )
    return fields


FIELDS: dict[str, Field] = _build()
LABELS: dict[str, str] = {f.label: f.code for f in FIELDS.values()}


def field_for(name: str) -> Field:
    """The field named by its code (``revenue``) or Chinese label (``营业收入``).

    Raises KeyError with a Chinese message that suggests the nearest field.
    """
    name = (name or "").strip()
    if name in FIELDS:
        return FIELDS[name]
    if name in LABELS:
        return FIELDS[LABELS[name]]
    hint = nearest_field(name)
    tail = f"，是否指 {hint.code}（{hint.label}）" if hint else ""
    raise KeyError(f"未知字段“{name}”{tail}")


def nearest_field(name: str) -> Field | None:
    """The vocabulary field whose code or label is closest to ``name`` (for "did you mean"), or None."""
    codes = difflib.get_close_matches(name, list(FIELDS), n=1, cutoff=0.6)
    if codes:
        return FIELDS[codes[0]]
    labels = difflib.get_close_matches(name, list(LABELS), n=1, cutoff=0.5)
    if labels:
        return FIELDS[LABELS[labels[0]]]
    return None


def encode_value(code: str, value: Any) -> Any:
    """A typed profile value -> a JSON-able value (Decimal -> str, date -> ISO str, set -> sorted list,
    mapping of dates -> dict of ISO strs). None stays None. Raises KeyError for an unknown code."""
    if value is None:
        return None
    type_ = FIELDS[code].type
    if type_ in ("money", "fraction", "decimal"):
        return str(Decimal(value))
    if type_ == "integer":
        return int(value)
    if type_ == "date":
        return value.isoformat()
    if type_ == "set":
        return sorted(value)
    if type_ == "mapping":
        return {k: v.isoformat() for k, v in sorted(value.items())}
    return value


def decode_value(code: str, raw: Any) -> Any:
    """The inverse of encode_value: a JSON value -> the typed profile value. Raises KeyError for an unknown
    code, TypeError for a float (money is never float) or ValueError for a malformed value."""
    if raw is None:
        return None
    type_ = FIELDS[code].type
    if isinstance(raw, float):
        raise TypeError(f"字段 {code} 的值不能是浮点数：{raw!r}")
    if type_ in ("money", "fraction", "decimal"):
        return Decimal(str(raw))
    if type_ == "integer":
        return int(raw)
    if type_ == "date":
        return raw if isinstance(raw, datetime.date) else datetime.date.fromisoformat(raw)
    if type_ == "boolean":
        if not isinstance(raw, bool):
            raise ValueError(f"字段 {code} 应为布尔值，实为 {raw!r}")
        return raw
    if type_ == "set":
        return frozenset(raw)
    if type_ == "mapping":
        return {k: (v if isinstance(v, datetime.date) else datetime.date.fromisoformat(v)) for k, v in raw.items()}
    return str(raw)
