"""All configuration, read once from ``POLICY_HUB_*`` environment variables. Nothing else reads os.environ."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

PREFIX = "POLICY_HUB_"
DEMO_SECRET = "demo-only-secret-not-for-production"
# A valid Fernet key, for demo/test only: production must set POLICY_HUB_ACCOUNT_KEYS.
DEMO_ACCOUNT_KEY = "k1:ZGVtby1vbmx5LWtleS1kby1ub3QtdXNlLWluLXByb2Q="


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(PREFIX + name)
    return value if value not in (None, "") else default


def _number(name: str, default: str, kind):
    raw = _env(name, default)
    try:
        value = kind(raw)
    except (ValueError, ArithmeticError):
        raise ConfigError(f"{PREFIX}{name} must be a number, not {raw!r}") from None
    if isinstance(value, Decimal) and not value.is_finite():
        raise ConfigError(f"{PREFIX}{name} must be a finite number, not {raw!r}")
    if value < 0:
        raise ConfigError(f"{PREFIX}{name} must not be negative, not {raw!r}")
    return value


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Flask config mapping from the environment.

    Settings (all optional in ``demo``/``test``, the default env):
      POLICY_HUB_ENV            demo | test | production
      POLICY_HUB_DATABASE_URL   SQLAlchemy URL; default a SQLite file in instance/
      POLICY_HUB_REDIS_URL      Redis URL; unset means jobs run inline
      POLICY_HUB_SECRET_KEY     session signing key; required in production
      POLICY_HUB_ACCOUNT_KEYS   "keyid:fernetkey[,keyid:fernetkey...]", first one encrypts; required in production
      POLICY_HUB_SECOND_APPROVAL_YUAN  awards above this need a second approver (元, default 500000)
      POLICY_HUB_QUOTA_TARGET   redeemable items each city must list (default 100, 晋政发〔2024〕8号 item 18)
      POLICY_HUB_MAX_UPLOAD_MB  upload size limit, also the cap on item-list files (default 20)
      POLICY_HUB_FEED_MAX_MB    cap on department feed files imported from the command line (default 512)
      POLICY_HUB_ITEM_MAX_ROWS / POLICY_HUB_FEED_MAX_ROWS  data rows per sheet (defaults 100000 / 2000000)
      POLICY_HUB_MAX_COLUMNS    columns per sheet (default 200)
      POLICY_HUB_XLSX_MAX_UNPACKED_MB / POLICY_HUB_XLSX_MAX_RATIO  zip-bomb caps of an xlsx (defaults 200 / 100)
    """
    overrides = overrides or {}
    env = overrides.get("POLICY_HUB_ENV") or _env("ENV", "demo")
    if env not in ("demo", "test", "production"):
        raise ConfigError(f"POLICY_HUB_ENV must be demo, test or production, not {env!r}")
    secret = _env("SECRET_KEY")
    keys = _env("ACCOUNT_KEYS")
    if env == "production" and (not secret or not keys):
        raise ConfigError("POLICY_HUB_SECRET_KEY and POLICY_HUB_ACCOUNT_KEYS are required in production")
    db_url = _env("DATABASE_URL") or "sqlite:///" + str(Path(instance_path) / "policy_hub.sqlite")
    max_mb = _number("MAX_UPLOAD_MB", "20", int)
    config = {
        "POLICY_HUB_ENV": env,
        "SECRET_KEY": secret or DEMO_SECRET,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": _env("REDIS_URL"),
        "ACCOUNT_KEYS": keys or DEMO_ACCOUNT_KEY,
        "SECOND_APPROVAL_YUAN": _number("SECOND_APPROVAL_YUAN", "500000", Decimal),
        "QUOTA_TARGET": _number("QUOTA_TARGET", "100", int),
        "MAX_CONTENT_LENGTH": max_mb * 1024 * 1024,
        "UPLOAD_DIR": str(Path(instance_path) / "uploads"),
        "FEED_MAX_BYTES": _number("FEED_MAX_MB", "512", int) * 1024 * 1024,
        "ITEM_MAX_ROWS": _number("ITEM_MAX_ROWS", "100000", int),
        "FEED_MAX_ROWS": _number("FEED_MAX_ROWS", "2000000", int),
        "MAX_COLUMNS": _number("MAX_COLUMNS", "200", int),
        "XLSX_MAX_UNPACKED_BYTES": _number("XLSX_MAX_UNPACKED_MB", "200", int) * 1024 * 1024,
        "XLSX_MAX_RATIO": float(_number("XLSX_MAX_RATIO", "100", Decimal)),
        "API_TITLE": "Policy Hub API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_AS_ASCII": False,
        # Fault injection for the lost-worker test: a partition job dies after staging half its output.
        "TEST_CRASH_PARTITION": _env("TEST_CRASH_PARTITION") if env == "test" else None,
    }
    config.update(overrides)
    return config
