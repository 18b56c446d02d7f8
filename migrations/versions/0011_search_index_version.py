"""search index version: a sequence the PostgreSQL search backend moves on every write and removal, so a
process learns that its "more like this" lists and spelling words are out of date from one number instead
of counting the documents. Nothing on SQLite (no sequences; its backend is Whoosh).

Revision ID: 0011_search_index_version
Revises: 0010_search_facet_values
Create Date: 2026-12-07 02:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_search_index_version"
down_revision = "0010_search_facet_values"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE IF NOT EXISTS search_index_version")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS search_index_version")
