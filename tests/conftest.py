"""Shared fixtures. App and database tests run on SQLite always, and on PostgreSQL when
POLICY_HUB_TEST_DATABASE_URL is set (CI sets it; with CI=true a missing or unreachable server fails the run)."""

from __future__ import annotations

import os
import shutil

import pytest

PG_URL = os.environ.get("POLICY_HUB_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("POLICY_HUB_TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_sessionstart(session):
    if IN_CI and not (PG_URL and REDIS_URL):
        raise pytest.UsageError("CI=true but POLICY_HUB_TEST_DATABASE_URL / POLICY_HUB_TEST_REDIS_URL are not set")


def pytest_collection_modifyitems(items):
    """A test that uses the ``loaded`` fixture (directly or through another fixture) starts from the loaded copy."""
    for item in items:
        if "loaded" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.loaded)


def _make_app(url: str, **extra):
    from policy_hub.app import create_app

    config = {"POLICY_HUB_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
              "TESTING": True, "WTF_CSRF_ENABLED": False, "SECOND_APPROVAL_YUAN": __import__("decimal").Decimal(
                  "500000")}
    config.update(extra)
    return create_app(config)


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = _make_app(url)
    with app.app_context():
        upgrade()
        from policy_hub.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "template.sqlite"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url():
    if not PG_URL:
        pytest.skip("POLICY_HUB_TEST_DATABASE_URL not set: PostgreSQL variant not run locally")
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:  # a clean schema, then the migrations (fails loudly if unreachable)
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    _migrate(PG_URL)
    return PG_URL


def _truncate_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        conn.execute(sa.text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        conn.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
    engine.dispose()


LOADED_USERS = {
    "admin": ("city_admin", "140100"),
    "officer": ("data_officer", "140000"),
    "reviewer": ("finance_reviewer", "140100"),
    "approver": ("finance_approver", "140100"),
    "approver2": ("finance_approver", "140100"),
}
_loaded_counts: dict[str, dict] = {}


def _load_examples(url: str) -> dict:
    """Taiyuan items, the five feeds and a match for 2026-06-30, committed into the database at ``url``."""
    from policy_hub.extensions import db
    from policy_hub.services.users import create_user
    from tests.app.helpers import load_feeds, load_items, run_match_committed

    app = _make_app(url)
    with app.app_context():
        users = {name: create_user(f"loaded-{name}", role, "password-123", region_code=region)
                 for name, (role, region) in LOADED_USERS.items()}
        db.session.commit()
        load_items(users["admin"])
        load_feeds(users["officer"])
        counts = run_match_committed()
        db.session.remove()
        db.engine.dispose()
    return counts


@pytest.fixture(scope="session")
def sqlite_loaded_template(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "loaded.sqlite"
    shutil.copy(sqlite_template, path)
    _loaded_counts["sqlite"] = _load_examples(f"sqlite:///{path}")
    return path


def _pg_admin(url: str):
    import sqlalchemy as sa

    return sa.create_engine(sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _pg_copy(pg_url: str, name: str, template: str) -> str:
    """(Re)create database ``name`` as a copy of ``template``; returns its URL."""
    import sqlalchemy as sa

    base = sa.engine.make_url(pg_url)
    admin = _pg_admin(pg_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_loaded_template(pg_url):
    """A PostgreSQL database holding the loaded examples, cloned per test with CREATE DATABASE ... TEMPLATE."""
    import sqlalchemy as sa

    base = sa.engine.make_url(pg_url).database
    url = _pg_copy(pg_url, f"{base}_loaded", base)
    _truncate_pg(url)
    _loaded_counts["postgresql"] = _load_examples(url)
    return f"{base}_loaded"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A migrated database of each backend: empty, or (tests marked ``loaded``) holding the loaded examples."""
    loaded = request.node.get_closest_marker("loaded") is not None
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite"
        template = "sqlite_loaded_template" if loaded else "sqlite_template"
        shutil.copy(request.getfixturevalue(template), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    if loaded:
        base = url.rsplit("/", 1)[1]
        return _pg_copy(url, f"{base}_case", request.getfixturevalue("pg_loaded_template"))
    _truncate_pg(url)
    return url


@pytest.fixture
def loaded(app, db_url, request):
    """For tests marked ``loaded``: {"users": {admin, officer, reviewer, approver, approver2}, "counts": {...}}."""
    from sqlalchemy import select

    from policy_hub.extensions import db
    from policy_hub.models import User

    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    users = {name: db.session.scalar(select(User).where(User.username == f"loaded-{name}"))
             for name in LOADED_USERS}
    return {"users": users, "counts": _loaded_counts[backend]}


@pytest.fixture
def app(db_url, tmp_path):
    app = _make_app(db_url, UPLOAD_DIR=str(tmp_path / "uploads"))
    with app.app_context():
        yield app
        from policy_hub.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Factory: ``make_user("finance_reviewer", region="140100")`` -> a committed User."""
    from policy_hub.extensions import db
    from policy_hub.services.users import create_user

    counter = iter(range(1, 10_000))

    def factory(role: str, *, region: str | None = None, credit_code: str | None = None,
                username: str | None = None, password: str = "password-123"):
        name = username or f"{role}-{next(counter)}"
        user = create_user(name, role, password, region_code=region, credit_code=credit_code)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login(client):
    """``login(user)`` logs the test client in through the login form."""

    def do(user, password: str = "password-123"):
        client.get("/logout")
        resp = client.post("/login", data={"username": user.username, "password": password})
        assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:500]
        return client

    return do


@pytest.fixture(scope="session")
def examples_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "examples"
