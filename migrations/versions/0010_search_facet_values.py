"""search facet values: each search_documents row holds its facet values ("name:value", those of
search_facets), so the PostgreSQL search counts facets from the rows a query matched instead of joining
the facet table for each of them. Existing rows are filled from search_facets.

Revision ID: 0010_search_facet_values
Revises: 0009_search_ranking_indexes
Create Date: 2026-12-06 23:30:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0010_search_facet_values"
down_revision = "0009_search_ranking_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facets", sa.Text().with_variant(postgresql.ARRAY(sa.Text()), "postgresql"),
                                      server_default="{}", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE search_documents d SET facets = ARRAY(SELECT f.name || ':' || f.value FROM search_facets f "
                   "WHERE f.proposal_id = d.proposal_id ORDER BY f.name, f.value)")


def downgrade():
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_column("facets")
