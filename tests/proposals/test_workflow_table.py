"""The proposal workflow, cell by cell: every (state, action, role) of ARCHITECTURE.md section 3.

What may happen is written out below as a literal table, not derived from ``workflow.TRANSITIONS``:
a change to the workflow must change both, deliberately. Every one of the 8 states x 8 actions x
9 roles cells is a test of its own: an allowed cell moves the proposal to the table's target and
writes exactly one event; a cell outside the table raises InvalidTransition, a role outside a cell
raises NotAllowed, and then nothing changed.

The cells share one world (the people, and one proposal in each state, reached through the services
as the platform reaches them: ``tests.journeys.take``), built once in a database of its own; each
cell rolls its work back, so the next one finds the world as it was built.

Three cells have conditions beyond who may act. ``open_consensus`` needs a round created by
``rounds.open_round`` (so its allowed cell opens one). ``endorse`` needs the consensus rule met, and
``close_without_consensus`` needs the deadline passed without consensus: the world has two proposals
in consensus, one whose silence procedure ended unopposed but is not settled yet (for the endorse
cells) and one whose standard round ended with an objection standing (for the close cells).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from expert_platform.accounts import services as account_services
from expert_platform.accounts.models import AnonymousUser, User
from expert_platform.council.models import DelegationSeat
from expert_platform.database import utcnow
from expert_platform.enums import ConsensusOutcome, Position, ProposalAction, ProposalState, Role, RoundKind
from expert_platform.errors import InvalidTransition, NotAllowed, ValidationFailed
from expert_platform.extensions import db as _db
from expert_platform.proposals import coauthors, services, workflow
from expert_platform.proposals.models import Proposal, ProposalEvent, ProposalRevision, ReferenceCounter
from expert_platform.review import rounds
from tests.conftest import DEFAULT_PASSWORD
from tests.journeys import ensure_a_delegation, open_consensus, take
from tests.proposals.isolated_app import app_of_its_own, rolled_back

S = ProposalState
A = ProposalAction

CO_AUTHOR = "co-author"
LEAD_AUTHOR = "lead author"
INVITED_CO_AUTHOR = "invited co-author who has not accepted"
ANOTHER_EXPERT = "another expert"
COUNCIL_MEMBER = "council member"
SECRETARIAT = "secretariat"
RESEARCHER = "researcher"
ANONYMOUS = "anonymous visitor"
THE_SYSTEM = "the system"

ROLES = (CO_AUTHOR, LEAD_AUTHOR, INVITED_CO_AUTHOR, ANOTHER_EXPERT, COUNCIL_MEMBER, SECRETARIAT, RESEARCHER,
         ANONYMOUS, THE_SYSTEM)
AUTHORS = frozenset({CO_AUTHOR, LEAD_AUTHOR})
ONLY_SECRETARIAT = frozenset({SECRETARIAT})
ONLY_THE_SYSTEM = frozenset({THE_SYSTEM})

#: ARCHITECTURE.md section 3, written out: (from state, action) -> (to state, who may take it).
WORKFLOW = {
    (S.DRAFT, A.SUBMIT): (S.SUBMITTED, AUTHORS),
    (S.SUBMITTED, A.START_REVIEW): (S.IN_REVIEW, ONLY_SECRETARIAT),
    (S.SUBMITTED, A.RETURN_FOR_REVISION): (S.CHANGES_REQUESTED, ONLY_SECRETARIAT),
    (S.IN_REVIEW, A.RETURN_FOR_REVISION): (S.CHANGES_REQUESTED, ONLY_SECRETARIAT),
    (S.CONSENSUS, A.RETURN_FOR_REVISION): (S.CHANGES_REQUESTED, ONLY_SECRETARIAT),
    (S.CHANGES_REQUESTED, A.RESUBMIT): (S.SUBMITTED, AUTHORS),
    (S.IN_REVIEW, A.OPEN_CONSENSUS): (S.CONSENSUS, ONLY_SECRETARIAT),
    (S.CONSENSUS, A.ENDORSE): (S.ENDORSED, ONLY_THE_SYSTEM),
    (S.CONSENSUS, A.CLOSE_WITHOUT_CONSENSUS): (S.NOT_ENDORSED, ONLY_SECRETARIAT),
    (S.DRAFT, A.WITHDRAW): (S.WITHDRAWN, AUTHORS),
    (S.SUBMITTED, A.WITHDRAW): (S.WITHDRAWN, AUTHORS),
    (S.IN_REVIEW, A.WITHDRAW): (S.WITHDRAWN, AUTHORS),
    (S.CHANGES_REQUESTED, A.WITHDRAW): (S.WITHDRAWN, AUTHORS),
}

#: The second proposal in consensus: its standard round's deadline passed with an objection standing.
OBJECTION_STANDS = "consensus, deadline passed with an objection standing"
#: The proposals of the world: one per state, and the second one in consensus. The one in
#: CONSENSUS is a silence procedure whose deadline passed unopposed and that nobody settled yet.
SITUATIONS = (*S, OBJECTION_STANDS)
#: What each situation is, as a state.
STATE_OF = {**{state: state for state in S}, OBJECTION_STANDS: S.CONSENSUS}

IN_REVIEW_PATH = ((A.SUBMIT, LEAD_AUTHOR), (A.START_REVIEW, SECRETARIAT))
#: How the world reaches each situation from a fresh draft: (action, who takes it) in order, taken
#: as the platform takes them (``tests.journeys.take``); the two proposals in consensus then get
#: their rounds in ``ROUNDS_OF``.
PATH_TO = {
    S.DRAFT: (),
    S.SUBMITTED: ((A.SUBMIT, LEAD_AUTHOR),),
    S.IN_REVIEW: IN_REVIEW_PATH,
    S.CONSENSUS: IN_REVIEW_PATH,
    OBJECTION_STANDS: IN_REVIEW_PATH,
    S.ENDORSED: (*IN_REVIEW_PATH, (A.OPEN_CONSENSUS, SECRETARIAT), (A.ENDORSE, THE_SYSTEM)),
    S.NOT_ENDORSED: (*IN_REVIEW_PATH, (A.OPEN_CONSENSUS, SECRETARIAT), (A.CLOSE_WITHOUT_CONSENSUS, SECRETARIAT)),
    S.CHANGES_REQUESTED: ((A.SUBMIT, LEAD_AUTHOR), (A.RETURN_FOR_REVISION, SECRETARIAT)),
    S.WITHDRAWN: ((A.WITHDRAW, LEAD_AUTHOR),),
}

#: The rounds of the world were opened this long ago, for ROUND_HOURS: their deadlines passed an hour ago.
OPENED_AGO = timedelta(hours=73)
ROUND_HOURS = 72

#: Actions of a state that are not offered as buttons on the world's proposal, because their
#: condition does not hold there (the cells above still allow the role).
CONDITION_UNMET = {
    S.IN_REVIEW: {A.OPEN_CONSENSUS},  # no round yet: the secretariat opens one with its type and deadline
    S.CONSENSUS: {A.CLOSE_WITHOUT_CONSENSUS},  # the rule is met: the proposal is endorsed, not closed
    OBJECTION_STANDS: {A.ENDORSE},  # an objection stands
}

NOTE = "Please shorten the implementation section."
REFERENCE = re.compile(r"EP-(\d{4})-(\d{4})")

ALLOWED_CELLS = [
    (state, action, role)
    for state in S for action in A for role in ROLES
    if (state, action) in WORKFLOW and role in WORKFLOW[state, action][1]
]
REFUSED_ROLE_CELLS = [
    (state, action, role)
    for state in S for action in A for role in ROLES
    if (state, action) in WORKFLOW and role not in WORKFLOW[state, action][1]
]
CELLS_OUTSIDE_THE_TABLE = [
    (state, action, role) for state in S for action in A for role in ROLES if (state, action) not in WORKFLOW
]


def cell_id(cell) -> str:
    state, action, role = cell
    return f"{state.value}-{action.value}-{role.replace(' ', '_')}"


def situation_id(situation) -> str:
    return situation.value if isinstance(situation, ProposalState) else "consensus_with_an_objection_standing"


def note_for(action: ProposalAction) -> str | None:
    return NOTE if action == A.RETURN_FOR_REVISION else None


# --- The world: people, and one proposal in each state ------------------------------------------


@dataclass
class World:
    user_ids: dict[str, int]
    proposal_ids: dict[ProposalState | str, int]
    #: A situation the services could not reach, and why: its cells fail with this, the others still run.
    unreachable: dict[ProposalState | str, str]

    def actor(self, role: str):
        if role == ANONYMOUS:
            return AnonymousUser()
        if role == THE_SYSTEM:
            return workflow.SYSTEM
        return _db.session.get(User, self.user_ids[role])

    def proposal_in(self, state: ProposalState | str, action: ProposalAction | None = None) -> Proposal:
        """The world's proposal in ``state``; for closing without consensus, the one whose objection stands."""
        situation = OBJECTION_STANDS if (state, action) == (S.CONSENSUS, A.CLOSE_WITHOUT_CONSENSUS) else state
        if situation in self.unreachable:
            pytest.fail(f"no proposal could be brought to {situation_id(situation)}: {self.unreachable[situation]}")
        return _db.session.get(Proposal, self.proposal_ids[situation])


