"""Reviews on the workspace: the rapporteur writes and revises one per revision, the secretariat shares
it with the authors (anonymised by default), and reviews of earlier revisions stay readable."""

from __future__ import annotations

import pytest

from expert_platform.enums import ProposalAction, ProposalState, Recommendation
from expert_platform.extensions import db
from expert_platform.proposals import workflow
from expert_platform.review import services as review_services
from expert_platform.review.models import Review
from tests.html_tree import form_values, parse_html
from tests.proposals.page_steps import field_error, flashes, signed_in
from tests.review.test_workspace import post, snapshot, workspace_path

MARKER = "Unshared assessment KP-5519"


@pytest.fixture
def reviewed(app, make_proposal, make_council, bring_to, secretariat):
    """A proposal in review whose rapporteur is China's delegate; India's delegate is not a rapporteur."""
    council = make_council(("CN", "IN"))
    proposal = bring_to(make_proposal(title="Shared rivers"), ProposalState.IN_REVIEW)
    review_services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])
    db.session.commit()
    return proposal, council


def review_form(response, proposal):
    return parse_html(response).find("form", action=f"/proposals/{proposal.id}/reviews")


def review_cards(response) -> list[dict]:
    """Each review shown: its revision heading, signature, recommendation, sharing and text."""
    cards = []
    for section in parse_html(response).find_all("section", class_="revision-reviews"):
        for card in section.find_all("article", class_="review"):
            cards.append({
                "revision": section.find("h3").text,
                "by": card.find("h4").text,
                "recommendation": card.find("p", class_="review-recommendation").text,
                "sharing": card.find("p", class_="review-sharing").text,
                "text": card.find("div", class_="review-text").text,
            })
    return cards


def test_the_rapporteur_writes_a_review_of_the_current_revision(app, reviewed):
    proposal, council = reviewed
    client = signed_in(app, council["CN"])
    page = client.get(workspace_path(proposal))
    assert parse_html(page).find(id="my-review-heading").text == "Write your review of revision 1"
    assert form_values(review_form(page, proposal)) == {"recommendation": [], "assessment": ""}

    response = post(client, f"/proposals/{proposal.id}/reviews",
                    {"recommendation": "revise", "assessment": "## Gaps\r\n\r\nName the *basins*."})
    assert response.status_code == 302
    assert response.headers["Location"] == workspace_path(proposal)
    page = client.get(workspace_path(proposal))
    assert flashes(page) == ["Your review of revision 1 is saved."]
    assert review_cards(page) == [{
        "revision": "Revision 1", "by": "Delegate CN 1", "recommendation": "Recommendation: Revise",
        "sharing": "Not shared with the authors.", "text": "Gaps Name the basins .",
    }]
    assert "<em>basins</em>" in page.get_data(as_text=True)
    # The form now holds the review, to revise it.
    assert parse_html(page).find(id="my-review-heading").text == "Revise your review of revision 1"
    assert form_values(review_form(page, proposal)) == {
        "recommendation": ["revise"], "assessment": "## Gaps\n\nName the *basins*.",
    }


def test_revising_the_review_keeps_one_review_per_revision(app, reviewed):
    proposal, council = reviewed
    client = signed_in(app, council["CN"])
    post(client, f"/proposals/{proposal.id}/reviews", {"recommendation": "revise", "assessment": "First."})
    post(client, f"/proposals/{proposal.id}/reviews", {"recommendation": "endorse", "assessment": "Second."})
    db.session.expire_all()
    assert [(row.recommendation, row.assessment) for row in db.session.scalars(db.select(Review))] == [
        (Recommendation.ENDORSE, "Second.")
    ]


@pytest.mark.parametrize("data, field, message", [
    ({"recommendation": "", "assessment": "Fine."}, "recommendation", "Choose a recommendation."),
    ({"recommendation": "maybe", "assessment": "Fine."}, "recommendation", "Choose a recommendation."),
    ({"recommendation": "endorse", "assessment": "  "}, "assessment", "Write your assessment."),
])
def test_a_review_without_a_recommendation_or_text_is_refused_and_kept(app, reviewed, data, field, message):
    proposal, council = reviewed
    client = signed_in(app, council["CN"])
    response = post(client, f"/proposals/{proposal.id}/reviews", data)
    assert response.status_code == 400
    assert field_error(response, field) == message
    assert form_values(review_form(response, proposal))["assessment"] == data["assessment"]
    assert db.session.scalars(db.select(Review)).all() == []


def test_a_council_member_who_is_not_rapporteur_reads_reviews_but_writes_none(app, reviewed):
    proposal, council = reviewed
    review_services.save_review(actor=council["CN"], proposal=proposal, recommendation="revise", assessment=MARKER)
    db.session.commit()
    client = signed_in(app, council["IN"])
    page = client.get(workspace_path(proposal))
    assert [card["text"] for card in review_cards(page)] == [MARKER]
    assert review_form(page, proposal) is None
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/reviews", {"recommendation": "endorse", "assessment": "x"})
    assert response.status_code == 403
    assert snapshot(proposal) == before


