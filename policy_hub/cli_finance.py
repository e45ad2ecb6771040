"""``policy-hub awards|payouts|stats`` and ``audit anchor``: finance operations, the same services as the pages."""

from __future__ import annotations
