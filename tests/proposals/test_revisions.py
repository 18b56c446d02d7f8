"""Revisions are frozen on submission and resubmission, never change, and are read (and compared)
by whoever may see the proposal; to anyone else they do not exist."""

from __future__ import annotations

import pytest
from flask import render_template
from sqlalchemy import select

from expert_platform.enums import ProposalState
from expert_platform.extensions import db
from expert_platform.proposals.models import ProposalRevision
from tests.html_tree import parse_html
from tests.proposals import revision_support
from tests.proposals.revision_support import (
    endorse,
    parse_rendered,
    resubmit,
    return_for_revision,
    save,
    submit,
)

#: The fixtures shared by the revision, diff and annex tests.
people, proposal, client_of = revision_support.people, revision_support.proposal, revision_support.client_of

INS = '<ins><span class="visually-hidden">inserted: </span>'
DEL = '<del><span class="visually-hidden">deleted: </span>'


def revisions_of(proposal) -> list[ProposalRevision]:
    return list(db.session.scalars(
        select(ProposalRevision).where(ProposalRevision.proposal_id == proposal.id).order_by(ProposalRevision.number)
    ))


def details(page) -> dict[str, str]:
    listing = parse_html(page).find("dl", class_="revision-details")
    return dict(zip([term.text for term in listing.find_all("dt")], [value.text for value in listing.find_all("dd")],
                    strict=True))


def diff_fields(page) -> dict[str, str]:
    """Each compared field's heading and its diff, as HTML."""
    html = page.get_data(as_text=True)
    tree = parse_html(page)
    fields = {}
    for section in tree.find_all("section", class_="diff-field"):
        heading = section.find("h3").text
        start = html.index(f'id="{section.attributes["aria-labelledby"]}"')
        body_start = html.index('<div class="diff-text">', start) + len('<div class="diff-text">')
        fields[heading] = html[body_start:html.index("</div>", body_start)]
    return fields


def selected_options(page) -> dict[str, tuple[list[str], str]]:
    """Each select of the compare form: its option values and the selected one."""
    form = parse_html(page).find("form", class_="compare-form")
    result = {}
    for select_element in form.find_all("select"):
        options = select_element.find_all("option")
        chosen = [option.attributes["value"] for option in options if "selected" in option.attributes]
        result[select_element.attributes["name"]] = ([option.attributes["value"] for option in options], *chosen)
    return result


# --- Freezing ----------------------------------------------------------------------------------


def test_submission_freezes_revision_1_with_every_field_by_value(proposal, people):
    submit(proposal, people)

    [revision] = revisions_of(proposal)
    assert (revision.number, revision.title, revision.summary, revision.body, revision.language) == (
        1, "Shared water gauges", "Gauges on shared rivers.", "## Problem\n\nFloods arrive without warning.", "en"
    )
    assert revision.body_html == "<h2>Problem</h2>\n<p>Floods arrive without warning.</p>\n"
    assert revision.created_by_id == people.lead.id
    assert revision.content == {
        "dimensions": ["environmental"],
        "member_states": [],
        "keywords": ["floods", "water"],
        "think_tanks": [{"id": proposal.think_tanks[0].think_tank_id, "name": "Steppe Water Institute"}],
        "authors": [
            {"user_id": people.lead.id, "name": "Lena Lead", "is_lead": True},
            {"user_id": people.coauthor.id, "name": "Cora Coauthor", "is_lead": False},
        ],
        "annex_ids": [],
        "translations": [],
    }


def test_editing_the_working_copy_after_a_return_does_not_change_revision_1(proposal, people):
    submit(proposal, people)
    return_for_revision(proposal, people)

    save(proposal, people.coauthor, title="Shared river gauges", body="## Problem\n\nFloods arrive at night.",
         keywords=["rivers"])

    [revision] = revisions_of(proposal)
    assert (revision.title, revision.body, revision.content["keywords"]) == (
        "Shared water gauges", "## Problem\n\nFloods arrive without warning.", ["floods", "water"]
    )
    assert (proposal.title, proposal.body) == ("Shared river gauges", "## Problem\n\nFloods arrive at night.")


