"""Shared page plumbing: role checks, the error page, CSRF, uploads, dates and display filters."""

from __future__ import annotations

import io
import logging
import re
import secrets
from datetime import date, datetime
from functools import wraps
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request, send_file, session, url_for
from flask_login import current_user
from sqlalchemy.exc import DataError
from werkzeug.exceptions import RequestEntityTooLarge

from disbursement.errors import DisbursementError
from disbursement.states import STATE_LABELS
from importers.errors import ImportFileError, Issue
from importers.report import write_error_report
from importers.source import load_sheets
from policy_hub.extensions import db
from policy_hub.services import Forbidden, InputRejected, NotFound, ServiceError
from rules.money import format_yuan
from rules.regions import regions

logger = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
ROLE_HOME = {
    "enterprise": "enterprise.home", "city_admin": "admin.items", "data_officer": "data.home",
    "finance_reviewer": "finance.queue", "finance_approver": "finance.queue", "province_admin": "province.home",
}
MODE_LABELS = {"apply_free": "免申即享", "instant_apply": "即申即享", "on_application": "依申请"}
ITEM_STATUS_LABELS = {"draft": "草稿", "listed": "已上架", "delisted": "已下架", "expired": "已过期"}
OUTCOME_LABELS = {"pass": "符合", "fail": "不符合", "unknown": "未知"}
UPLOAD_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".csv")
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
MAX_REMEMBERED_UPLOADS = 10


def home_url(user) -> str:
    return url_for(ROLE_HOME.get(user.role, "auth.login"))


def roles_required(*roles: str):
    """Page decorator: login required (redirect to /login), then one of ``roles`` (403 page otherwise)."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from policy_hub.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                raise Forbidden("当前账号的角色无权访问此页面")
            return view(*args, **kwargs)

        return wrapped

    return decorate


def today() -> date:
    """Today in Asia/Shanghai (the default report and assessment date)."""
    return datetime.now(SHANGHAI).date()


def date_arg(name: str = "on") -> date:
    """``?on=YYYY-MM-DD`` or today; a malformed date is refused (422)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputRejected(f"日期参数 {name}={raw} 无效，应为 YYYY-MM-DD") from None


# -- errors ----------------------------------------------------------------------------------------------

def _error_page(status: int, message: str, errors=None):
    db.session.rollback()
    back = request.referrer or (home_url(current_user) if current_user.is_authenticated else url_for("auth.login"))
    return render_template("error.html", status=status, message=message, errors=errors or [], back=back), status


def handle_service_error(exc: ServiceError):
    errors = exc.errors if isinstance(exc.errors, list) else [exc.errors]
    return _error_page(exc.status, exc.message, errors)


def handle_import_file_error(exc: ImportFileError):
    return _error_page(422, exc.message)


def handle_disbursement_error(exc: DisbursementError):
    return _error_page(422, str(exc))


def handle_data_error(_exc):
    db.session.rollback()
    return render_template("error.html", status=400, message="请求参数超出范围（例如编号过大）"), 400


def handle_too_large(_exc):
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return _error_page(413, f"上传的文件过大，上限为 {limit // (1024 * 1024)} MB")


def page_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    """A page blueprint: CSRF check on POST, and service errors raised in its views become a Chinese error
    page with the right status (policy_hub.errors serves the API)."""
    bp = Blueprint(name, import_name, **kwargs)
    bp.before_request(check_csrf)
    install_error_handlers(bp)
    return bp


def install_error_handlers(bp: Blueprint) -> None:
    bp.register_error_handler(ServiceError, handle_service_error)
    bp.register_error_handler(ImportFileError, handle_import_file_error)
    bp.register_error_handler(DisbursementError, handle_disbursement_error)
    bp.register_error_handler(RequestEntityTooLarge, handle_too_large)
    bp.register_error_handler(DataError, handle_data_error)
    bp.register_error_handler(OverflowError, handle_data_error)


# -- CSRF ------------------------------------------------------------------------------------------------

def csrf_token() -> str:
    if "_csrf" not in session:
        session["_csrf"] = secrets.token_hex(16)
    return session["_csrf"]


def check_csrf() -> None:
    """Refuse a POST without this session's token (disabled when WTF_CSRF_ENABLED is false, as in tests)."""
    if request.method != "POST" or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    sent = request.form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent, session.get("_csrf", "")):
        raise ServiceError("表单已过期或来源无效，请刷新页面后重试")


# -- uploads ---------------------------------------------------------------------------------------------

