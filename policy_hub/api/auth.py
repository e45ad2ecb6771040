"""Token authentication: ``POST /api/v1/auth/token`` and the bearer check every other endpoint relies on."""

from __future__ import annotations

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from policy_hub.extensions import db
from policy_hub.models import User
from policy_hub.schemas.auth import TokenRequestSchema, TokenSchema
from policy_hub.schemas.common import ApiErrorSchema
from policy_hub.services import ServiceError
from policy_hub.services.users import authenticate, issue_token, user_for_token

SECURITY_SCHEME = "bearerAuth"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


def current_user() -> User:
    """The user behind the request's bearer token (set by :func:`require_token`)."""
    return g.api_user


def require_token() -> None:
    """``before_request`` of every protected blueprint: a valid ``Authorization: Bearer <token>`` or 401."""
    if request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("缺少访问令牌：请在请求头中提供 Authorization: Bearer <token>")
    user = user_for_token(token.strip())
    if user is None:
        raise Unauthorized("访问令牌无效或已失效，请重新获取")
    g.api_user = user


def protected_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    """A smorest Blueprint whose every view requires a valid bearer token."""
    blp = Blueprint(name, import_name, **kwargs)
    blp.before_request(require_token)
    return blp


blp = Blueprint("api_auth", __name__, url_prefix="/api/v1/auth", description="Token authentication")


@blp.route("/token")
class TokenResource(MethodView):
    @blp.doc(security=[])
    @blp.arguments(TokenRequestSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, schema=ApiErrorSchema, description="wrong username or password")
    def post(self, data):
        """Issue an API token for a username and password; the user's previous token stops working."""
        user = authenticate(data["username"], data["password"])
        if user is None:
            raise Unauthorized("用户名或密码错误")
        token = issue_token(user)
        db.session.commit()
        return {"token": token, "token_type": "Bearer"}
