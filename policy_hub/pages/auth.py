"""Login, logout and the role's home."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from policy_hub.pages.common import home_url, page_blueprint
from policy_hub.services.users import authenticate

bp = page_blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only a local path may be a post-login target (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.get("/")
def index():
    return redirect(home_url(current_user) if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(home_url(current_user))
        return render_template("login.html", next=request.args.get("next", ""))
    user = authenticate(request.form.get("username", "").strip(), request.form.get("password", ""))
    if user is None:
        flash("用户名或密码错误", "error")
        return render_template("login.html", next=request.form.get("next", "")), 401
    login_user(user)
    return redirect(_safe_next(request.form.get("next")) or home_url(user))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if current_user.is_authenticated:
        logout_user()
        flash("已退出登录", "info")
    return redirect(url_for("auth.login"))
