"""Stored match results (eligible, unknown and superseded pairs)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from policy_hub.schemas.common import YuanFromFen

VERDICTS = ("eligible", "unknown", "superseded")


class MatchResultSchema(Schema):
    id = fields.Integer()
    credit_code = fields.String()
    item_id = fields.Integer()
    item_code = fields.String(attribute="item.code")
    item_region_code = fields.String(attribute="item.region_code")
    item_revision = fields.Integer()
    fiscal_year = fields.Integer()
    verdict = fields.String(metadata={"enum": list(VERDICTS)})
    amount = YuanFromFen(attribute="amount_fen", metadata={"description": "金额（元）；unknown 时为 null"})
    missing_fields = fields.List(fields.String())
    explanation = fields.Raw(metadata={"description": "clause by clause: each comparison, the values it saw, "
                                                      "and pass / fail / unknown"})
    as_of = fields.Date()


class MatchResultQuerySchema(Schema):
    verdict = fields.String(validate=validate.OneOf(VERDICTS))
    item_id = fields.Integer(validate=validate.Range(min=1))
    credit_code = fields.String(validate=validate.Length(equal=18))
