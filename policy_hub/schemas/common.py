"""Schemas and fields shared by every resource: the error body and money as 元 strings."""

from __future__ import annotations

from marshmallow import Schema, fields

from rules.money import format_yuan


class YuanFromFen(fields.String):
    """Integer 分 on the model -> a decimal string in 元 with two places (``"12345.67"``); None stays null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dump_only", True)
        kwargs.setdefault("allow_none", True)
        metadata = {"description": "金额（元），两位小数的字符串", "example": "12345.67",
                    "pattern": r"^-?\d+\.\d{2}$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_yuan(int(value))


class ApiErrorSchema(Schema):
    """Every error body: ``{code, status, message, errors}``."""

    code = fields.String(required=True, metadata={"description": "machine-readable slug, e.g. not_found"})
    status = fields.Integer(required=True, metadata={"description": "HTTP status"})
    message = fields.String(required=True, metadata={"description": "中文说明"})
    errors = fields.Raw(required=True, metadata={"description": "details: a list of issues or a mapping of "
                                                                 "field -> messages; empty when none"})
