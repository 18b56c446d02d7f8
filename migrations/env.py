"""Alembic environment for Expert Platform (run through Flask-Migrate: `flask db ...`)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from expert_platform.database import UTCDateTime
from expert_platform.search.postgres_ranking import MANAGED_INDEXES

config = context.config
if config.config_file_name is not None:
    # Keep the application's own loggers working when migrations run inside a process (tests).
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def get_engine():
    return target_db.engine


config.set_main_option("sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%"))


def render_item(type_, obj, autogen_context):
    """Write our UTCDateTime as a plain timezone-aware DateTime: migrations must not import models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj, name, type_, reflected, compare_to):
    """The indexes of the search's text vectors are RUM or GIN, chosen by what the database has
    (``postgres_ranking``): the models do not declare them, and autogenerate leaves them."""
    return not (type_ == "index" and reflected and name in MANAGED_INDEXES)


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        # An autogenerate that finds no change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    configure_args = dict(current_app.extensions["migrate"].configure_args)
    configure_args.setdefault("process_revision_directives", process_revision_directives)
    configure_args.setdefault("render_item", render_item)
    configure_args.setdefault("include_object", include_object)

    engine = get_engine()
    with engine.connect() as connection:
        is_sqlite = engine.dialect.name == "sqlite"
        if is_sqlite:
            # Batch migrations rebuild tables; with foreign keys on, dropping the old table would
            # cascade or fail. The pragma only works outside a transaction, so it goes to the driver.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            context.configure(connection=connection, target_metadata=target_db.metadata, **configure_args)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if is_sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
