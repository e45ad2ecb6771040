"""The enterprise profile (一企一档) as the API shows it: JSON-encoded values and their sources."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ProfileSchema(Schema):
    credit_code = fields.String()
    name = fields.String(allow_none=True)
    fiscal_year = fields.Integer()
    as_of = fields.Date()
    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                         metadata={"description": "field code -> value: money and fractions as decimal strings "
                                                  "(元 / 0-1), dates ISO, sets as sorted lists, mappings of "
                                                  "qualification -> ISO date; null = unknown"})
    sources = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "field code -> source department (market, tax, hr, "
                                                   "qualifications, credit, derived)"})


class ProfileQuerySchema(Schema):
    fiscal_year = fields.Integer(load_default=2025, validate=validate.Range(min=2000, max=2100))
    as_of = fields.Date(metadata={"description": "assessment date; default today in Asia/Shanghai"})
