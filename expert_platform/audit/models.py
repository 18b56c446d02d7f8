"""Audit records: append-only, written by services in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..database import UTCDateTime, utcnow
from ..extensions import db

ACTION_MAX_LENGTH = 60
SUMMARY_MAX_LENGTH = 300


class AuditRecord(db.Model):
    """One recorded action: ``action`` is a dotted name such as ``thinktank.approved``."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(ACTION_MAX_LENGTH), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column()
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX_LENGTH))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(lazy="joined")
