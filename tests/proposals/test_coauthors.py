"""Co-authors through the proposal pages: the lead invites active experts by email, they accept or
decline from "My proposals", the lead removes co-authors or hands on the lead; only the lead manages."""

from __future__ import annotations

import pytest

from expert_platform.enums import AuthorStatus, Role
from expert_platform.extensions import db
from expert_platform.proposals import coauthors, workflow
from tests.html_tree import parse_html

from .page_steps import (
    answer,
    edit_form,
    field_error,
    flashes,
    form_values,
    invite,
    new_expert,
    press,
    save,
    signed_in,
    stored,
    timeline,
)


@pytest.fixture
def lead(make_user, make_think_tank):
    return new_expert(make_user, make_think_tank, display_name="Ann Lee", email="ann@example.org")


@pytest.fixture
def bob(make_user, make_think_tank):
    return new_expert(make_user, make_think_tank, display_name="Bob Kim", email="bob@example.org")


@pytest.fixture
def draft(make_proposal, lead):
    return make_proposal(author=lead, title="Water diplomacy")


def authors_of(proposal_id: int) -> list[tuple[str, bool, AuthorStatus]]:
    return [(row.user.display_name, row.is_lead, row.status) for row in stored(proposal_id).authors]


def coauthor_table(response) -> list[list[str]]:
    table = parse_html(response).find("table", id="coauthors")
    return [[cell.text for cell in row.find_all("td")] for row in table.find_all("tr") if row.find("td")]


def invited(lead_author, proposal, person) -> None:
    coauthors.invite(actor=lead_author, proposal=stored(proposal.id), user=person)
    db.session.commit()


# --- inviting ----------------------------------------------------------------------------------


def test_the_lead_invites_an_expert_by_email_who_is_emailed_and_sees_the_invitation(
    app, lead, bob, draft, outbox
):
    ann = signed_in(app, lead)

    response = invite(ann, draft.id, " BOB@example.org ")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/proposals/{draft.id}"
    page = ann.get(f"/proposals/{draft.id}")
    assert flashes(page) == ["Bob Kim is invited to co-author and has been emailed."]
    assert coauthor_table(page) == [["Ann Lee", "Lead author", ""], ["Bob Kim", "Invited", "Withdraw the invitation"]]
    assert timeline(page)[-1] == "Ann Lee invited Bob Kim to co-author."
    assert authors_of(draft.id) == [("Ann Lee", True, AuthorStatus.ACCEPTED), ("Bob Kim", False, AuthorStatus.INVITED)]
    [message] = outbox()
    assert (message["To"], message["Subject"]) == ("bob@example.org", "Invitation to co-author a proposal")
    assert "/proposals/mine" in message.get_body(("plain",)).get_content()
    mine = signed_in(app, bob).get("/proposals/mine")
    assert parse_html(mine).find("section", aria_labelledby="invitations-heading").find("h3").text == "Water diplomacy"


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("nobody@example.org", "Co-authors are active experts of the platform: no such expert."),
        ("researcher@example.org", "Co-authors are active experts of the platform: no such expert."),
        ("ann@example.org", "Ann Lee is already an author or invited."),
        ("", "Enter the email address of the expert to invite."),
    ],
    ids=["unknown address", "a researcher", "the lead", "empty"],
)
def test_an_invitation_that_cannot_be_sent_is_explained_under_the_field_with_the_address_kept(
    app, make_user, lead, draft, who, message
):
    make_user(email="researcher@example.org", roles=(Role.RESEARCHER,))
    ann = signed_in(app, lead)

    response = invite(ann, draft.id, who)

    assert response.status_code == 200
    assert field_error(response, "email") == message
    assert form_values(response, f"/proposals/{draft.id}/coauthors") == {"email": who}
    assert authors_of(draft.id) == [("Ann Lee", True, AuthorStatus.ACCEPTED)]


# --- answering ---------------------------------------------------------------------------------