def create_person(role: str, roles) -> User:
    slug = role.split()[0].lower()
    return account_services.create_user(
        email=f"{slug}-{len(role)}@example.org", display_name=role.title(), password=DEFAULT_PASSWORD,
        roles=set(roles), is_email_confirmed=True,
    )


def build_world() -> World:
    people = {
        LEAD_AUTHOR: create_person(LEAD_AUTHOR, (Role.EXPERT,)),
        CO_AUTHOR: create_person(CO_AUTHOR, (Role.EXPERT,)),
        INVITED_CO_AUTHOR: create_person(INVITED_CO_AUTHOR, (Role.EXPERT,)),
        ANOTHER_EXPERT: create_person(ANOTHER_EXPERT, (Role.EXPERT,)),
        COUNCIL_MEMBER: create_person(COUNCIL_MEMBER, (Role.COUNCIL_MEMBER,)),
        SECRETARIAT: create_person(SECRETARIAT, (Role.ADMIN,)),
        RESEARCHER: create_person(RESEARCHER, (Role.RESEARCHER,)),
    }
    ensure_a_delegation(people[SECRETARIAT])  # a round asks the delegations: one has a member
    _db.session.commit()
    world = World(user_ids={role: person.id for role, person in people.items()}, proposal_ids={}, unreachable={})
    for situation, path in PATH_TO.items():
        try:
            world.proposal_ids[situation] = proposal_brought_to(situation, path, world)
        except Exception as error:  # noqa: BLE001 - reported by the cells of this situation
            _db.session.rollback()
            world.unreachable[situation] = repr(error)
    return world


