"""Alembic environment for Flask-Migrate: the app's engine and metadata, nothing else."""
import logging

from alembic import context
from flask import current_app

from delivery_sign.core.partitions import include_object

logger = logging.getLogger("alembic.env")
config = context.config
migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata


def _engine():
    return migrate_ext.db.engine


def run_migrations_offline():
    context.configure(url=_engine().url.render_as_string(hide_password=False),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def skip_empty_revisions(context, revision, directives):
        # `flask db migrate` with no model change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(migrate_ext.configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty_revisions)
    # PostgreSQL's month partitions and their widened unique keys are no model change.
    conf_args.setdefault("include_object", include_object)
    with _engine().connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
