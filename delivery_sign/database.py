"""Bringing a database to the migration head, once, however many processes start at once."""
import logging
from contextlib import contextmanager

from sqlalchemy import func, select, text

from .extensions import db

log = logging.getLogger(__name__)

# Any constant works; it names "the schema migration" among PostgreSQL advisory locks.
_MIGRATION_LOCK_ID = 0x64735F6D  # "ds_m"


@contextmanager
def _migration_lock():
    if db.engine.dialect.name != "postgresql":
        # SQLite: Alembic's own transaction takes the database write lock.
        yield
        return
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID})
            conn.commit()


def prepare_database(app) -> None:
    """Upgrade to head (unless ``AUTO_MIGRATE=0``) and seed the demo tenant on an empty database."""
    from flask_migrate import upgrade

    from .accounts.models import Tenant
    from .demo import seed_demo

    with app.app_context():
        with _migration_lock():
            if app.config["AUTO_MIGRATE"]:
                upgrade()
            if app.config["DEMO_TENANT"] and db.session.execute(select(func.count(Tenant.id))).scalar_one() == 0:
                seed_demo()
                db.session.commit()
        db.session.remove()
        db.engine.dispose()
