"""The council's review workspace of a proposal: who sees it, its header, and the secretariat's actions
(start the review, return for revision); and that nobody without the right role can post any of its forms.

The helpers here (``world``, ``post``, ``snapshot``...) are shared by the other workspace test modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from expert_platform.council import services as council_services
from expert_platform.database import utcnow
from expert_platform.enums import DelegationRole, Position, ProposalState, Recommendation, Role, RoundResult
from expert_platform.extensions import db
from expert_platform.proposals.models import Proposal, ProposalEvent
from expert_platform.review import rounds
from expert_platform.review import services as review_services
from expert_platform.review.models import (
    ConsensusRound,
    DelegationPosition,
    PositionRecord,
    RapporteurAssignment,
    Review,
)
from tests.html_tree import parse_html
from tests.proposals.page_steps import field_error, flashes, signed_in, token

MARKER_REVIEW = "Confidential assessment QX-7731"
MARKER_REASON = "Confidential objection ZW-4402"


def workspace_path(proposal) -> str:
    return f"/proposals/{proposal.id}/review"


def post(client, path: str, data: dict | None = None):
    """POST a form the way the page does (with the session's CSRF token)."""
    return client.post(path, data={"csrf_token": token(client), **(data or {})})


def deadline_text(delta: timedelta) -> str:
    """A datetime-local value ``delta`` from now, as a browser sends it (UTC)."""
    return (utcnow() + delta).strftime("%Y-%m-%dT%H:%M")


def appoint(secretariat, states, user, code: str):
    """Give ``user`` a seat at the head of ``code``'s delegation."""
    council_services.appoint(actor=secretariat, user=user, member_state=states[code], role=DelegationRole.HEAD)
    db.session.commit()
    return user


def texts(response, tag: str, **attributes) -> list[str]:
    return [element.text for element in parse_html(response).find_all(tag, **attributes)]


def section_text(response, section_id: str) -> str | None:
    found = parse_html(response).find(id=section_id)
    return found.text if found is not None else None


def snapshot(proposal) -> dict:
    """Everything a review action could change, read afresh from the database."""
    db.session.expire_all()
    events = select(func.count(ProposalEvent.id)).where(ProposalEvent.proposal_id == proposal.id)
    return {
        "state": db.session.get(Proposal, proposal.id).state,
        "events": db.session.scalar(events),
        "assignments": [(row.id, row.user_id, row.removed_at) for row in db.session.scalars(
            select(RapporteurAssignment).order_by(RapporteurAssignment.id))],
        "reviews": [(row.id, row.recommendation, row.assessment, row.shared_at, row.is_shared_with_name)
                    for row in db.session.scalars(select(Review).order_by(Review.id))],
        "rounds": [(row.id, row.closed_at, row.result) for row in db.session.scalars(
            select(ConsensusRound).order_by(ConsensusRound.id))],
        "positions": [(row.delegation_id, row.position, row.reason) for row in db.session.scalars(
            select(DelegationPosition).order_by(DelegationPosition.id))],
        "history": db.session.scalar(select(func.count(PositionRecord.id))),
    }


@dataclass
class World:
    proposal: Proposal
    lead: object
    council: dict
    council_coauthor: object
    assignment: RapporteurAssignment
    review: Review


@pytest.fixture
def world(app, states, make_user, make_think_tank, make_proposal, make_council, secretariat, bring_to):
    """A proposal in a consensus round: China's delegate is rapporteur and wrote a (confidential,
    unshared) review; India objected with a confidential reason. A council member from Mongolia is
    one of its co-authors."""
    council = make_council(("CN", "IN"))
    lead = make_user(roles=(Role.EXPERT,), display_name="Lead Author")
    make_think_tank(experts=[lead])
    council_coauthor = appoint(secretariat, states, make_user(roles=(Role.EXPERT,), display_name="Council Coauthor"),
                               "MN")
    proposal = make_proposal(author=lead, coauthors=[council_coauthor], title="Shared rivers")
    bring_to(proposal, ProposalState.IN_REVIEW)
    assignment = review_services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])
    review = review_services.save_review(actor=council["CN"], proposal=proposal,
                                         recommendation=Recommendation.REVISE, assessment=MARKER_REVIEW)
    rounds.open_round(actor=secretariat, proposal=proposal, kind="standard", deadline_at=utcnow() + timedelta(days=3))
    rounds.record_position(actor=council["IN"], proposal=proposal, position=Position.OBJECT, reason=MARKER_REASON)
    db.session.commit()
    return World(proposal=proposal, lead=lead, council=council, council_coauthor=council_coauthor,
                 assignment=assignment, review=review)


