"""Taking any workflow action the way the platform does, for tests that need a proposal in a state.

``take(proposal, action, actor)`` is ``workflow.transition`` for the authors' and the secretariat's
plain steps; the consensus steps go through ``review.rounds`` as in production:

- ``open_consensus`` opens a standard round closing in three days (appointing a delegation head for
  Mongolia first when no delegation has a member, since a round asks the delegations);
- ``endorse`` (by the system) has a member of every delegation asked endorse: the last position
  meets the rule and the platform endorses;
- ``close_without_consensus`` has one delegation object, then closes the round a minute after its
  deadline (``now`` moves forward; nothing else does).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from expert_platform.accounts import services as account_services
from expert_platform.council import services as council_services
from expert_platform.council.models import DelegationSeat
from expert_platform.database import utcnow
from expert_platform.enums import DelegationRole, Position, ProposalAction, Role, RoundKind
from expert_platform.extensions import db
from expert_platform.proposals import workflow
from expert_platform.reference.models import MemberState
from expert_platform.review import rounds

A = ProposalAction
ROUND_HOURS = 72
FALLBACK_STATE = "MN"
FALLBACK_DELEGATE = "journey.delegate@example.org"


def ensure_a_delegation(secretariat) -> None:
    """Appoint a head for Mongolia unless some delegation has a current member."""
    if db.session.scalar(select(DelegationSeat.id).where(DelegationSeat.removed_at.is_(None)).limit(1)):
        return
    person = account_services.find_user_by_email(FALLBACK_DELEGATE)
    if person is None:
        person = account_services.create_user(
            email=FALLBACK_DELEGATE, display_name="Journey Delegate", password="Journey-Delegate-Password-26",
            roles={Role.RESEARCHER}, is_email_confirmed=True,
        )
    state = db.session.scalar(select(MemberState).where(MemberState.code == FALLBACK_STATE))
    if state is None:
        from expert_platform.reference.services import load_reference_data

        load_reference_data()
        state = db.session.scalar(select(MemberState).where(MemberState.code == FALLBACK_STATE))
    council_services.appoint(actor=secretariat, user=person, member_state=state, role=DelegationRole.HEAD)


def open_consensus(proposal, secretariat, *, kind: RoundKind = RoundKind.STANDARD, hours: float = ROUND_HOURS,
                   now=None):
    ensure_a_delegation(secretariat)
    now = now or utcnow()
    return rounds.open_round(actor=secretariat, proposal=proposal, kind=kind,
                             deadline_at=now + timedelta(hours=hours), now=now)


def every_delegation_answers(proposal, position: Position = Position.ENDORSE, reason: str | None = None):
    """A current member of each delegation asked records ``position`` (the last one settles the round)."""
    round_ = rounds.open_round_of(proposal)
    outcome = None
    for asked in list(round_.asked):
        seat = db.session.scalar(select(DelegationSeat).where(
            DelegationSeat.delegation_id == asked.delegation_id, DelegationSeat.removed_at.is_(None)
        ).order_by(DelegationSeat.id).limit(1))
        outcome = rounds.record_position(actor=seat.user, proposal=proposal, position=position, reason=reason)
        if proposal.state.value != "consensus":
            break
    return outcome


def object_then_close(proposal, secretariat, note: str | None = None):
    round_ = rounds.open_round_of(proposal)
    asked = round_.asked[0]
    seat = db.session.scalar(select(DelegationSeat).where(
        DelegationSeat.delegation_id == asked.delegation_id, DelegationSeat.removed_at.is_(None)
    ).order_by(DelegationSeat.id).limit(1))
    rounds.record_position(actor=seat.user, proposal=proposal, position=Position.OBJECT, reason="Not now.")
    return rounds.close_without_consensus(actor=secretariat, proposal=proposal, note=note,
                                          now=round_.deadline_at + timedelta(minutes=1))


def take(proposal, action, actor, note: str | None = None, *, secretariat=None):
    """Take ``action`` as the platform would; ``secretariat`` is needed only for ``endorse`` when no
    delegation exists yet (it is the round's opener otherwise)."""
    action = ProposalAction(action)
    if action == A.OPEN_CONSENSUS:
        return open_consensus(proposal, actor)
    if action == A.ENDORSE:
        return every_delegation_answers(proposal)
    if action == A.CLOSE_WITHOUT_CONSENSUS:
        return object_then_close(proposal, actor, note)
    return workflow.transition(proposal, action, actor=actor, note=note)
