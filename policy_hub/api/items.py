"""``/api/v1/items``: the reward items the caller may see."""

from __future__ import annotations

from flask.views import MethodView

from policy_hub.api.auth import current_user, protected_blueprint
from policy_hub.api.common import document_errors, today_shanghai
from policy_hub.schemas.items import ItemQuerySchema, ItemSchema
from policy_hub.services.items import get_item, visible_items
from rules import regions

blp = protected_blueprint("api_items", __name__, url_prefix="/api/v1/items",
                          description="Reward items (奖补事项)")


class _ItemView:
    """An item plus its display status for ``today``, without touching the ORM object."""

    def __init__(self, item, today):
        self._item = item
        self.display_status = item.display_status(today)

    def __getattr__(self, name):
        return getattr(self._item, name)


@blp.route("")
class Items(MethodView):
    @blp.arguments(ItemQuerySchema, location="query")
    @blp.response(200, ItemSchema(many=True))
    @document_errors(blp, 401, 422)
    def get(self, args):
        """Items visible to the caller (a region and the regions below it; enterprises: listed items)."""
        items = visible_items(current_user())
        if args.get("region_code"):
            items = [i for i in items if regions.within(i.region_code, args["region_code"])]
        if args.get("status"):
            items = [i for i in items if i.status == args["status"]]
        if args.get("mode"):
            items = [i for i in items if i.mode == args["mode"]]
        today = today_shanghai()
        return [_ItemView(i, today) for i in items]


@blp.route("/<int:item_id>")
class ItemById(MethodView):
    @blp.response(200, ItemSchema)
    @document_errors(blp, 401, 403, 404)
    def get(self, item_id):
        """One item; 403 outside the caller's region, 404 when unknown (or not listed, for enterprises)."""
        return _ItemView(get_item(current_user(), item_id), today_shanghai())
