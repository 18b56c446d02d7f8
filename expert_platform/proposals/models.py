"""Proposals, their authors, frozen revisions, workflow events and annexes.

Nothing outside ``proposals.workflow.transition()`` assigns ``Proposal.state``. Invariants also
live in the database: a proposal that was ever submitted has a reference, references are unique, revision
numbers are unique per proposal, and a proposal has at most one lead author.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, exists, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..database import UTCDateTime, enum_column, utcnow
from ..enums import AuthorStatus, Dimension, ProposalState, TextStatus
from ..extensions import db
from ..reference.models import MemberState
from ..thinktanks.models import ThinkTank

TITLE_MAX_LENGTH = 200
SUMMARY_MAX_LENGTH = 1500
BODY_MAX_BYTES = 200 * 1024
KEYWORD_MAX_LENGTH = 60
NOTE_MAX_LENGTH = 5000
REFERENCE_MAX_LENGTH = 20
#: A permanent reference: ``EP-2026-0042`` for the platform's own, or an imported outcome's own scheme
#: of the same shape (``TTF-2019-003``): letters, the year, a number.
REFERENCE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{1,9}-[0-9]{4}-[0-9]{1,6}")

_ONE_LEAD = "is_lead"


class Proposal(db.Model):
    """A policy proposal: the working copy its co-authors edit, plus its place in the workflow.

    ``version`` grows by one on every save and every transition: an edit form carries the version it
    was opened at, and a save from an older version is refused as a conflict.
    """

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'withdrawn') OR reference IS NOT NULL", name="reference_after_draft"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(REFERENCE_MAX_LENGTH), unique=True)
    state: Mapped[ProposalState] = mapped_column(enum_column(ProposalState), default=ProposalState.DRAFT, index=True)
    version: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX_LENGTH), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(2), default="en")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consensus_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    endorsed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Imported from the archive of earlier outcomes (``flask archive import``): no accounts behind it,
    #: its authors are the names in ``imported_author_names``.
    is_imported: Mapped[bool] = mapped_column(default=False)
    imported_author_names: Mapped[list] = mapped_column(JSON, default=list)

    authors: Mapped[list[ProposalAuthor]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", lazy="selectin", order_by="ProposalAuthor.id"
    )
    # The authors and think tanks decide who may do what (permissions.py), so they come with every proposal.
    # Its dimensions, member states, keywords and translations are read when used: a write (a position, a
    # comment) loads its proposal two or three times and read none of them; pages that list several
    # proposals' relations load them for all at once (``search.documents.INDEXED_RELATIONS``, the importer).
    dimensions: Mapped[list[ProposalDimension]] = relationship(
        cascade="all, delete-orphan", order_by="ProposalDimension.dimension"
    )
    member_states: Mapped[list[ProposalMemberState]] = relationship(cascade="all, delete-orphan")
    keywords: Mapped[list[ProposalKeyword]] = relationship(
        cascade="all, delete-orphan", order_by="ProposalKeyword.keyword"
    )
    think_tanks: Mapped[list[ProposalThinkTank]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    revisions: Mapped[list[ProposalRevision]] = relationship(
        back_populates="proposal", order_by="ProposalRevision.number"
    )
    events: Mapped[list[ProposalEvent]] = relationship(back_populates="proposal", order_by="ProposalEvent.id")
    translations: Mapped[list[ProposalTranslation]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalTranslation.language",
    )

    def author_row(self, user) -> ProposalAuthor | None:
        user_id = getattr(user, "id", None)
        return next((row for row in self.authors if row.user_id == user_id), None)

    def is_coauthor(self, user) -> bool:
        """An accepted author (the lead included)."""
        row = self.author_row(user)
        return row is not None and row.status == AuthorStatus.ACCEPTED

    def is_lead_author(self, user) -> bool:
        row = self.author_row(user)
        return row is not None and row.is_lead and row.status == AuthorStatus.ACCEPTED

    @property
    def coauthors(self) -> list[ProposalAuthor]:
        return [row for row in self.authors if row.status == AuthorStatus.ACCEPTED]

    def __repr__(self) -> str:
        return f"<Proposal {self.id} {self.state.value}>"


class ProposalAuthor(db.Model):
    """A person invited to write a proposal; accepted authors have equal edit rights, one leads."""

    __tablename__ = "proposal_authors"
    __table_args__ = (
        UniqueConstraint("proposal_id", "user_id"),
        Index("uq_proposal_authors_one_lead", "proposal_id", unique=True,
              sqlite_where=text(_ONE_LEAD), postgresql_where=text(_ONE_LEAD)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    is_lead: Mapped[bool] = mapped_column(default=False)
    status: Mapped[AuthorStatus] = mapped_column(enum_column(AuthorStatus), default=AuthorStatus.INVITED)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    proposal: Mapped[Proposal] = relationship(back_populates="authors")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


def coauthored_by(user_id: int):
    """``Proposal.is_coauthor`` as a SQL condition on ``Proposal``: the person is an accepted co-author."""
    return exists(select(ProposalAuthor.id).where(
        ProposalAuthor.proposal_id == Proposal.id, ProposalAuthor.user_id == user_id,
        ProposalAuthor.status == AuthorStatus.ACCEPTED))


class ProposalDimension(db.Model):
    __tablename__ = "proposal_dimensions"
    __table_args__ = (UniqueConstraint("proposal_id", "dimension"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    dimension: Mapped[Dimension] = mapped_column(enum_column(Dimension))


class ProposalMemberState(db.Model):
    """A member state the proposal concerns."""

    __tablename__ = "proposal_member_states"
    __table_args__ = (UniqueConstraint("proposal_id", "member_state_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    member_state_id: Mapped[int] = mapped_column(ForeignKey("member_states.id", ondelete="RESTRICT"))

    member_state: Mapped[MemberState] = relationship(lazy="joined")


class ProposalKeyword(db.Model):
    __tablename__ = "proposal_keywords"
    __table_args__ = (UniqueConstraint("proposal_id", "keyword"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    keyword: Mapped[str] = mapped_column(String(KEYWORD_MAX_LENGTH), index=True)


class ProposalThinkTank(db.Model):
    """A think tank behind the proposal: derived from its accepted authors' active memberships."""

    __tablename__ = "proposal_think_tanks"
    __table_args__ = (UniqueConstraint("proposal_id", "think_tank_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    think_tank_id: Mapped[int] = mapped_column(ForeignKey("think_tanks.id", ondelete="RESTRICT"), index=True)

    think_tank: Mapped[ThinkTank] = relationship(lazy="joined")


class ProposalRevision(db.Model):
    """An immutable snapshot of every field, frozen at each submission and resubmission.

    ``content`` holds the lists (dimensions, member states, keywords, think tanks, authors, annex ids)
    as they were, by value, so later renames or removals never change a frozen revision.
    """

    __tablename__ = "proposal_revisions"
    __table_args__ = (UniqueConstraint("proposal_id", "number"), CheckConstraint("number >= 1", name="number_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    content: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="revisions")


class ProposalTranslation(db.Model):
    """The working copy of a proposal's title, summary and body in another working language than the
    original's (``Proposal.language``). Its co-authors edit it with the original; each submission freezes
    it into the revision (``ProposalRevision.content["translations"]``)."""

    __tablename__ = "proposal_translations"
    __table_args__ = (
        UniqueConstraint("proposal_id", "language"),
        CheckConstraint("status <> 'original'", name="status_is_a_translation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[TextStatus] = mapped_column(enum_column(TextStatus), default=TextStatus.TRANSLATION)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX_LENGTH), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="translations")

    def __repr__(self) -> str:
        return f"<ProposalTranslation {self.proposal_id} {self.language} {self.status.value}>"


class ProposalEvent(db.Model):
    """One step of the timeline: who did what, from which state to which, when, and why."""

    __tablename__ = "proposal_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[ProposalState | None] = mapped_column(enum_column(ProposalState, name="from_state"))
    to_state: Mapped[ProposalState | None] = mapped_column(enum_column(ProposalState, name="to_state"))
    note: Mapped[str | None] = mapped_column(Text)
    revision_number: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(lazy="joined")


class Annex(db.Model):
    """A PDF attached to a proposal, stored in UPLOAD_DIR under a random name.

    Rows are never deleted once a revision lists them: removing an annex from the working copy
    sets ``removed_at``; frozen revisions keep pointing at it.
    """

    __tablename__ = "proposal_annexes"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReferenceCounter(db.Model):
    """The last reference number given in a year (``EP-2026-0042``); incremented under a row lock."""

    __tablename__ = "proposal_reference_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)
