"""Awards as the API shows them. The payee account is only ever shown masked."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from policy_hub.schemas.common import YuanFromFen

# Payee accounts are visible (masked) to finance roles and the enterprise itself only (issue 5, item 4).
SEES_ACCOUNT = ("enterprise", "finance_reviewer", "finance_approver")


def _masked_account(award) -> str | None:
    user = g.get("api_user")
    if user is None or user.role not in SEES_ACCOUNT:
        return None
    return f"**** {award.payee_account_last4}" if award.payee_account_last4 else None


class AwardSchema(Schema):
    id = fields.Integer()
    item_id = fields.Integer()
    item_code = fields.String(attribute="item.code")
    item_region_code = fields.String(attribute="item.region_code")
    item_revision = fields.Integer()
    credit_code = fields.String()
    fiscal_year = fields.Integer()
    kind = fields.String(metadata={"enum": ["apply_free", "instant_apply"]})
    state = fields.String()
    amount = YuanFromFen(attribute="amount_fen", allow_none=False)
    explanation = fields.Raw()
    payee_account = fields.Function(_masked_account, allow_none=True,
                                    metadata={"type": "string", "example": "**** 1234",
                                              "description": "masked: the last four digits only"})
    reason = fields.String(allow_none=True)
    flagged = fields.String(allow_none=True)
    notice_until = fields.Date(allow_none=True)
    created_at = fields.DateTime(format="iso", metadata={"description": "UTC, ISO 8601"})


class AwardQuerySchema(Schema):
    state = fields.String(validate=validate.Length(min=1, max=32))
    item_id = fields.Integer(validate=validate.Range(min=1))
    fiscal_year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class RejectSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                           metadata={"description": "退回原因（必填）"})