def test_the_authors_see_no_review_on_the_workspace(app, reviewed):
    proposal, council = reviewed
    review_services.save_review(actor=council["CN"], proposal=proposal, recommendation="revise", assessment=MARKER)
    db.session.commit()
    lead = next(row.user for row in proposal.coauthors if row.is_lead)
    response = signed_in(app, lead).get(workspace_path(proposal))
    assert response.status_code == 403
    assert MARKER not in response.get_data(as_text=True)


def test_the_secretariat_shares_a_review_anonymised_by_default_then_named_then_stops(app, reviewed, secretariat):
    proposal, council = reviewed
    review = review_services.save_review(actor=council["CN"], proposal=proposal, recommendation="endorse",
                                         assessment="Sound.")
    db.session.commit()
    client = signed_in(app, secretariat)
    page = client.get(workspace_path(proposal))
    share_form = parse_html(page).find("form", action=f"/proposals/{proposal.id}/reviews/{review.id}/share")
    assert form_values(share_form) == {"with_name": []}
    assert share_form.find("label").text == "Show the rapporteur's name"

    response = post(client, f"/proposals/{proposal.id}/reviews/{review.id}/share")
    assert response.status_code == 302
    page = client.get(workspace_path(proposal))
    assert flashes(page) == ["The review is shared with the authors as “Rapporteur 1”."]
    assert review_cards(page)[0]["sharing"] == "Shared with the authors as “Rapporteur 1”."
    db.session.expire_all()
    assert review_services.rapporteur_label(db.session.get(Review, review.id), proposal.coauthors[0].user,
                                            proposal) == "Rapporteur 1"

    post(client, f"/proposals/{proposal.id}/reviews/{review.id}/share", {"with_name": "y"})
    page = client.get(workspace_path(proposal))
    assert flashes(page) == ["The review is shared with the authors, with Delegate CN 1's name."]
    assert review_cards(page)[0]["sharing"] == "Shared with the authors with the rapporteur's name."

    post(client, f"/proposals/{proposal.id}/reviews/{review.id}/unshare")
    page = client.get(workspace_path(proposal))
    assert flashes(page) == ["The review is no longer shared with the authors."]
    assert review_cards(page)[0]["sharing"] == "Not shared with the authors."
    db.session.expire_all()
    assert db.session.get(Review, review.id).shared_at is None


def test_only_the_secretariat_shares_and_only_reviews_of_this_proposal(app, reviewed, make_proposal, bring_to,
                                                                       secretariat):
    proposal, council = reviewed
    review = review_services.save_review(actor=council["CN"], proposal=proposal, recommendation="endorse",
                                         assessment="Sound.")
    other = bring_to(make_proposal(), ProposalState.IN_REVIEW)
    db.session.commit()
    before = snapshot(proposal)
    rapporteur = signed_in(app, council["CN"])
    assert post(rapporteur, f"/proposals/{proposal.id}/reviews/{review.id}/share").status_code == 403
    assert post(rapporteur, f"/proposals/{proposal.id}/reviews/{review.id}/unshare").status_code == 403
    client = signed_in(app, secretariat)
    assert post(client, f"/proposals/{other.id}/reviews/{review.id}/share").status_code == 404
    assert post(client, f"/proposals/{proposal.id}/reviews/999999/share").status_code == 404
    assert snapshot(proposal) == before


def test_reviews_of_revision_1_stay_readable_after_a_return_and_a_resubmission(app, reviewed, secretariat):
    proposal, council = reviewed
    review_services.save_review(actor=council["CN"], proposal=proposal, recommendation="revise",
                                assessment="Name the basins.")
    review_services.return_for_revision(actor=secretariat, proposal=proposal, note="See the review.")
    lead = next(row.user for row in proposal.coauthors if row.is_lead)
    workflow.transition(proposal, ProposalAction.RESUBMIT, actor=lead)
    review_services.start_review(actor=secretariat, proposal=proposal)
    db.session.commit()

    client = signed_in(app, council["CN"])
    page = client.get(workspace_path(proposal))
    assert parse_html(page).find(id="my-review-heading").text == "Write your review of revision 2"
    assert form_values(review_form(page, proposal)) == {"recommendation": [], "assessment": ""}
    post(client, f"/proposals/{proposal.id}/reviews", {"recommendation": "endorse", "assessment": "Now complete."})
    page = client.get(workspace_path(proposal))
    assert flashes(page) == ["Your review of revision 2 is saved."]
    assert [(card["revision"], card["recommendation"], card["text"]) for card in review_cards(page)] == [
        ("Revision 2", "Recommendation: Endorse", "Now complete."),
        ("Revision 1", "Recommendation: Revise", "Name the basins."),
    ]
    # The revision diff is one click away.
    link = parse_html(page).find("a", id="diff-link")
    assert (link.text, link.attributes["href"]) == (
        "What changed since revision 1", f"/proposals/{proposal.id}/diff?from=1&to=2"
    )


def test_there_is_no_diff_link_for_a_first_revision(app, reviewed):
    proposal, council = reviewed
    page = signed_in(app, council["CN"]).get(workspace_path(proposal))
    assert parse_html(page).find("a", id="diff-link") is None
