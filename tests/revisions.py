"""The migration chain as tests need it: the revision just before a given one, whatever
other revisions get chained in ahead of it when branches are merged."""
import pathlib

from alembic.script import ScriptDirectory

MIGRATIONS = pathlib.Path(__file__).resolve().parents[1] / "migrations"


def before(revision: str) -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_revision(revision).down_revision


def schema_diff() -> list:
    """What Alembic finds between the app's database, as migrated, and the models (in an
    app context); ``[]`` when the migrations build the schema the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from delivery_sign.core.partitions import include_object
    from delivery_sign.extensions import db

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        return compare_metadata(context, db.metadata)
