"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from policy_hub.config import load_config
from policy_hub.extensions import api, db, login_manager, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


class BoundedIdConverter(IntegerConverter):
    """``<int:...>`` limited to 1..2**31-1, the range of the INTEGER id columns on every backend."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config from POLICY_HUB_* (overridden by ``test_config``), extensions, blueprints."""
    app = Flask(__name__, instance_relative_config=True)
    # Ids in URLs fit the INTEGER primary keys: a larger number is simply not found (404), never a DB error.
    app.url_map.converters["int"] = BoundedIdConverter
    app.config.update(load_config(app.instance_path, test_config))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    login_manager.init_app(app)
    api.init_app(app)

    from policy_hub import models  # noqa: F401  (register the tables)
    from policy_hub.api import register_api
    from policy_hub.errors import register_error_handlers
    from policy_hub.pages import register_pages

    register_api(api)
    register_pages(app)
    register_error_handlers(app)
    return app
