"""The review world: a secretariat, council delegations, and proposals brought before the council
through the services (never by setting ``state``).

``make_council(codes)`` appoints one head per member state (a new person each) and returns
{code: user}; ``bring_to(proposal, state)`` walks a draft to submitted, in_review or consensus;
``open_round`` opens a round with a deadline ``hours`` from now (``now`` may be moved for tests
of deadlines: every rounds function takes ``now``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from expert_platform.council import services as council_services
from expert_platform.database import utcnow
from expert_platform.enums import DelegationRole, ProposalAction, ProposalState, Role, RoundKind
from expert_platform.extensions import db as _db
from expert_platform.proposals import workflow
from expert_platform.review import rounds
from expert_platform.review import services as review_services
from tests.journeys import open_consensus
from tests.proposals.page_steps import new_expert


@pytest.fixture
def secretariat(make_user):
    return make_user(email="secretariat@example.org", display_name="Secretariat Officer", roles=(Role.ADMIN,))


@pytest.fixture
def author(make_user, make_think_tank):
    """Ann Lee, an expert of a think tank of her own (Kazakhstan)."""
    return new_expert(make_user, make_think_tank, display_name="Ann Lee", email="ann@example.org")


@pytest.fixture
def coauthor(make_user, make_think_tank):
    """Bo Chen, an expert of another think tank (Kazakhstan)."""
    return new_expert(make_user, make_think_tank, display_name="Bo Chen", email="bo@example.org")


@pytest.fixture
def make_council(app, states, make_user, secretariat):
    """Heads (and optionally alternates) for the given member states: returns {code: head user}."""
    counter = {"n": 0}

    def factory(codes=("CN", "IN", "RU"), *, alternates=()):
        heads = {}
        for code in codes:
            counter["n"] += 1
            person = make_user(email=f"delegate{counter['n']}@example.org",
                               display_name=f"Delegate {code} {counter['n']}", roles=(Role.RESEARCHER,))
            council_services.appoint(actor=secretariat, user=person, member_state=states[code],
                                     role=DelegationRole.HEAD)
            heads[code] = person
        for code in alternates:
            counter["n"] += 1
            person = make_user(email=f"alternate{counter['n']}@example.org",
                               display_name=f"Alternate {code} {counter['n']}", roles=(Role.RESEARCHER,))
            council_services.appoint(actor=secretariat, user=person, member_state=states[code],
                                     role=DelegationRole.ALTERNATE)
            heads[f"{code}-alternate"] = person
        _db.session.commit()
        return heads

    return factory


@pytest.fixture
def bring_to(app, secretariat):
    """Walk a draft through the workflow to ``state`` (submitted, in_review or consensus)."""

    def walk(proposal, state: ProposalState, *, kind=RoundKind.STANDARD, hours: int = 72):
        lead = next(row.user for row in proposal.coauthors if row.is_lead)
        workflow.transition(proposal, ProposalAction.SUBMIT, actor=lead)
        if state in (ProposalState.IN_REVIEW, ProposalState.CONSENSUS):
            review_services.start_review(actor=secretariat, proposal=proposal)
        if state == ProposalState.CONSENSUS:
            rounds.open_round(actor=secretariat, proposal=proposal, kind=kind,
                              deadline_at=utcnow() + timedelta(hours=hours))
        _db.session.commit()
        assert proposal.state == state
        return proposal

    return walk


@pytest.fixture
def make_due_proposals(make_user, make_proposal, bring_to, secretariat):
    """``count`` proposals, each with a co-author, in a round of silence of 24 hours opened 25 hours ago:
    their deadline has passed and nobody objected, so settling endorses them (committed)."""

    def make(count: int) -> list:
        proposals = []
        for _ in range(count):
            proposal = bring_to(make_proposal(coauthors=[make_user(roles=(Role.EXPERT,))]), ProposalState.IN_REVIEW)
            open_consensus(proposal, secretariat, kind=RoundKind.SILENCE, hours=24,
                           now=utcnow() - timedelta(hours=25))
            proposals.append(proposal)
        _db.session.commit()
        return proposals

    return make


def later(hours: float):
    """A moment ``hours`` from now (for deadlines)."""
    return utcnow() + timedelta(hours=hours)
