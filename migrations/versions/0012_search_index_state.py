"""search index state: the PostgreSQL search backend's index version becomes a row that every index write
updates in its own transaction, in place of migration 0011's sequence. A sequence moves when a write
begins, before it commits: a process that read the new number and then the old rows kept results of the
old index under the new version. The row's new number is seen with the rows written, at the commit. The
table exists on SQLite too (one schema for both), unused there.

Revision ID: 0012_search_index_state
Revises: 0011_search_index_version
Create Date: 2026-12-07 05:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_search_index_state"
down_revision = "0011_search_index_version"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_index_state",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_search_index_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_index_state")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("INSERT INTO search_index_state (id, version) "
                   "SELECT 1, CASE WHEN is_called THEN last_value ELSE 0 END FROM search_index_version")
        op.execute("DROP SEQUENCE IF EXISTS search_index_version")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE IF NOT EXISTS search_index_version")
    op.drop_table("search_index_state")
