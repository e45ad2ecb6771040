"""REST API under /api/v1 (flask-smorest)."""

from __future__ import annotations


def register_api(api) -> None:
    """Register every resource blueprint on the smorest Api."""
