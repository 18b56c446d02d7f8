"""Consensus rounds on the workspace: opening one, recording positions, endorsement by the last position
or by a page view after the deadline, and closing without consensus once the deadline has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from expert_platform.database import utcnow
from expert_platform.enums import Position, ProposalState, RoundKind, RoundResult
from expert_platform.extensions import db
from expert_platform.review import rounds
from tests.html_tree import form_values, parse_html
from tests.proposals.page_steps import field_error, flashes, form_errors, signed_in
from tests.review.test_workspace import deadline_text, post, section_text, snapshot, workspace_path

MARKER = "Objection of India RX-2290"


@pytest.fixture
def in_review(app, make_proposal, make_council, bring_to):
    council = make_council(("CN", "IN"))
    return bring_to(make_proposal(title="Shared rivers"), ProposalState.IN_REVIEW), council


@pytest.fixture
def in_round(app, make_proposal, make_council, bring_to):
    council = make_council(("CN", "IN"))
    return bring_to(make_proposal(title="Shared rivers"), ProposalState.CONSENSUS), council


def round_in_the_past(proposal, secretariat, kind=RoundKind.STANDARD):
    """A round opened five hours ago whose deadline passed two hours ago."""
    return rounds.open_round(actor=secretariat, proposal=proposal, kind=kind, now=utcnow() - timedelta(hours=5),
                             deadline_at=utcnow() - timedelta(hours=2))


def open_round_form(response, proposal):
    return parse_html(response).find("form", action=f"/proposals/{proposal.id}/rounds")


def position_form(response, proposal):
    return parse_html(response).find("form", action=f"/proposals/{proposal.id}/position")


def tally(response, element_id: str = "open-tally") -> dict[str, str]:
    listing = parse_html(response).find("dl", id=element_id)
    return {term.text: value.text for term, value in zip(listing.find_all("dt"), listing.find_all("dd"), strict=True)}


# --- Opening a round -----------------------------------------------------------------------------


def test_the_round_form_offers_both_kinds_with_their_descriptions(app, in_review, secretariat):
    proposal, _council = in_review
    form = open_round_form(signed_in(app, secretariat).get(workspace_path(proposal)), proposal)
    assert [label.text for label in form.find_all("label")] == ["Standard round", "Silence procedure", "Deadline (UTC)"]
    assert [hint.text for hint in form.find_all("span", class_="hint")] == [
        "Endorsed when every delegation has answered without objection, or at the deadline when the delegations "
        "that answered reach the quorum and none objects.",
        "Endorsed at the deadline unless a delegation objects: silence is consent.",
    ]
    assert form.find("input", name="deadline").attributes["type"] == "datetime-local"
    assert form_values(form) == {"kind": ["standard"], "deadline": ""}


def test_the_secretariat_opens_a_silence_procedure(app, in_review, secretariat):
    proposal, _council = in_review
    client = signed_in(app, secretariat)
    deadline = deadline_text(timedelta(days=3))
    response = post(client, f"/proposals/{proposal.id}/rounds", {"kind": "silence", "deadline": deadline})
    assert response.status_code == 302
    assert response.headers["Location"] == workspace_path(proposal)
    assert snapshot(proposal)["state"] == ProposalState.CONSENSUS
    round_ = rounds.open_round_of(proposal)
    assert (round_.kind, round_.deadline_at.strftime("%Y-%m-%dT%H:%M")) == (RoundKind.SILENCE, deadline)
    page = client.get(workspace_path(proposal))
    assert flashes(page) == [
        f"The silence procedure is open until {deadline.replace('T', ' ')} UTC. Every delegation is asked for its "
        "position."
    ]
    details = parse_html(page).find(id="open-round-details").find("dl")
    assert [value.text for value in details.find_all("dd")] == [
        "Silence procedure: Endorsed at the deadline unless a delegation objects: silence is consent.",
        round_.opened_at.strftime("%Y-%m-%d %H:%M UTC"),
        f"{deadline.replace('T', ' ')} UTC",
        "2/3",
        "China, India",
    ]
    assert open_round_form(page, proposal) is None


@pytest.mark.parametrize("deadline, message", [
    ("", "Enter the deadline: a date and a time."),
    ("next friday", "Enter the deadline as a date and a time, for example 2026-06-30 17:00."),
    ("2026-02-30T10:00", "Enter the deadline as a date and a time, for example 2026-06-30 17:00."),
    ("past", "Set the deadline at least one hour from now."),
    ("soon", "Set the deadline at least one hour from now."),
    ("far", "Set the deadline within a year."),
])
def test_a_wrong_deadline_is_a_form_error_that_keeps_what_was_typed(app, in_review, secretariat, deadline, message):
    proposal, _council = in_review
    typed = {"past": deadline_text(-timedelta(days=1)), "soon": deadline_text(timedelta(minutes=30)),
             "far": deadline_text(timedelta(days=400))}.get(deadline, deadline)
    client = signed_in(app, secretariat)
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/rounds", {"kind": "silence", "deadline": typed})
    assert response.status_code == 400
    assert field_error(response, "deadline") == message
    assert form_values(open_round_form(response, proposal)) == {"kind": ["silence"], "deadline": typed}
    assert snapshot(proposal) == before


def test_a_round_needs_its_kind(app, in_review, secretariat):
    proposal, _council = in_review
    response = post(signed_in(app, secretariat), f"/proposals/{proposal.id}/rounds",
                    {"kind": "majority", "deadline": deadline_text(timedelta(days=2))})
    assert response.status_code == 400
    assert field_error(response, "kind") == "Choose the kind of round."
    assert rounds.open_round_of(proposal) is None


def test_a_round_cannot_open_twice(app, in_round, secretariat):
    proposal, _council = in_round
    client = signed_in(app, secretariat)
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/rounds",
                    {"kind": "standard", "deadline": deadline_text(timedelta(days=2))})
    assert response.status_code == 302
    assert flashes(client.get(response.headers["Location"])) == [
        "A consensus round opens only on a proposal in review."
    ]
    assert snapshot(proposal) == before


# --- Recording positions -------------------------------------------------------------------------


@pytest.mark.parametrize("position, reason", [
    (Position.ENDORSE, ""),
    (Position.ENDORSE_WITH_RESERVATION, "Funding to be agreed."),
    (Position.STAND_ASIDE, ""),
    (Position.OBJECT, "Not before the summit."),
])
def test_a_delegate_records_each_kind_of_position(app, make_proposal, make_council, bring_to, position, reason):
    council = make_council(("CN", "IN", "RU"))
    proposal = bring_to(make_proposal(), ProposalState.CONSENSUS)
    client = signed_in(app, council["CN"])
    page = client.get(workspace_path(proposal))
    assert parse_html(page).find(id="current-position").text == "Your delegation has not answered yet."
    response = post(client, f"/proposals/{proposal.id}/position", {"position": position.value, "reason": reason})
    assert response.status_code == 302
    page = client.get(workspace_path(proposal))
    assert flashes(page) == [f"Your delegation's position is recorded: {position.label}."]
    shown = f"Recorded now: {position.label}" + (f" ({reason})" if reason else "")
    assert parse_html(page).find(id="current-position").text == shown
    assert form_values(position_form(page, proposal)) == {"position": [position.value], "reason": reason}
    history = parse_html(page).find("table", id="position-history").find("tbody").find_all("tr")
    assert [[cell.text for cell in row.find_all("td")][1:] for row in history] == [
        ["China", position.label, reason, "Delegate CN 1"]
    ]
    assert snapshot(proposal)["state"] == ProposalState.CONSENSUS


@pytest.mark.parametrize("position", ["endorse_with_reservation", "object"])
def test_a_reservation_or_an_objection_needs_its_reason(app, in_round, position):
    proposal, council = in_round
    client = signed_in(app, council["CN"])
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/position", {"position": position, "reason": " "})
    assert response.status_code == 400
    assert field_error(response, "reason") == "Give the reason for the reservation or the objection."
    assert form_values(position_form(response, proposal))["position"] == [position]
    assert snapshot(proposal) == before


def test_a_position_must_be_chosen(app, in_round):
    proposal, council = in_round
    response = post(signed_in(app, council["CN"]), f"/proposals/{proposal.id}/position", {"reason": "Why not."})
    assert response.status_code == 400
    assert field_error(response, "position") == "Choose a position."
    assert form_values(position_form(response, proposal))["reason"] == "Why not."


def test_a_changed_position_is_kept_in_the_history(app, in_round):
    proposal, council = in_round
    client = signed_in(app, council["CN"])
    post(client, f"/proposals/{proposal.id}/position", {"position": "object", "reason": "Too vague."})
    post(client, f"/proposals/{proposal.id}/position", {"position": "stand_aside"})
    page = client.get(workspace_path(proposal))
    rows = parse_html(page).find("table", id="position-history").find("tbody").find_all("tr")
    assert [[cell.text for cell in row.find_all("td")][1:4] for row in rows] == [
        ["China", "Stand aside", ""],
        ["China", "Object", "Too vague."],
    ]
    assert tally(page) == {"Endorsed": "None", "Endorsed with a reservation": "None", "Stood aside": "China",
                           "Objected": "None", "Not answered": "India"}


def test_the_last_needed_position_endorses_and_the_flash_says_so(app, in_round):
    proposal, council = in_round
    post(signed_in(app, council["CN"]), f"/proposals/{proposal.id}/position",
         {"position": "endorse_with_reservation", "reason": "Funding to be agreed."})
    client = signed_in(app, council["IN"])
    response = post(client, f"/proposals/{proposal.id}/position", {"position": "endorse"})
    assert response.status_code == 302
    assert snapshot(proposal)["state"] == ProposalState.ENDORSED
    page = client.get(response.headers["Location"])
    assert flashes(page) == [
        "Your delegation's position is recorded: Endorse. With it the consensus rule is met: the proposal is endorsed."
    ]
    assert parse_html(page).find("p", class_="proposal-state").find("span").text == "Endorsed"
    assert parse_html(page).find(id="round-1-heading").text == "Round 1: Endorsed"
    assert tally(page, "tally-round-1") == {
        "Endorsed": "India", "Endorsed with a reservation": "China : Funding to be agreed.", "Stood aside": "None",
        "Objected": "None", "Not answered": "None",
    }
    assert position_form(page, proposal) is None


def test_other_delegations_positions_stay_within_the_council(app, in_round):
    proposal, council = in_round
    post(signed_in(app, council["IN"]), f"/proposals/{proposal.id}/position", {"position": "object", "reason": MARKER})
    lead = next(row.user for row in proposal.coauthors if row.is_lead)
    response = signed_in(app, lead).get(workspace_path(proposal))
    assert response.status_code == 403
    assert MARKER not in response.get_data(as_text=True)
    page = signed_in(app, council["CN"]).get(workspace_path(proposal))
    assert tally(page)["Objected"] == f"India : {MARKER}"


def test_the_secretariat_and_unasked_members_get_no_position_form(app, in_round, states, make_user, secretariat):
    proposal, _council = in_round
    from tests.review.test_workspace import appoint

    late = appoint(secretariat, states, make_user(display_name="Late Delegate"), "RU")
    page = signed_in(app, secretariat).get(workspace_path(proposal))
    assert position_form(page, proposal) is None
    client = signed_in(app, late)
    assert position_form(client.get(workspace_path(proposal)), proposal) is None
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/position", {"position": "endorse"})
    assert response.status_code == 400
    assert form_errors(response) == ["Your delegation is not asked in this round."]
    assert post(signed_in(app, secretariat), f"/proposals/{proposal.id}/position",
                {"position": "endorse"}).status_code == 403
    assert snapshot(proposal) == before


# --- Deadlines: closing without consensus, and settling on a page view ---------------------------


def test_closing_is_refused_before_the_deadline_and_its_button_is_absent(app, in_round, secretariat):
    proposal, council = in_round
    post(signed_in(app, council["IN"]), f"/proposals/{proposal.id}/position", {"position": "object", "reason": "No."})
    client = signed_in(app, secretariat)
    assert section_text(client.get(workspace_path(proposal)), "close-round") is None
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/rounds/close", {"note": "Too early."})
    assert response.status_code == 302
    assert flashes(client.get(response.headers["Location"])) == [
        "The round can be closed without consensus only once its deadline has passed."
    ]
    assert snapshot(proposal) == before


def test_the_secretariat_closes_without_consensus_after_the_deadline(app, in_review, secretariat):
    proposal, council = in_review
    round_in_the_past(proposal, secretariat)
    rounds.record_position(actor=council["IN"], proposal=proposal, position=Position.OBJECT, reason="No.",
                           now=utcnow() - timedelta(hours=3))
    db.session.commit()
    client = signed_in(app, secretariat)
    page = client.get(workspace_path(proposal))
    assert snapshot(proposal)["state"] == ProposalState.CONSENSUS  # an objection stands: nothing to settle
    assert parse_html(page).find(id="close-round") is not None
    assert post(signed_in(app, council["CN"]), f"/proposals/{proposal.id}/rounds/close").status_code == 403

    response = post(client, f"/proposals/{proposal.id}/rounds/close", {"note": "India objects."})
    assert response.status_code == 302
    assert snapshot(proposal)["state"] == ProposalState.NOT_ENDORSED
    assert rounds.latest_round_of(proposal).result == RoundResult.NOT_ENDORSED
    page = client.get(response.headers["Location"])
    assert flashes(page) == ["The round is closed without consensus: the proposal is not endorsed."]
    assert parse_html(page).find(id="round-1-heading").text == "Round 1: Not endorsed"
    assert tally(page, "tally-round-1")["Objected"] == "India : No."
    assert parse_html(page).find(id="close-round") is None


def test_a_standard_round_without_quorum_at_the_deadline_can_be_closed(app, in_review, secretariat):
    proposal, _council = in_review
    round_in_the_past(proposal, secretariat)
    db.session.commit()
    page = signed_in(app, secretariat).get(workspace_path(proposal))
    assert snapshot(proposal)["state"] == ProposalState.CONSENSUS
    assert parse_html(page).find(id="close-round") is not None


def test_viewing_the_page_after_a_silent_deadline_endorses_the_proposal(app, in_review, secretariat):
    proposal, council = in_review
    round_in_the_past(proposal, secretariat, kind=RoundKind.SILENCE)
    db.session.commit()
    page = signed_in(app, council["CN"]).get(workspace_path(proposal))
    assert page.status_code == 200
    assert snapshot(proposal)["state"] == ProposalState.ENDORSED
    assert parse_html(page).find("p", class_="proposal-state").find("span").text == "Endorsed"
    assert parse_html(page).find(id="round-1-heading").text == "Round 1: Endorsed"
    assert tally(page, "tally-round-1")["Not answered"] == "China, India"


def test_a_position_after_the_deadline_is_refused(app, in_review, secretariat):
    proposal, council = in_review
    round_in_the_past(proposal, secretariat)
    db.session.commit()
    client = signed_in(app, council["CN"])
    before = snapshot(proposal)
    response = post(client, f"/proposals/{proposal.id}/position", {"position": "endorse"})
    assert response.status_code == 302
    assert flashes(client.get(response.headers["Location"])) == [
        "The round's deadline has passed: positions can no longer be recorded."
    ]
    assert snapshot(proposal) == before
