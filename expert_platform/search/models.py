"""The search outbox: one row per proposal whose index entry must be brought up to date.

Rows are written in the same transaction as the change (so a rolled-back change leaves none) and
deleted once the index has applied them; rows left by a process that died between its commit and its
indexing are applied by the next change or by ``flask search sync``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import db


class SearchOutboxEntry(db.Model):
    __tablename__ = "search_outbox"
    __table_args__ = (Index("ix_search_outbox_proposal_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: No foreign key: the entry outlives nothing, and must never block deleting a proposal in tests.
    proposal_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
