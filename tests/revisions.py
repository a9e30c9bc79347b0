"""The migration chain as tests need it: the revision just before a given one, whatever
other revisions get chained in ahead of it when branches are merged."""
import pathlib

from alembic.script import ScriptDirectory

MIGRATIONS = pathlib.Path(__file__).resolve().parents[1] / "migrations"


def before(revision: str) -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_revision(revision).down_revision