def every_post(world: World) -> list[tuple[str, dict]]:
    """Each form of the workspace, filled in as a browser would post it."""
    base = f"/proposals/{world.proposal.id}"
    return [
        (f"{base}/review/start", {}),
        (f"{base}/review/return", {"note": "Please shorten it."}),
        (f"{base}/rapporteurs", {"user_id": str(world.council["IN"].id), "waiver_reason": "Needed."}),
        (f"{base}/rapporteurs/{world.assignment.id}/remove", {}),
        (f"{base}/reviews", {"recommendation": "endorse", "assessment": "Rewritten."}),
        (f"{base}/reviews/{world.review.id}/share", {"with_name": "y"}),
        (f"{base}/reviews/{world.review.id}/unshare", {}),
        (f"{base}/rounds", {"kind": "silence", "deadline": deadline_text(timedelta(days=5))}),
        (f"{base}/position", {"position": "endorse", "reason": ""}),
        (f"{base}/rounds/close", {"note": "Closed."}),
    ]


# --- Who sees the workspace ----------------------------------------------------------------------


def test_the_secretariat_and_council_members_see_the_workspace(app, world, secretariat):
    for person in (secretariat, world.council["CN"], world.council["IN"]):
        page = signed_in(app, person).get(workspace_path(world.proposal))
        assert page.status_code == 200
        assert MARKER_REVIEW in page.get_data(as_text=True)
        assert MARKER_REASON in page.get_data(as_text=True)


@pytest.mark.parametrize("who, status", [
    ("lead", 403), ("council_coauthor", 403), ("other_expert", 404), ("researcher", 404), ("anonymous", 404),
])
def test_people_outside_the_council_get_no_workspace_and_see_nothing_of_it(app, world, make_user, who, status):
    people = {
        "lead": world.lead,
        "council_coauthor": world.council_coauthor,
        "other_expert": make_user(roles=(Role.EXPERT,)),
        "researcher": make_user(roles=(Role.RESEARCHER,)),
    }
    client = signed_in(app, people[who]) if who in people else app.test_client()
    page = client.get(workspace_path(world.proposal))
    assert page.status_code == status
    body = page.get_data(as_text=True)
    assert MARKER_REVIEW not in body
    assert MARKER_REASON not in body


@pytest.mark.parametrize("who, status", [
    ("lead", 403), ("council_coauthor", 403), ("other_expert", 404), ("researcher", 404),
])
def test_people_outside_the_council_can_post_no_form_of_the_workspace(app, world, make_user, who, status):
    people = {
        "lead": world.lead,
        "council_coauthor": world.council_coauthor,
        "other_expert": make_user(roles=(Role.EXPERT,)),
        "researcher": make_user(roles=(Role.RESEARCHER,)),
    }
    client = signed_in(app, people[who])
    before = snapshot(world.proposal)
    for path, data in every_post(world):
        response = post(client, path, data)
        assert (path, response.status_code) == (path, status)
        assert MARKER_REVIEW not in response.get_data(as_text=True)
        assert MARKER_REASON not in response.get_data(as_text=True)
    assert snapshot(world.proposal) == before


def test_an_anonymous_visitor_posting_any_form_is_sent_to_sign_in_and_nothing_changes(app, world):
    client = app.test_client()
    before = snapshot(world.proposal)
    for path, data in every_post(world):
        response = post(client, path, data)
        assert (path, response.status_code) == (path, 302)
        assert response.headers["Location"].startswith("/login")
    assert snapshot(world.proposal) == before


def test_a_post_without_the_csrf_token_is_refused(app, world, secretariat):
    client = signed_in(app, secretariat)
    before = snapshot(world.proposal)
    response = client.post(f"/proposals/{world.proposal.id}/review/return", data={"note": "No token."})
    assert response.status_code == 400
    assert snapshot(world.proposal) == before


def test_a_council_member_cannot_take_the_secretariats_actions(app, world):
    client = signed_in(app, world.council["IN"])
    before = snapshot(world.proposal)
    secretariat_only = [path for path, _data in every_post(world)
                        if not path.endswith(("/reviews", "/position"))]
    for path, data in every_post(world):
        if path in secretariat_only:
            assert (path, post(client, path, data).status_code) == (path, 403)
    # India's delegate is not a rapporteur either.
    assert post(client, f"/proposals/{world.proposal.id}/reviews",
                {"recommendation": "endorse", "assessment": "Mine."}).status_code == 403
    assert snapshot(world.proposal) == before


def test_a_council_member_sees_no_secretariat_actions(app, world):
    page = signed_in(app, world.council["IN"]).get(workspace_path(world.proposal))
    assert page.status_code == 200
    assert section_text(page, "secretariat-actions") is None
    tree = parse_html(page)
    assert tree.find("form", action=f"/proposals/{world.proposal.id}/rapporteurs") is None
    assert tree.find("form", action=f"/proposals/{world.proposal.id}/reviews/{world.review.id}/share") is None
    assert section_text(page, "rapporteur-1") == "Rapporteur 1: Delegate CN 1 (delegation of China)"


def test_a_missing_proposal_is_not_found(app, secretariat):
    client = signed_in(app, secretariat)
    assert client.get("/proposals/999999/review").status_code == 404
    assert post(client, "/proposals/999999/review/start").status_code == 404


def test_a_draft_is_not_found_for_the_secretariat(app, make_proposal, secretariat):
    proposal = make_proposal(title="Private draft")
    client = signed_in(app, secretariat)
    assert client.get(workspace_path(proposal)).status_code == 404
    assert post(client, f"/proposals/{proposal.id}/review/start").status_code == 404
    assert snapshot(proposal)["state"] == ProposalState.DRAFT


