"""``upgrade head`` builds exactly the schema the models describe."""
from ..revisions import schema_diff


def test_migrated_schema_matches_models(app):
    with app.app_context():
        diff = schema_diff()
    assert diff == [], diff


def test_migrations_directory_has_one_head(app):
    from alembic.script import ScriptDirectory

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1
