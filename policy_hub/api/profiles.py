"""Enterprise profiles (一企一档): ``/api/v1/me/profile`` and ``/api/v1/enterprises/<credit_code>/profile``.

Reads by region roles are recorded (ProfileAccess) in the same transaction as the response.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from policy_hub.api.auth import current_user, protected_blueprint
from policy_hub.api.common import document_errors, today_shanghai
from policy_hub.extensions import db
from policy_hub.schemas.profiles import ProfileQuerySchema, ProfileSchema
from policy_hub.services import Forbidden
from policy_hub.services.profiles import PROFILE_READERS, read_profile
from policy_hub.services.users import require_role

blp = protected_blueprint("api_profiles", __name__, url_prefix="/api/v1", description="Enterprise profiles (一企一档)")


@blp.route("/me/profile")
class MyProfile(MethodView):
    @blp.arguments(ProfileQuerySchema, location="query")
    @blp.response(200, ProfileSchema)
    @document_errors(blp, 401, 403, 404, 422)
    def get(self, args):
        """The calling enterprise's own profile for ``fiscal_year`` (default 2025) as of ``as_of``."""
        user = current_user()
        if user.role != "enterprise":
            raise Forbidden("仅企业用户可查看本企业档案；其他角色请使用 /enterprises/<credit_code>/profile")
        return read_profile(user, user.credit_code, f"GET {request.path}", args["fiscal_year"],
                            args.get("as_of") or today_shanghai())


@blp.route("/enterprises/<string:credit_code>/profile")
class EnterpriseProfile(MethodView):
    @blp.arguments(ProfileQuerySchema, location="query")
    @blp.response(200, ProfileSchema)
    @document_errors(blp, 401, 403, 404, 422)
    def get(self, args, credit_code):
        """An enterprise's profile for a region role within scope; the read is recorded (item 15).
        Enterprises use /me/profile."""
        user = current_user()
        require_role(user, *PROFILE_READERS)
        result = read_profile(user, credit_code, f"GET {request.path}", args["fiscal_year"],
                              args.get("as_of") or today_shanghai())
        db.session.commit()
        return result
