"""Alembic migrations are the schema: upgrading an empty database gives exactly the models' tables,
`flask db check` finds nothing to add, and `flask db downgrade base` removes everything.
Runs on SQLite in `make test` and on PostgreSQL in `make test-postgres`.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, Table, inspect

from expert_platform import create_app
from expert_platform.extensions import db


def _fresh_app(test_database, tmp_path):
    uri, engine_options = test_database.new_empty()
    return create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": uri,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, **engine_options},
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        },
    )


def test_upgrade_gives_the_models_schema_and_downgrade_removes_it(test_database, tmp_path):
    app = _fresh_app(test_database, tmp_path)
    runner = app.test_cli_runner()
    with app.app_context():
        try:
            upgraded = runner.invoke(args=["db", "upgrade"])
            assert upgraded.exit_code == 0, upgraded.output
            tables = set(inspect(db.engine).get_table_names())
            assert tables == set(db.metadata.tables) | {"alembic_version"}

            checked = runner.invoke(args=["db", "check"])
            assert checked.exit_code == 0, checked.output

            downgraded = runner.invoke(args=["db", "downgrade", "base"])
            assert downgraded.exit_code == 0, downgraded.output
            assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}

            again = runner.invoke(args=["db", "upgrade"])
            assert again.exit_code == 0, again.output
            assert set(inspect(db.engine).get_table_names()) == set(db.metadata.tables) | {"alembic_version"}
        finally:
            db.engine.dispose()


def test_db_check_notices_a_model_without_a_migration(test_database, tmp_path):
    """The check above can fail: a table in the models but not in the migrations is reported."""
    app = _fresh_app(test_database, tmp_path)
    runner = app.test_cli_runner()
    with app.app_context():
        extra = Table("unmigrated_probe", db.metadata, Column("id", Integer, primary_key=True))
        try:
            assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
            checked = runner.invoke(args=["db", "check"])
            assert checked.exit_code != 0
        finally:
            db.metadata.remove(extra)
            db.engine.dispose()


def test_the_migration_history_is_one_line(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate  # noqa: F401 - the extension configured the directory

    config = app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1


def test_the_translations_migration_gives_the_shipped_states_their_russian_names(test_database, tmp_path):
    """0007 adds member_states.name_ru and fills it for the shipped entries present (by code, an
    organisation by name), leaving an entry the secretariat added without one."""
    from sqlalchemy import text

    app = _fresh_app(test_database, tmp_path)
    runner = app.test_cli_runner()
    with app.app_context():
        try:
            assert runner.invoke(args=["db", "upgrade", "0006_pg_search"]).exit_code == 0
            with db.engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO member_states (code, name, kind, created_at) VALUES "
                    "('KZ', 'Republic of Kazakhstan', 'member_state', CURRENT_TIMESTAMP), "
                    "(NULL, 'United Nations', 'observer_organisation', CURRENT_TIMESTAMP), "
                    "('OM', 'Oman', 'member_state', CURRENT_TIMESTAMP)"))
            upgraded = runner.invoke(args=["db", "upgrade"])
            assert upgraded.exit_code == 0, upgraded.output
            with db.engine.connect() as connection:
                rows = connection.execute(text("SELECT name, name_ru FROM member_states ORDER BY name")).all()
            assert [tuple(row) for row in rows] == [
                ("Oman", None), ("Republic of Kazakhstan", "Казахстан"),
                ("United Nations", "Организация Объединённых Наций")]
        finally:
            assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
            db.engine.dispose()