def test_an_invited_expert_accepts_and_gets_equal_edit_rights(app, lead, bob, draft):
    invited(lead, draft, bob)
    bobs = signed_in(app, bob)
    assert bobs.get(f"/proposals/{draft.id}").status_code == 404

    response = answer(bobs, draft.id, "accept")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/proposals/{draft.id}"
    page = bobs.get(f"/proposals/{draft.id}")
    assert flashes(page) == ["You are now a co-author of “Water diplomacy”."]
    assert timeline(page)[-1] == "Bob Kim accepted the invitation to co-author."
    assert authors_of(draft.id) == [("Ann Lee", True, AuthorStatus.ACCEPTED), ("Bob Kim", False, AuthorStatus.ACCEPTED)]
    assert save(bobs, draft.id, edit_form(bobs, draft.id), title="Bob's title").status_code == 302
    assert stored(draft.id).title == "Bob's title"
    # An accepted co-author has the author's buttons too, but does not manage co-authors.
    assert parse_html(page).find("section", aria_labelledby="workflow-heading") is not None
    assert parse_html(page).find("table", id="coauthors") is None


def test_an_invited_expert_declines_and_still_cannot_see_the_draft(app, lead, bob, draft):
    invited(lead, draft, bob)
    bobs = signed_in(app, bob)

    response = answer(bobs, draft.id, "decline")

    assert response.status_code == 302
    assert response.headers["Location"] == "/proposals/mine"
    mine = bobs.get("/proposals/mine")
    assert flashes(mine) == ["You declined to co-author “Water diplomacy”."]
    assert parse_html(mine).find("section", aria_labelledby="invitations-heading") is None
    assert bobs.get(f"/proposals/{draft.id}").status_code == 404
    assert authors_of(draft.id)[-1] == ("Bob Kim", False, AuthorStatus.DECLINED)


def test_someone_without_an_invitation_cannot_answer_one(app, make_user, make_think_tank, lead, bob, draft):
    stranger = signed_in(app, new_expert(make_user, make_think_tank))
    ann = signed_in(app, lead)

    assert answer(stranger, draft.id, "accept").status_code == 404
    assert answer(stranger, 999999, "accept").status_code == 404
    assert answer(ann, draft.id, "accept").status_code == 403
    assert authors_of(draft.id) == [("Ann Lee", True, AuthorStatus.ACCEPTED)]


def test_an_answer_other_than_accept_or_decline_is_refused(app, lead, bob, draft):
    invited(lead, draft, bob)

    assert answer(signed_in(app, bob), draft.id, "maybe").status_code == 400
    assert authors_of(draft.id)[-1] == ("Bob Kim", False, AuthorStatus.INVITED)


# --- removing and handing on the lead ----------------------------------------------------------


def test_the_lead_removes_a_co_author_who_then_loses_access(app, make_proposal, lead, bob):
    proposal = make_proposal(author=lead, coauthors=[bob])
    bobs_row = stored(proposal.id).authors[1]
    ann = signed_in(app, lead)

    response = press(ann, f"/proposals/{proposal.id}/coauthors/{bobs_row.id}/remove")

    assert response.status_code == 302
    page = ann.get(f"/proposals/{proposal.id}")
    assert flashes(page) == ["Bob Kim is no longer an author of this proposal."]
    assert timeline(page)[-1] == "Ann Lee removed Bob Kim from the authors."
    assert authors_of(proposal.id) == [("Ann Lee", True, AuthorStatus.ACCEPTED)]
    assert signed_in(app, bob).get(f"/proposals/{proposal.id}").status_code == 404


def test_the_lead_withdraws_an_invitation(app, lead, bob, draft):
    invited(lead, draft, bob)
    row = stored(draft.id).authors[1]

    response = press(signed_in(app, lead), f"/proposals/{draft.id}/coauthors/{row.id}/remove")

    assert response.status_code == 302
    assert authors_of(draft.id) == [("Ann Lee", True, AuthorStatus.ACCEPTED)]
    assert parse_html(signed_in(app, bob).get("/proposals/mine")).find(
        "section", aria_labelledby="invitations-heading"
    ) is None


def test_the_lead_cannot_remove_themselves_before_handing_on_the_lead(app, lead, draft):
    own_row = stored(draft.id).authors[0]
    ann = signed_in(app, lead)

    response = press(ann, f"/proposals/{draft.id}/coauthors/{own_row.id}/remove")

    assert response.status_code == 302
    assert flashes(ann.get(f"/proposals/{draft.id}")) == [
        "Hand the lead to another co-author before leaving the proposal."
    ]
    assert authors_of(draft.id) == [("Ann Lee", True, AuthorStatus.ACCEPTED)]


