"""Facts about a proposal that readers are shown and the archive indexes: when it was decided, the year it
belongs to, and its authors as readers know them. Plain functions of a loaded proposal (no query of their
own beyond the relations they read)."""

from __future__ import annotations

from datetime import datetime

from .models import Proposal


def decided_at(proposal: Proposal) -> datetime | None:
    """When the council decided (endorsed or closed without consensus), or the authors withdrew it."""
    return proposal.endorsed_at or proposal.closed_at or proposal.withdrawn_at


def year_of(proposal: Proposal) -> int | None:
    """The year the proposal is filed under: its decision's, else its first submission's."""
    moment = decided_at(proposal) or proposal.first_submitted_at
    return moment.year if moment else None


def author_order(is_lead: bool, author_row_id: int) -> tuple[bool, int]:
    """Where an accepted co-author comes among the authors readers are shown: the lead first, then the
    others in the order they were invited."""
    return not is_lead, author_row_id


def author_names(proposal: Proposal) -> list[str]:
    """The authors as readers know them: the accepted co-authors (``author_order``); the names of an import."""
    if proposal.is_imported:
        return list(proposal.imported_author_names or [])
    rows = sorted(proposal.coauthors, key=lambda row: author_order(row.is_lead, row.id))
    return [row.user.display_name for row in rows]
