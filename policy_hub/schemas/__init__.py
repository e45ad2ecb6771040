"""Marshmallow schemas of the REST API (one module per resource). Field names are DESIGN.md's codes."""
