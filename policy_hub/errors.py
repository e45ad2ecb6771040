"""Maps core and service errors to HTTP responses in one place: ``{code, status, message, errors}``.

Only requests under ``/api/`` get the JSON body. Elsewhere a service or core error propagates (the pages
blueprint handles it, or Flask turns it into its default 500) and an HTTPException keeps Flask's default page.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, jsonify, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from disbursement.errors import (
    BudgetExceeded,
    DisbursementError,
    InvalidTransition,
    MakerCheckerError,
    MissingReason,
    ReturnFileError,
)
from importers.errors import FileTooLargeError, ImportFileError, MissingColumnsError
from policy_hub.services import ServiceError
from rules.errors import RuleError

logger = logging.getLogger(__name__)
API_PREFIX = "/api/"


def _is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, code: str, message: str, errors=None, headers: dict | None = None):
    """The JSON error body with exactly the keys code (slug), status (int), message (中文) and errors."""
    body = {"code": code, "status": status, "message": message, "errors": errors if errors is not None else []}
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _service_error(exc: ServiceError):
    return error_response(exc.status, exc.code, exc.message, exc.errors)


def _rule_error(exc: RuleError):
    return error_response(422, "rule_error", exc.message, [exc.to_dict()])


def _import_file_error(exc: ImportFileError):
    if isinstance(exc, FileTooLargeError):
        return error_response(413, "file_too_large", exc.message)
    errors = [{"column": name, "message": "缺少此列"} for name in exc.missing] \
        if isinstance(exc, MissingColumnsError) else []
    return error_response(422, "import_file_error", exc.message, errors)


def _disbursement_error(exc: DisbursementError):
    if isinstance(exc, MissingReason):
        return error_response(422, "missing_reason", str(exc))
    if isinstance(exc, ReturnFileError):
        return error_response(422, "return_file_error", str(exc), [
            {"sheet": exc.sheet, "row": exc.row, "column": exc.column, "value": None if exc.value is None
             else str(exc.value), "message": exc.message}])
    codes = ((InvalidTransition, "invalid_transition"), (MakerCheckerError, "maker_checker"),
             (BudgetExceeded, "budget_exceeded"))
    code = next((c for cls, c in codes if isinstance(exc, cls)), "disbursement_error")
    return error_response(409, code, str(exc))


def _http_error(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    message = data.get("message") or exc.description or exc.name
    errors = data.get("errors", data.get("messages", []))
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    return error_response(exc.code or 500, _slug(exc.name), message, errors, headers)


def _api_only(handler):
    """Run ``handler`` for API requests; elsewhere re-raise (or, for HTTPExceptions, use Flask's default)."""

    def handle(exc):
        if _is_api_request():
            return handler(exc)
        if isinstance(exc, HTTPException):
            return exc
        raise exc

    handle.__name__ = handler.__name__
    return handle


def _data_error(exc: Exception):
    """A number too large for the database (PostgreSQL DataError, SQLite OverflowError): the request's fault."""
    logger.info("request rejected as out of range: %s", exc)
    return error_response(400, "bad_request", "请求参数超出范围（例如页码或编号过大）")


def _unexpected(exc: Exception):
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_server_error", "服务器内部错误，请稍后重试或联系管理员")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers (replacing flask-smorest's HTTPException handler, whose body differs)."""
    app.register_error_handler(ServiceError, _api_only(_service_error))
    app.register_error_handler(RuleError, _api_only(_rule_error))
    app.register_error_handler(ImportFileError, _api_only(_import_file_error))
    app.register_error_handler(DisbursementError, _api_only(_disbursement_error))
    app.register_error_handler(HTTPException, _api_only(_http_error))
    app.register_error_handler(DataError, _api_only(_data_error))
    app.register_error_handler(OverflowError, _api_only(_data_error))
    app.register_error_handler(Exception, _api_only(_unexpected))
