"""Reward items (奖补事项) as the API shows them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from policy_hub.schemas.common import YuanFromFen

MODES = ("apply_free", "instant_apply", "on_application")
STATUSES = ("draft", "listed", "delisted")


class ItemSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    region_code = fields.String()
    name = fields.String()
    policy_title = fields.String(allow_none=True)
    policy_doc_no = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    category = fields.String()
    mode = fields.String(metadata={"enum": list(MODES)})
    eligibility = fields.String(allow_none=True)
    conditions_text = fields.String(allow_none=True)
    amount_formula = fields.String(allow_none=True)
    standard_text = fields.String(allow_none=True)
    cap = YuanFromFen(attribute="cap_fen", metadata={"description": "单户上限（元）；null 表示不设上限"})
    budget = YuanFromFen(attribute="budget_fen", metadata={"description": "资金规模（元）"})
    reserved = YuanFromFen(attribute="reserved_fen", metadata={"description": "已审批预留（元）"})
    paid = YuanFromFen(attribute="paid_fen", metadata={"description": "已拨付（元）"})
    funding_source = fields.String(allow_none=True)
    paying_agency = fields.String(allow_none=True)
    fiscal_year = fields.Integer()
    apply_start = fields.Date(allow_none=True)
    apply_end = fields.Date(allow_none=True)
    period = fields.String(metadata={"enum": ["once", "yearly"]})
    exclusive_group = fields.String(allow_none=True)
    commitment_allowed = fields.Boolean()
    notice_days = fields.Integer()
    status = fields.String(metadata={"enum": list(STATUSES)})
    display_status = fields.String(metadata={"description": "status, or expired once the window has passed "
                                                            "(Asia/Shanghai today)"})
    revision = fields.Integer()


class ItemQuerySchema(Schema):
    region_code = fields.String(validate=validate.Regexp(r"^\d{6}$"),
                                metadata={"description": "only items of this region and the regions below it"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    mode = fields.String(validate=validate.OneOf(MODES))