def test_the_lead_hands_the_lead_to_a_co_author(app, make_proposal, lead, bob):
    proposal = make_proposal(author=lead, coauthors=[bob])
    bobs_row = stored(proposal.id).authors[1]
    ann = signed_in(app, lead)

    response = press(ann, f"/proposals/{proposal.id}/coauthors/{bobs_row.id}/lead")

    assert response.status_code == 302
    page = ann.get(f"/proposals/{proposal.id}")
    assert flashes(page) == ["Bob Kim now leads the proposal."]
    assert timeline(page)[-1] == "Ann Lee handed the lead to Bob Kim."
    assert authors_of(proposal.id) == [
        ("Ann Lee", False, AuthorStatus.ACCEPTED), ("Bob Kim", True, AuthorStatus.ACCEPTED)
    ]
    assert parse_html(page).find("table", id="coauthors") is None
    assert coauthor_table(signed_in(app, bob).get(f"/proposals/{proposal.id}")) == [
        ["Bob Kim", "Lead author", ""],
        ["Ann Lee", "Co-author", "Make lead author Remove"],
    ]


def test_the_lead_cannot_go_to_someone_who_has_not_accepted(app, lead, bob, draft):
    invited(lead, draft, bob)
    row = stored(draft.id).authors[1]
    ann = signed_in(app, lead)

    press(ann, f"/proposals/{draft.id}/coauthors/{row.id}/lead")

    assert flashes(ann.get(f"/proposals/{draft.id}")) == ["The lead goes to a co-author who has accepted."]
    assert authors_of(draft.id)[0] == ("Ann Lee", True, AuthorStatus.ACCEPTED)


def test_a_co_author_who_does_not_lead_may_not_manage_co_authors(app, make_user, make_think_tank, make_proposal, lead,
                                                                 bob):
    new_expert(make_user, make_think_tank, email="carol@example.org")
    proposal = make_proposal(author=lead, coauthors=[bob])
    leads_row = stored(proposal.id).authors[0]
    bobs = signed_in(app, bob)

    assert invite(bobs, proposal.id, "carol@example.org").status_code == 403
    assert press(bobs, f"/proposals/{proposal.id}/coauthors/{leads_row.id}/remove").status_code == 403
    assert press(bobs, f"/proposals/{proposal.id}/coauthors/{leads_row.id}/lead").status_code == 403
    assert authors_of(proposal.id) == [
        ("Ann Lee", True, AuthorStatus.ACCEPTED), ("Bob Kim", False, AuthorStatus.ACCEPTED)
    ]


def test_an_author_of_another_proposal_is_not_found(app, make_proposal, lead, bob, draft):
    others = make_proposal(author=bob)
    bobs_row = stored(others.id).authors[0]
    ann = signed_in(app, lead)

    assert press(ann, f"/proposals/{draft.id}/coauthors/{bobs_row.id}/remove").status_code == 404
    assert press(ann, f"/proposals/{draft.id}/coauthors/{bobs_row.id}/lead").status_code == 404
    assert press(ann, f"/proposals/{draft.id}/coauthors/999999/remove").status_code == 404
    assert authors_of(others.id) == [("Bob Kim", True, AuthorStatus.ACCEPTED)]


def test_nobody_outside_a_draft_may_touch_its_co_authors(app, make_user, make_think_tank, lead, draft):
    stranger = signed_in(app, new_expert(make_user, make_think_tank, email="eve@example.org"))
    own_row = stored(draft.id).authors[0]

    assert invite(stranger, draft.id, "eve@example.org").status_code == 404
    assert press(stranger, f"/proposals/{draft.id}/coauthors/{own_row.id}/remove").status_code == 404
    assert press(stranger, f"/proposals/{draft.id}/coauthors/{own_row.id}/lead").status_code == 404
    assert authors_of(draft.id) == [("Ann Lee", True, AuthorStatus.ACCEPTED)]


def test_co_authors_are_fixed_once_the_proposal_is_submitted(app, make_proposal, lead, bob):
    proposal = make_proposal(author=lead)
    workflow.transition(stored(proposal.id), "submit", actor=lead)
    db.session.commit()
    ann = signed_in(app, lead)

    page = ann.get(f"/proposals/{proposal.id}")

    assert parse_html(page).find("table", id="coauthors") is None
    assert invite(ann, proposal.id, "bob@example.org").status_code == 403
    assert authors_of(proposal.id) == [("Ann Lee", True, AuthorStatus.ACCEPTED)]