def open_a_silence_procedure_that_ended_unopposed(proposal: Proposal, world: World) -> None:
    open_consensus(proposal, world.actor(SECRETARIAT), kind=RoundKind.SILENCE, hours=ROUND_HOURS,
                   now=utcnow() - OPENED_AGO)


def open_a_standard_round_that_ended_with_an_objection(proposal: Proposal, world: World) -> None:
    opened_at = utcnow() - OPENED_AGO
    round_ = open_consensus(proposal, world.actor(SECRETARIAT), kind=RoundKind.STANDARD, hours=ROUND_HOURS,
                            now=opened_at)
    rounds.record_position(actor=a_member_of(round_.asked[0].delegation_id), proposal=proposal,
                           position=Position.OBJECT, reason="Not now.", now=opened_at + timedelta(hours=1))


ROUNDS_OF = {
    S.CONSENSUS: open_a_silence_procedure_that_ended_unopposed,
    OBJECTION_STANDS: open_a_standard_round_that_ended_with_an_objection,
}


def a_member_of(delegation_id: int) -> User:
    return _db.session.scalar(select(User).join(DelegationSeat, DelegationSeat.user_id == User.id).where(
        DelegationSeat.delegation_id == delegation_id, DelegationSeat.removed_at.is_(None)
    ).order_by(DelegationSeat.id).limit(1))


