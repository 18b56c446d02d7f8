"""The authors' workflow buttons on the proposal page (submit, resubmit, withdraw), each a POST with
an optional note, and the whole journey from a new draft to its permanent address."""

from __future__ import annotations

import pytest

from expert_platform.database import utcnow
from expert_platform.enums import ProposalState, Role
from expert_platform.extensions import db
from expert_platform.proposals.models import NOTE_MAX_LENGTH, Proposal
from tests import journeys
from tests.html_tree import parse_html

from .page_steps import (
    act,
    button_labels,
    edit_form,
    field_error,
    flashes,
    form_values,
    new_expert,
    save,
    signed_in,
    start_proposal,
    stored,
    timeline,
    timeline_notes,
    token,
)

S = ProposalState
YEAR = utcnow().year


@pytest.fixture
def author(make_user, make_think_tank):
    return new_expert(make_user, make_think_tank, display_name="Ann Lee", email="ann@example.org")


@pytest.fixture
def secretariat(make_user):
    return make_user(display_name="Sam Office", roles=(Role.ADMIN,))


def take(proposal, action: str, actor, note: str | None = None) -> None:
    journeys.take(stored(proposal.id), action, actor, note)
    db.session.commit()


def buttons(response, proposal) -> list[str]:
    return button_labels(response, f"/proposals/{proposal.id}/actions/")


# --- the whole journey -------------------------------------------------------------------------


def test_an_expert_writes_previews_submits_and_cites_a_proposal(app, client, login, author, make_user):
    login(author)
    assert client.get("/proposals/new").status_code == 200
    created = start_proposal(client, title="Flood warnings", body="## Problem\n\nFloods.")
    proposal_id = db.session.scalar(db.select(Proposal.id))
    assert created.headers["Location"] == f"/proposals/{proposal_id}"

    values = edit_form(client, proposal_id)
    preview = client.post(
        f"/proposals/{proposal_id}/edit",
        data={**values, "csrf_token": token(client), "body": "## Problem\n\nFlash floods.", "preview": "1"},
    )
    assert parse_html(preview).find("div", class_="proposal-text").text == "Problem Flash floods."
    assert stored(proposal_id).body == "## Problem\n\nFloods."
    saved = save(client, proposal_id, form_values(preview, f"/proposals/{proposal_id}/edit"))
    assert saved.status_code == 302
    assert stored(proposal_id).body == "## Problem\n\nFlash floods."

    page = client.get(f"/proposals/{proposal_id}")
    assert buttons(page, stored(proposal_id)) == ["Submit to the council", "Withdraw"]
    submitted = act(client, proposal_id, "submit", note="Ready for the council.")

    assert submitted.status_code == 302
    assert submitted.headers["Location"] == f"/proposals/{proposal_id}"
    page = client.get(f"/proposals/{proposal_id}")
    reference = f"EP-{YEAR}-0001"
    assert flashes(page) == [f"The proposal is submitted to the council. Its reference is {reference}."]
    assert parse_html(page).find("p", class_="proposal-state").text == f"Submitted {reference}"
    assert timeline(page) == ["Ann Lee started the draft.", "Ann Lee submitted revision 1 to the council."]
    assert timeline_notes(page) == ["Ready for the council."]
    assert stored(proposal_id).state == S.SUBMITTED
    assert client.get(f"/proposals/{proposal_id}/edit").status_code == 403

    cited = signed_in(app, make_user(roles=(Role.COUNCIL_MEMBER,))).get(f"/proposals/{reference}")
    assert cited.status_code == 200
    assert parse_html(cited).find("h1").text == "Flood warnings"


# --- which buttons show ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([], ["Submit to the council", "Withdraw"]),
        (["submit"], ["Withdraw"]),
        (["submit", "start_review"], ["Withdraw"]),
        (["submit", "return_for_revision"], ["Resubmit", "Withdraw"]),
        (["submit", "start_review", "open_consensus"], []),
        (["submit", "withdraw"], []),
    ],
    ids=["draft", "submitted", "in review", "changes requested", "consensus", "withdrawn"],
)
def test_a_co_author_sees_the_author_buttons_the_state_allows(app, author, secretariat, make_proposal, steps,
                                                              expected):
    proposal = make_proposal(author=author)
    for action in steps:
        by_secretariat = action in {"start_review", "return_for_revision", "open_consensus"}
        take(proposal, action, secretariat if by_secretariat else author,
             note="Add a timetable." if action == "return_for_revision" else None)

    response = signed_in(app, author).get(f"/proposals/{proposal.id}")

    assert buttons(response, proposal) == expected


@pytest.mark.parametrize("role", [Role.COUNCIL_MEMBER, Role.ADMIN])
def test_the_council_and_the_secretariat_get_no_author_buttons(app, make_user, author, make_proposal, role):
    proposal = make_proposal(author=author)
    take(proposal, "submit", author)

    response = signed_in(app, make_user(roles=(role,))).get(f"/proposals/{proposal.id}")

    assert response.status_code == 200
    assert buttons(response, proposal) == []


# --- taking the actions ------------------------------------------------------------------------


