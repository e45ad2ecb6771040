"""``/api/v1/awards``: an enterprise's own awards, a finance bureau's queue, and the finance actions."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import func, select

from policy_hub.api.auth import current_user, protected_blueprint
from policy_hub.api.common import document_errors
from policy_hub.extensions import db
from policy_hub.models import Award, Item
from policy_hub.schemas.awards import AwardQuerySchema, AwardSchema, RejectSchema
from policy_hub.services import awards as award_service
from policy_hub.services.profiles import record_access
from policy_hub.services.users import can_see_region, require_role

blp = protected_blueprint("api_awards", __name__, url_prefix="/api/v1/awards",
                          description="Awards and finance review / approval")

# Read access besides the enterprise itself: the finance bureaus, and the province read-only.
AWARD_READERS = ("finance_reviewer", "finance_approver", "province_admin")


def _scoped(user, args):
    if user.role == "enterprise":
        query = select(Award).where(Award.credit_code == user.credit_code)
    else:
        require_role(user, *AWARD_READERS)
        item_ids = [i for i, code in db.session.execute(select(Item.id, Item.region_code))
                    if can_see_region(user, code)]
        query = select(Award).where(Award.item_id.in_(item_ids))
    for name in ("state", "item_id", "fiscal_year"):
        if args.get(name) is not None:
            query = query.where(getattr(Award, name) == args[name])
    return query


def _get(award_id: int) -> Award:
    user = current_user()
    if user.role != "enterprise":
        require_role(user, *AWARD_READERS)
    return award_service.get_award(user, award_id)


@blp.route("")
class Awards(MethodView):
    @blp.arguments(AwardQuerySchema, location="query")
    @blp.response(200, AwardSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    @document_errors(blp, 401, 403, 422)
    def get(self, args, pagination_parameters):
        """Enterprise: its own awards. Finance roles: awards of items in their region. Others: 403."""
        query = _scoped(current_user(), args)
        pagination_parameters.item_count = db.session.scalar(select(func.count()).select_from(query.subquery()))
        page = (query.order_by(Award.id).offset(pagination_parameters.first_item)
                .limit(pagination_parameters.page_size))
        rows = list(db.session.scalars(page))
        record_access(current_user(), [a.credit_code for a in rows], "GET /api/v1/awards")  # explanations hold
        db.session.commit()  # profile values: item 15 records of data use
        return rows


@blp.route("/<int:award_id>")
class AwardById(MethodView):
    @blp.response(200, AwardSchema)
    @document_errors(blp, 401, 403, 404)
    def get(self, award_id):
        """One award: the enterprise's own, or one in a finance user's region."""
        award = _get(award_id)
        record_access(current_user(), [award.credit_code], f"GET /api/v1/awards/{award_id}")
        db.session.commit()
        return award


@blp.route("/<int:award_id>/review")
class ReviewAward(MethodView):
    @blp.response(200, AwardSchema)
    @document_errors(blp, 401, 403, 404, 409)
    def post(self, award_id):
        """First finance check (初审) by a finance reviewer of the item's region."""
        award = award_service.review(current_user(), award_id)
        db.session.commit()
        return award


@blp.route("/<int:award_id>/approve")
class ApproveAward(MethodView):
    @blp.response(200, AwardSchema)
    @document_errors(blp, 401, 403, 404, 409)
    def post(self, award_id):
        """Approval (reserves the budget) by a finance approver who is not the reviewer; above the threshold a
        second approver (a third person) is needed. Eligibility and budget are re-checked."""
        award = award_service.approve(current_user(), award_id)
        db.session.commit()
        return award


@blp.route("/<int:award_id>/reject")
class RejectAward(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, AwardSchema)
    @document_errors(blp, 401, 403, 404, 409, 422)
    def post(self, data, award_id):
        """Reject (退回) with a reason, by a finance reviewer or approver."""
        award = award_service.reject(current_user(), award_id, data["reason"])
        db.session.commit()
        return award
