"""Delegations of member states to the council, and the seats their members hold.

A seat is never deleted: removal sets ``removed_at``/``removed_by``, so the record of who sat
when, and who appointed or removed them, stays complete.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..database import UTCDateTime, enum_column, utcnow
from ..enums import DelegationRole
from ..extensions import db
from ..reference.models import MemberState

_CURRENT_HEAD = "role = 'head' AND removed_at IS NULL"
_CURRENT_SEAT = "removed_at IS NULL"


class Delegation(db.Model):
    """The council delegation of one member state."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_state_id: Mapped[int] = mapped_column(ForeignKey("member_states.id", ondelete="RESTRICT"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    member_state: Mapped[MemberState] = relationship(lazy="joined")
    seats: Mapped[list[DelegationSeat]] = relationship(back_populates="delegation", order_by="DelegationSeat.id")


class DelegationSeat(db.Model):
    """A council member's appointment to a delegation.

    Invariants in the database: one current head per delegation, one current seat per person.
    """

    __tablename__ = "delegation_seats"
    __table_args__ = (
        Index("uq_delegation_seats_one_head", "delegation_id", unique=True,
              sqlite_where=text(_CURRENT_HEAD), postgresql_where=text(_CURRENT_HEAD)),
        Index("uq_delegation_seats_one_seat_per_person", "user_id", unique=True,
              sqlite_where=text(_CURRENT_SEAT), postgresql_where=text(_CURRENT_SEAT)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delegation_id: Mapped[int] = mapped_column(ForeignKey("delegations.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    role: Mapped[DelegationRole] = mapped_column(enum_column(DelegationRole))
    appointed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    appointed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    delegation: Mapped[Delegation] = relationship(back_populates="seats")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    appointed_by: Mapped[User | None] = relationship(foreign_keys=[appointed_by_id])
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id])

    @property
    def is_current(self) -> bool:
        return self.removed_at is None