# --- The header ----------------------------------------------------------------------------------


def test_the_header_names_the_proposal_and_links_to_its_pages(app, make_proposal, make_council, bring_to, secretariat):
    make_council(("CN",))
    proposal = bring_to(make_proposal(title="Early warning"), ProposalState.SUBMITTED)
    page = signed_in(app, secretariat).get(workspace_path(proposal))
    assert page.status_code == 200
    tree = parse_html(page)
    assert tree.find("h1").text == "Early warning"
    assert tree.find("p", class_="proposal-state").text == f"Submitted {proposal.reference}"
    links = tree.find(id="workspace-links").find_all("a")
    assert [(link.text, link.attributes["href"]) for link in links] == [
        ("The proposal", f"/proposals/{proposal.id}"),
        ("The discussion", f"/proposals/{proposal.id}/discussion"),
    ]


# --- Starting the review -------------------------------------------------------------------------


def test_the_secretariat_starts_the_review_of_a_submitted_proposal(app, make_proposal, make_council, bring_to,
                                                                   secretariat):
    make_council(("CN",))
    proposal = bring_to(make_proposal(), ProposalState.SUBMITTED)
    client = signed_in(app, secretariat)
    page = client.get(workspace_path(proposal))
    assert parse_html(page).find("form", action=f"/proposals/{proposal.id}/review/start") is not None
    assert parse_html(page).find("form", action=f"/proposals/{proposal.id}/rounds") is None

    response = post(client, f"/proposals/{proposal.id}/review/start")
    assert response.status_code == 302
    assert response.headers["Location"] == workspace_path(proposal)
    assert snapshot(proposal)["state"] == ProposalState.IN_REVIEW
    page = client.get(workspace_path(proposal))
    assert flashes(page) == ["The review has started. Assign rapporteurs, then open a consensus round."]
    assert parse_html(page).find("form", action=f"/proposals/{proposal.id}/review/start") is None
    assert parse_html(page).find("form", action=f"/proposals/{proposal.id}/rounds") is not None


def test_starting_a_review_already_started_says_why_and_changes_nothing(app, make_proposal, make_council, bring_to,
                                                                        secretariat):
    make_council(("CN",))
    proposal = bring_to(make_proposal(), ProposalState.IN_REVIEW)
    client = signed_in(app, secretariat)
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/review/start")
    assert response.status_code == 302
    assert flashes(client.get(response.headers["Location"])) == [
        "A proposal that is in review cannot be given this action."
    ]
    assert snapshot(proposal) == before


# --- Returning for revision ----------------------------------------------------------------------


def test_returning_for_revision_needs_a_note(app, make_proposal, make_council, bring_to, secretariat):
    make_council(("CN",))
    proposal = bring_to(make_proposal(), ProposalState.IN_REVIEW)
    client = signed_in(app, secretariat)
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/review/return", {"note": "   "})
    assert response.status_code == 400
    assert field_error(response, "return-note") == "Write a note to the authors saying what to change."
    assert snapshot(proposal) == before


def test_returning_for_revision_sends_the_proposal_back_with_the_note(app, make_proposal, make_council, bring_to,
                                                                     secretariat):
    make_council(("CN",))
    proposal = bring_to(make_proposal(), ProposalState.IN_REVIEW)
    client = signed_in(app, secretariat)
    response = post(client, f"/proposals/{proposal.id}/review/return", {"note": "Name the river basins."})
    # The secretariat no longer sees a returned proposal (it is its authors' again): to its dashboard.
    assert response.status_code == 302
    assert response.headers["Location"] == "/secretariat"
    assert snapshot(proposal)["state"] == ProposalState.CHANGES_REQUESTED
    event = db.session.scalar(select(ProposalEvent).where(ProposalEvent.proposal_id == proposal.id)
                              .order_by(ProposalEvent.id.desc()).limit(1))
    assert (event.action, event.note) == ("return_for_revision", "Name the river basins.")
    assert flashes(client.get("/secretariat")) == [f"{proposal.reference} is returned to its authors for revision."]


def test_returning_during_a_round_cancels_the_round(app, world, secretariat):
    client = signed_in(app, secretariat)
    response = post(client, f"/proposals/{world.proposal.id}/review/return", {"note": "Objections to address."})
    assert response.status_code == 302
    assert snapshot(world.proposal)["state"] == ProposalState.CHANGES_REQUESTED
    assert rounds.latest_round_of(world.proposal).result == RoundResult.CANCELLED


def test_the_return_form_is_offered_in_each_state_before_the_council(app, make_proposal, make_council, bring_to,
                                                                      secretariat):
    make_council(("CN",))
    client = signed_in(app, secretariat)
    for state in (ProposalState.SUBMITTED, ProposalState.IN_REVIEW, ProposalState.CONSENSUS):
        proposal = bring_to(make_proposal(), state)
        form = parse_html(client.get(workspace_path(proposal))).find(
            "form", action=f"/proposals/{proposal.id}/review/return")
        assert (state, form is not None) == (state, True)