def test_resubmission_freezes_revision_2_and_leaves_revision_1_as_it_was(proposal, people):
    submit(proposal, people)
    return_for_revision(proposal, people)
    save(proposal, people.coauthor, title="Shared river gauges", body="## Problem\n\nFloods arrive at night.")

    resubmit(proposal, people)

    assert [(revision.number, revision.title, revision.body, revision.created_by_id)
            for revision in revisions_of(proposal)] == [
        (1, "Shared water gauges", "## Problem\n\nFloods arrive without warning.", people.lead.id),
        (2, "Shared river gauges", "## Problem\n\nFloods arrive at night.", people.coauthor.id),
    ]
    assert proposal.state == ProposalState.SUBMITTED


# --- The revision page -------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["coauthor", "council", "secretariat"])
def test_the_revision_page_shows_the_frozen_revision_to_whoever_may_see_the_proposal(
    proposal, people, client_of, reader
):
    submit(proposal, people)
    return_for_revision(proposal, people)
    save(proposal, people.coauthor, title="Shared river gauges", body="Changed <b>later</b>.")
    resubmit(proposal, people)
    revision = revisions_of(proposal)[0]

    page = client_of(getattr(people, reader)).get(f"/proposals/{proposal.id}/revisions/1")

    assert page.status_code == 200
    tree = parse_html(page)
    assert tree.find("h1").text == "Shared water gauges"
    assert tree.find("p", class_="lead").text == (
        f"Revision 1 of {proposal.reference}, sent {revision.created_at.strftime('%Y-%m-%d %H:%M UTC')}"
    )
    assert details(page) == {
        "Reference": proposal.reference,
        "Revision": "1",
        "Sent": revision.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "Language": "English",
        "Authors": "Lena Lead (lead author), Cora Coauthor",
        "Think tanks": "Steppe Water Institute",
        "Dimensions": "Environmental dimension",
        "Member states concerned": "None",
        "Keywords": "floods water",
    }
    html = page.get_data(as_text=True)
    assert f'<time datetime="{revision.created_at.isoformat()}">' in html
    assert ('<div class="proposal-text" lang="en"><h2>Problem</h2>\n<p>Floods arrive without warning.</p>\n</div>'
            in html)
    assert tree.find("p", class_="preserve-lines").text == "Gauges on shared rivers."
    assert "Changed" not in html
    assert [link.text for link in tree.find("nav", class_="revision-nav").find_all("a")] == ["Revision 2"]


def test_the_second_revision_links_back_to_the_first_and_to_the_changes_since(proposal, people, client_of):
    submit(proposal, people)
    return_for_revision(proposal, people)
    save(proposal, people.coauthor, title="Shared river gauges")
    resubmit(proposal, people)

    page = client_of(people.council).get(f"/proposals/{proposal.id}/revisions/2")

    assert page.status_code == 200
    assert parse_html(page).find("h1").text == "Shared river gauges"
    links = parse_html(page).find("nav", class_="revision-nav").find_all("a")
    assert [(link.text, link.attributes["href"]) for link in links] == [
        ("Revision 1", f"/proposals/{proposal.id}/revisions/1"),
        ("Changes since revision 1", f"/proposals/{proposal.id}/diff?from=1&to=2"),
    ]


def test_the_revision_page_of_an_endorsed_proposal_is_public(proposal, people, client_of):
    submit(proposal, people)
    endorse(proposal, people)

    for reader in (people.researcher, None):
        page = client_of(reader).get(f"/proposals/{proposal.id}/revisions/1")

        assert page.status_code == 200
        assert parse_html(page).find("h1").text == "Shared water gauges"


@pytest.mark.parametrize(
    "path",
    ["/revisions/1", "/revisions/2", "/revisions/0", "/revisions/99999999999999999999", "/diff", "/diff?from=1&to=2"],
)
def test_a_proposal_returned_for_revision_has_no_revision_or_diff_pages_for_the_council(
    proposal, people, client_of, path
):
    submit(proposal, people)
    return_for_revision(proposal, people)
    save(proposal, people.coauthor, title="Shared river gauges")
    resubmit(proposal, people)
    return_for_revision(proposal, people)

    assert client_of(people.council).get(f"/proposals/{proposal.id}{path}").status_code == 404
    assert client_of(people.secretariat).get(f"/proposals/{proposal.id}{path}").status_code == 404


