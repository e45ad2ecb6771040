"""Services own the transactions' contents: they load models, call the core, write back and ``flush()``.

They never ``commit()``: the request, CLI command or job that called them commits once.
"""

from __future__ import annotations

from flask import current_app

from importers import Limits


class ServiceError(Exception):
    """Base for errors a user can act on. ``status`` is the HTTP status; ``errors`` optional details."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: list | dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class InputRejected(ServiceError):
    """The input file or values were rejected; ``errors`` holds the row-level issues."""

    status = 422
    code = "input_rejected"


def import_limits(kind: str) -> Limits:
    """The configured ``importers.Limits`` for an ``items`` or ``feed`` file (see policy_hub.config)."""
    cfg = current_app.config
    return Limits(
        max_file_bytes=cfg["MAX_CONTENT_LENGTH"] if kind == "items" else cfg["FEED_MAX_BYTES"],
        max_rows=cfg["ITEM_MAX_ROWS"] if kind == "items" else cfg["FEED_MAX_ROWS"],
        max_unpacked_bytes=cfg["XLSX_MAX_UNPACKED_BYTES"],
        max_ratio=cfg["XLSX_MAX_RATIO"],
        max_columns=cfg["MAX_COLUMNS"],
    )
