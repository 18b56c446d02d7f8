"""What pages of several packages share about the council's review."""

from __future__ import annotations

from ..database import mark_request_as_writing, utcnow
from ..enums import ProposalState
from ..extensions import db
from ..proposals.models import Proposal
from . import rounds


def settle_if_due(proposal: Proposal) -> bool:
    """Before a page shows a proposal whose round's deadline has passed, apply the consensus rule
    (ARCHITECTURE.md section 4: endorsement also happens "when a page is viewed after the deadline").

    Commits: the read transaction ends first and the settling runs in a writing one (BEGIN IMMEDIATE
    on SQLite, the row lock on PostgreSQL), so two viewers never endorse twice. Returns True when the
    proposal's state changed. Call it from GET views only, before loading anything else to show.
    """
    if proposal.state != ProposalState.CONSENSUS:
        return False
    round_ = rounds.open_round_of(proposal)
    if round_ is None or not round_.deadline_passed(utcnow()):
        return False
    db.session.commit()
    mark_request_as_writing()
    rounds.settle(proposal=proposal)
    changed = proposal.state != ProposalState.CONSENSUS
    db.session.commit()
    return changed
