"""``policy-hub items export|show`` and ``enterprises show``: item lists and 一企一档 profiles as files and JSON."""

from __future__ import annotations
