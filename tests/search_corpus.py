"""Public proposals for search tests, recorded the way an import records them (``workflow.record_import``):
fast, exact, and with every field a test may want to count on.

``publish(title=..., body=..., language=..., ...)`` returns the endorsed (or other final state) proposal,
committed, indexed through the outbox like any change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from expert_platform import sanitize
from expert_platform.enums import Dimension, Participation, ProposalState, ThinkTankStatus
from expert_platform.extensions import db
from expert_platform.proposals import workflow
from expert_platform.proposals.models import (
    Proposal,
    ProposalDimension,
    ProposalKeyword,
    ProposalMemberState,
    ProposalThinkTank,
)
from expert_platform.reference.models import MemberState
from expert_platform.thinktanks.models import ThinkTank

_counter = {"n": 0}


def archived_think_tank(name: str, state_code: str = "KZ") -> ThinkTank:
    found = db.session.scalar(select(ThinkTank).where(ThinkTank.name == name))
    if found is not None:
        return found
    state = db.session.scalar(select(MemberState).where(MemberState.code == state_code))
    tank = ThinkTank(name=name, member_state=state, contact_name="", contact_email="", status=ThinkTankStatus.ARCHIVED,
                     participation=Participation.PERMANENT)
    db.session.add(tank)
    db.session.flush()
    return tank


def publish(*, title: str, body: str = "Text.", summary: str = "", language: str = "en",
            dimensions=("economic",), member_states=(), keywords=(), think_tanks=(), authors=("Archive Author",),
            decided: str = "2020-06-01", submitted: str | None = None, state=ProposalState.ENDORSED,
            reference: str | None = None) -> Proposal:
    """One outcome in a final state (endorsed by default); ``think_tanks`` are (name, state code) pairs."""
    _counter["n"] += 1
    decided_at = datetime.fromisoformat(decided).replace(tzinfo=UTC)
    submitted_at = datetime.fromisoformat(submitted or decided).replace(tzinfo=UTC)
    proposal = Proposal(
        title=title, summary=summary, body=body, body_html=sanitize.render_markdown(body), language=language,
        imported_author_names=list(authors),
    )
    proposal.dimensions = [ProposalDimension(dimension=Dimension(value)) for value in dimensions]
    states = {state.code: state for state in db.session.scalars(select(MemberState))}
    proposal.member_states = [ProposalMemberState(member_state_id=states[code].id) for code in member_states]
    proposal.keywords = [ProposalKeyword(keyword=word) for word in keywords]
    proposal.think_tanks = [ProposalThinkTank(think_tank=archived_think_tank(name, code)) for name, code in think_tanks]
    workflow.record_import(proposal, state=state, reference=reference or f"TEST-{decided[:4]}-{_counter['n']:04d}",
                           submitted_at=submitted_at, decided_at=decided_at)
    db.session.commit()
    return proposal
