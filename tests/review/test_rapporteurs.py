"""Assigning and removing rapporteurs on the workspace, with conflicts of interest and waivers."""

from __future__ import annotations

import pytest

from expert_platform.enums import ProposalState, Role
from expert_platform.review import services as review_services
from tests.html_tree import form_values, parse_html
from tests.proposals.page_steps import field_error, flashes, form_errors, signed_in
from tests.review.test_workspace import appoint, post, section_text, snapshot, workspace_path

CONFLICT_KZ = ("Delegate KZ 2 has a conflict of interest: sits in the delegation of Kazakhstan, the member state "
               "of an authoring think tank. Record a waiver with a reason to assign them anyway.")


@pytest.fixture
def in_review(app, make_proposal, make_council, bring_to):
    """A proposal in review by an author of a Kazakh think tank, and delegates of China and Kazakhstan."""
    council = make_council(("CN", "KZ"))
    return bring_to(make_proposal(title="Shared rivers"), ProposalState.IN_REVIEW), council


def assign_form(response, proposal):
    form = parse_html(response).find("form", action=f"/proposals/{proposal.id}/rapporteurs")
    assert form is not None, "no assignment form"
    return form


def test_the_choice_names_each_members_delegation_and_conflict(app, in_review, secretariat):
    proposal, council = in_review
    page = signed_in(app, secretariat).get(workspace_path(proposal))
    options = assign_form(page, proposal).find_all("option")
    assert [(option.attributes["value"], option.text) for option in options] == [
        ("", "Choose a council member"),
        (str(council["CN"].id), "Delegate CN 1 (delegation of China)"),
        (str(council["KZ"].id), "Delegate KZ 2 (delegation of Kazakhstan): conflict of interest"),
    ]
    assert parse_html(page).find(id="waiver_reason-hint").text == (
        "Required when the member has a conflict of interest: why they may assess it anyway."
    )
    assert parse_html(page).find(id="rapporteurs").find("p", class_="empty-state").text == "No rapporteur yet."


def test_the_secretariat_assigns_a_member_without_conflict(app, in_review, secretariat):
    proposal, council = in_review
    client = signed_in(app, secretariat)
    response = post(client, f"/proposals/{proposal.id}/rapporteurs",
                    {"user_id": str(council["CN"].id), "waiver_reason": ""})
    assert response.status_code == 302
    assert response.headers["Location"] == workspace_path(proposal)
    page = client.get(workspace_path(proposal))
    assert flashes(page) == ["Delegate CN 1 is rapporteur 1 of this proposal."]
    assert section_text(page, "rapporteur-1") == "Rapporteur 1: Delegate CN 1 (delegation of China) Remove"
    assert [row.user_id for row in review_services.assignments_of(proposal)] == [council["CN"].id]
    # A rapporteur already is no longer offered.
    values = [option.attributes["value"] for option in assign_form(page, proposal).find_all("option")]
    assert values == ["", str(council["KZ"].id)]


def test_a_conflicted_member_is_refused_without_a_waiver(app, in_review, secretariat):
    proposal, council = in_review
    client = signed_in(app, secretariat)
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/rapporteurs",
                    {"user_id": str(council["KZ"].id), "waiver_reason": "  "})
    assert response.status_code == 400
    assert field_error(response, "waiver_reason") == CONFLICT_KZ
    # The chosen member stays chosen.
    assert form_values(assign_form(response, proposal))["user_id"] == str(council["KZ"].id)
    assert snapshot(proposal) == before


def test_a_conflicted_member_is_assigned_with_a_waiver_shown_to_the_secretariat_only(app, in_review, secretariat):
    proposal, council = in_review
    client = signed_in(app, secretariat)
    response = post(client, f"/proposals/{proposal.id}/rapporteurs",
                    {"user_id": str(council["KZ"].id), "waiver_reason": "The only water expert on the council."})
    assert response.status_code == 302
    page = client.get(workspace_path(proposal))
    assert flashes(page) == ["Delegate KZ 2 is rapporteur 1 of this proposal."]
    assert section_text(page, "rapporteur-1") == (
        "Rapporteur 1: Delegate KZ 2 (delegation of Kazakhstan) Conflict of interest: sits in the delegation of "
        "Kazakhstan, the member state of an authoring think tank. Waiver: The only water expert on the council. Remove"
    )
    assignment = review_services.assignments_of(proposal)[0]
    assert (assignment.has_conflict, assignment.waiver_reason) == (True, "The only water expert on the council.")
    council_page = signed_in(app, council["CN"]).get(workspace_path(proposal))
    assert section_text(council_page, "rapporteur-1") == "Rapporteur 1: Delegate KZ 2 (delegation of Kazakhstan)"
    assert "The only water expert on the council." not in council_page.get_data(as_text=True)


