"""``/api/v1/match-results``: stored verdicts, paginated; region users see their items', enterprises their own."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import func, select

from policy_hub.api.auth import current_user, protected_blueprint
from policy_hub.api.common import document_errors
from policy_hub.extensions import db
from policy_hub.models import Item, MatchResult
from policy_hub.schemas.matching import MatchResultQuerySchema, MatchResultSchema
from policy_hub.services.profiles import record_access
from policy_hub.services.users import can_see_region

blp = protected_blueprint("api_match_results", __name__, url_prefix="/api/v1/match-results",
                          description="Match results: eligible, unknown and superseded pairs")


def _scoped(user, args):
    """The caller's match results as a SELECT, filtered by ``args``; None when nothing is in scope."""
    query = select(MatchResult)
    if user.role == "enterprise":
        query = query.where(MatchResult.credit_code == user.credit_code)
    else:
        # Items are few (hundreds); the region test lives in rules.regions, so scope them in Python.
        item_ids = [i for i, code in db.session.execute(select(Item.id, Item.region_code))
                    if can_see_region(user, code)]
        query = query.where(MatchResult.item_id.in_(item_ids))
    for name in ("verdict", "item_id", "credit_code"):
        if args.get(name) is not None:
            query = query.where(getattr(MatchResult, name) == args[name])
    return query


@blp.route("")
class MatchResults(MethodView):
    @blp.arguments(MatchResultQuerySchema, location="query")
    @blp.response(200, MatchResultSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    @document_errors(blp, 401, 422)
    def get(self, args, pagination_parameters):
        """Match results in the caller's scope, ordered by credit code then item; paging in ``X-Pagination``."""
        query = _scoped(current_user(), args)
        pagination_parameters.item_count = db.session.scalar(select(func.count()).select_from(query.subquery()))
        page = (query.order_by(MatchResult.credit_code, MatchResult.item_id, MatchResult.fiscal_year)
                .offset(pagination_parameters.first_item).limit(pagination_parameters.page_size))
        rows = list(db.session.scalars(page))
        # Explanations and inputs hold profile values: item 15 asks for a record of every such read.
        record_access(current_user(), [r.credit_code for r in rows], "GET /api/v1/match-results")
        db.session.commit()
        return rows
