"""drop search_facets: each search_documents row holds its facet values since migration 0010, and the
filters and counts read them there; the facet table was written with every document and read only by
`flask search check`, which now reads the rows' values too. The downgrade makes the table again from them.

Revision ID: 0013_drop_search_facets
Revises: 0012_search_index_state
Create Date: 2026-12-07 06:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_drop_search_facets"
down_revision = "0012_search_index_state"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("search_facets", schema=None) as batch_op:
        batch_op.drop_index("ix_search_facets_name_value")
    op.drop_table("search_facets")


def downgrade():
    op.create_table(
        "search_facets",
        sa.Column("proposal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("proposal_id", "name", "value", name=op.f("pk_search_facets")),
    )
    with op.batch_alter_table("search_facets", schema=None) as batch_op:
        batch_op.create_index("ix_search_facets_name_value", ["name", "value"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("INSERT INTO search_facets (proposal_id, name, value) SELECT d.proposal_id, "
                   "split_part(f, ':', 1), substr(f, strpos(f, ':') + 1) FROM search_documents d, unnest(d.facets) f "
                   "ON CONFLICT DO NOTHING")
