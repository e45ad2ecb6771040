"""Server-rendered pages in Simplified Chinese (Jinja), one blueprint per role."""

from __future__ import annotations

from flask import Flask

from policy_hub.extensions import db, login_manager
from policy_hub.pages.common import install_template_helpers


def _load_user(user_id: str):
    from policy_hub.models import User

    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


def register_pages(app: Flask) -> None:
    """Register the page blueprints, the session login and the template helpers."""
    from policy_hub.pages import admin, auth, conflicts, data, enterprise, finance, province

    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    install_template_helpers(app)
    for module in (auth, enterprise, admin, data, conflicts, finance, province):
        app.register_blueprint(module.bp)