def proposal_brought_to(situation, path, world: World) -> int:
    """A complete draft by the lead, with an accepted co-author and an open invitation, then ``path``."""
    lead = world.actor(LEAD_AUTHOR)
    proposal = services.create_draft(actor=lead, content=services.Content(
        title=f"Shared water gauges ({situation_id(situation)})", summary="A short summary.",
        body="## Problem\n\nWater.", language="en", dimensions=("environmental",), member_state_ids=(),
        keywords=("water",),
    ))
    coauthors.invite(actor=lead, proposal=proposal, user=world.actor(CO_AUTHOR))
    coauthors.respond(actor=world.actor(CO_AUTHOR), proposal=proposal, accept=True)
    coauthors.invite(actor=lead, proposal=proposal, user=world.actor(INVITED_CO_AUTHOR))
    for action, role in path:
        take(proposal, action, world.actor(role), note_for(action), secretariat=world.actor(SECRETARIAT))
    if situation in ROUNDS_OF:
        ROUNDS_OF[situation](proposal, world)
    _db.session.commit()
    assert proposal.state == STATE_OF[situation]
    return proposal.id


@pytest.fixture(scope="module")
def world(test_database, tmp_path_factory):
    with app_of_its_own(test_database, tmp_path_factory.mktemp("workflow-table")):
        yield build_world()


@pytest.fixture
def cell(world):
    """The world for one cell; whatever the cell did is rolled back afterwards."""
    with rolled_back():
        yield world


@dataclass(frozen=True)
class Snapshot:
    state: ProposalState
    version: int
    reference: str | None
    events: Counter
    revisions: int


def stored(proposal_id: int) -> Snapshot:
    """What the database holds for the proposal now (within the cell's transaction)."""
    _db.session.expire_all()
    proposal = _db.session.get(Proposal, proposal_id)
    actions = _db.session.scalars(select(ProposalEvent.action).where(ProposalEvent.proposal_id == proposal_id))
    revisions = _db.session.scalar(
        select(func.count(ProposalRevision.id)).where(ProposalRevision.proposal_id == proposal_id)
    )
    return Snapshot(proposal.state, proposal.version, proposal.reference, Counter(actions), revisions)


def latest_event(proposal: Proposal) -> ProposalEvent:
    return _db.session.scalar(
        select(ProposalEvent).where(ProposalEvent.proposal_id == proposal.id).order_by(ProposalEvent.id.desc()).limit(1)
    )


def act(proposal: Proposal, action: ProposalAction, actor) -> ProposalEvent:
    """The cell's action: ``transition()`` itself, except opening consensus, whose condition (a round
    exists) only ``rounds.open_round`` meets: it creates the round, then takes the transition."""
    if action == A.OPEN_CONSENSUS:
        rounds.open_round(actor=actor, proposal=proposal, kind=RoundKind.STANDARD,
                          deadline_at=utcnow() + timedelta(hours=ROUND_HOURS))
        return latest_event(proposal)
    return workflow.transition(proposal, action, actor=actor, note=note_for(action))


# --- The literal table is the implemented table -------------------------------------------------


def test_the_implemented_table_has_exactly_the_cells_of_the_written_table():
    assert set(workflow.TRANSITIONS) == set(WORKFLOW)


def test_every_implemented_cell_leads_to_the_written_target_state():
    assert {cell: rule.to_state for cell, rule in workflow.TRANSITIONS.items()} == {
        cell: target for cell, (target, _roles) in WORKFLOW.items()
    }


