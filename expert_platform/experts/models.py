"""An expert's profile: who they are, what they know, which languages they speak, who may see it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..database import UTCDateTime, enum_column, utcnow
from ..enums import Dimension, ProfileVisibility
from ..extensions import db
from ..reference.models import MemberState

TITLE_MAX_LENGTH = 120
AFFILIATIONS_MAX_LENGTH = 500
BIOGRAPHY_MAX_LENGTH = 20_000
KEYWORD_MAX_LENGTH = 60
LINK_TITLE_MAX_LENGTH = 300
LINK_URL_MAX_LENGTH = 500
ORCID_LENGTH = 19  # 0000-0002-1825-0097


class ExpertProfile(db.Model):
    """One profile per user. ``biography_html`` is ``sanitize.render_markdown(biography)``, made on save."""

    __tablename__ = "expert_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH), default="")
    affiliations: Mapped[str] = mapped_column(String(AFFILIATIONS_MAX_LENGTH), default="")
    biography: Mapped[str] = mapped_column(Text, default="")
    biography_html: Mapped[str] = mapped_column(Text, default="")
    country_id: Mapped[int | None] = mapped_column(ForeignKey("member_states.id", ondelete="RESTRICT"))
    orcid: Mapped[str | None] = mapped_column(String(ORCID_LENGTH))
    visibility: Mapped[ProfileVisibility] = mapped_column(
        enum_column(ProfileVisibility), default=ProfileVisibility.SIGNED_IN
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    country: Mapped[MemberState | None] = relationship()
    dimensions: Mapped[list[ProfileDimension]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProfileDimension.dimension"
    )
    keywords: Mapped[list[ProfileKeyword]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProfileKeyword.keyword"
    )
    languages: Mapped[list[ProfileLanguage]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProfileLanguage.language"
    )
    publication_links: Mapped[list[PublicationLink]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PublicationLink.position"
    )


class ProfileDimension(db.Model):
    __tablename__ = "expert_profile_dimensions"
    __table_args__ = (UniqueConstraint("profile_id", "dimension"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("expert_profiles.id", ondelete="CASCADE"))
    dimension: Mapped[Dimension] = mapped_column(enum_column(Dimension))


class ProfileKeyword(db.Model):
    """A free keyword, stored in lower case so filters match regardless of case."""

    __tablename__ = "expert_profile_keywords"
    __table_args__ = (UniqueConstraint("profile_id", "keyword"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("expert_profiles.id", ondelete="CASCADE"))
    keyword: Mapped[str] = mapped_column(String(KEYWORD_MAX_LENGTH), index=True)


class ProfileLanguage(db.Model):
    """A language the expert speaks, as an ISO 639-1 code."""

    __tablename__ = "expert_profile_languages"
    __table_args__ = (UniqueConstraint("profile_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("expert_profiles.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(2), index=True)


class PublicationLink(db.Model):
    __tablename__ = "expert_publication_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("expert_profiles.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(LINK_TITLE_MAX_LENGTH))
    url: Mapped[str] = mapped_column(String(LINK_URL_MAX_LENGTH))
    position: Mapped[int] = mapped_column(default=0)
