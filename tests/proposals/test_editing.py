"""Writing a proposal through the web forms: starting a draft, editing it, previewing, conflicts
between co-authors, an expired security token, and fields nobody may post."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from expert_platform.enums import AuthorStatus, ProposalState, Role
from expert_platform.extensions import db
from expert_platform.proposals import coauthors, workflow
from expert_platform.proposals.models import Proposal
from expert_platform.proposals.services import outline
from tests.html_tree import parse_html, textarea_text

from .page_steps import (
    edit_form,
    field_error,
    form_errors,
    form_values,
    new_expert,
    page_without_tokens,
    proposal_fields,
    save,
    signed_in,
    start_proposal,
    stored,
    token,
)

EXPIRED_TOKEN = "Your session's security token expired; your text is kept below, save again."
CONFLICT = (
    "A co-author saved this proposal after you opened it. Your text was not saved: compare both versions "
    "below, merge what you need into the form and save again."
)


@pytest.fixture
def author(make_user, make_think_tank):
    return new_expert(make_user, make_think_tank, display_name="Ann Lee", email="ann@example.org")


@pytest.fixture
def coauthor(make_user, make_think_tank):
    return new_expert(make_user, make_think_tank, display_name="Bob Kim", email="bob@example.org")


def proposal_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Proposal))


def edit_path(proposal) -> str:
    return f"/proposals/{proposal.id}/edit"


def form_token(response, action: str) -> str:
    form = parse_html(response).find("form", action=action)
    return form.find("input", name="csrf_token").attributes["value"]


# --- starting a draft --------------------------------------------------------------------------


def test_on_a_russian_page_the_new_proposal_starts_in_russian_with_the_russian_outline(client, login, author, states):
    login(author)

    response = client.get("/proposals/new", headers={"Accept-Language": "ru"})

    values = form_values(response, "/proposals/new")
    assert values["language"] == "ru"
    assert values["body"].startswith("## Проблема\n\nКакую проблему решает мера и для кого?\n\n## Предлагаемая мера")
    assert values["body"].count("## ") == 5


def test_the_new_proposal_form_starts_with_the_outline_in_english(client, login, author, states):
    login(author)

    response = client.get("/proposals/new")

    assert response.status_code == 200
    assert form_values(response, "/proposals/new") == {
        "title": "",
        "summary": "",
        "body": outline(),
        "dimensions": [],
        "member_states": [],
        "keywords": "",
        "language": "en",
    }
    page = parse_html(response)
    offered = [option.text for option in page.find("select", name="member_states").find_all("option")]
    assert offered[:3] == ["Afghanistan", "Azerbaijan", "Bahrain"]
    assert len(offered) == 28


def test_an_expert_starts_a_draft_through_the_form_and_lands_on_its_page(client, login, author, states):
    login(author)

    response = start_proposal(
        client,
        title="  Early warning   for flash floods ",
        summary="Shared gauges.\r\nOne protocol.",
        body="## Problem\r\n\r\nDroughts.",
        dimensions=["human", "environmental"],
        member_states=[str(states["KZ"].id), str(states["IN"].id)],
        keywords="Water, floods,, water",
        language="ru",
    )

    proposal = db.session.scalar(select(Proposal))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/proposals/{proposal.id}"
    assert (proposal.title, proposal.summary, proposal.body, proposal.body_html, proposal.language) == (
        "Early warning for flash floods",
        "Shared gauges.\nOne protocol.",
        "## Problem\n\nDroughts.",
        "<h2>Problem</h2>\n<p>Droughts.</p>\n",
        "ru",
    )
    assert (proposal.state, proposal.reference, proposal.version) == (ProposalState.DRAFT, None, 1)
    assert [row.dimension.value for row in proposal.dimensions] == ["environmental", "human"]
    assert sorted(row.member_state_id for row in proposal.member_states) == sorted(
        [states["KZ"].id, states["IN"].id]
    )
    assert [row.keyword for row in proposal.keywords] == ["floods", "water"]
    assert [(row.user_id, row.is_lead, row.status) for row in proposal.authors] == [
        (author.id, True, AuthorStatus.ACCEPTED)
    ]
    assert client.get(response.headers["Location"]).status_code == 200


BAD_INPUT = [
    ("title", "", "Enter a title."),
    ("title", "T" * 201, "Use at most 200 characters."),
    # 2 bytes a character: under 200 K characters, over 200 KB.
    ("body", "é" * (100 * 1024 + 1), "The text is larger than 200 KB. Move long material into a PDF annex."),
    ("language", "xx", "Choose the language the proposal is written in."),
]
BAD_INPUT_IDS = ["missing title", "title over 200", "body over 200 KB", "unknown language"]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT, ids=BAD_INPUT_IDS)
def test_bad_input_on_a_new_draft_re_renders_the_form_with_everything_typed(
    client, login, author, states, field, value, message
):
    login(author)
    typed = proposal_fields(
        member_states=[str(states["CN"].id)], dimensions=["economic", "human"], summary="Typed\nsummary",
        **{field: value},
    )

    response = start_proposal(client, **typed)

    assert response.status_code == 200
    assert field_error(response, field) == message
    kept = form_values(response, "/proposals/new")
    assert {name: kept[name] for name in typed if name != "language"} == {
        name: typed[name] for name in typed if name != "language"
    }
    assert proposal_count() == 0


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT, ids=BAD_INPUT_IDS)
def test_bad_input_on_an_edit_re_renders_the_form_with_everything_typed(
    client, login, author, make_proposal, field, value, message
):
    proposal = make_proposal(author=author, title="Stored title")
    login(author)
    values = edit_form(client, proposal.id)

    response = save(client, proposal.id, values, summary="Typed summary", keywords="a, b", **{field: value})

    assert response.status_code == 200
    assert field_error(response, field) == message
    kept = form_values(response, edit_path(proposal))
    expected = {**values, "summary": "Typed summary", "keywords": "a, b", field: value}
    assert {name: kept[name] for name in expected if name != "language"} == {
        name: expected[name] for name in expected if name != "language"
    }
    assert (stored(proposal.id).title, stored(proposal.id).version) == ("Stored title", 1)


def test_a_researcher_may_not_start_a_proposal(client, login, make_user):
    login(make_user(roles=(Role.RESEARCHER,)))

    assert client.get("/proposals/new").status_code == 403
    assert start_proposal(client).status_code == 403
    assert proposal_count() == 0


def test_an_anonymous_visitor_is_sent_to_sign_in_to_start_a_proposal(client):
    response = client.get("/proposals/new")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fproposals%2Fnew"


# --- editing -----------------------------------------------------------------------------------


def test_the_edit_form_opens_with_the_stored_content_and_its_version(client, login, author, make_proposal, states):
    proposal = make_proposal(author=author, title="Water", keywords=("water", "rivers"))
    login(author)

    assert edit_form(client, proposal.id) == {
        "opened_at_version": "1",
        "title": "Water",
        "summary": "A short summary.",
        "body": "## Problem\n\nWater.",
        "dimensions": ["environmental"],
        "member_states": [],
        "keywords": "rivers, water",
        "language": "en",
    }


def test_a_save_stores_the_typed_content_and_counts_a_version(client, login, author, make_proposal, states):
    proposal = make_proposal(author=author)
    login(author)
    values = edit_form(client, proposal.id)

    response = save(
        client, proposal.id, values, title="Water diplomacy", body="## Problem\n\nDroughts.",
        member_states=[str(states["UZ"].id)], dimensions=["economic"], keywords="", language="uz",
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/proposals/{proposal.id}"
    saved = stored(proposal.id)
    assert (saved.title, saved.body, saved.body_html, saved.language, saved.version) == (
        "Water diplomacy", "## Problem\n\nDroughts.", "<h2>Problem</h2>\n<p>Droughts.</p>\n", "uz", 2
    )
    assert [row.member_state_id for row in saved.member_states] == [states["UZ"].id]
    assert [row.dimension.value for row in saved.dimensions] == ["economic"]
    assert saved.keywords == []
    assert saved.state == ProposalState.DRAFT


def test_a_co_author_has_the_same_right_to_edit_as_the_lead(app, author, coauthor, make_proposal):
    proposal = make_proposal(author=author, coauthors=[coauthor])
    bob = signed_in(app, coauthor)

    response = save(bob, proposal.id, edit_form(bob, proposal.id), title="Bob's title")

    assert response.status_code == 302
    assert stored(proposal.id).title == "Bob's title"


def test_preview_shows_the_rendered_text_above_the_still_filled_form_and_saves_nothing(
    client, login, author, make_proposal
):
    proposal = make_proposal(author=author, title="Stored title")
    login(author)
    values = edit_form(client, proposal.id)
    typed = {**values, "title": "Typed title", "body": "## Plan\n\n**Bold** <script>alert(1)</script>"}

    response = client.post(edit_path(proposal), data={**typed, "csrf_token": token(client), "preview": "1"})

    assert response.status_code == 200
    page = parse_html(response)
    preview = page.find("section", aria_labelledby="preview-heading")
    assert preview.find("h2").text == "Preview: exactly what readers will see"
    assert preview.find("h3").text == "Typed title"
    rendered = preview.find("div", class_="proposal-text")
    assert [element.tag for element in rendered.elements()] == ["h2", "p", "strong"]
    assert rendered.text == "Plan Bold <script>alert(1)</script>"
    assert [script.attributes.get("src") for script in page.find_all("script")] == ["/static/js/app.js"]
    assert form_values(response, edit_path(proposal)) == typed
    assert (stored(proposal.id).title, stored(proposal.id).version) == ("Stored title", 1)


def test_preview_works_on_a_new_draft_too_and_creates_nothing(client, login, author, states):
    login(author)
    typed = proposal_fields(body="- one\n- two")

    response = client.post("/proposals/new", data={**typed, "csrf_token": token(client), "preview": "1"})

    assert response.status_code == 200
    rendered = parse_html(response).find("section", aria_labelledby="preview-heading").find(
        "div", class_="proposal-text"
    )
    assert [item.text for item in rendered.find_all("li")] == ["one", "two"]
    assert form_values(response, "/proposals/new") == typed
    assert proposal_count() == 0


# --- two co-authors saving from the same version -----------------------------------------------


def test_a_stale_save_shows_both_texts_side_by_side_and_loses_nothing(app, author, coauthor, make_proposal):
    proposal = make_proposal(author=author, coauthors=[coauthor], title="First title")
    ann, bob = signed_in(app, author), signed_in(app, coauthor)
    anns_form, bobs_form = edit_form(ann, proposal.id), edit_form(bob, proposal.id)
    assert save(bob, proposal.id, bobs_form, title="Bob's title", body="Bob's text.").status_code == 302

    response = save(ann, proposal.id, anns_form, title="Ann's title", summary="Ann's summary", body="Ann's text.")

    assert response.status_code == 409
    assert form_errors(response) == [CONFLICT]
    page = parse_html(response)
    assert page.find("h2", id="stored-heading").text == "The version saved by your co-author"
    stored_fields = ("stored-title", "stored-summary", "stored-body")
    assert [textarea_text(page.find("textarea", id=name)) for name in stored_fields] == [
        "Bob's title", "A short summary.", "Bob's text."
    ]
    kept = form_values(response, edit_path(proposal))
    assert kept == {**anns_form, "title": "Ann's title", "summary": "Ann's summary", "body": "Ann's text.",
                    "opened_at_version": "2"}
    assert (stored(proposal.id).title, stored(proposal.id).version) == ("Bob's title", 2)

    merged = save(ann, proposal.id, {**kept, "body": "Bob's text.\n\nAnn's text."})

    assert merged.status_code == 302
    saved = stored(proposal.id)
    assert (saved.title, saved.summary, saved.body, saved.version) == (
        "Ann's title", "Ann's summary", "Bob's text.\n\nAnn's text.", 3
    )


def test_a_co_author_saving_after_the_proposal_was_submitted_gets_the_text_back(app, author, coauthor, make_proposal):
    proposal = make_proposal(author=author, coauthors=[coauthor], title="Stored title")
    bob = signed_in(app, coauthor)
    bobs_form = edit_form(bob, proposal.id)
    workflow.transition(stored(proposal.id), "submit", actor=author)
    db.session.commit()

    response = save(bob, proposal.id, bobs_form, title="Bob's late title", summary="Late", body="Late text.")

    assert response.status_code == 409
    page = parse_html(response)
    assert [textarea_text(page.find("textarea", id=name)) for name in ("kept-title", "kept-summary", "kept-body")] == [
        "Bob's late title", "Late", "Late text."
    ]
    assert form_errors(response) == [
        "The proposal can no longer be edited: it is submitted now. Your text was not saved; it is kept below "
        "so you can copy it."
    ]
    assert stored(proposal.id).title == "Stored title"


# --- nothing but the named fields reaches the proposal -----------------------------------------


def test_posting_state_version_reference_authors_or_think_tanks_changes_nothing_of_them(
    app, client, login, author, make_user, make_think_tank, make_proposal
):
    proposal = make_proposal(author=author)
    intruder = new_expert(make_user, make_think_tank)
    other_tank = make_think_tank()
    login(author)
    values = edit_form(client, proposal.id)
    think_tanks_before = [row.think_tank_id for row in stored(proposal.id).think_tanks]

    response = save(
        client, proposal.id, values, title="Only the title changes",
        state="endorsed", version="99", reference="EP-1999-0001", body_html="<script>alert(1)</script>",
        authors=str(intruder.id), coauthors=str(intruder.id), think_tanks=str(other_tank.id),
        created_by_id=str(intruder.id), first_submitted_at="2020-01-01", id="999",
    )

    assert response.status_code == 302
    saved = stored(proposal.id)
    assert (saved.id, saved.title, saved.state, saved.version, saved.reference, saved.created_by_id) == (
        proposal.id, "Only the title changes", ProposalState.DRAFT, 2, None, author.id
    )
    assert (saved.body_html, saved.first_submitted_at) == ("<h2>Problem</h2>\n<p>Water.</p>\n", None)
    assert [(row.user_id, row.is_lead) for row in saved.authors] == [(author.id, True)]
    assert [row.think_tank_id for row in saved.think_tanks] == think_tanks_before


def test_posting_state_or_reference_to_the_new_form_still_starts_a_plain_draft(client, login, author):
    login(author)

    start_proposal(client, state="endorsed", reference="EP-1999-0001", version="7", authors="1")

    proposal = db.session.scalar(select(Proposal))
    assert (proposal.state, proposal.reference, proposal.version) == (ProposalState.DRAFT, None, 1)


# --- an expired security token -----------------------------------------------------------------


def test_an_expired_token_re_renders_the_edit_form_with_the_text_kept_and_a_fresh_token(
    client, login, author, make_proposal
):
    proposal = make_proposal(author=author, title="Stored title")
    login(author)
    values = edit_form(client, proposal.id)
    typed = {**values, "title": "Typed title", "body": "Hours of typing."}

    response = save(client, proposal.id, {**typed, "csrf_token": "expired-token"})

    assert response.status_code == 400
    assert form_errors(response) == [EXPIRED_TOKEN]
    assert form_values(response, edit_path(proposal)) == typed
    fresh = form_token(response, edit_path(proposal))
    assert fresh != "expired-token"
    assert stored(proposal.id).title == "Stored title"

    again = save(client, proposal.id, {**typed, "csrf_token": fresh})

    assert again.status_code == 302
    assert (stored(proposal.id).title, stored(proposal.id).body) == ("Typed title", "Hours of typing.")


def test_a_signed_out_writer_gets_only_the_posted_text_back_to_copy(client, author, make_proposal):
    proposal = make_proposal(author=author, title="Stored title", summary="Stored summary", body="Stored text")

    response = client.post(
        edit_path(proposal),
        data={"csrf_token": "expired-token", "title": "Typed title", "summary": "Typed summary", "body": "Typed text"},
    )

    assert response.status_code == 400
    page = parse_html(response)
    kept = [page.find("textarea", id=name) for name in ("kept-title", "kept-summary", "kept-body")]
    assert [textarea_text(area) for area in kept] == ["Typed title", "Typed summary", "Typed text"]
    assert all("readonly" in area.attributes for area in kept)
    text = response.get_data(as_text=True)
    assert ("Stored title" in text, "Stored summary" in text, "Stored text" in text) == (False, False, False)
    assert page.find("a", class_="button-primary").attributes["href"] == f"/login?next=/proposals/{proposal.id}/edit"


def test_an_expired_token_on_the_new_form_keeps_the_text(client, login, author):
    login(author)
    typed = proposal_fields(title="Typed title")

    response = client.post("/proposals/new", data={**typed, "csrf_token": "expired-token"})

    assert response.status_code == 400
    assert form_errors(response) == [EXPIRED_TOKEN]
    assert form_values(response, "/proposals/new") == typed
    assert proposal_count() == 0


def test_an_expired_token_from_someone_who_may_not_edit_shows_the_plain_error_page(
    client, login, make_user, make_think_tank, author, make_proposal
):
    proposal = make_proposal(author=author, title="Stored title")
    login(new_expert(make_user, make_think_tank))

    response = client.post(edit_path(proposal), data={"csrf_token": "expired-token", "title": "Typed"})

    assert response.status_code == 400
    assert parse_html(response).find("h1").text == "Bad request"
    assert "Stored title" not in response.get_data(as_text=True)


# --- who may open the edit page ----------------------------------------------------------------


@pytest.mark.parametrize("viewer", ["another expert", "council member", "secretariat", "anonymous visitor",
                                    "co-author of another proposal", "invited, not yet accepted"])
def test_a_drafts_edit_page_is_not_found_for_anyone_but_its_co_authors(
    app, client, make_user, make_think_tank, author, make_proposal, viewer
):
    proposal = make_proposal(author=author)
    if viewer == "another expert":
        person = new_expert(make_user, make_think_tank)
    elif viewer == "council member":
        person = make_user(roles=(Role.COUNCIL_MEMBER,))
    elif viewer == "secretariat":
        person = make_user(roles=(Role.ADMIN,))
    elif viewer == "co-author of another proposal":
        person = new_expert(make_user, make_think_tank)
        make_proposal(author=person)
    elif viewer == "invited, not yet accepted":
        person = new_expert(make_user, make_think_tank)
        coauthors.invite(actor=author, proposal=stored(proposal.id), user=person)
        db.session.commit()
    else:
        person = None
    visitor = signed_in(app, person) if person else client
    missing = visitor.get("/proposals/999999/edit")

    response = visitor.get(edit_path(proposal))
    posted = visitor.post(edit_path(proposal), data={"csrf_token": token(visitor), **proposal_fields()})

    assert (response.status_code, posted.status_code) == (404, 404)
    assert page_without_tokens(response) == page_without_tokens(missing)
    assert stored(proposal.id).version == 1


@pytest.mark.parametrize("viewer", ["co-author", "council member"])
def test_a_submitted_proposal_may_be_seen_but_not_edited(app, make_user, author, make_proposal, viewer):
    proposal = make_proposal(author=author)
    workflow.transition(stored(proposal.id), "submit", actor=author)
    db.session.commit()
    person = author if viewer == "co-author" else make_user(roles=(Role.COUNCIL_MEMBER,))
    visitor = signed_in(app, person)

    assert visitor.get(f"/proposals/{proposal.id}").status_code == 200
    assert visitor.get(edit_path(proposal)).status_code == 403
