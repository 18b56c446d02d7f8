"""Consensus rounds through ``review.rounds``: opening, positions, settling, closing, cancelling.

The council is China, India and the Russian Federation (one head each) unless a test says otherwise;
times are passed as ``now`` so a test moves past a deadline without sleeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from expert_platform.audit.models import AuditRecord
from expert_platform.council import services as council_services
from expert_platform.database import utcnow
from expert_platform.enums import (
    ConsensusOutcome,
    DelegationRole,
    NotificationKind,
    Position,
    ProposalAction,
    ProposalState,
    Role,
    RoundKind,
    RoundResult,
)
from expert_platform.errors import InvalidTransition, NotAllowed, ValidationFailed
from expert_platform.extensions import db as _db
from expert_platform.notifications.models import Notification
from expert_platform.proposals import workflow
from expert_platform.proposals.models import ProposalEvent
from expert_platform.review import rounds
from expert_platform.review import services as review_services
from expert_platform.review.models import REASON_MAX_LENGTH, ConsensusRound, DelegationPosition, PositionRecord

NOW = datetime.now().astimezone().replace(microsecond=0)
THREE_DAYS = timedelta(days=3)
NO_REASON = "Give the reason for the reservation or the objection."
NOT_ASKED = "Your delegation is not asked in this round."
ONLY_A_DELEGATE = "Only a member of a delegation asked in the round records its position."


@pytest.fixture
def council(make_council):
    return make_council(("CN", "IN", "RU"))


@pytest.fixture
def in_review(make_proposal, bring_to, council):
    """A proposal in review, before a council of three delegations."""
    return bring_to(make_proposal(title="Shared water gauges"), ProposalState.IN_REVIEW)


@pytest.fixture
def in_consensus(in_review, secretariat):
    """The proposal in a standard round opened now, closing in three days."""
    rounds.open_round(actor=secretariat, proposal=in_review, kind=RoundKind.STANDARD, deadline_at=utcnow() + THREE_DAYS)
    _db.session.commit()
    return in_review


def count(model, *conditions) -> int:
    return _db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def record(actor, proposal, position, reason=None, now=None):
    return rounds.record_position(actor=actor, proposal=proposal, position=position, reason=reason, now=now)


# --- opening a round ----------------------------------------------------------------------------


def test_the_secretariat_opens_a_round_asking_every_delegation_with_a_member(in_review, secretariat, council):
    deadline = utcnow() + THREE_DAYS

    round_ = rounds.open_round(actor=secretariat, proposal=in_review, kind="silence", deadline_at=deadline)
    _db.session.commit()

    assert (round_.number, round_.kind, round_.revision_number, round_.quorum, round_.deadline_at) == (
        1, RoundKind.SILENCE, 1, Fraction(2, 3), deadline
    )
    assert (round_.opened_by_id, round_.closed_at, round_.result, round_.decision) == (secretariat.id, None, None, None)
    assert [row.member_state_name for row in round_.asked] == ["China", "India", "Russian Federation"]
    assert in_review.state == ProposalState.CONSENSUS
    assert [event.action for event in in_review.events][-1] == "open_consensus"
    audit = _db.session.scalars(select(AuditRecord).where(AuditRecord.action.like("review.%"))).all()
    assert [(entry.action, entry.object_type, entry.object_id, entry.actor_id, entry.details) for entry in audit] == [
        ("review.round_opened", "consensus_round", round_.id, secretariat.id,
         {"proposal": in_review.reference, "kind": "silence", "delegations": 3}),
    ]
    assert sorted(_db.session.scalars(select(Notification.user_id).where(
        Notification.kind == NotificationKind.ROUND_OPENED))) == sorted(person.id for person in council.values())


def test_the_quorum_of_a_round_is_the_setting_when_it_opens(app, in_review, secretariat):
    app.config["CONSENSUS_QUORUM"] = "3/4"

    round_ = rounds.open_round(actor=secretariat, proposal=in_review, kind=RoundKind.STANDARD,
                               deadline_at=utcnow() + THREE_DAYS)

    assert (round_.quorum_numerator, round_.quorum_denominator) == (3, 4)


@pytest.mark.parametrize(
    ("deadline", "message"),
    [
        (NOW + timedelta(minutes=59), "Set the deadline at least one hour from now."),
        (NOW - timedelta(days=1), "Set the deadline at least one hour from now."),
        (NOW + timedelta(days=367), "Set the deadline within a year."),
        (NOW.replace(tzinfo=None) + THREE_DAYS, "Give the deadline with its time zone."),
    ],
    ids=["less than an hour away", "in the past", "more than a year away", "without a time zone"],
)
def test_a_deadline_out_of_bounds_is_refused_and_nothing_opens(in_review, secretariat, deadline, message):
    with pytest.raises(ValidationFailed) as refused:
        rounds.open_round(actor=secretariat, proposal=in_review, kind=RoundKind.STANDARD, deadline_at=deadline,
                          now=NOW)

    assert (refused.value.field, refused.value.message) == ("deadline", message)
    assert (in_review.state, count(ConsensusRound)) == (ProposalState.IN_REVIEW, 0)


@pytest.mark.parametrize("length", [timedelta(hours=1), timedelta(days=366)], ids=["one hour", "366 days"])
def test_a_deadline_exactly_at_a_bound_is_accepted(in_review, secretariat, length):
    round_ = rounds.open_round(actor=secretariat, proposal=in_review, kind=RoundKind.STANDARD,
                               deadline_at=NOW + length, now=NOW)

    assert round_.deadline_at == NOW + length


def test_a_round_without_any_delegation_member_is_refused(make_proposal, bring_to, secretariat):
    proposal = bring_to(make_proposal(), ProposalState.IN_REVIEW)

    with pytest.raises(ValidationFailed) as refused:
        rounds.open_round(actor=secretariat, proposal=proposal, kind=RoundKind.STANDARD,
                          deadline_at=utcnow() + THREE_DAYS)

    assert (refused.value.field, refused.value.message) == (
        None, "No delegation has a member: appoint council members before opening a round."
    )
    assert (proposal.state, count(ConsensusRound)) == (ProposalState.IN_REVIEW, 0)


def test_a_round_opens_only_on_a_proposal_in_review(make_proposal, bring_to, secretariat, council):
    proposal = bring_to(make_proposal(), ProposalState.SUBMITTED)

    with pytest.raises(InvalidTransition) as refused:
        rounds.open_round(actor=secretariat, proposal=proposal, kind=RoundKind.STANDARD,
                          deadline_at=utcnow() + THREE_DAYS)

    assert refused.value.message == "A consensus round opens only on a proposal in review."
    assert (proposal.state, count(ConsensusRound)) == (ProposalState.SUBMITTED, 0)


def test_a_second_round_while_one_is_open_is_refused(in_consensus, secretariat):
    with pytest.raises(InvalidTransition) as refused:
        rounds.open_round(actor=secretariat, proposal=in_consensus, kind=RoundKind.SILENCE,
                          deadline_at=utcnow() + THREE_DAYS)

    assert refused.value.message == "A consensus round opens only on a proposal in review."
    assert count(ConsensusRound) == 1


@pytest.mark.parametrize("who", ["council member", "lead author", "researcher"])
def test_only_the_secretariat_opens_a_round(in_review, council, make_user, who):
    actor = {
        "council member": council["CN"],
        "lead author": in_review.coauthors[0].user,
        "researcher": make_user(roles=(Role.RESEARCHER,)),
    }[who]

    with pytest.raises(NotAllowed) as refused:
        rounds.open_round(actor=actor, proposal=in_review, kind=RoundKind.STANDARD, deadline_at=utcnow() + THREE_DAYS)

    assert refused.value.message == "Only the secretariat opens consensus rounds."
    assert (in_review.state, count(ConsensusRound), count(AuditRecord)) == (ProposalState.IN_REVIEW, 0, 3)


def test_the_delegations_asked_are_frozen_when_the_round_opens(in_consensus, council, secretariat, states, make_user):
    newcomer = make_user(display_name="Late Delegate")
    council_services.appoint(actor=secretariat, user=newcomer, member_state=states["KZ"], role=DelegationRole.HEAD)
    _db.session.commit()

    with pytest.raises(NotAllowed) as refused:
        record(newcomer, in_consensus, Position.OBJECT, "Too late to be asked.")
    record(council["CN"], in_consensus, Position.ENDORSE)
    record(council["IN"], in_consensus, Position.ENDORSE)
    last = record(council["RU"], in_consensus, Position.ENDORSE)

    assert refused.value.message == NOT_ASKED
    assert [row.member_state_name for row in rounds.latest_round_of(in_consensus).asked] == [
        "China", "India", "Russian Federation"
    ]
    assert (last.outcome, in_consensus.state) == (ConsensusOutcome.ENDORSED, ProposalState.ENDORSED)


# --- recording positions ------------------------------------------------------------------------


def test_a_position_is_recorded_for_the_delegation_with_its_history(in_consensus, council):
    recorded = record(council["CN"], in_consensus, Position.ENDORSE_WITH_RESERVATION, "  Funding to be agreed.  ")
    _db.session.commit()

    round_ = rounds.open_round_of(in_consensus)
    assert (recorded.outcome, recorded.endorsed) == (ConsensusOutcome.PENDING, False)
    assert [(row.position, row.reason, row.recorded_by_id) for row in round_.positions] == [
        (Position.ENDORSE_WITH_RESERVATION, "Funding to be agreed.", council["CN"].id)
    ]
    assert [(row.position, row.reason) for row in rounds.position_history(round_)] == [
        (Position.ENDORSE_WITH_RESERVATION, "Funding to be agreed.")
    ]
    assert rounds.tally_of(round_).as_record() == {
        "endorsed": [], "reservations": [{"delegation": "China", "reason": "Funding to be agreed."}],
        "stood_aside": [], "objected": [], "no_answer": ["India", "Russian Federation"],
    }


@pytest.mark.parametrize("position", [Position.ENDORSE_WITH_RESERVATION, Position.OBJECT])
@pytest.mark.parametrize("reason", [None, "", "  \n "], ids=["none", "empty", "blank"])
def test_a_reservation_or_an_objection_needs_a_reason(in_consensus, council, position, reason):
    with pytest.raises(ValidationFailed) as refused:
        record(council["CN"], in_consensus, position, reason)

    assert (refused.value.field, refused.value.message) == ("reason", NO_REASON)
    assert count(PositionRecord) == 0


def test_a_reason_longer_than_the_limit_is_refused_and_one_at_the_limit_accepted(in_consensus, council):
    with pytest.raises(ValidationFailed) as refused:
        record(council["CN"], in_consensus, Position.OBJECT, "x" * (REASON_MAX_LENGTH + 1))
    accepted = record(council["CN"], in_consensus, Position.OBJECT, "x" * REASON_MAX_LENGTH)

    assert (refused.value.field, refused.value.message) == ("reason", "Use at most 5000 characters.")
    assert (accepted.outcome, len(accepted.position.reason)) == (ConsensusOutcome.BLOCKED, REASON_MAX_LENGTH)


def test_a_position_at_or_after_the_deadline_is_refused(in_consensus, council):
    deadline = rounds.open_round_of(in_consensus).deadline_at

    with pytest.raises(InvalidTransition) as refused:
        record(council["CN"], in_consensus, Position.ENDORSE, now=deadline)
    just_before = record(council["CN"], in_consensus, Position.ENDORSE, now=deadline - timedelta(seconds=1))

    assert refused.value.message == "The round's deadline has passed: positions can no longer be recorded."
    assert just_before.outcome == ConsensusOutcome.PENDING
    assert count(PositionRecord) == 1


def test_a_council_member_who_co_authored_the_proposal_cannot_record_a_position(
    make_user, make_proposal, make_council, bring_to, secretariat, states
):
    make_council(("CN", "RU"))
    author_delegate = make_user(display_name="Author Delegate", roles=(Role.EXPERT,))
    proposal = make_proposal(coauthors=[author_delegate])
    council_services.appoint(actor=secretariat, user=author_delegate, member_state=states["IN"],
                             role=DelegationRole.HEAD)
    _db.session.commit()
    bring_to(proposal, ProposalState.CONSENSUS)

    with pytest.raises(NotAllowed) as refused:
        record(author_delegate, proposal, Position.ENDORSE)

    assert refused.value.message == ONLY_A_DELEGATE
    assert [row.member_state_name for row in rounds.open_round_of(proposal).asked] == [
        "China", "India", "Russian Federation"
    ]
    assert count(PositionRecord) == 0


@pytest.mark.parametrize("who", ["secretariat", "expert", "lead author"])
def test_people_without_a_seat_cannot_record_a_position(in_consensus, secretariat, make_user, who):
    actor = {"secretariat": secretariat, "expert": make_user(roles=(Role.EXPERT,)),
             "lead author": in_consensus.coauthors[0].user}[who]

    with pytest.raises(NotAllowed) as refused:
        record(actor, in_consensus, Position.ENDORSE)

    assert refused.value.message == ONLY_A_DELEGATE
    assert count(PositionRecord) == 0


def test_a_council_member_with_the_role_but_no_seat_is_not_asked(in_consensus, make_user):
    seatless = make_user(roles=(Role.COUNCIL_MEMBER,))

    with pytest.raises(NotAllowed) as refused:
        record(seatless, in_consensus, Position.ENDORSE)

    assert refused.value.message == NOT_ASKED


def test_a_position_on_a_proposal_without_a_round_is_refused(in_review, council):
    with pytest.raises(InvalidTransition) as refused:
        record(council["CN"], in_review, Position.ENDORSE)

    assert refused.value.message == "No consensus round is open on this proposal."


def test_changing_a_position_keeps_one_current_position_and_the_whole_history(in_consensus, council, make_council):
    alternate = make_council((), alternates=("CN",))["CN-alternate"]

    record(council["CN"], in_consensus, Position.OBJECT, "Not in this form.")
    record(alternate, in_consensus, Position.STAND_ASIDE)
    record(council["CN"], in_consensus, Position.ENDORSE)
    _db.session.commit()

    round_ = rounds.open_round_of(in_consensus)
    assert [(row.position, row.reason, row.recorded_by_id) for row in round_.positions] == [
        (Position.ENDORSE, None, council["CN"].id)
    ]
    assert [(row.position, row.reason, row.recorded_by_id) for row in rounds.position_history(round_)] == [
        (Position.ENDORSE, None, council["CN"].id),
        (Position.STAND_ASIDE, None, alternate.id),
        (Position.OBJECT, "Not in this form.", council["CN"].id),
    ]
    assert count(DelegationPosition) == 1


def test_an_objection_withdrawn_once_every_delegation_answered_endorses_the_proposal(in_consensus, council):
    outcomes = [
        record(council["CN"], in_consensus, Position.OBJECT, "Costs unclear.").outcome,
        record(council["IN"], in_consensus, Position.ENDORSE).outcome,
        record(council["RU"], in_consensus, Position.STAND_ASIDE).outcome,
    ]
    state_while_blocked = in_consensus.state
    withdrawn = record(council["CN"], in_consensus, Position.ENDORSE_WITH_RESERVATION, "Costs to be reviewed.")
    _db.session.commit()

    assert outcomes == [ConsensusOutcome.BLOCKED, ConsensusOutcome.BLOCKED, ConsensusOutcome.BLOCKED]
    assert state_while_blocked == ProposalState.CONSENSUS
    assert (withdrawn.outcome, withdrawn.endorsed, in_consensus.state) == (
        ConsensusOutcome.ENDORSED, True, ProposalState.ENDORSED
    )
    round_ = rounds.latest_round_of(in_consensus)
    assert (round_.result, round_.closed_by_id, round_.is_open) == (RoundResult.ENDORSED, None, False)
    assert {key: round_.decision[key] for key in ("endorsed", "reservations", "stood_aside", "objected", "no_answer",
                                                  "kind", "quorum")} == {
        "endorsed": ["India"], "reservations": [{"delegation": "China", "reason": "Costs to be reviewed."}],
        "stood_aside": ["Russian Federation"], "objected": [], "no_answer": [], "kind": "standard", "quorum": "2/3",
    }
    endorse = _db.session.scalar(select(ProposalEvent).where(ProposalEvent.action == "endorse"))
    assert (endorse.actor_id, endorse.from_state, endorse.to_state) == (
        None, ProposalState.CONSENSUS, ProposalState.ENDORSED
    )


def test_a_position_after_the_proposal_was_endorsed_is_refused(in_consensus, council):
    for code in ("CN", "IN", "RU"):
        record(council[code], in_consensus, Position.ENDORSE)
    _db.session.commit()

    with pytest.raises(InvalidTransition) as refused:
        record(council["CN"], in_consensus, Position.OBJECT, "Changed our mind.")

    assert refused.value.message == "No consensus round is open on this proposal."
    assert count(PositionRecord) == 3


# --- settling, closing, cancelling --------------------------------------------------------------


def test_settling_before_the_deadline_changes_nothing_and_after_it_endorses_a_quorum(in_consensus, council):
    record(council["CN"], in_consensus, Position.ENDORSE)
    record(council["IN"], in_consensus, Position.STAND_ASIDE)
    deadline = rounds.open_round_of(in_consensus).deadline_at

    before = rounds.settle(proposal=in_consensus, now=deadline - timedelta(minutes=1))
    at = rounds.settle(proposal=in_consensus, now=deadline)
    again = rounds.settle(proposal=in_consensus, now=deadline + timedelta(days=1))

    assert (before, at, again) == (ConsensusOutcome.PENDING, ConsensusOutcome.ENDORSED, None)
    assert in_consensus.state == ProposalState.ENDORSED
    assert rounds.latest_round_of(in_consensus).decision["no_answer"] == ["Russian Federation"]


def test_a_silence_procedure_past_its_deadline_is_due_and_settles_as_endorsed(in_review, secretariat):
    opened = utcnow() - timedelta(hours=25)
    rounds.open_round(actor=secretariat, proposal=in_review, kind=RoundKind.SILENCE,
                      deadline_at=opened + timedelta(hours=24), now=opened)
    _db.session.commit()

    due = rounds.due_proposals()
    outcome = rounds.settle(proposal=in_review)

    assert (due, outcome, in_review.state, rounds.due_proposals()) == (
        [in_review.id], ConsensusOutcome.ENDORSED, ProposalState.ENDORSED, []
    )
    assert rounds.latest_round_of(in_review).decision["no_answer"] == ["China", "India", "Russian Federation"]


def test_settling_a_proposal_without_an_open_round_does_nothing(in_review):
    assert rounds.settle(proposal=in_review) is None
    assert in_review.state == ProposalState.IN_REVIEW


def test_the_secretariat_closes_without_consensus_only_after_the_deadline(in_consensus, council, secretariat):
    record(council["CN"], in_consensus, Position.OBJECT, "Out of scope.")
    deadline = rounds.open_round_of(in_consensus).deadline_at

    with pytest.raises(InvalidTransition) as early:
        rounds.close_without_consensus(actor=secretariat, proposal=in_consensus, now=deadline - timedelta(minutes=1))
    with pytest.raises(NotAllowed) as not_secretariat:
        rounds.close_without_consensus(actor=council["IN"], proposal=in_consensus, now=deadline)
    round_ = rounds.close_without_consensus(actor=secretariat, proposal=in_consensus, note="Objection stands.",
                                            now=deadline)
    _db.session.commit()

    assert early.value.message == "The round can be closed without consensus only once its deadline has passed."
    assert not_secretariat.value.message == "Only the secretariat closes consensus rounds."
    assert (in_consensus.state, round_.result, round_.closed_by_id, round_.closed_at) == (
        ProposalState.NOT_ENDORSED, RoundResult.NOT_ENDORSED, secretariat.id, deadline
    )
    assert round_.decision["objected"] == [{"delegation": "China", "reason": "Out of scope."}]
    assert [event.note for event in in_consensus.events if event.action == "close_without_consensus"] == [
        "Objection stands."
    ]


def test_returning_a_proposal_in_consensus_cancels_its_round_and_the_next_round_is_number_two(
    in_consensus, council, secretariat
):
    record(council["CN"], in_consensus, Position.ENDORSE)
    lead = in_consensus.coauthors[0].user

    review_services.return_for_revision(actor=secretariat, proposal=in_consensus, note="Add a budget.")
    _db.session.commit()
    cancelled = rounds.latest_round_of(in_consensus)
    assert (in_consensus.state, cancelled.result, cancelled.closed_by_id, rounds.open_round_of(in_consensus)) == (
        ProposalState.CHANGES_REQUESTED, RoundResult.CANCELLED, secretariat.id, None
    )
    assert cancelled.decision["endorsed"] == ["China"]

    workflow.transition(in_consensus, ProposalAction.RESUBMIT, actor=lead)
    review_services.start_review(actor=secretariat, proposal=in_consensus)
    second = rounds.open_round(actor=secretariat, proposal=in_consensus, kind=RoundKind.STANDARD,
                               deadline_at=utcnow() + THREE_DAYS)
    _db.session.commit()

    assert [(row.number, row.revision_number, row.result) for row in rounds.rounds_of(in_consensus)] == [
        (1, 1, RoundResult.CANCELLED), (2, 2, None)
    ]
    assert (second.positions, in_consensus.state) == ([], ProposalState.CONSENSUS)


def test_returning_a_proposal_in_review_cancels_nothing(in_review, secretariat):
    review_services.return_for_revision(actor=secretariat, proposal=in_review, note="Add a budget.")

    assert (in_review.state, rounds.rounds_of(in_review)) == (ProposalState.CHANGES_REQUESTED, [])


# --- reminders ----------------------------------------------------------------------------------


def test_rounds_closing_within_48_hours_are_reminded_and_their_silent_delegations_listed(in_consensus, council):
    record(council["IN"], in_consensus, Position.ENDORSE)
    round_ = rounds.open_round_of(in_consensus)
    deadline = round_.deadline_at

    assert rounds.rounds_to_remind(deadline - timedelta(hours=49)) == []
    assert rounds.rounds_to_remind(deadline - timedelta(hours=48)) == [round_]
    assert rounds.rounds_to_remind(deadline) == []
    assert sorted(rounds.silent_delegations(round_)) == sorted(
        row.delegation_id for row in round_.asked if row.member_state_name != "India"
    )
