"""What pages of several packages share about the council's review, and what review adds to the
proposal page (registered here, so ``proposals`` never imports ``review``)."""

from __future__ import annotations

from ..database import utcnow
from ..enums import ProposalState
from ..permissions import can_act_as_author
from ..proposals.models import Proposal
from ..web import add_page_part, before_page, write_while_reading
from . import rounds, services


def settle_if_due(proposal: Proposal) -> bool:
    """Before a page shows a proposal whose round's deadline has passed, apply the consensus rule
    (ARCHITECTURE.md section 4: endorsement also happens "when a page is viewed after the deadline").

    The settling runs through ``web.write_while_reading`` and is committed by the request's one commit, after the
    view (``transactions``): the request is marked as writing and its read transaction ends, so the settling runs in
    a writing one (BEGIN IMMEDIATE on SQLite, the proposal's row lock on PostgreSQL) and re-reads the round there:
    two viewers never endorse twice. Returns True when the proposal's state changed. Call it from GET views only,
    before loading anything else to show.
    """
    if proposal.state != ProposalState.CONSENSUS:
        return False
    round_ = rounds.open_round_of(proposal)
    if round_ is None or not round_.deadline_passed(utcnow()):
        return False

    def settle() -> bool:
        rounds.settle(proposal=proposal)
        return proposal.state != ProposalState.CONSENSUS

    return write_while_reading(settle)


def reviews_shared_with(viewer, proposal: Proposal) -> list:
    """For the co-authors, the reviews the secretariat shared with them, each with its signature
    (the council reads every review in the review workspace instead)."""
    if not can_act_as_author(viewer, proposal):
        return []
    return [
        (review, services.rapporteur_label(review, viewer, proposal))
        for review in services.visible_reviews(proposal, viewer)
    ]


# The proposal page (``proposals.show``, also reached by its permalink) settles a due round, and shows the
# decision record and the reviews shared with the authors.
before_page("proposals.show", lambda *, proposal, viewer: settle_if_due(proposal))
add_page_part("proposals.show", "shared_reviews", lambda *, proposal, viewer: reviews_shared_with(viewer, proposal))
add_page_part("proposals.show", "decision", lambda *, proposal, viewer: rounds.decision_record_of(proposal))