def test_a_coauthor_and_a_member_of_an_authoring_think_tank_are_conflicted(
        app, states, make_user, make_think_tank, make_proposal, make_council, bring_to, secretariat):
    council = make_council(("CN", "IN"))
    lead = make_user(roles=(Role.EXPERT,), display_name="Lead Author")
    # India's delegate is also an expert of the authoring (Mongolian) think tank.
    tank = make_think_tank(name="Steppe Institute", state="MN", experts=[lead, council["IN"]])
    coauthor = appoint(secretariat, states, make_user(roles=(Role.EXPERT,), display_name="Council Coauthor"), "RU")
    proposal = bring_to(make_proposal(author=lead, coauthors=[coauthor]), ProposalState.IN_REVIEW)
    assert [row.think_tank_id for row in proposal.think_tanks] == [tank.id]
    client = signed_in(app, secretariat)
    options = assign_form(client.get(workspace_path(proposal)), proposal).find_all("option")
    assert [option.text for option in options] == [
        "Choose a council member",
        "Council Coauthor (delegation of Russian Federation): conflict of interest",
        "Delegate CN 1 (delegation of China)",
        "Delegate IN 2 (delegation of India): conflict of interest",
    ]
    response = post(client, f"/proposals/{proposal.id}/rapporteurs", {"user_id": str(coauthor.id)})
    assert field_error(response, "waiver_reason") == (
        "Council Coauthor has a conflict of interest: is an author of the proposal. Record a waiver with a reason "
        "to assign them anyway."
    )
    response = post(client, f"/proposals/{proposal.id}/rapporteurs", {"user_id": str(council["IN"].id)})
    assert field_error(response, "waiver_reason") == (
        "Delegate IN 2 has a conflict of interest: belongs to Steppe Institute, an authoring think tank. Record a "
        "waiver with a reason to assign them anyway."
    )
    assert review_services.assignments_of(proposal) == []


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_choosing_nobody_or_someone_not_offered_is_a_form_error(app, in_review, secretariat, value):
    proposal, _council = in_review
    client = signed_in(app, secretariat)
    response = post(client, f"/proposals/{proposal.id}/rapporteurs", {"user_id": value, "waiver_reason": ""})
    assert response.status_code == 400
    assert field_error(response, "user_id") == "Choose a council member from the list."
    assert form_errors(response) == ["Please correct the fields marked below."]
    assert review_services.assignments_of(proposal) == []


def test_the_secretariat_removes_a_rapporteur(app, in_review, secretariat):
    proposal, council = in_review
    assignment = review_services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])
    client = signed_in(app, secretariat)
    response = post(client, f"/proposals/{proposal.id}/rapporteurs/{assignment.id}/remove")
    assert response.status_code == 302
    page = client.get(workspace_path(proposal))
    assert flashes(page) == ["Delegate CN 1 is no longer a rapporteur of this proposal."]
    assert parse_html(page).find("p", class_="empty-state").text == "No rapporteur yet."
    assert review_services.assignments_of(proposal) == []
    again = post(client, f"/proposals/{proposal.id}/rapporteurs/{assignment.id}/remove")
    assert flashes(client.get(again.headers["Location"])) == ["This rapporteur was removed already."]


def test_an_assignment_of_another_proposal_is_not_found(app, in_review, make_proposal, bring_to, secretariat):
    proposal, council = in_review
    other = bring_to(make_proposal(), ProposalState.IN_REVIEW)
    assignment = review_services.assign_rapporteur(actor=secretariat, proposal=other, user=council["CN"])
    client = signed_in(app, secretariat)
    assert post(client, f"/proposals/{proposal.id}/rapporteurs/{assignment.id}/remove").status_code == 404
    assert post(client, f"/proposals/{proposal.id}/rapporteurs/999999/remove").status_code == 404
    assert [row.id for row in review_services.assignments_of(other)] == [assignment.id]


def test_council_members_neither_assign_nor_remove(app, in_review, secretariat):
    proposal, council = in_review
    assignment = review_services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])
    client = signed_in(app, council["KZ"])
    before = snapshot(proposal)
    assert post(client, f"/proposals/{proposal.id}/rapporteurs", {"user_id": str(council["KZ"].id),
                                                                  "waiver_reason": "Me."}).status_code == 403
    assert post(client, f"/proposals/{proposal.id}/rapporteurs/{assignment.id}/remove").status_code == 403
    assert snapshot(proposal) == before


def test_rapporteurs_are_no_longer_assigned_once_the_round_is_open(app, make_proposal, make_council, bring_to,
                                                                   secretariat):
    council = make_council(("CN",))
    proposal = bring_to(make_proposal(), ProposalState.CONSENSUS)
    client = signed_in(app, secretariat)
    page = client.get(workspace_path(proposal))
    assert parse_html(page).find("form", action=f"/proposals/{proposal.id}/rapporteurs") is None
    before = snapshot(proposal)
    assert post(client, f"/proposals/{proposal.id}/rapporteurs",
                {"user_id": str(council["CN"].id)}).status_code == 403
    assert snapshot(proposal) == before
