"""REST API under /api/v1 (flask-smorest): token auth, items, match results, awards, enterprise profiles.

The OpenAPI document is served at /api/v1/openapi.json. Every endpoint except ``POST /api/v1/auth/token``
needs ``Authorization: Bearer <token>``; every error has the body ``{code, status, message, errors}``.
"""

from __future__ import annotations

from flask_smorest import Api

from policy_hub.api.auth import SECURITY_SCHEME
from policy_hub.schemas.common import ApiErrorSchema


def _document_security_and_errors(api: Api) -> None:
    """Bearer scheme, applied to every operation by default (the token endpoint opts out), and our error body
    in place of flask-smorest's default error schema."""
    api.spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "http", "scheme": "bearer", "description": "token from POST /api/v1/auth/token"})
    api.spec.options["security"] = [{SECURITY_SCHEME: []}]
    # The default responses were registered lazily in init_app with smorest's ErrorSchema: register them again.
    api.ERROR_SCHEMA = ApiErrorSchema
    api._register_responses()
    api.spec.components.schemas.pop("Error", None)


def register_api(api: Api) -> None:
    """Register every resource blueprint on the smorest Api."""
    from policy_hub.api import auth, awards, items, match_results, profiles

    _document_security_and_errors(api)
    for module in (auth, items, match_results, awards, profiles):
        api.register_blueprint(module.blp)
