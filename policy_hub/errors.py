"""Maps core and service errors to HTTP responses in one place: ``{code, status, message, errors}``."""

from __future__ import annotations

from flask import Flask


def register_error_handlers(app: Flask) -> None:
    pass
