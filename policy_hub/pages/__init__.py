"""Server-rendered pages in Simplified Chinese (Jinja)."""

from __future__ import annotations


def register_pages(app) -> None:
    """Register the page blueprints."""
