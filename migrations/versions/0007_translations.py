"""translations: a proposal's title, summary and body in another working language (proposal_translations),
and the interface language each user chose (users.locale).

Revision ID: 0007_translations
Revises: 0006_pg_search
Create Date: 2026-11-29 01:40:10.052829

"""
import sqlalchemy as sa
from alembic import op

#: The shipped entries' Russian names, by ISO code (organisations by English name), as of this revision.
NAMES_RU = {
    "AF": "Афганистан",
    "AZ": "Азербайджан",
    "BH": "Бахрейн",
    "BD": "Бангладеш",
    "KH": "Камбоджа",
    "CN": "Китай",
    "EG": "Египет",
    "IN": "Индия",
    "IR": "Иран",
    "IQ": "Ирак",
    "IL": "Израиль",
    "JO": "Иордания",
    "KZ": "Казахстан",
    "KW": "Кувейт",
    "KG": "Кыргызстан",
    "MN": "Монголия",
    "PK": "Пакистан",
    "PS": "Палестина",
    "QA": "Катар",
    "KR": "Республика Корея",
    "RU": "Российская Федерация",
    "LK": "Шри-Ланка",
    "TJ": "Таджикистан",
    "TH": "Таиланд",
    "TR": "Турция",
    "AE": "Объединённые Арабские Эмираты",
    "UZ": "Узбекистан",
    "VN": "Вьетнам",
    "BY": "Беларусь",
    "ID": "Индонезия",
    "JP": "Япония",
    "LA": "Лаосская Народно-Демократическая Республика",
    "MY": "Малайзия",
    "PH": "Филиппины",
    "SA": "Саудовская Аравия",
    "TM": "Туркменистан",
    "UA": "Украина",
    "US": "Соединённые Штаты Америки",
    "United Nations": "Организация Объединённых Наций",
    "Organization for Security and Co-operation in Europe": "Организация по безопасности и сотрудничеству в Европе",
    "League of Arab States": "Лига арабских государств"
}


# revision identifiers, used by Alembic.
revision = '0007_translations'
down_revision = '0006_pg_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('proposal_translations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('status', sa.Enum('original', 'translation', 'checked_translation', name='textstatus',
                                native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=1500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status <> 'original'", name=op.f('ck_proposal_translations_status_is_a_translation')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'],
                            name=op.f('fk_proposal_translations_proposal_id_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                            name=op.f('fk_proposal_translations_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_translations')),
    sa.UniqueConstraint('proposal_id', 'language', name=op.f('uq_proposal_translations_proposal_id_language'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=2), nullable=True))
    with op.batch_alter_table('member_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_ru', sa.String(length=120), nullable=True))
    states = sa.table('member_states', sa.column('code', sa.String), sa.column('name', sa.String),
                      sa.column('name_ru', sa.String))
    for key, russian in NAMES_RU.items():
        match = states.c.code == key if len(key) == 2 else states.c.name == key
        op.execute(states.update().where(match, states.c.name_ru.is_(None)).values(name_ru=russian))



def downgrade():
    with op.batch_alter_table('member_states', schema=None) as batch_op:
        batch_op.drop_column('name_ru')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')

    op.drop_table('proposal_translations')