def test_a_co_author_resubmits_a_returned_proposal_as_a_new_revision(app, author, secretariat, make_proposal):
    proposal = make_proposal(author=author)
    take(proposal, "submit", author)
    take(proposal, "return_for_revision", secretariat, note="Add a timetable.")
    ann = signed_in(app, author)

    response = act(ann, proposal.id, "resubmit")

    assert response.status_code == 302
    page = ann.get(f"/proposals/{proposal.id}")
    assert flashes(page) == ["The revised proposal is sent to the council again."]
    assert timeline(page)[-3:] == [
        "Ann Lee submitted revision 1 to the council.",
        "Sam Office returned the proposal to its authors for revision.",
        "Ann Lee resubmitted the proposal as revision 2.",
    ]
    assert timeline_notes(page) == ["Add a timetable."]
    saved = stored(proposal.id)
    assert (saved.state, saved.reference, [revision.number for revision in saved.revisions]) == (
        S.SUBMITTED, f"EP-{YEAR}-0001", [1, 2]
    )


def test_a_co_author_withdraws_a_proposal_with_a_note(app, make_user, make_think_tank, author, make_proposal):
    bob = new_expert(make_user, make_think_tank, display_name="Bob Kim")
    proposal = make_proposal(author=author, coauthors=[bob])
    take(proposal, "submit", author)
    bobs = signed_in(app, bob)

    response = act(bobs, proposal.id, "withdraw", note="Superseded by a joint proposal.")

    assert response.status_code == 302
    page = bobs.get(f"/proposals/{proposal.id}")
    assert flashes(page) == ["The proposal is withdrawn."]
    assert timeline(page)[-1] == "Bob Kim withdrew the proposal."
    assert timeline_notes(page) == ["Superseded by a joint proposal."]
    assert stored(proposal.id).state == S.WITHDRAWN


def test_a_co_author_withdraws_a_draft_that_never_gets_a_reference(app, author, make_proposal):
    proposal = make_proposal(author=author)
    ann = signed_in(app, author)

    response = act(ann, proposal.id, "withdraw")

    assert response.status_code == 302
    page = ann.get(f"/proposals/{proposal.id}")
    assert flashes(page) == ["The proposal is withdrawn."]
    assert parse_html(page).find("p", class_="proposal-state").text == "Withdrawn"
    assert (stored(proposal.id).state, stored(proposal.id).reference) == (S.WITHDRAWN, None)


def test_an_incomplete_draft_is_not_submitted_and_the_page_says_what_is_missing(app, author, make_proposal):
    proposal = make_proposal(author=author, summary="", dimensions=())
    ann = signed_in(app, author)

    response = act(ann, proposal.id, "submit", note="Here it is.")

    assert response.status_code == 200
    workflow_section = parse_html(response).find("section", aria_labelledby="workflow-heading")
    assert workflow_section.find("div", class_="alert-error").text == (
        "Before it can be sent, the proposal needs a summary, at least one dimension."
    )
    assert form_values(response, f"/proposals/{proposal.id}/actions/submit") == {"note": "Here it is."}
    assert (stored(proposal.id).state, stored(proposal.id).reference) == (S.DRAFT, None)


def test_a_note_over_the_limit_is_refused_under_the_field_and_kept(app, author, make_proposal):
    proposal = make_proposal(author=author)
    ann = signed_in(app, author)
    note = "n" * (NOTE_MAX_LENGTH + 1)

    response = act(ann, proposal.id, "submit", note=note)

    assert response.status_code == 200
    assert field_error(response, "note-submit") == "Use at most 5000 characters."
    assert form_values(response, f"/proposals/{proposal.id}/actions/submit") == {"note": note}
    assert stored(proposal.id).state == S.DRAFT


def test_pressing_submit_on_a_stale_page_shows_the_proposal_as_it_is_now(app, author, make_proposal):
    proposal = make_proposal(author=author)
    take(proposal, "submit", author)
    ann = signed_in(app, author)

    response = act(ann, proposal.id, "submit")

    assert response.status_code == 302
    page = ann.get(f"/proposals/{proposal.id}")
    assert flashes(page) == ["A proposal that is submitted cannot be given this action."]
    assert [revision.number for revision in stored(proposal.id).revisions] == [1]


# --- who may press them ------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["start_review", "return_for_revision", "open_consensus", "endorse",
                                    "close_without_consensus", "no_such_action"])
def test_only_the_authors_actions_have_a_button_address(app, author, secretariat, make_proposal, action):
    proposal = make_proposal(author=author)
    take(proposal, "submit", author)

    response = act(signed_in(app, secretariat), proposal.id, action, note="A note.")

    assert response.status_code == 404
    assert stored(proposal.id).state == S.SUBMITTED


def test_a_council_member_who_sees_a_proposal_may_not_withdraw_it(app, make_user, author, make_proposal):
    proposal = make_proposal(author=author)
    take(proposal, "submit", author)

    response = act(signed_in(app, make_user(roles=(Role.COUNCIL_MEMBER,))), proposal.id, "withdraw")

    assert response.status_code == 403
    assert stored(proposal.id).state == S.SUBMITTED


@pytest.mark.parametrize("kind", ["another expert", "council member", "co-author of another proposal"])
def test_nobody_outside_a_draft_may_act_on_it(app, make_user, make_think_tank, author, make_proposal, kind):
    proposal = make_proposal(author=author)
    if kind == "council member":
        person = make_user(roles=(Role.COUNCIL_MEMBER,))
    else:
        person = new_expert(make_user, make_think_tank)
        if kind == "co-author of another proposal":
            make_proposal(author=person)

    assert act(signed_in(app, person), proposal.id, "submit").status_code == 404
    assert act(signed_in(app, person), 999999, "submit").status_code == 404
    assert stored(proposal.id).state == S.DRAFT


def test_an_anonymous_visitor_is_sent_to_sign_in(client, author, make_proposal):
    proposal = make_proposal(author=author)

    response = act(client, proposal.id, "submit")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert stored(proposal.id).state == S.DRAFT
