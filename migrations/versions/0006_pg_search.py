"""pg search: the PostgreSQL search backend's documents (a tsvector per text search configuration, GIN
indexes) and facet rows. On SQLite the tables exist too, empty (one schema for both databases).

Revision ID: 0006_pg_search
Revises: 0005_archive
Create Date: 2026-11-28 22:40:22.844756

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0006_pg_search"
down_revision = '0005_archive'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_documents',
    sa.Column('proposal_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('variant', sa.String(length=8), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('year', sa.String(length=4), nullable=False),
    sa.Column('decided', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('authors', sa.Text(), nullable=False),
    sa.Column('think_tanks', sa.Text(), nullable=False),
    sa.Column('keywords', sa.Text(), nullable=False),
    sa.Column('english', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=False),
    sa.Column('russian', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=False),
    sa.Column('simple', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=False),
    sa.Column('people', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=False),
    sa.Column('words', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=False),
    sa.Column('indexed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('proposal_id', name=op.f('pk_search_documents'))
    )
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index('ix_search_documents_decided', ['decided'], unique=False)
        batch_op.create_index('ix_search_documents_english', ['english'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_search_documents_people', ['people'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_search_documents_russian', ['russian'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_search_documents_simple', ['simple'], unique=False, postgresql_using='gin')

    op.create_table('search_facets',
    sa.Column('proposal_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('proposal_id', 'name', 'value', name=op.f('pk_search_facets'))
    )
    with op.batch_alter_table('search_facets', schema=None) as batch_op:
        batch_op.create_index('ix_search_facets_name_value', ['name', 'value'], unique=False)



def downgrade():
    with op.batch_alter_table('search_facets', schema=None) as batch_op:
        batch_op.drop_index('ix_search_facets_name_value')

    op.drop_table('search_facets')
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_simple', postgresql_using='gin')
        batch_op.drop_index('ix_search_documents_russian', postgresql_using='gin')
        batch_op.drop_index('ix_search_documents_people', postgresql_using='gin')
        batch_op.drop_index('ix_search_documents_english', postgresql_using='gin')
        batch_op.drop_index('ix_search_documents_decided')

    op.drop_table('search_documents')
