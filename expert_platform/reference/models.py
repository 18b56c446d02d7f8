"""Member states, observer states and observer organisations (reference data, edited by the secretariat)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, enum_column, utcnow
from ..enums import StateKind
from ..extensions import db
from ..i18n import current_language

STATE_NAME_MAX_LENGTH = 120


class MemberState(db.Model):
    """A state or organisation of the organisation's membership.

    ``code`` is the ISO 3166-1 alpha-2 code where one exists (organisations have none). Rows are
    never deleted while referenced: foreign keys to this table restrict deletion.
    """

    __tablename__ = "member_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(STATE_NAME_MAX_LENGTH), unique=True)
    #: The name on Russian pages (the secretariat edits it; the shipped list has one for each entry).
    name_ru: Mapped[str | None] = mapped_column(String(STATE_NAME_MAX_LENGTH))
    kind: Mapped[StateKind] = mapped_column(enum_column(StateKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def display_name(self) -> str:
        """The name in the reader's language: the Russian one on Russian pages where it is given."""
        return self.name_ru if self.name_ru and current_language() == "ru" else self.name

    @property
    def is_member(self) -> bool:
        return self.kind == StateKind.MEMBER_STATE

    def __repr__(self) -> str:
        return f"<MemberState {self.code or self.name}>"
