"""Related proposals on an endorsed proposal's page: up to five public proposals with similar text,
never one outside the archive, and no section at all when nothing is similar."""

from __future__ import annotations

import pytest

from expert_platform.enums import ProposalState, Role
from expert_platform.extensions import db
from tests.html_tree import parse_html
from tests.journeys import take
from tests.proposals.page_steps import signed_in
from tests.search_corpus import publish

MARKER = "zebrafinch"
WATER = "Desalination plants supply fresh water to coastal towns along the shared sea."


def related(response) -> list[tuple[str, str, str]]:
    """(title, link, reference) of each related proposal shown, or [] when the section is absent."""
    section = parse_html(response).find("section", id="related")
    if section is None:
        return []
    assert section.find("h2").text == "Related proposals"
    return [(item.find("a").text, item.find("a").attributes["href"], item.find("span", class_="reference").text)
            for item in section.find_all("li")]


@pytest.fixture
def water_archive(states):
    return {
        "plants": publish(title="Desalination plants on the coast", body=WATER, reference="TEST-2021-0001"),
        "towns": publish(title="Fresh water for coastal towns", body="Desalination gives coastal towns fresh water.",
                         reference="TEST-2021-0002"),
        "exercises": publish(title="Notice of joint exercises", body="Advance notice of military manoeuvres.",
                             reference="TEST-2021-0003"),
    }


def test_an_endorsed_proposal_lists_the_public_proposals_with_similar_text(client, water_archive):
    response = client.get("/proposals/TEST-2021-0001")
    assert response.status_code == 200
    assert related(response) == [("Fresh water for coastal towns", "/proposals/TEST-2021-0002", "TEST-2021-0002")]


def test_the_related_section_follows_the_text_and_decision_record(client, water_archive):
    html = client.get("/proposals/TEST-2021-0001").get_data(as_text=True)
    assert html.index('id="text-heading"') < html.index('id="related-heading"') < html.index('id="timeline-heading"')


def test_at_most_five_related_proposals_are_listed(client, water_archive):
    for number in range(4, 10):
        publish(title=f"Coastal desalination {number}", body=WATER, reference=f"TEST-2021-{number:04d}")
    shown = related(client.get("/proposals/TEST-2021-0001"))
    references = {reference for _title, _link, reference in shown}
    assert len(shown) == len(references) == 5
    assert references < {f"TEST-2021-{number:04d}" for number in (2, *range(4, 10))}


def test_a_proposal_with_nothing_similar_has_no_related_section(client, water_archive):
    response = client.get("/proposals/TEST-2021-0003")
    assert response.status_code == 200
    assert related(response) == []
    assert "Related proposals" not in response.get_data(as_text=True)


def test_a_proposal_endorsed_through_the_council_lists_related_proposals_too(
        client, water_archive, make_user, make_proposal):
    secretariat = make_user(roles=(Role.ADMIN,))
    proposal = make_proposal(title="Shared desalination for coastal towns", body=WATER)
    author = proposal.coauthors[0].user
    for action, actor in (("submit", author), ("start_review", secretariat), ("open_consensus", secretariat),
                          ("endorse", secretariat)):
        take(proposal, action, actor)
        db.session.commit()
    assert proposal.state == ProposalState.ENDORSED
    shown = related(client.get(f"/proposals/{proposal.reference}"))
    assert sorted(reference for _title, _link, reference in shown) == ["TEST-2021-0001", "TEST-2021-0002"]
    assert related(client.get(f"/proposals/{proposal.id}")) == shown


# --- Never a proposal outside the archive ---------------------------------------------------------


@pytest.fixture
def hidden_twins(water_archive, people, make_proposal):
    """Proposals with the same text as TEST-2021-0001 and the marker in their title, outside the archive."""
    secretariat, author = people["secretariat"], people["author"]
    walks = {
        "draft": (),
        "submitted": (("submit", author),),
        "in_review": (("submit", author), ("start_review", secretariat)),
        "consensus": (("submit", author), ("start_review", secretariat), ("open_consensus", secretariat)),
        "withdrawn": (("submit", author), ("withdraw", author)),
    }
    made = {}
    for state, actions in walks.items():
        proposal = make_proposal(author=author, title=f"Desalination plants {MARKER} {state}",
                                 body=f"{WATER} {MARKER}", summary=f"{MARKER}.")
        for action, actor in actions:
            take(proposal, action, actor)
            db.session.commit()
        assert proposal.state == ProposalState(state)
        made[state] = proposal
    publish(title=f"Desalination plants {MARKER} not endorsed", body=f"{WATER} {MARKER}",
            state=ProposalState.NOT_ENDORSED, reference="TEST-2020-0001")
    return made


@pytest.mark.parametrize("viewer", [None, "author", "secretariat"])
def test_related_proposals_never_include_one_outside_the_archive(app, client, people, hidden_twins, viewer):
    browser = client if viewer is None else signed_in(app, people[viewer])
    response = browser.get("/proposals/TEST-2021-0001")
    assert response.status_code == 200
    assert related(response) == [("Fresh water for coastal towns", "/proposals/TEST-2021-0002", "TEST-2021-0002")]
    assert MARKER not in response.get_data(as_text=True)


def test_a_proposal_outside_the_archive_shows_no_related_proposals_even_to_its_authors(app, people, hidden_twins):
    author_browser = signed_in(app, people["author"])
    for proposal in hidden_twins.values():
        response = author_browser.get(f"/proposals/{proposal.id}")
        assert response.status_code == 200
        assert related(response) == []
    secretariat_browser = signed_in(app, people["secretariat"])
    response = secretariat_browser.get(f"/proposals/{hidden_twins['in_review'].reference}")
    assert response.status_code == 200
    assert related(response) == []


def test_an_invisible_proposal_is_not_found_and_shows_nothing(client, hidden_twins):
    response = client.get(f"/proposals/{hidden_twins['submitted'].reference}")
    assert response.status_code == 404
    assert MARKER not in response.get_data(as_text=True)
    assert "Desalination plants on the coast" not in response.get_data(as_text=True)
