"""Keeping the index whole: ``sync`` (apply the outbox, rebuild a lost or outdated index) and ``rebuild``,
for the command line (``flask search``), restoring a backup and the benchmarks. They commit, as a command
does; no page calls them (``service`` holds what requests use, and commits nothing)."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from ..enums import ProposalState
from ..extensions import db
from ..proposals.models import Proposal
from .documents import document_of, public_batches
from .models import SearchOutboxEntry
from .service import active_backend, apply_outbox, indexed_count


def sync() -> tuple[int, int | None]:
    """Apply the outbox; then, when the index holds nothing while the database has public proposals (its
    folder was lost, or the database predates the index), rebuild it. An index written by an older
    version of the code (``Backend.is_stale``) is rebuilt first, since it cannot take the code's
    documents. Returns (proposals brought up to date, proposals of the rebuilt index or None when no
    rebuild was needed)."""
    if active_backend().is_stale():
        return 0, rebuild()
    applied = apply_outbox()
    db.session.commit()  # end this session's read: the rebuild's swap must not wait behind it
    if indexed_count() == 0 and _public_count():
        return applied, rebuild()
    return applied, None


def _public_count() -> int:
    return db.session.scalar(select(func.count(Proposal.id)).where(Proposal.state == ProposalState.ENDORSED)) or 0


def rebuild(batch_size: int = 500) -> int:
    """Rebuild the index from the database's public proposals, read ``batch_size`` at a time; searches
    keep reading the old index until the new one is in place (on PostgreSQL with RUM, a rebuild of
    ``postgres_backend.BULK_BUILD_FROM`` proposals or more makes them wait for it instead: its indexes are
    made after its rows). The outbox is emptied with it. Returns how many proposals the index holds."""
    documents = (document_of(proposal) for batch in public_batches(batch_size) for proposal in batch)

    def finish() -> None:
        db.session.execute(delete(SearchOutboxEntry))
        db.session.commit()

    return active_backend().rebuild(documents, expected=_public_count(), finish=finish)
