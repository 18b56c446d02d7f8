"""The demo data of the council's review (``flask seed-demo``) and the cron commands ``flask council
close-due`` and ``flask council remind``, run through the Flask CLI runner.

The demo reaches every state through the services: proposals under review with rapporteurs, reviews
and comments, open rounds of both kinds that do not meet the rule yet, endorsements with reservations
and one proposal closed without consensus; seeding twice adds no row. The demo council member has
work waiting on the dashboard. ``close-due`` endorses the rounds that meet the rule at their deadline
and leaves the blocked ones to the secretariat, as often as it runs; ``remind`` reminds once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from expert_platform import demo
from expert_platform.database import utcnow
from expert_platform.enums import (
    CommentVisibility,
    ConsensusOutcome,
    NotificationKind,
    Position,
    ProposalState,
    RoundKind,
    RoundResult,
)
from expert_platform.extensions import db
from expert_platform.notifications.models import Notification
from expert_platform.proposals.models import Proposal, ProposalEvent
from expert_platform.review import rounds
from expert_platform.review import services as review_services
from expert_platform.review.models import Comment, ConsensusRound
from tests.conftest import sign_in
from tests.html_tree import parse_html

S = ProposalState


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def proposal_titled(title: str) -> Proposal:
    return db.session.scalar(select(Proposal).where(Proposal.title == title))


def row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {table.name: db.session.scalar(select(func.count()).select_from(table)) for table in
            db.metadata.sorted_tables}


# --- the demo data -----------------------------------------------------------------------------


@pytest.fixture
def seeded(run):
    result = run("seed-demo")
    assert result.exit_code == 0, result.output
    db.session.expire_all()


def test_seeding_twice_adds_no_row_the_second_time(run, seeded):
    first = row_counts()

    result = run("seed-demo")

    assert result.exit_code == 0, result.output
    assert row_counts() == first
    assert first["rapporteur_assignments"] > 0 and first["consensus_rounds"] > 0


def test_the_demo_has_a_proposal_in_review_with_rapporteurs_a_shared_review_and_both_kinds_of_comment(seeded):
    proposal = proposal_titled("Hotline between defence ministries for incidents at sea")

    assert proposal.state == S.IN_REVIEW
    assert [row.user.email for row in review_services.assignments_of(proposal)] == [
        "priya.sharma@demo.example", "kanya.srisuk@demo.example",
    ]
    reviews = review_services.reviews_of(proposal)
    assert [(review.assignment.user.email, review.is_shared) for review in reviews] == [
        ("priya.sharma@demo.example", True),
    ]
    comments = db.session.scalars(select(Comment).where(Comment.proposal_id == proposal.id).order_by(Comment.id))
    assert [(comment.visibility, comment.is_by_proposal_author, comment.parent_id is not None)
            for comment in comments] == [
        (CommentVisibility.COUNCIL, False, False),
        (CommentVisibility.AUTHORS, False, False),
        (CommentVisibility.AUTHORS, True, True),
    ]


def test_the_demo_has_open_rounds_of_both_kinds_with_positions_and_none_meets_the_rule_yet(seeded):
    now = utcnow()
    open_rounds = db.session.scalars(
        select(ConsensusRound).where(ConsensusRound.closed_at.is_(None)).order_by(
            ConsensusRound.deadline_at)
    ).all()

    assert [(round_.proposal.title, round_.kind) for round_ in open_rounds] == [
        ("Совместные учения по ликвидации последствий землетрясений", RoundKind.STANDARD),
        ("Common protocol for mountain rescue across borders", RoundKind.SILENCE),
    ]
    assert [len(round_.positions) for round_ in open_rounds] == [2, 2]
    assert [rounds.outcome_of(round_, now) for round_ in open_rounds] == [ConsensusOutcome.PENDING] * 2
    assert all(timedelta(days=3) < round_.deadline_at - now < timedelta(days=6) for round_ in open_rounds)
    assert {round_.proposal.state for round_ in open_rounds} == {S.CONSENSUS}


def test_the_demo_has_endorsements_with_reservations_annexed(seeded):
    cyber = rounds.latest_round_of(proposal_titled("Regional cyber incident contact points"))
    seismic = rounds.latest_round_of(proposal_titled("Shared seismic data for earthquake early warning"))

    assert (cyber.proposal.state, cyber.kind, cyber.result) == (S.ENDORSED, RoundKind.STANDARD, RoundResult.ENDORSED)
    assert cyber.decision["reservations"] == [
        {"delegation": "India", "reason": "Yearly tests to be scheduled outside national holidays."},
        {"delegation": "Russian Federation",
         "reason": "The directory is to hold no personal data beyond a function."},
    ]
    assert (cyber.decision["endorsed"], cyber.decision["stood_aside"], cyber.decision["no_answer"]) == (
        ["China", "Kazakhstan", "Thailand"], ["Türkiye"], [],
    )
    assert (seismic.proposal.state, seismic.kind) == (S.ENDORSED, RoundKind.SILENCE)
    assert seismic.decision["reservations"] == [
        {"delegation": "Türkiye", "reason": "Readings are shared for warning only, not for publication."},
    ]
    assert seismic.decision["no_answer"] == ["India", "Kazakhstan", "Russian Federation", "Thailand"]


def test_the_demo_has_one_proposal_closed_without_consensus_after_an_objection(seeded):
    proposals = db.session.scalars(select(Proposal).where(Proposal.state == S.NOT_ENDORSED)).all()

    assert [proposal.title for proposal in proposals] == ["Joint observation of military exercises near borders"]
    round_ = rounds.latest_round_of(proposals[0])
    assert round_.result == RoundResult.NOT_ENDORSED
    assert round_.decision["objected"] == [
        {"delegation": "China", "reason": "Observation should follow the existing confidence-building catalogue "
                                          "instead."},
    ]
    assert round_.deadline_at < round_.closed_at
    assert all(row.recorded_at < round_.deadline_at for row in round_.positions)


def test_the_demo_council_member_has_a_review_and_positions_waiting(app, seeded):
    browser = app.test_client()
    email, _name, password, _roles = next(account for account in demo.DEMO_ACCOUNTS
                                          if account[0] == "council@demo.example")
    assert sign_in(browser, email, password).status_code == 302

    page = parse_html(browser.get("/council/review"))

    assert [link.text for link in page.find(id="my-reviews").find_all("a")] == [
        "Locust outbreak alerts along shared grazing lands",
    ]
    assert [link.text for link in page.find(id="my-positions").find_all("a")] == [
        "Совместные учения по ликвидации последствий землетрясений",
        "Common protocol for mountain rescue across borders",
    ]


# --- flask council close-due ---------------------------------------------------------------------


def decisions_of(proposal) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.proposal_id == proposal.id, Notification.kind == NotificationKind.DECISION))


def endorsements_of(proposal) -> int:
    return db.session.scalar(select(func.count(ProposalEvent.id)).where(
        ProposalEvent.proposal_id == proposal.id, ProposalEvent.action == "endorse"))


@pytest.fixture
def due_rounds(make_proposal, make_council, bring_to, secretariat):
    """A silence procedure past its deadline without objection, a standard round past its deadline with
    an objection, and a round still open."""
    council = make_council(("CN", "IN", "RU"))
    opened = utcnow() - timedelta(hours=6)
    silent = bring_to(make_proposal(title="Silent"), S.IN_REVIEW)
    rounds.open_round(actor=secretariat, proposal=silent, kind=RoundKind.SILENCE, now=opened,
                      deadline_at=utcnow() - timedelta(hours=2))
    blocked = bring_to(make_proposal(title="Blocked"), S.IN_REVIEW)
    rounds.open_round(actor=secretariat, proposal=blocked, kind=RoundKind.STANDARD, now=opened,
                      deadline_at=utcnow() - timedelta(hours=1))
    rounds.record_position(actor=council["CN"], proposal=blocked, position=Position.OBJECT, reason="Not yet.",
                           now=opened + timedelta(hours=1))
    still_open = bring_to(make_proposal(title="Still open"), S.CONSENSUS, kind=RoundKind.SILENCE)
    db.session.commit()
    return silent, blocked, still_open


def test_close_due_endorses_a_due_silence_round_and_leaves_a_blocked_one_open(run, outbox, due_rounds):
    silent, blocked, still_open = due_rounds

    result = run("council", "close-due")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"  {silent.reference}: endorsed\n"
        f"  {blocked.reference}: blocked, waiting for the secretariat to close it\n"
        "Rounds past their deadline: 1 endorsed, 1 without consensus.\n"
    )
    db.session.expire_all()
    assert [silent.state, blocked.state, still_open.state] == [S.ENDORSED, S.CONSENSUS, S.CONSENSUS]
    assert rounds.latest_round_of(silent).result == RoundResult.ENDORSED
    assert rounds.open_round_of(blocked) is not None
    assert [message["To"] for message in outbox() if "endorsed" in message["Subject"]] == [
        silent.coauthors[0].user.email,
    ]
    assert (decisions_of(silent), decisions_of(blocked), decisions_of(still_open)) == (1, 0, 0)


def test_close_due_a_second_time_endorses_nothing_and_notifies_nobody_again(run, outbox, due_rounds):
    silent, blocked, _still_open = due_rounds
    assert run("council", "close-due").exit_code == 0
    mails = len(outbox())

    result = run("council", "close-due")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"  {blocked.reference}: blocked, waiting for the secretariat to close it\n"
        "Rounds past their deadline: 0 endorsed, 1 without consensus.\n"
    )
    assert (endorsements_of(silent), decisions_of(silent), decisions_of(blocked)) == (1, 1, 0)
    assert len(outbox()) == mails


def test_close_due_with_nothing_due_says_so(run, app):
    result = run("council", "close-due")

    assert result.exit_code == 0, result.output
    assert result.stdout == "Rounds past their deadline: 0 endorsed, 0 without consensus.\n"


# --- flask council remind ------------------------------------------------------------------------


def test_remind_tells_the_silent_delegations_once_however_often_it_runs(run, outbox, make_proposal, make_council,
                                                                        bring_to):
    council = make_council(("CN", "IN", "RU"))
    proposal = bring_to(make_proposal(title="Closing tomorrow"), S.CONSENSUS, hours=24)
    bring_to(make_proposal(title="Closing next week"), S.CONSENSUS, hours=24 * 7)
    rounds.record_position(actor=council["CN"], proposal=proposal, position=Position.ENDORSE)
    db.session.commit()

    first = run("council", "remind")
    mails = len(outbox())
    second = run("council", "remind")

    assert (first.exit_code, first.stdout) == (0, "Reminders sent: 2.\n")
    assert (second.exit_code, second.stdout) == (0, "Reminders sent: 0.\n")
    reminded = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == NotificationKind.DEADLINE_NEAR).order_by(Notification.user_id)).all()
    assert reminded == sorted([council["IN"].id, council["RU"].id])
    assert len(outbox()) == mails