def test_the_cells_tested_below_are_every_state_action_and_role():
    assert len(ALLOWED_CELLS) + len(REFUSED_ROLE_CELLS) + len(CELLS_OUTSIDE_THE_TABLE) == 8 * 8 * 9
    assert len(set(ALLOWED_CELLS) | set(REFUSED_ROLE_CELLS) | set(CELLS_OUTSIDE_THE_TABLE)) == 8 * 8 * 9
    assert (len(S), len(A), len(ROLES)) == (8, 8, 9)
    assert len(ALLOWED_CELLS) == 19


def test_the_world_has_one_proposal_in_each_state_reached_through_the_workflow(world):
    assert world.unreachable == {}
    assert {situation: world.proposal_in(situation).state for situation in SITUATIONS} == STATE_OF


def test_the_two_proposals_in_consensus_have_an_open_round_past_its_deadline_one_met_one_blocked(world):
    now = utcnow()
    met = rounds.open_round_of(world.proposal_in(S.CONSENSUS))
    blocked = rounds.open_round_of(world.proposal_in(S.CONSENSUS, A.CLOSE_WITHOUT_CONSENSUS))

    assert (met.kind, met.deadline_passed(now), rounds.outcome_of(met, now)) == (
        RoundKind.SILENCE, True, ConsensusOutcome.ENDORSED
    )
    assert (blocked.kind, blocked.deadline_passed(now), rounds.outcome_of(blocked, now)) == (
        RoundKind.STANDARD, True, ConsensusOutcome.BLOCKED
    )
    assert [row.position for row in blocked.positions] == [Position.OBJECT]


# --- Every cell ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "action", "role"), ALLOWED_CELLS, ids=[cell_id(c) for c in ALLOWED_CELLS])
def test_an_allowed_role_moves_the_proposal_to_the_target_state_with_one_event(cell, state, action, role):
    proposal = cell.proposal_in(state, action)
    actor = cell.actor(role)
    before = stored(proposal.id)

    event = act(proposal, action, actor)

    after = stored(proposal.id)
    target = WORKFLOW[state, action][0]
    assert after.state == target
    assert after.version == before.version + 1
    assert after.events - before.events == Counter({action.value: 1})
    assert sum(after.events.values()) == sum(before.events.values()) + 1
    assert (event.action, event.from_state, event.to_state, event.actor_id, event.note) == (
        action.value, state, target, getattr(actor, "id", None), note_for(action)
    )
    freezes = action in (A.SUBMIT, A.RESUBMIT)
    assert after.revisions == before.revisions + (1 if freezes else 0)
    assert event.revision_number == (after.revisions if freezes else None)
    if action == A.SUBMIT:
        assert before.reference is None
        assert REFERENCE.fullmatch(after.reference).group(1) == str(utcnow().year)
    else:
        assert after.reference == before.reference


@pytest.mark.parametrize(("state", "action", "role"), REFUSED_ROLE_CELLS, ids=[cell_id(c) for c in REFUSED_ROLE_CELLS])
def test_a_role_the_cell_does_not_name_is_not_allowed_and_nothing_changes(cell, state, action, role):
    proposal = cell.proposal_in(state, action)
    before = stored(proposal.id)

    with pytest.raises(NotAllowed) as refused:
        workflow.transition(proposal, action, actor=cell.actor(role), note=note_for(action))

    assert type(refused.value) is NotAllowed
    assert stored(proposal.id) == before


@pytest.mark.parametrize(
    ("state", "action", "role"), CELLS_OUTSIDE_THE_TABLE, ids=[cell_id(c) for c in CELLS_OUTSIDE_THE_TABLE]
)
def test_an_action_the_state_does_not_have_is_an_invalid_transition_and_nothing_changes(cell, state, action, role):
    proposal = cell.proposal_in(state, action)
    before = stored(proposal.id)

    with pytest.raises(InvalidTransition) as refused:
        workflow.transition(proposal, action, actor=cell.actor(role), note=note_for(action))

    assert type(refused.value) is InvalidTransition
    assert stored(proposal.id) == before


