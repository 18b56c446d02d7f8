"""Think tanks, their members, and invitations to join them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import EMAIL_MAX_LENGTH, User
from ..database import UTCDateTime, enum_column, utcnow
from ..enums import MembershipRole, Participation, ThinkTankStatus
from ..extensions import db
from ..reference.models import MemberState

THINK_TANK_NAME_MAX_LENGTH = 200
WEBSITE_MAX_LENGTH = 500
DESCRIPTION_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 2000
CONTACT_NAME_MAX_LENGTH = 120

_ONE_LEAD_WHERE = "participation = 'lead' AND status = 'approved'"


class ThinkTank(db.Model):
    """An institution that applied to take part; it takes part once the secretariat approves it.

    Invariants in the database: at most one approved lead think tank per member state (partial
    unique index), and a temporary participation always has an end date.
    """

    __tablename__ = "think_tanks"
    __table_args__ = (
        CheckConstraint("participation <> 'temporary' OR participation_ends_on IS NOT NULL", name="temporary_has_end"),
        Index(
            "uq_think_tanks_one_lead_per_state",
            "member_state_id",
            unique=True,
            sqlite_where=text(_ONE_LEAD_WHERE),
            postgresql_where=text(_ONE_LEAD_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(THINK_TANK_NAME_MAX_LENGTH))
    member_state_id: Mapped[int] = mapped_column(ForeignKey("member_states.id", ondelete="RESTRICT"), index=True)
    website: Mapped[str | None] = mapped_column(String(WEBSITE_MAX_LENGTH))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX_LENGTH), default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(CONTACT_NAME_MAX_LENGTH))
    contact_email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    status: Mapped[ThinkTankStatus] = mapped_column(enum_column(ThinkTankStatus), default=ThinkTankStatus.PENDING)
    participation: Mapped[Participation] = mapped_column(enum_column(Participation), default=Participation.PERMANENT)
    participation_ends_on: Mapped[date | None] = mapped_column(Date)
    rejection_reason: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH))
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    member_state: Mapped[MemberState] = relationship(lazy="joined")
    applicant: Mapped[User | None] = relationship(foreign_keys=[applicant_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    memberships: Mapped[list[Membership]] = relationship(back_populates="think_tank", order_by="Membership.id")

    @property
    def is_approved(self) -> bool:
        return self.status == ThinkTankStatus.APPROVED

    def is_read_only_on(self, day: date) -> bool:
        """A temporary participation ends after its end date: the institution is then read-only."""
        return (
            self.participation == Participation.TEMPORARY
            and self.participation_ends_on is not None
            and day > self.participation_ends_on
        )

    def __repr__(self) -> str:
        return f"<ThinkTank {self.id}>"


class Membership(db.Model):
    """A person's place in a think tank (manager or expert). Deactivating keeps the row, so
    authorship history stays attributed."""

    __tablename__ = "think_tank_memberships"
    __table_args__ = (UniqueConstraint("think_tank_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    think_tank_id: Mapped[int] = mapped_column(ForeignKey("think_tanks.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    role: Mapped[MembershipRole] = mapped_column(enum_column(MembershipRole), default=MembershipRole.EXPERT)
    is_active: Mapped[bool] = mapped_column(default=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deactivated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    think_tank: Mapped[ThinkTank] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_manager(self) -> bool:
        return self.is_active and self.role == MembershipRole.MANAGER


class Invitation(db.Model):
    """An emailed, single-use invitation to join a think tank (as expert or manager).

    Only the token's SHA-256 digest is stored. Valid while not accepted, not revoked and not expired.
    """

    __tablename__ = "think_tank_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    think_tank_id: Mapped[int] = mapped_column(ForeignKey("think_tanks.id", ondelete="RESTRICT"), index=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    role: Mapped[MembershipRole] = mapped_column(enum_column(MembershipRole), default=MembershipRole.EXPERT)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    think_tank: Mapped[ThinkTank] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def is_open_at(self, moment: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > moment