def save_upload(kind: str, field: str = "file", **meta) -> tuple[str, Path, str]:
    """Store the uploaded file under UPLOAD_DIR with a random name; remember it in the session for this user.

    Returns (token, path, the client's file name as a label only). Raises InputRejected.
    """
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise InputRejected("请选择要上传的文件")
    original = PurePosixPath(upload.filename.replace("\\", "/")).name[:200]
    ext = PurePosixPath(original).suffix.lower()
    if ext not in UPLOAD_EXTENSIONS:
        raise InputRejected(f"不支持的文件类型“{ext or '无扩展名'}”，请上传 xlsx 或 csv 文件")
    token = secrets.token_hex(16)
    # A random folder per upload, keeping the user's base name so previews name the file they know.
    path = _upload_path(token, original)
    path.parent.mkdir(parents=True, exist_ok=True)
    upload.save(path)
    uploads = dict(session.get("uploads", {}))
    uploads[token] = {"kind": kind, "ext": ext, "filename": original, "user": current_user.id, **meta}
    session["uploads"] = dict(list(uploads.items())[-MAX_REMEMBERED_UPLOADS:])
    logger.info("upload %s (%s) stored as %s", kind, ext, token)
    return token, path, original


def _upload_path(token: str, original: str) -> Path:
    name = "".join(ch for ch in original if ch.isprintable() and ch not in "/\\:") or "upload"
    if name.startswith("."):
        name = "upload" + name
    return Path(current_app.config["UPLOAD_DIR"]) / token / name


def stored_upload(token: str, kind: str) -> tuple[Path, dict]:
    """The file of an earlier upload by this user in this session; NotFound when unknown or gone."""
    meta = session.get("uploads", {}).get(token or "")
    if not TOKEN_RE.match(token or "") or not meta or meta["kind"] != kind or meta["user"] != current_user.id:
        raise NotFound("找不到该上传文件，请重新上传")
    path = _upload_path(token, meta["filename"])
    if not path.is_file():
        raise NotFound("上传的文件已失效，请重新上传")
    return path, meta


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_ALL_ROWS_UP_TO = 50_000  # larger files get only the header and the rows with errors


def send_xlsx(write, download_name: str):
    """Send an xlsx built by ``write(stream)`` as a download."""
    buf = io.BytesIO()
    write(buf)
    buf.seek(0)
    return send_file(buf, mimetype=XLSX_MIME, as_attachment=True, download_name=download_name)


def send_error_report(path: Path, issues: list[dict], filename: str, header_rows: dict[str, int] | None = None):
    """Download of a preview's error report: the uploaded file's rows plus a 错误原因 column (xlsx).

    ``issues`` are the preview's ``{sheet,row,column,value,message}`` dicts; ``header_rows`` (sheet -> row)
    puts the column title on the header row. Shared by the item and feed previews.
    """
    sheets = [(s.name, s.rows) for s in load_sheets(path)]
    found = [Issue(str(e.get("sheet") or ""), int(e.get("row") or 0), str(e.get("column") or ""),
                   str(e.get("value") if e.get("value") is not None else ""), str(e.get("message") or ""))
             for e in issues]
    large = sum(len(rows) for _, rows in sheets) > REPORT_ALL_ROWS_UP_TO
    name = PurePosixPath(filename).stem + "_错误报告.xlsx"
    return send_xlsx(lambda out: write_error_report(sheets, found, out, header_rows=header_rows,
                                                    only_error_rows=large), name)


# -- display ---------------------------------------------------------------------------------------------

def yuan(fen) -> str:
    return "—" if fen is None else format_yuan(fen)


def shanghai(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def region_name(code) -> str:
    region = regions().get(code or "")
    return region.full_name if region else (code or "")


_QUOTED = re.compile(r"('[^']*'|\"[^\"]*\")")
_WORDS = ((re.compile(r"\band\b"), "且"), (re.compile(r"\bor\b"), "或"), (re.compile(r"\bnot\b"), "非"),
          (re.compile(r"\bin\b"), "属于"), (re.compile(r"\$min\b"), "取较小值"), (re.compile(r"\$max\b"), "取较大值"),
          (re.compile(r"\$abs\b"), "绝对值"), (re.compile(r"\$sum\b"), "求和"), (re.compile(r"\btrue\b"), "是"),
          (re.compile(r"\bfalse\b"), "否"))


def rule_words(text: str | None) -> str:
    """A rule as shown to people: operators in Chinese (且/或/非/属于), string literals untouched."""
    parts = _QUOTED.split(text or "")
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        for pattern, word in _WORDS:
            parts[i] = pattern.sub(word, parts[i])
    return "".join(parts)


def install_template_helpers(app) -> None:
    app.jinja_env.filters.update(
        yuan=yuan, shanghai=shanghai, region_name=region_name,
        state_label=lambda s: STATE_LABELS.get(s, s), mode_label=lambda m: MODE_LABELS.get(m, m),
        item_status_label=lambda s: ITEM_STATUS_LABELS.get(s, s),
        outcome_label=lambda o: OUTCOME_LABELS.get(o, o), rule_words=rule_words,
    )
    app.jinja_env.globals.update(csrf_token=csrf_token)
