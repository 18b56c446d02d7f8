"""Rapporteurs, their reviews, the discussion, and consensus rounds with one position per delegation.

Invariants also live in the database: one current assignment per person and proposal, a conflicted
assignment carries a waiver, one review per rapporteur and revision, one open round per proposal,
one position per delegation and round, and a reservation or objection carries its reason.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..council.models import Delegation
from ..database import UTCDateTime, enum_column, utcnow
from ..enums import CommentVisibility, Position, Recommendation, RoundKind, RoundResult
from ..extensions import db
from ..proposals.models import Proposal

ASSESSMENT_MAX_BYTES = 100 * 1024
COMMENT_MAX_LENGTH = 20_000
REASON_MAX_LENGTH = 5000
WAIVER_MAX_LENGTH = 2000

_CURRENT_ASSIGNMENT = "removed_at IS NULL"
_OPEN_ROUND = "closed_at IS NULL"


class RapporteurAssignment(db.Model):
    """A council member asked by the secretariat to assess a proposal.

    ``number`` is the rapporteur's place on this proposal ("Rapporteur 1"), the name under which a
    review is shared with the authors unless the secretariat names the rapporteur. ``conflicts`` are
    the reasons found when assigning (kept as written then); a conflicted assignment needs a waiver.
    """

    __tablename__ = "rapporteur_assignments"
    __table_args__ = (
        UniqueConstraint("proposal_id", "number"),
        Index("uq_rapporteur_assignments_current", "proposal_id", "user_id", unique=True,
              sqlite_where=text(_CURRENT_ASSIGNMENT), postgresql_where=text(_CURRENT_ASSIGNMENT)),
        CheckConstraint("NOT has_conflict OR waiver_reason IS NOT NULL", name="conflict_needs_waiver"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column()
    has_conflict: Mapped[bool] = mapped_column(default=False)
    conflicts: Mapped[list] = mapped_column(JSON, default=list)
    waiver_reason: Mapped[str | None] = mapped_column(Text)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    proposal: Mapped[Proposal] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])

    @property
    def is_current(self) -> bool:
        return self.removed_at is None


class Review(db.Model):
    """A rapporteur's assessment of one revision, with a recommendation.

    Council members and the secretariat read it; the authors only once the secretariat shares it,
    as "Rapporteur <number>" unless ``is_shared_with_name``.
    """

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("assignment_id", "revision_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("rapporteur_assignments.id", ondelete="CASCADE"))
    revision_number: Mapped[int] = mapped_column()
    recommendation: Mapped[Recommendation] = mapped_column(enum_column(Recommendation))
    assessment: Mapped[str] = mapped_column(Text)
    assessment_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    is_shared_with_name: Mapped[bool] = mapped_column(default=False)

    assignment: Mapped[RapporteurAssignment] = relationship(lazy="joined")

    @property
    def is_shared(self) -> bool:
        return self.shared_at is not None


class Comment(db.Model):
    """A comment in a proposal's discussion: council-internal, or shared with the authors.

    A reply (``parent_id``) has its parent's visibility; the authors reply only to shared comments.
    """

    __tablename__ = "proposal_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_comments.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    visibility: Mapped[CommentVisibility] = mapped_column(enum_column(CommentVisibility))
    is_by_proposal_author: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    revision_number: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")


class ConsensusRound(db.Model):
    """A round in which every delegation asked states one position, until a deadline.

    The delegations asked are fixed when it opens (``RoundDelegation``), so appointments made later
    do not move the quorum. ``decision`` is the tally frozen when the round closed, by name, so the
    published record never changes when a delegation or member state changes later.
    """

    __tablename__ = "consensus_rounds"
    __table_args__ = (
        UniqueConstraint("proposal_id", "number"),
        Index("uq_consensus_rounds_one_open", "proposal_id", unique=True,
              sqlite_where=text(_OPEN_ROUND), postgresql_where=text(_OPEN_ROUND)),
        CheckConstraint("(closed_at IS NULL) = (result IS NULL)", name="closed_with_result"),
        CheckConstraint("quorum_numerator > 0 AND quorum_numerator <= quorum_denominator", name="quorum_fraction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    kind: Mapped[RoundKind] = mapped_column(enum_column(RoundKind))
    revision_number: Mapped[int] = mapped_column()
    quorum_numerator: Mapped[int] = mapped_column(default=2)
    quorum_denominator: Mapped[int] = mapped_column(default=3)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    result: Mapped[RoundResult | None] = mapped_column(enum_column(RoundResult))
    decision: Mapped[dict | None] = mapped_column(JSON)

    proposal: Mapped[Proposal] = relationship()
    asked: Mapped[list[RoundDelegation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="RoundDelegation.member_state_name"
    )
    positions: Mapped[list[DelegationPosition]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def quorum(self) -> Fraction:
        return Fraction(self.quorum_numerator, self.quorum_denominator)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def deadline_passed(self, now: datetime) -> bool:
        return now >= self.deadline_at


class RoundDelegation(db.Model):
    """A delegation asked for its position in a round (those with a current member when it opened)."""

    __tablename__ = "consensus_round_delegations"
    __table_args__ = (UniqueConstraint("round_id", "delegation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("consensus_rounds.id", ondelete="CASCADE"))
    delegation_id: Mapped[int] = mapped_column(ForeignKey("delegations.id", ondelete="RESTRICT"), index=True)
    member_state_name: Mapped[str] = mapped_column(String(200))

    delegation: Mapped[Delegation] = relationship()


_REASON_GIVEN = "position NOT IN ('endorse_with_reservation', 'object') OR reason IS NOT NULL"


class DelegationPosition(db.Model):
    """The current position of one delegation in one round; every change is kept in PositionRecord."""

    __tablename__ = "delegation_positions"
    __table_args__ = (
        UniqueConstraint("round_id", "delegation_id"),
        CheckConstraint(_REASON_GIVEN, name="reason_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("consensus_rounds.id", ondelete="CASCADE"))
    delegation_id: Mapped[int] = mapped_column(ForeignKey("delegations.id", ondelete="RESTRICT"))
    position: Mapped[Position] = mapped_column(enum_column(Position))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    recorded_by: Mapped[User | None] = relationship(lazy="joined")


class PositionRecord(db.Model):
    """The history of positions: one row per position recorded, never changed."""

    __tablename__ = "delegation_position_history"
    __table_args__ = (CheckConstraint(_REASON_GIVEN, name="reason_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("consensus_rounds.id", ondelete="CASCADE"), index=True)
    delegation_id: Mapped[int] = mapped_column(ForeignKey("delegations.id", ondelete="RESTRICT"))
    position: Mapped[Position] = mapped_column(enum_column(Position))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    recorded_by: Mapped[User | None] = relationship(lazy="joined")
