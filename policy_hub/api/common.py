"""Small helpers shared by the resource modules."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUTH_RESPONSES = {401: "missing or invalid bearer token", 403: "outside the caller's scope or role"}


def today_shanghai() -> date:
    """Today's date in Asia/Shanghai (the default as-of date)."""
    return datetime.now(SHANGHAI).date()


def document_errors(blp, *statuses: int):
    """Decorator adding the error-shape responses ``statuses`` (401, 403, 404, 409, ...) to an operation's doc."""
    from policy_hub.schemas.common import ApiErrorSchema

    descriptions = {**AUTH_RESPONSES, 404: "not found", 409: "state or budget conflict",
                    422: "invalid parameters"}

    def decorate(func):
        for status in statuses:
            func = blp.alt_response(status, schema=ApiErrorSchema, description=descriptions.get(status, ""))(func)
        return func

    return decorate
