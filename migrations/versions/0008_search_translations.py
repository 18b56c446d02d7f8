"""search translations: the PostgreSQL search backend indexes a proposal's translations beside its original
(search_documents.text_count, and the translations' stored text in search_translations).

Revision ID: 0008_search_translations
Revises: 0007_translations
Create Date: 2026-11-29 02:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_search_translations"
down_revision = "0007_translations"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_translations',
    sa.Column('proposal_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('variant', sa.String(length=8), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('proposal_id', 'language', name=op.f('pk_search_translations'))
    )
    # Existing entries hold their original alone: 1 is right for every one of them.
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_count', sa.SmallInteger(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_column('text_count')

    op.drop_table('search_translations')