@pytest.mark.parametrize("situation", SITUATIONS, ids=[situation_id(situation) for situation in SITUATIONS])
@pytest.mark.parametrize("role", ROLES, ids=[role.replace(" ", "_") for role in ROLES])
def test_the_buttons_offered_are_the_allowed_cells_of_the_state_whose_condition_holds(cell, situation, role):
    proposal = cell.proposal_in(situation)
    state = STATE_OF[situation]

    offered = workflow.available_actions(proposal, cell.actor(role))

    assert set(offered) == {
        action for (s, action, r) in ALLOWED_CELLS if s == state and r == role
    } - CONDITION_UNMET.get(situation, set())


# --- The conditions of the consensus cells ------------------------------------------------------


def refusal_of(proposal: Proposal, action: ProposalAction, actor) -> str:
    before = stored(proposal.id)
    with pytest.raises(InvalidTransition) as refused:
        workflow.transition(proposal, action, actor=actor)
    assert type(refused.value) is InvalidTransition
    assert stored(proposal.id) == before
    return refused.value.message


def test_opening_consensus_by_a_plain_transition_without_a_round_is_an_invalid_transition(cell):
    proposal = cell.proposal_in(S.IN_REVIEW)

    assert refusal_of(proposal, A.OPEN_CONSENSUS, cell.actor(SECRETARIAT)) == (
        "Open a consensus round with its type and deadline."
    )
    assert rounds.rounds_of(proposal) == []


def test_endorsing_while_an_objection_stands_is_an_invalid_transition(cell):
    proposal = cell.proposal_in(S.CONSENSUS, A.CLOSE_WITHOUT_CONSENSUS)

    assert refusal_of(proposal, A.ENDORSE, workflow.SYSTEM) == (
        "The consensus rule is not met: the proposal cannot be endorsed."
    )


def test_endorsing_before_every_delegation_answered_and_before_the_deadline_is_an_invalid_transition(cell):
    proposal = cell.proposal_in(S.IN_REVIEW)
    open_consensus(proposal, cell.actor(SECRETARIAT), kind=RoundKind.STANDARD, hours=ROUND_HOURS)

    assert refusal_of(proposal, A.ENDORSE, workflow.SYSTEM) == (
        "The consensus rule is not met: the proposal cannot be endorsed."
    )


def test_closing_without_consensus_before_the_deadline_is_an_invalid_transition(cell):
    proposal = cell.proposal_in(S.IN_REVIEW)
    round_ = open_consensus(proposal, cell.actor(SECRETARIAT), kind=RoundKind.STANDARD, hours=ROUND_HOURS)
    rounds.record_position(actor=a_member_of(round_.asked[0].delegation_id), proposal=proposal,
                           position=Position.OBJECT, reason="Not now.")

    assert refusal_of(proposal, A.CLOSE_WITHOUT_CONSENSUS, cell.actor(SECRETARIAT)) == (
        "The round can be closed without consensus only once its deadline has passed."
    )


def test_closing_without_consensus_when_the_rule_is_met_is_an_invalid_transition(cell):
    proposal = cell.proposal_in(S.CONSENSUS)

    assert refusal_of(proposal, A.CLOSE_WITHOUT_CONSENSUS, cell.actor(SECRETARIAT)) == (
        "The consensus rule is met: the proposal is endorsed, not closed."
    )


def test_closing_without_consensus_just_before_the_deadline_is_refused_and_just_after_it_allowed(cell):
    proposal = cell.proposal_in(S.CONSENSUS, A.CLOSE_WITHOUT_CONSENSUS)
    deadline = rounds.open_round_of(proposal).deadline_at
    secretariat = cell.actor(SECRETARIAT)

    with pytest.raises(InvalidTransition):
        workflow.transition(proposal, A.CLOSE_WITHOUT_CONSENSUS, actor=secretariat,
                            now=deadline - timedelta(seconds=1))
    event = workflow.transition(proposal, A.CLOSE_WITHOUT_CONSENSUS, actor=secretariat, now=deadline)

    assert (event.from_state, event.to_state) == (S.CONSENSUS, S.NOT_ENDORSED)


