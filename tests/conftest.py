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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    _truncate_pg(url)
    return url


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
