"""Many delegations recording positions at the same moment (issue 5, item 7).

Each writer is a thread with its own app context, database session and transaction, committing as
a server process would; a ``threading.Barrier`` releases them together. On SQLite the writers queue
for the write lock (BEGIN IMMEDIATE), on PostgreSQL for the proposal's row lock (``lock_proposal``):
without it, two transactions that each see only their own new position both conclude "not yet" and
the proposal stays in consensus for ever (write skew). Every test runs on both databases.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from expert_platform.accounts.models import User
from expert_platform.enums import (
    ConsensusOutcome,
    NotificationKind,
    Position,
    ProposalAction,
    ProposalState,
    Role,
    RoundKind,
    RoundResult,
)
from expert_platform.errors import DomainError
from expert_platform.extensions import db as _db
from expert_platform.mail import read_outbox
from expert_platform.notifications.models import Notification
from expert_platform.proposals.models import Proposal, ProposalEvent
from expert_platform.review import rounds
from expert_platform.review.models import ConsensusRound, DelegationPosition, PositionRecord
from tests.proposals.page_steps import signed_in

PROPOSALS = 8
NO_ROUND_OPEN = "No consensus round is open on this proposal."
NOT_A_DELEGATE_OF_AN_OPEN_ROUND = "Only a member of a delegation asked in the round records its position."


class Refused:
    """A writer whose change a rule refused (a DomainError, shown to the user as a form error)."""

    def __init__(self, error: DomainError) -> None:
        self.message = error.message

    def __repr__(self) -> str:
        return f"Refused({self.message!r})"


def run_together(app, jobs: list[Callable[[], object]]) -> list[object]:
    """Run each job in a thread of its own (own app context, session and transaction), all released
    at once; returns what each returned, in order (a Refused for a DomainError, which rolls back)."""
    start_together = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)
    failures: list[BaseException] = []

    def work(index: int, job) -> None:
        with app.app_context():
            try:
                start_together.wait(timeout=30)
                results[index] = job()
                _db.session.commit()
            except DomainError as error:
                _db.session.rollback()
                results[index] = Refused(error)
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                _db.session.rollback()
                failures.append(error)
            finally:
                _db.session.remove()

    _db.session.commit()  # no transaction of the test may hold SQLite's write lock while they race
    threads = [threading.Thread(target=work, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [thread.is_alive() for thread in threads] == [False] * len(jobs)
    assert [repr(failure) for failure in failures] == []
    _db.session.expire_all()
    return results


def recording(proposal_id: int, user_id: int, position: Position, now=None) -> Callable[[], ConsensusOutcome]:
    """A job: the user records their delegation's position (the proposal is loaded inside the job, so on
    SQLite the load begins the writing transaction)."""

    def job() -> ConsensusOutcome:
        proposal = _db.session.get(Proposal, proposal_id)
        actor = _db.session.get(User, user_id)
        return rounds.record_position(actor=actor, proposal=proposal, position=position, now=now).outcome

    return job


def settling(proposal_id: int, now=None) -> Callable[[], ConsensusOutcome | None]:
    def job() -> ConsensusOutcome | None:
        return rounds.settle(proposal=_db.session.get(Proposal, proposal_id), now=now)

    return job


def closing_due() -> list[ConsensusOutcome | None]:
    """What ``flask council close-due`` does: settle each due proposal, one transaction each."""
    outcomes = []
    for proposal_id in rounds.due_proposals():
        outcomes.append(rounds.settle(proposal=_db.session.get(Proposal, proposal_id)))
        _db.session.commit()
    return outcomes


# --- the world ----------------------------------------------------------------------------------


@pytest.fixture
def council(make_council):
    return make_council(("CN", "IN", "RU"), alternates=("CN",))


@pytest.fixture
def proposals_in_consensus(make_user, make_proposal, bring_to, council):
    """PROPOSALS proposals in a standard round, each with two co-authors."""

    def build(kind=RoundKind.STANDARD) -> list[Proposal]:
        return [
            bring_to(make_proposal(coauthors=[make_user(roles=(Role.EXPERT,))]), ProposalState.CONSENSUS, kind=kind)
            for _ in range(PROPOSALS)
        ]

    return build


def pairs_of(results: list) -> list[Counter]:
    """The results of the two jobs of each proposal, as counts (whichever came first)."""
    return [Counter(results[index:index + 2]) for index in range(0, len(results), 2)]


def rows_of(query) -> list[tuple]:
    return sorted(tuple(row) for row in _db.session.execute(query))


def count(model, *conditions) -> int:
    return _db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def endorse_events_by_proposal() -> Counter:
    return Counter(_db.session.scalars(
        select(ProposalEvent.proposal_id).where(ProposalEvent.action == ProposalAction.ENDORSE.value)
    ))


def decision_notifications() -> list[tuple[int, int]]:
    """(proposal id, recipient id) of every decision notification, sorted."""
    return rows_of(
        select(Notification.proposal_id, Notification.user_id).where(Notification.kind == NotificationKind.DECISION)
    )


def coauthor_pairs(proposals: list[Proposal]) -> list[tuple[int, int]]:
    return sorted((proposal.id, row.user_id) for proposal in proposals for row in proposal.coauthors)


def decision_emails(app) -> list[tuple[str, str]]:
    return sorted((message["To"], message["Subject"]) for message in read_outbox(app)
                  if message["Subject"].endswith("is endorsed by the council."))


def expected_decision_emails(proposals: list[Proposal]) -> list[tuple[str, str]]:
    return sorted((row.user.email, f"“{proposal.title}” is endorsed by the council.")
                  for proposal in proposals for row in proposal.coauthors)


def states_of(proposals: list[Proposal]) -> list[ProposalState]:
    return [_db.session.get(Proposal, proposal.id).state for proposal in proposals]


def assert_each_endorsed_once(app, proposals: list[Proposal]) -> None:
    """Every proposal endorsed, once: one endorse event, its round closed as endorsed, one decision
    notification and one email per co-author, and no round left open."""
    assert states_of(proposals) == [ProposalState.ENDORSED] * len(proposals)
    assert endorse_events_by_proposal() == Counter({proposal.id: 1 for proposal in proposals})
    assert rows_of(select(ConsensusRound.proposal_id, ConsensusRound.result)) == sorted(
        (proposal.id, RoundResult.ENDORSED) for proposal in proposals
    )
    assert count(ConsensusRound, ConsensusRound.closed_at.is_(None)) == 0
    assert decision_notifications() == coauthor_pairs(proposals)
    assert len(decision_notifications()) == 2 * len(proposals)
    assert decision_emails(app) == expected_decision_emails(proposals)


# --- the last two positions arrive together -----------------------------------------------------


def test_for_n_proposals_whose_last_two_positions_arrive_together_there_are_exactly_n_endorsements(
    app, council, proposals_in_consensus
):
    proposals = proposals_in_consensus()
    for proposal in proposals:
        rounds.record_position(actor=council["CN"], proposal=proposal, position=Position.ENDORSE)
    _db.session.commit()

    results = run_together(app, [
        recording(proposal.id, council[code].id, Position.ENDORSE)
        for proposal in proposals for code in ("IN", "RU")
    ])

    assert pairs_of(results) == [Counter({ConsensusOutcome.PENDING: 1, ConsensusOutcome.ENDORSED: 1})] * PROPOSALS
    assert_each_endorsed_once(app, proposals)
    assert count(DelegationPosition) == 3 * PROPOSALS
    assert count(PositionRecord) == 3 * PROPOSALS
    assert rows_of(
        select(ConsensusRound.proposal_id, func.count(DelegationPosition.id))
        .join(DelegationPosition, DelegationPosition.round_id == ConsensusRound.id)
        .group_by(ConsensusRound.proposal_id)
    ) == sorted((proposal.id, 3) for proposal in proposals)
    for proposal in proposals:
        decision = rounds.latest_round_of(proposal).decision
        assert (decision["endorsed"], decision["no_answer"]) == (["China", "India", "Russian Federation"], [])


def test_one_delegation_recording_from_two_seats_at_once_keeps_one_position_and_both_in_the_history(
    app, council, proposals_in_consensus
):
    proposals = proposals_in_consensus()

    results = run_together(app, [
        recording(proposal.id, council[seat].id, position)
        for proposal in proposals
        for seat, position in (("CN", Position.ENDORSE), ("CN-alternate", Position.STAND_ASIDE))
    ])

    assert results == [ConsensusOutcome.PENDING] * (2 * PROPOSALS)
    assert states_of(proposals) == [ProposalState.CONSENSUS] * PROPOSALS
    for proposal in proposals:
        round_ = rounds.open_round_of(proposal)
        history = rounds.position_history(round_)
        assert sorted((record.position, record.recorded_by_id) for record in history) == sorted([
            (Position.ENDORSE, council["CN"].id), (Position.STAND_ASIDE, council["CN-alternate"].id)
        ])
        # The later of the two stands.
        latest = max(history, key=lambda record: record.id)
        assert [(row.delegation_id, row.position, row.recorded_by_id) for row in round_.positions] == [
            (latest.delegation_id, latest.position, latest.recorded_by_id)
        ]
    assert count(DelegationPosition) == PROPOSALS
    assert count(PositionRecord) == 2 * PROPOSALS


# --- settling races -----------------------------------------------------------------------------


def test_settling_at_the_deadline_while_the_last_position_arrives_endorses_once(
    app, council, proposals_in_consensus
):
    proposals = proposals_in_consensus()
    for proposal in proposals:
        for code in ("CN", "IN"):
            rounds.record_position(actor=council[code], proposal=proposal, position=Position.ENDORSE)
    _db.session.commit()
    after_the_deadline = {proposal.id: rounds.open_round_of(proposal).deadline_at + timedelta(minutes=1)
                          for proposal in proposals}

    results = run_together(app, [
        job
        for proposal in proposals
        for job in (recording(proposal.id, council["RU"].id, Position.ENDORSE),
                    settling(proposal.id, now=after_the_deadline[proposal.id]))
    ])

    for index, proposal in enumerate(proposals):
        recorded, settled = results[2 * index:2 * index + 2]
        if settled is None:  # the position came first and endorsed; the settling found the round closed
            assert recorded == ConsensusOutcome.ENDORSED
            assert count(PositionRecord, PositionRecord.round_id == rounds.latest_round_of(proposal).id) == 3
        else:  # the settling came first (two of three endorsed by the deadline); the position was too late
            assert settled == ConsensusOutcome.ENDORSED
            assert isinstance(recorded, Refused)
            assert recorded.message in (NO_ROUND_OPEN, NOT_A_DELEGATE_OF_AN_OPEN_ROUND)
            assert count(PositionRecord, PositionRecord.round_id == rounds.latest_round_of(proposal).id) == 2
    assert_each_endorsed_once(app, proposals)


def test_two_close_due_runs_at_once_endorse_each_due_proposal_once(app, council, make_due_proposals):
    proposals = make_due_proposals(PROPOSALS)
    assert sorted(rounds.due_proposals()) == sorted(proposal.id for proposal in proposals)

    first_run, second_run = run_together(app, [closing_due, closing_due])

    endorsed = [outcome for outcome in first_run + second_run if outcome == ConsensusOutcome.ENDORSED]
    assert len(endorsed) == PROPOSALS
    assert [outcome for outcome in first_run + second_run if outcome != ConsensusOutcome.ENDORSED] == [None] * (
        len(first_run) + len(second_run) - PROPOSALS
    )
    assert_each_endorsed_once(app, proposals)
    assert rounds.due_proposals() == []


def test_two_settlings_of_one_round_at_once_endorse_it_once(app, council, make_due_proposals):
    proposals = make_due_proposals(PROPOSALS)

    results = run_together(app, [settling(proposal.id) for proposal in proposals for _ in range(2)])

    assert pairs_of(results) == [Counter({ConsensusOutcome.ENDORSED: 1, None: 1})] * PROPOSALS
    assert_each_endorsed_once(app, proposals)


# --- settling on page views ---------------------------------------------------------------------


def viewing(client, path: str) -> Callable[[], int]:
    """A job: a signed-in viewer opens the page at ``path`` (a request of its own: its own transactions)."""

    def job() -> int:
        return client.get(path).status_code

    return job


def test_viewers_opening_a_due_proposal_at_once_endorse_it_once(app, council, make_due_proposals):
    """Each page that settles a round whose deadline passed (the proposal page, the review workspace, the
    discussion) does it in its request's one writing transaction; three viewers at once endorse once."""
    proposals = make_due_proposals(PROPOSALS)
    pages = ("/proposals/{}", "/proposals/{}/review", "/proposals/{}/discussion")
    jobs = [viewing(signed_in(app, council[code]), page.format(proposal.id))
            for proposal in proposals for code, page in zip(("CN", "IN", "RU"), pages, strict=True)]

    results = run_together(app, jobs)

    assert results == [200] * len(jobs)
    assert states_of(proposals) == [ProposalState.ENDORSED] * PROPOSALS
    assert endorse_events_by_proposal() == Counter({proposal.id: 1 for proposal in proposals})
    assert rows_of(select(ConsensusRound.proposal_id, ConsensusRound.result)) == sorted(
        (proposal.id, RoundResult.ENDORSED) for proposal in proposals
    )
    assert decision_notifications() == coauthor_pairs(proposals)