# --- Submission, revisions, references, notes ---------------------------------------------------


def revisions_of(proposal: Proposal) -> list[tuple[int, str, str]]:
    return [
        (revision.number, revision.title, revision.body)
        for revision in _db.session.scalars(
            select(ProposalRevision)
            .where(ProposalRevision.proposal_id == proposal.id)
            .order_by(ProposalRevision.number)
        )
    ]


def test_submitting_freezes_revision_one_and_resubmitting_freezes_the_next(db, make_proposal, make_user):
    secretariat = make_user(roles=(Role.ADMIN,))
    proposal = make_proposal(title="Shared water gauges", body="First text.")
    lead = proposal.authors[0].user

    submitted = workflow.transition(proposal, A.SUBMIT, actor=lead)
    workflow.transition(proposal, A.RETURN_FOR_REVISION, actor=secretariat, note=NOTE)
    services.save_content(actor=lead, proposal=proposal, opened_at_version=proposal.version, content=services.Content(
        title="Shared water gauges", summary="A short summary.", body="Second text.", language="en",
        dimensions=("environmental",), member_state_ids=(), keywords=("water",),
    ))
    resubmitted = workflow.transition(proposal, A.RESUBMIT, actor=lead)
    db.session.commit()

    assert revisions_of(proposal) == [
        (1, "Shared water gauges", "First text."),
        (2, "Shared water gauges", "Second text."),
    ]
    assert (submitted.revision_number, resubmitted.revision_number) == (1, 2)
    assert proposal.body == "Second text."


def test_the_first_submission_gives_reference_0001_of_the_year_and_the_next_proposal_0002(db, make_proposal, make_user):
    secretariat = make_user(roles=(Role.ADMIN,))
    first = make_proposal()
    second = make_proposal()
    year = utcnow().year

    workflow.transition(first, A.SUBMIT, actor=first.authors[0].user)
    workflow.transition(second, A.SUBMIT, actor=second.authors[0].user)
    workflow.transition(first, A.RETURN_FOR_REVISION, actor=secretariat, note=NOTE)
    workflow.transition(first, A.RESUBMIT, actor=first.authors[0].user)
    db.session.commit()

    assert (first.reference, second.reference) == (f"EP-{year}-0001", f"EP-{year}-0002")
    assert db.session.get(ReferenceCounter, year).last_number == 2


@pytest.mark.parametrize("note", [None, "", "   \n\t "], ids=["none", "empty", "blank"])
def test_returning_for_revision_without_a_note_is_refused_and_changes_nothing(db, make_proposal, make_user, note):
    secretariat = make_user(roles=(Role.ADMIN,))
    proposal = make_proposal()
    workflow.transition(proposal, A.SUBMIT, actor=proposal.authors[0].user)
    db.session.commit()
    before = stored(proposal.id)

    with pytest.raises(ValidationFailed) as refused:
        workflow.transition(proposal, A.RETURN_FOR_REVISION, actor=secretariat, note=note)

    assert refused.value.field == "note"
    assert stored(proposal.id) == before
    assert before.state == S.SUBMITTED


def test_a_draft_without_a_dimension_cannot_be_submitted_and_changes_nothing(db, make_proposal):
    proposal = make_proposal(dimensions=())
    before = stored(proposal.id)

    with pytest.raises(ValidationFailed) as refused:
        workflow.transition(proposal, A.SUBMIT, actor=proposal.authors[0].user)

    assert refused.value.field is None
    assert "at least one dimension" in refused.value.message
    assert stored(proposal.id) == before
    assert (before.state, before.reference, before.revisions) == (S.DRAFT, None, 0)
    assert db.session.scalar(select(func.count()).select_from(ReferenceCounter)) == 0
