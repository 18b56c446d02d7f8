"""Notifications and each user's email settings.

A notification stores what it is about (kind, proposal, parameters), not a sentence: the text is
written when it is shown, for the viewer as they are then, so it never says more than they may see.
``key`` is unique per user: the same event never notifies (or emails) anyone twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, enum_column, utcnow
from ..enums import NotificationKind
from ..extensions import db
from ..proposals.models import Proposal

KEY_MAX_LENGTH = 120


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    proposal: Mapped[Proposal | None] = relationship(lazy="joined")

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailSetting(db.Model):
    """A user's choice to receive (or not) the email of one kind of notification; email is on by default."""

    __tablename__ = "notification_email_settings"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    is_email_enabled: Mapped[bool] = mapped_column(default=True)