def test_the_coauthors_still_read_the_revisions_of_a_proposal_returned_to_them(proposal, people, client_of):
    submit(proposal, people)
    return_for_revision(proposal, people)

    for author in (people.lead, people.coauthor):
        assert client_of(author).get(f"/proposals/{proposal.id}/revisions/1").status_code == 200


@pytest.mark.parametrize("reader", [None, "other_expert", "council", "secretariat", "researcher", "coauthor"])
def test_a_draft_has_no_revision_page_for_anyone(proposal, people, client_of, reader):
    user = getattr(people, reader) if reader else None

    assert client_of(user).get(f"/proposals/{proposal.id}/revisions/1").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/proposals/{id}/revisions/2", "/proposals/{id}/revisions/0", "/proposals/{id}/revisions/99999999999999999999",
     "/proposals/{id}/revisions/x", "/proposals/{id}/revisions/-1", "/proposals/999999/revisions/1",
     "/proposals/99999999999999999999/revisions/1"],
)
def test_a_revision_that_does_not_exist_is_404(proposal, people, client_of, path):
    submit(proposal, people)

    assert client_of(people.council).get(path.format(id=proposal.id)).status_code == 404


# --- Diffs -------------------------------------------------------------------------------------


def two_revisions(proposal, people) -> None:
    submit(proposal, people)
    return_for_revision(proposal, people)
    save(proposal, people.coauthor, title="Shared river gauges", summary="Gauges on shared rivers.",
         body="## Problem\n\nFloods arrive at night <script>alert(1)</script>.")
    resubmit(proposal, people)


@pytest.mark.parametrize("reader", ["coauthor", "council", "secretariat"])
def test_the_diff_page_compares_the_last_two_revisions_by_default(proposal, people, client_of, reader):
    two_revisions(proposal, people)

    page = client_of(getattr(people, reader)).get(f"/proposals/{proposal.id}/diff")

    assert page.status_code == 200
    assert parse_html(page).find("h2", class_="diff-heading").text == "From Revision 1 to Revision 2"
    assert diff_fields(page) == {
        "Title": f"Shared {DEL}water</del>{INS}river</ins> gauges",
        "Summary unchanged": "Gauges on shared rivers.",
        "Text": (
            f"## Problem\n\nFloods arrive {DEL}without warning.</del>"
            f"{INS}at night &lt;script&gt;alert(1)&lt;/script&gt;.</ins>"
        ),
    }
    assert "<script>alert(1)" not in page.get_data(as_text=True)


def test_the_diff_page_compares_the_pair_chosen_in_its_selects(proposal, people, client_of):
    two_revisions(proposal, people)

    page = client_of(people.council).get(f"/proposals/{proposal.id}/diff?from=2&to=1")

    assert page.status_code == 200
    assert parse_html(page).find("h2", class_="diff-heading").text == "From Revision 2 to Revision 1"
    assert diff_fields(page)["Title"] == f"Shared {DEL}river</del>{INS}water</ins> gauges"
    assert selected_options(page) == {"from": (["1", "2"], "2"), "to": (["1", "2"], "1")}


def test_the_same_revision_on_both_sides_shows_no_change_and_says_so(proposal, people, client_of):
    two_revisions(proposal, people)

    page = client_of(people.council).get(f"/proposals/{proposal.id}/diff?from=2&to=2")

    assert page.status_code == 200
    assert parse_html(page).find("p", role="status").text == (
        "Both sides are the same version: choose two different ones to see changes."
    )
    assert list(diff_fields(page)) == ["Title unchanged", "Summary unchanged", "Text unchanged"]


def test_coauthors_compare_the_working_copy_with_the_last_revision(proposal, people, client_of):
    submit(proposal, people)
    return_for_revision(proposal, people)
    save(proposal, people.coauthor, title="Shared river gauges")

    page = client_of(people.lead).get(f"/proposals/{proposal.id}/diff")

    assert page.status_code == 200
    assert parse_html(page).find("h2", class_="diff-heading").text == "From Revision 1 to Working copy"
    assert diff_fields(page)["Title"] == f"Shared {DEL}water</del>{INS}river</ins> gauges"
    assert selected_options(page) == {"from": (["1", "current"], "1"), "to": (["1", "current"], "current")}


