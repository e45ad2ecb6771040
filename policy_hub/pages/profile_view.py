"""The profile (一企一档) as shown on pages: key fields, display values, source departments."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import request

from policy_hub.pages.common import region_name, today
from policy_hub.services.profiles import provenance, read_profile
from rules import FIELDS, SOURCES
from rules.money import format_yuan, yuan_to_fen

KEY_FIELDS = (
    "name", "credit_code", "region_code", "established_on", "registered_capital", "entity_type", "industry_code",
    "operating_status", "abnormal_listed", "revenue", "revenue_prev", "total_assets", "tax_paid", "rd_expense",
    "tax_credit_rating", "employees", "ui_paid_months", "qualifications", "serious_dishonest", "scale",
)
UNITS = {"persons": " 人", "months": " 个月"}


def page_profile(user, credit_code: str) -> dict:
    """read_profile for the current page (recorded for staff), shaped for ``_profile.html``:
    ``{credit_code, name, region_name, fiscal_year, fields: [{label, value, source, filename, imported_at}]}``
    (file and UTC import time of the value's observation, None for derived or defaulted values)."""
    as_of = today()
    profile = read_profile(user, credit_code, f"{request.method} {request.path}", as_of.year - 1, as_of)
    values, sources = profile["values"], profile["sources"]
    where = provenance(credit_code, profile["fiscal_year"], sources)
    fields = [{"label": FIELDS[code].label, "value": show(code, values.get(code)),
               "source": SOURCES.get(sources.get(code), "—") if values.get(code) is not None else "—",
               "filename": where.get(code, {}).get("filename"), "imported_at": where.get(code, {}).get("imported_at")}
              for code in KEY_FIELDS]
    return {"credit_code": credit_code, "name": profile["name"], "fiscal_year": profile["fiscal_year"],
            "region_name": region_name(values.get("region_code")), "fields": fields}


def show(code: str, value) -> str:
    """An encoded profile value as text: money in 元 with two decimals, lists joined, booleans 是/否."""
    if value is None:
        return "未知"
    field = FIELDS[code]
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple | set | frozenset):
        return "、".join(str(v) for v in sorted(value)) or "无"
    if field.type == "money":
        try:
            return format_yuan(yuan_to_fen(Decimal(str(value)))) + " 元"
        except InvalidOperation:
            return str(value)
    if code == "region_code":
        return f"{value} {region_name(value)}"
    return f"{value}{UNITS.get(field.unit, '')}"
