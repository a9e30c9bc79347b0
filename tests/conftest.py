"""Test fixtures: one migrated database per run, a fresh tenant per test.

Set ``TEST_DATABASE_URL=postgresql+psycopg://user@host:port/db`` to run on PostgreSQL:
a new database is created next to ``db`` for the run and dropped afterwards.
Every test builds its own tenant (``world``), so tests never see each other's rows —
the same isolation the product promises its tenants.
"""
import contextlib
import json
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from delivery_sign import create_app
from delivery_sign.extensions import db, limiter

from .factories import Door, World


def _fresh_postgres(url: str):
    base = make_url(url)
    name = f"ds_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False), base, name


def _drop_postgres(base, name):
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _database_of_its_own(sqlite_path):
    """A SQLite file, or a fresh PostgreSQL database (under TEST_DATABASE_URL) dropped afterwards."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{sqlite_path}"
        return
    fresh, base, name = _fresh_postgres(url)
    yield fresh
    _drop_postgres(base, name)


@pytest.fixture
def old_database(tmp_path):
    """An empty database for a test that migrates through old revisions (app_at_revision)."""
    yield from _database_of_its_own(tmp_path / "old.db")


@contextlib.contextmanager
def app_at_revision(database_url, tmp_path, revision):
    """An app on ``database_url`` migrated to ``revision`` with one tenant, ``old``, made
    there as that revision's schema allows; yields (app, tenant id) inside its app context."""
    app = create_app(test_config(database_url, tmp_path))
    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(revision=revision)
            db.session.execute(text("INSERT INTO tenants (slug, name, created_at) VALUES ('old', '旧', :at)"),
                               {"at": "2026-11-01 00:00:00"})
            tenant_id = db.session.execute(text("SELECT id FROM tenants WHERE slug = 'old'")).scalar_one()
            yield app, tenant_id
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    yield from _database_of_its_own(tmp_path_factory.mktemp("db") / "test.db")


def test_config(database_url, tmp_path) -> dict:
    from delivery_sign.config import _engine_options

    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url, {}),
        "STORAGE_URL": f"file://{tmp_path / 'media'}",
        "DEMO_TENANT": False,
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 1024,
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "http://testserver",
        "WORKER": "off",
        "SMS_BACKEND": "outbox",
    }


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    os.environ.setdefault("INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
    app = create_app(test_config(database_url, tmp_path_factory.mktemp("files")))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_limits(app):
    limiter.reset()
    yield


@pytest.fixture
def fresh_app(database_url, tmp_path):
    """An app on an empty database of its own, not migrated: for migration tests."""
    dropped = None
    if database_url.startswith("postgresql"):
        url, *dropped = _fresh_postgres(database_url)
    else:
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = create_app(test_config(url, tmp_path))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if dropped:
        _drop_postgres(*dropped)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app, client):
    """A fresh tenant with an org tree, users of each role and an API key."""
    return World.create(app, client)


@pytest.fixture
def other_world(app, client):
    return World.create(app, client)


CORPUS = os.path.join(os.path.dirname(__file__), "data", "signatures")


@pytest.fixture(scope="session")
def genuine():
    """Genuine signatures of the labelled corpus (tests/data/signatures)."""
    with open(os.path.join(CORPUS, "genuine.json"), encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="session")
def signature(genuine):
    """A genuine three-character name, as the H5 pad would send it."""
    return next(s for s in genuine if len(s["signer_name"]) == 3 and 250 <= sum(map(len, s["strokes"])) <= 600)


@pytest.fixture(scope="session")
def photo_jpeg():
    from tests.evidence.photo_fixtures import jpeg, scene

    return jpeg(scene(11, 1600, 1200), quality=88)


@pytest.fixture
def door(world, signature, photo_jpeg):
    """A waybill of ``world`` assigned to courier1, with a fresh sign link."""
    return Door(world, signature, photo_jpeg)


@pytest.fixture
def make_door(world, signature, photo_jpeg):
    return lambda **kw: Door(world, signature, photo_jpeg, **kw)