def test_the_working_copy_is_not_offered_to_the_council(proposal, people, client_of):
    two_revisions(proposal, people)
    council = client_of(people.council)

    assert council.get(f"/proposals/{proposal.id}/diff?from=2&to=current").status_code == 404
    assert selected_options(council.get(f"/proposals/{proposal.id}/diff"))["to"] == (["1", "2"], "2")


@pytest.mark.parametrize("query", ["from=3&to=1", "from=1&to=0", "from=abc&to=1", "from=1&to=-1", "from=1.0&to=2",
                                   "from=99999999999999999999&to=1"])
def test_a_pair_naming_a_revision_that_does_not_exist_is_404(proposal, people, client_of, query):
    two_revisions(proposal, people)

    assert client_of(people.council).get(f"/proposals/{proposal.id}/diff?{query}").status_code == 404


def test_a_single_revision_leaves_nothing_to_compare_for_the_council(proposal, people, client_of):
    submit(proposal, people)

    page = client_of(people.council).get(f"/proposals/{proposal.id}/diff")

    assert page.status_code == 200
    assert parse_html(page).find("p", class_="empty-state").text == (
        "There is nothing to compare yet: a proposal gets its first revision when it is submitted, and its second "
        "when it is resubmitted."
    )
    assert parse_html(page).find("form", class_="compare-form") is None


def test_a_draft_has_nothing_to_compare_for_its_coauthors_and_no_diff_page_for_others(proposal, people, client_of):
    page = client_of(people.coauthor).get(f"/proposals/{proposal.id}/diff")

    assert page.status_code == 200
    assert parse_html(page).find("p", class_="empty-state") is not None
    for reader in (None, people.other_expert, people.council, people.secretariat):
        assert client_of(reader).get(f"/proposals/{proposal.id}/diff").status_code == 404


def test_the_diff_of_an_endorsed_proposal_is_public(proposal, people, client_of):
    two_revisions(proposal, people)
    endorse(proposal, people)

    page = client_of(None).get(f"/proposals/{proposal.id}/diff?from=1&to=2")

    assert page.status_code == 200
    assert diff_fields(page)["Title"] == f"Shared {DEL}water</del>{INS}river</ins> gauges"


# --- The partial on the proposal page ----------------------------------------------------------


def test_the_revision_list_links_every_revision_and_offers_a_comparison(app, proposal, people):
    two_revisions(proposal, people)
    endorse(proposal, people)

    with app.test_request_context("/"):
        html = render_template("proposals/_revisions.html", proposal=proposal)

    tree = parse_rendered(html)
    revisions = revisions_of(proposal)
    items = tree.find("ol", class_="revision-list").find_all("li")
    assert [item.text for item in items] == [
        f"Revision 1 , sent {revisions[0].created_at.strftime('%Y-%m-%d %H:%M UTC')}",
        f"Revision 2 , sent {revisions[1].created_at.strftime('%Y-%m-%d %H:%M UTC')} · changes since revision 1",
    ]
    assert [link.attributes["href"] for link in tree.find("ol", class_="revision-list").find_all("a")] == [
        f"/proposals/{proposal.id}/revisions/1",
        f"/proposals/{proposal.id}/revisions/2",
        f"/proposals/{proposal.id}/diff?from=1&to=2",
    ]
    form = tree.find("form", class_="compare-form")
    assert (form.attributes["method"], form.attributes["action"]) == ("get", f"/proposals/{proposal.id}/diff")


def test_the_revision_list_of_a_draft_says_there_is_none_yet(app, proposal):
    with app.test_request_context("/"):
        html = render_template("proposals/_revisions.html", proposal=proposal)

    assert "No revision yet: each submission freezes a numbered revision of the proposal." in html
    assert "compare-form" not in html


def test_the_proposal_page_lists_its_revisions_and_each_revision_page_links_back(proposal, people, client_of):
    submit(proposal, people)
    council = client_of(people.council)

    listed = parse_html(council.get(f"/proposals/{proposal.id}")).find("section", id="revisions")
    revision_page = council.get(f"/proposals/{proposal.id}/revisions/1")

    assert [link.attributes["href"] for link in listed.find_all("a")] == [f"/proposals/{proposal.id}/revisions/1"]
    assert parse_html(revision_page).find("a", href=f"/proposals/{proposal.id}").text == "Back to the proposal"
