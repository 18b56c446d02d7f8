"""search ranking indexes: where PostgreSQL's rum extension is installed (Debian's postgresql-15-rum), a
RUM index instead of the GIN index of each text vector of search_documents, so that matches are found
without reading their tsvectors and the candidates for a page of the best come in the index's order
(expert_platform/search/postgres_ranking.py). Nothing happens on SQLite, or where the extension is not
installed (the GIN indexes stay and the search ranks as before).

Revision ID: 0009_search_ranking_indexes
Revises: 0008_search_translations
Create Date: 2026-12-06 23:00:00.000000

"""
from alembic import op
from sqlalchemy import text

# revision identifiers, used by Alembic.
revision = "0009_search_ranking_indexes"
down_revision = "0008_search_translations"
branch_labels = None
depends_on = None

# Written out here: migrations do not import the application (they must run the same later).
COLUMNS = ("english", "russian", "simple")


def _extension_schema(connection):
    return connection.execute(text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'rum'")).scalar()


def upgrade():
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    schema = _extension_schema(connection)
    if schema is None:
        try:
            with connection.begin_nested():
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS rum SCHEMA public"))
        except Exception:
            print("The rum extension is not installed on the database server: search ranks with ts_rank_cd "
                  "(install postgresql-15-rum, then run `flask search rebuild` to add the ranking indexes).")
            return
        schema = _extension_schema(connection)
    for column in COLUMNS:
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS ix_search_documents_{column}_rum ON search_documents "
                                f"USING rum ({column} {schema}.rum_tsvector_ops)"))
        connection.execute(text(f"DROP INDEX IF EXISTS ix_search_documents_{column}"))


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    for column in COLUMNS:
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS ix_search_documents_{column} ON search_documents "
                                f"USING gin ({column})"))
        connection.execute(text(f"DROP INDEX IF EXISTS ix_search_documents_{column}_rum"))
