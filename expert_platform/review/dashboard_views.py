"""The council's dashboard: proposals by stage, my pending reviews and positions, deadlines, and for
the secretariat the rounds that can be closed and the proposals waiting for a review to start.

A read-only page. Its queries do not grow with the number of proposals or rounds: each kind of row
is read once for the whole page (proposals with their authors, open rounds with the delegations
asked and their positions, my assignments and reviews, the current revision numbers), then sorted
into sections in Python. Proposals the viewer co-authors are left out: nobody deliberates on their
own proposal (``can_view_deliberation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload, selectinload

from ..database import utcnow
from ..enums import ProposalState
from ..extensions import db
from ..permissions import (
    can_close_rounds,
    can_record_position,
    can_steer_proposal,
    can_view_council_dashboard,
    can_view_deliberation,
    require,
)
from ..proposals.models import Proposal, ProposalRevision
from . import rounds
from .models import ConsensusRound, RapporteurAssignment, Review

bp = Blueprint("council_dashboard", __name__)

S = ProposalState

#: The stages in which a proposal is before the council, and the moment each stage began.
STAGES = (
    (S.SUBMITTED, "last_submitted_at"),
    (S.IN_REVIEW, "review_started_at"),
    (S.CONSENSUS, "consensus_opened_at"),
)
#: A rapporteur's review is expected while the proposal is in these states.
REVIEWING_STATES = frozenset({S.IN_REVIEW, S.CONSENSUS})


@dataclass(frozen=True)
class Stage:
    state: ProposalState
    proposals: list[Proposal]
    #: The name of the timestamp column that says since when each proposal is in this stage.
    since: str


@dataclass(frozen=True)
class OpenRound:
    """An open round with its proposal, as the dashboard shows it at ``now``."""

    proposal: Proposal
    round: ConsensusRound
    now: datetime

    @property
    def is_past_deadline(self) -> bool:
        return self.round.deadline_passed(self.now)

    @property
    def hours_left(self) -> int:
        """Whole hours until the deadline (0 once it has passed)."""
        return max(0, int((self.round.deadline_at - self.now).total_seconds() // 3600))


@dataclass(frozen=True)
class Dashboard:
    stages: list[Stage]
    rounds_by_proposal: dict[int, ConsensusRound]
    pending_reviews: list[Proposal]
    pending_positions: list[OpenRound]
    deadlines: list[OpenRound]
    #: None for anyone but the secretariat (the sections are not shown at all).
    closable: list[OpenRound] | None
    waiting_for_review: list[Proposal] | None


def _proposals_before_the_council(viewer) -> list[Proposal]:
    """Submitted, in review or in a round, those on which ``viewer`` may deliberate, oldest first.
    Only the authors are loaded with them (to leave out the viewer's own proposals)."""
    proposals = db.session.scalars(
        select(Proposal)
        .where(Proposal.state.in_([state for state, _since in STAGES]))
        .options(
            selectinload(Proposal.authors),
            lazyload(Proposal.dimensions),
            lazyload(Proposal.member_states),
            lazyload(Proposal.keywords),
            lazyload(Proposal.think_tanks),
        )
        .order_by(Proposal.last_submitted_at, Proposal.id)
    ).all()
    return [proposal for proposal in proposals if can_view_deliberation(viewer, proposal)]


def _open_rounds(proposal_ids: list[int]) -> list[ConsensusRound]:
    """The open rounds of these proposals, the soonest deadline first (with the delegations asked and
    the positions, each loaded by one query for all rounds)."""
    return list(db.session.scalars(
        select(ConsensusRound)
        .where(ConsensusRound.closed_at.is_(None), ConsensusRound.proposal_id.in_(proposal_ids))
        .order_by(ConsensusRound.deadline_at, ConsensusRound.id)
    ))


def _awaiting_my_review(viewer, proposals: list[Proposal]) -> list[Proposal]:
    """Proposals in review or in a round of which ``viewer`` is a current rapporteur with no review
    of the current revision yet."""
    reviewing = {proposal.id: proposal for proposal in proposals if proposal.state in REVIEWING_STATES}
    assignments = db.session.execute(
        select(RapporteurAssignment.id, RapporteurAssignment.proposal_id).where(
            RapporteurAssignment.user_id == viewer.id,
            RapporteurAssignment.removed_at.is_(None),
            RapporteurAssignment.proposal_id.in_(list(reviewing)),
        )
    ).all()
    assigned = {row.proposal_id: row.id for row in assignments}
    current_revision = {proposal_id: number for proposal_id, number in db.session.execute(
        select(ProposalRevision.proposal_id, func.max(ProposalRevision.number))
        .where(ProposalRevision.proposal_id.in_(list(assigned)))
        .group_by(ProposalRevision.proposal_id)
    )}
    reviewed = {(assignment_id, number) for assignment_id, number in db.session.execute(
        select(Review.assignment_id, Review.revision_number).where(Review.assignment_id.in_(list(assigned.values())))
    )}
    return [
        proposal for proposal_id, proposal in reviewing.items()
        if proposal_id in assigned and (assigned[proposal_id], current_revision.get(proposal_id) or 1) not in reviewed
    ]


def dashboard_of(viewer, now: datetime) -> Dashboard:
    """Everything the dashboard shows ``viewer`` at ``now``, in a fixed number of queries."""
    proposals = _proposals_before_the_council(viewer)
    by_id = {proposal.id: proposal for proposal in proposals}
    open_rounds = [
        OpenRound(proposal=by_id[round_.proposal_id], round=round_, now=now)
        for round_ in _open_rounds(list(by_id))
    ]
    delegation = rounds.delegation_of(viewer)
    pending_positions = []
    if delegation is not None:
        for entry in open_rounds:
            asked = {row.delegation_id for row in entry.round.asked}
            answered = {row.delegation_id for row in entry.round.positions}
            if (delegation.id in asked and delegation.id not in answered and not entry.is_past_deadline
                    and can_record_position(viewer, entry.proposal)):
                pending_positions.append(entry)
    return Dashboard(
        stages=[
            Stage(state=state, since=since, proposals=[proposal for proposal in proposals if proposal.state == state])
            for state, since in STAGES
        ],
        rounds_by_proposal={entry.proposal.id: entry.round for entry in open_rounds},
        pending_reviews=_awaiting_my_review(viewer, proposals),
        pending_positions=pending_positions,
        deadlines=open_rounds,
        closable=[entry for entry in open_rounds if rounds.refusal_to_close_round(entry.round, now) is None]
        if can_close_rounds(viewer) else None,
        waiting_for_review=[proposal for proposal in proposals if proposal.state == S.SUBMITTED]
        if can_steer_proposal(viewer) else None,
    )


@bp.get("/council/review")
@login_required
def index():
    require(can_view_council_dashboard(current_user))
    return render_template("council/dashboard.html", dashboard=dashboard_of(current_user, utcnow()))
