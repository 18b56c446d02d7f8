"""The proposal page after the council's decision: the decision record beneath the adopted text, the
endorsement a page view applies after a round's deadline, the reviews shared with the co-authors and
the links to the review workspace and the discussion.

An endorsed record is public: date, round type, quorum, the tally by delegation and the reservations
annexed with their reasons. A proposal closed without consensus shows its readers the date and the round
type; only the council and the secretariat see who objected and why.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from expert_platform.database import utcnow
from expert_platform.enums import NotificationKind, Position, ProposalState, Recommendation, Role, RoundKind
from expert_platform.extensions import db
from expert_platform.notifications.models import Notification
from expert_platform.proposals.models import ProposalEvent
from expert_platform.review import rounds
from expert_platform.review import services as review_services
from tests.html_tree import parse_html

S = ProposalState
RESERVATION_OF_INDIA = "India asks for <b>a review</b> after two years.\n\nIts budget line is to follow."
OBJECTION_MARKER = "MARKER-OBJECTION-5d1e"


def pairs(element) -> list[tuple[str, str]]:
    """The (term, description) pairs of a description list, in order."""
    terms = [child for child in element.children if not isinstance(child, str) and child.tag in ("dt", "dd")]
    return [(terms[index].text, terms[index + 1].text) for index in range(0, len(terms), 2)]


def decision_record(response):
    return parse_html(response).find("section", id="decision-record")


def open_round_in_the_past(proposal, secretariat, *, kind, opened_hours_ago=5, deadline_hours_ago=1):
    opened = utcnow() - timedelta(hours=opened_hours_ago)
    rounds.open_round(actor=secretariat, proposal=proposal, kind=kind, now=opened,
                      deadline_at=utcnow() - timedelta(hours=deadline_hours_ago))
    db.session.commit()
    return opened


@pytest.fixture
def council(make_council):
    return make_council(("CN", "IN", "RU", "TR", "KZ"))


@pytest.fixture
def endorsed_with_two_reservations(make_proposal, bring_to, council):
    """A silence procedure: China endorses, India and Türkiye with reservations, the Russian Federation
    stands aside, Kazakhstan does not answer; endorsed when the rule is applied after the deadline."""
    proposal = bring_to(make_proposal(title="Shared flood warnings"), S.CONSENSUS, kind=RoundKind.SILENCE, hours=48)
    rounds.record_position(actor=council["CN"], proposal=proposal, position=Position.ENDORSE)
    rounds.record_position(actor=council["IN"], proposal=proposal, position=Position.ENDORSE_WITH_RESERVATION,
                           reason=RESERVATION_OF_INDIA)
    rounds.record_position(actor=council["RU"], proposal=proposal, position=Position.STAND_ASIDE)
    rounds.record_position(actor=council["TR"], proposal=proposal, position=Position.ENDORSE_WITH_RESERVATION,
                           reason="Funding to be agreed.")
    deadline = rounds.open_round_of(proposal).deadline_at
    # Noticed a day after the deadline; the rule was met at the deadline, which is the decision's date.
    assert rounds.settle(proposal=proposal, now=deadline + timedelta(days=1)) is not None
    db.session.commit()
    assert proposal.state == S.ENDORSED
    assert proposal.endorsed_at == deadline
    return proposal, deadline


# --- the endorsed record -----------------------------------------------------------------------


def test_an_anonymous_visitor_reads_the_whole_decision_record_of_an_endorsed_proposal(client,
                                                                                      endorsed_with_two_reservations):
    proposal, decided_at = endorsed_with_two_reservations

    response = client.get(f"/proposals/{proposal.id}")

    assert response.status_code == 200
    record = decision_record(response)
    assert record.find("h2").text == "Decision record"
    assert record.find("p", class_="decision-outcome").text == f"Endorsed by consensus on {decided_at:%Y-%m-%d}"
    assert pairs(record.find("dl", class_="decision-facts")) == [
        ("Decision date", decided_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Round type", "Silence procedure"),
    ]
    assert pairs(record.find("dl", class_="tally")) == [
        ("Endorsed", "China"),
        ("Endorsed with reservations", "India, Türkiye"),
        ("Stood aside", "Russian Federation"),
        ("Did not answer", "Kazakhstan"),
    ]
    assert [heading.text for heading in record.find_all("h3")] == ["Tally", "Reservations annexed"]
    assert pairs(record.find("dl", class_="reservations")) == [
        ("India", "India asks for <b>a review</b> after two years. Its budget line is to follow."),
        ("Türkiye", "Funding to be agreed."),
    ]


def test_the_reservations_are_escaped_and_keep_their_paragraphs(client, endorsed_with_two_reservations):
    proposal, _decided_at = endorsed_with_two_reservations

    html = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)

    assert "<b>a review</b>" not in html
    escaped = (
        "<p>India asks for &lt;b&gt;a review&lt;/b&gt; after two years.</p>\n\n"
        "<p>Its budget line is to follow.</p>"
    )
    assert escaped in html


def test_the_record_stands_beneath_the_adopted_text_on_the_permalink_too(client, endorsed_with_two_reservations):
    proposal, _decided_at = endorsed_with_two_reservations

    response = client.get(f"/proposals/{proposal.reference}")

    assert response.status_code == 200
    sections = [section.attributes.get("aria-labelledby") for section in parse_html(response).find_all("section")]
    assert sections[sections.index("text-heading") + 1] == "decision-heading"


def test_an_endorsed_record_never_has_an_objections_part(client, endorsed_with_two_reservations, login, council):
    proposal, _decided_at = endorsed_with_two_reservations
    login(council["CN"])

    record = decision_record(client.get(f"/proposals/{proposal.id}"))

    assert [term for term, _description in pairs(record.find("dl", class_="tally"))] == [
        "Endorsed", "Endorsed with reservations", "Stood aside", "Did not answer",
    ]
    assert record.find("dl", class_="objections") is None


def test_a_proposal_before_a_decision_has_no_record(client, login, make_proposal, bring_to, council):
    proposal = bring_to(make_proposal(), S.CONSENSUS)
    login(council["CN"])

    response = client.get(f"/proposals/{proposal.id}")

    assert response.status_code == 200
    assert decision_record(response) is None


# --- settling when the page is viewed ----------------------------------------------------------


def test_viewing_the_page_after_a_silence_deadline_endorses_exactly_once(client, login, make_proposal, bring_to,
                                                                          council, secretariat):
    proposal = bring_to(make_proposal(title="Silence is consent"), S.IN_REVIEW)
    open_round_in_the_past(proposal, secretariat, kind=RoundKind.SILENCE)
    login(council["CN"])

    first = client.get(f"/proposals/{proposal.id}")
    second = client.get(f"/proposals/{proposal.id}")

    assert (first.status_code, second.status_code) == (200, 200)
    db.session.expire_all()
    assert proposal.state == S.ENDORSED
    endorsements = db.session.scalar(select(func.count(ProposalEvent.id)).where(
        ProposalEvent.proposal_id == proposal.id, ProposalEvent.action == "endorse"))
    decisions = db.session.scalar(select(func.count(Notification.id)).where(
        Notification.proposal_id == proposal.id, Notification.kind == NotificationKind.DECISION))
    assert (endorsements, decisions) == (1, 1)
    assert pairs(decision_record(first).find("dl", class_="tally")) == [
        ("Endorsed", "None"), ("Endorsed with reservations", "None"), ("Stood aside", "None"),
        ("Did not answer", "China, India, Kazakhstan, Russian Federation, Türkiye"),
    ]


def test_viewing_the_page_before_the_deadline_changes_nothing(client, login, make_proposal, bring_to, council):
    proposal = bring_to(make_proposal(), S.CONSENSUS, kind=RoundKind.SILENCE)
    login(council["CN"])

    response = client.get(f"/proposals/{proposal.id}")

    assert response.status_code == 200
    db.session.expire_all()
    assert proposal.state == S.CONSENSUS
    assert rounds.open_round_of(proposal) is not None


def test_viewing_a_blocked_round_after_its_deadline_leaves_it_for_the_secretariat(client, login, make_proposal,
                                                                                   bring_to, council, secretariat):
    proposal = bring_to(make_proposal(), S.IN_REVIEW)
    opened = open_round_in_the_past(proposal, secretariat, kind=RoundKind.SILENCE)
    rounds.record_position(actor=council["IN"], proposal=proposal, position=Position.OBJECT, reason="No.",
                           now=opened + timedelta(hours=1))
    db.session.commit()
    login(council["CN"])

    response = client.get(f"/proposals/{proposal.id}")

    assert response.status_code == 200
    db.session.expire_all()
    assert proposal.state == S.CONSENSUS
    assert decision_record(response) is None


# --- closed without consensus ------------------------------------------------------------------


@pytest.fixture
def not_endorsed(make_user, make_proposal, bring_to, council, secretariat):
    """A standard round in which China objects and India endorses, closed after its deadline."""
    lead = make_user(roles=(Role.EXPERT,), display_name="Lena Lead")
    coauthor = make_user(roles=(Role.EXPERT,), display_name="Cora Coauthor")
    proposal = bring_to(make_proposal(author=lead, coauthors=(coauthor,), title="Observers at exercises"),
                        S.IN_REVIEW)
    opened = open_round_in_the_past(proposal, secretariat, kind=RoundKind.STANDARD)
    rounds.record_position(actor=council["CN"], proposal=proposal, position=Position.OBJECT,
                           reason=f"{OBJECTION_MARKER} the existing catalogue suffices.",
                           now=opened + timedelta(hours=1))
    rounds.record_position(actor=council["IN"], proposal=proposal, position=Position.ENDORSE,
                           now=opened + timedelta(hours=2))
    round_ = rounds.close_without_consensus(actor=secretariat, proposal=proposal)
    db.session.commit()
    return {"proposal": proposal, "lead": lead, "coauthor": coauthor, "closed_at": round_.closed_at}


@pytest.mark.parametrize("author", ["lead", "coauthor"])
def test_the_co_authors_read_when_and_how_it_closed_but_not_who_objected(client, login, not_endorsed, author):
    proposal = not_endorsed["proposal"]
    login(not_endorsed[author])

    response = client.get(f"/proposals/{proposal.id}")

    assert response.status_code == 200
    record = decision_record(response)
    closed_at = not_endorsed["closed_at"]
    assert record.find("p", class_="decision-outcome").text == f"Closed without consensus on {closed_at:%Y-%m-%d}"
    assert pairs(record.find("dl", class_="decision-facts")) == [
        ("Decision date", closed_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Round type", "Standard round"),
        ("Quorum", "2/3 of the delegations asked"),
    ]
    assert record.find("dl", class_="tally") is None
    html = response.get_data(as_text=True)
    assert OBJECTION_MARKER not in html
    assert "China" not in html


@pytest.mark.parametrize("who", ["council member", "secretariat"])
def test_the_council_and_the_secretariat_see_the_objection_and_its_reason(client, login, not_endorsed, council,
                                                                          secretariat, who):
    login(council["RU"] if who == "council member" else secretariat)

    record = decision_record(client.get(f"/proposals/{not_endorsed['proposal'].id}"))

    assert pairs(record.find("dl", class_="tally")) == [
        ("Endorsed", "India"), ("Endorsed with reservations", "None"), ("Stood aside", "None"),
        ("Objected", "China"), ("Did not answer", "Kazakhstan, Russian Federation, Türkiye"),
    ]
    assert pairs(record.find("dl", class_="objections")) == [
        ("China", f"{OBJECTION_MARKER} the existing catalogue suffices."),
    ]


@pytest.mark.parametrize("role", [None, Role.RESEARCHER, Role.EXPERT])
def test_outsiders_do_not_find_a_proposal_closed_without_consensus(client, login, make_user, not_endorsed, role):
    if role is not None:
        login(make_user(roles=(role,)))

    response = client.get(f"/proposals/{not_endorsed['proposal'].id}")

    assert response.status_code == 404
    assert OBJECTION_MARKER not in response.get_data(as_text=True)


# --- reviews shared with the co-authors, and the links ------------------------------------------


@pytest.fixture
def reviewed(make_user, make_proposal, bring_to, council, secretariat):
    lead = make_user(roles=(Role.EXPERT,), display_name="Lena Lead")
    proposal = bring_to(make_proposal(author=lead, title="Reviewed proposal"), S.IN_REVIEW)
    for code, text in (("CN", "MARKER-SHARED-REVIEW: **clear** and useful."), ("IN", "MARKER-UNSHARED-REVIEW")):
        review_services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council[code])
        review = review_services.save_review(actor=council[code], proposal=proposal,
                                             recommendation=Recommendation.ENDORSE, assessment=text)
        if code == "CN":
            review_services.share_review(actor=secretariat, proposal=proposal, review=review)
    db.session.commit()
    return proposal, lead


def test_the_co_authors_read_the_reviews_shared_with_them_signed_anonymously(client, login, reviewed):
    proposal, lead = reviewed
    login(lead)

    response = client.get(f"/proposals/{proposal.id}")

    page = parse_html(response)
    shared = page.find("section", id="shared-reviews")
    assert shared.find("h2").text == "Reviews shared with the authors"
    reviews = shared.find_all("article")
    assert [review.find("h3").text for review in reviews] == ["Rapporteur 1"]
    assert pairs(reviews[0].find("dl")) == [("Revision", "1"), ("Recommendation", "Endorse")]
    assert reviews[0].find("div", class_="review-assessment").text == "MARKER-SHARED-REVIEW: clear and useful."
    html = response.get_data(as_text=True)
    assert "MARKER-UNSHARED-REVIEW" not in html
    assert "Delegate CN" not in html


def test_the_council_reads_reviews_in_the_workspace_not_on_the_proposal_page(client, login, reviewed, council):
    proposal, _lead = reviewed
    login(council["RU"])

    response = client.get(f"/proposals/{proposal.id}")

    assert response.status_code == 200
    assert parse_html(response).find("section", id="shared-reviews") is None


def link_texts(response) -> list[str]:
    links = parse_html(response).find("ul", class_="council-links")
    return [link.text for link in links.find_all("a")] if links is not None else []


def test_the_council_has_links_to_the_workspace_and_the_discussion(client, login, reviewed, council):
    proposal, _lead = reviewed
    login(council["RU"])

    response = client.get(f"/proposals/{proposal.id}")

    links = parse_html(response).find("ul", class_="council-links").find_all("a")
    assert [(link.text, link.attributes["href"]) for link in links] == [
        ("Review workspace", f"/proposals/{proposal.id}/review"),
        ("Discussion", f"/proposals/{proposal.id}/discussion"),
    ]


def test_the_co_authors_have_a_link_to_the_discussion_only(client, login, reviewed):
    proposal, lead = reviewed
    login(lead)

    assert link_texts(client.get(f"/proposals/{proposal.id}")) == ["Discussion"]


def test_an_anonymous_reader_of_an_endorsed_proposal_has_neither_link(client, endorsed_with_two_reservations):
    proposal, _decided_at = endorsed_with_two_reservations

    assert link_texts(client.get(f"/proposals/{proposal.id}")) == []
