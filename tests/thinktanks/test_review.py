"""The secretariat's review of applications: the list, approval, rejection, and the lead rule."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from expert_platform.accounts.models import AnonymousUser, User
from expert_platform.enums import MembershipRole, Participation, Role, ThinkTankStatus
from expert_platform.errors import ValidationFailed
from expert_platform.extensions import db
from expert_platform.thinktanks import services
from expert_platform.thinktanks.models import Invitation, Membership, ThinkTank
from tests.html_tree import parse_html
from tests.thinktanks import steps

LEAD_TAKEN = "Kazakhstan has a lead think tank already ({name}). Approve this one as permanent or temporary."


def pending(states, *, name="Institute for Strategic Studies", state="KZ", participation="permanent"):
    """A pending application, sent through the service as an anonymous visitor would."""
    think_tank = services.apply(
        actor=AnonymousUser(),
        name=name,
        member_state_id=states[state].id,
        website=None,
        description="",
        contact_name="Aida Nurlanova",
        contact_email="aida@iss.example.org",
        participation=participation,
        ends_on=None,
    )
    db.session.commit()
    return think_tank


def rows(response) -> list[list[str]]:
    table = parse_html(response).find("table")
    return [[cell.text for cell in row.find_all("td")] for row in table.find("tbody").find_all("tr")]


def form_error(response) -> str:
    return parse_html(response).find("div", class_="alert-error").text


def field_error(response, field_id: str) -> str:
    return parse_html(response).find("p", id=f"{field_id}-error").text


# --- who may review ----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, states):
    think_tank = pending(states)

    for response in (
        client.get("/secretariat/applications"),
        client.get(f"/secretariat/applications/{think_tank.id}"),
        steps.approve(client, think_tank.id),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    assert steps.think_tank_named(think_tank.name).status == ThinkTankStatus.PENDING


@pytest.mark.parametrize(
    "roles", [(Role.RESEARCHER,), (Role.EXPERT,), (Role.THINKTANK_MANAGER,), (Role.COUNCIL_MEMBER,)]
)
def test_only_the_secretariat_reviews(client_of, make_user, states, roles):
    think_tank = pending(states)
    other = client_of(make_user(roles=roles))

    assert other.get("/secretariat/applications").status_code == 403
    refused = other.get(f"/secretariat/applications/{think_tank.id}")
    assert refused.status_code == 403
    assert "aida@iss.example.org" not in refused.get_data(as_text=True)
    assert steps.approve(other, think_tank.id).status_code == 403
    assert steps.reject(other, think_tank.id, "No.").status_code == 403
    assert steps.think_tank_named(think_tank.name).status == ThinkTankStatus.PENDING


def test_an_unknown_application_is_not_found(client_of, secretariat):
    assert client_of(secretariat).get("/secretariat/applications/999").status_code == 404


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_applications_awaiting_a_decision_first(client_of, secretariat, states):
    office_client = client_of(secretariat)
    first = pending(states, name="First Institute")
    decided = pending(states, name="Decided Institute", state="UZ")
    pending(states, name="Second Institute", state="KG")
    steps.reject(office_client, decided.id, "Not appointed.")
    today = services.today().isoformat()

    listed = rows(office_client.get("/secretariat/applications"))

    assert listed == [
        ["Second Institute", "Kyrgyzstan", "Permanent", "Awaiting decision", today],
        ["First Institute", "Kazakhstan", "Permanent", "Awaiting decision", today],
        ["Decided Institute", "Uzbekistan", "Permanent", "Rejected", today],
    ]
    page = parse_html(office_client.get("/secretariat/applications"))
    assert page.find("a", href=f"/secretariat/applications/{first.id}").text == "First Institute"


@pytest.mark.parametrize(("status", "names"), [
    ("pending", ["Second Institute"]),
    ("rejected", ["Decided Institute"]),
    ("approved", []),
    ("", ["Second Institute", "Decided Institute"]),
    ("nonsense", ["Second Institute", "Decided Institute"]),
])
def test_the_list_filters_by_status(client_of, secretariat, states, status, names):
    office_client = client_of(secretariat)
    decided = pending(states, name="Decided Institute", state="UZ")
    pending(states, name="Second Institute", state="KG")
    steps.reject(office_client, decided.id, "Not appointed.")

    response = office_client.get(f"/secretariat/applications?status={status}")

    assert response.status_code == 200
    if names:
        assert [row[0] for row in rows(response)] == names
    else:
        assert parse_html(response).find("p", class_="empty-state").text == "No application matches this filter."


def test_the_list_is_paginated(client_of, secretariat, states):
    for number in range(51):
        services.apply(actor=AnonymousUser(), name=f"Institute {number:02d}", member_state_id=states["KZ"].id,
                       website=None, description="", contact_name="C", contact_email="c@example.org",
                       participation="permanent", ends_on=None)
    db.session.commit()
    office_client = client_of(secretariat)

    first_page = office_client.get("/secretariat/applications")
    second_page = office_client.get("/secretariat/applications?page=2")

    assert len(rows(first_page)) == 50
    assert [row[0] for row in rows(second_page)] == ["Institute 00"]
    assert parse_html(first_page).find("a", rel="next").attributes["href"] == "/secretariat/applications?page=2&status="


def test_the_review_page_shows_the_application_with_its_contact(client_of, secretariat, make_user, states):
    applicant = make_user(email="aida@iss.example.org", display_name="Aida Nurlanova")
    steps.send_application(client_of(applicant), steps.application(states))
    think_tank = steps.think_tank_named("Institute for Strategic Studies")

    page = parse_html(client_of(secretariat).get(f"/secretariat/applications/{think_tank.id}"))

    details = [cell.text for cell in page.find("dl", class_="details").find_all("dd")]
    assert details[:6] == [
        "Awaiting decision",
        "Kazakhstan",
        "Permanent",
        "https://iss.example.org",
        "Aida Nurlanova <aida@iss.example.org>",
        "Aida Nurlanova <aida@iss.example.org>",
    ]
    assert page.find("select", id="approve-participation").find("option", selected="").text == "Permanent"
    assert [button.text for button in page.find_all("button", name="decision")] == [
        "Approve the application", "Reject the application"
    ]


# --- approval ----------------------------------------------------------------------------------


def test_approval_makes_an_existing_account_the_manager_at_once(client_of, secretariat, make_user, states, outbox):
    contact = make_user(email="aida@iss.example.org", display_name="Aida Nurlanova")
    think_tank = pending(states)

    response = steps.approve(client_of(secretariat), think_tank.id, participation="lead")

    assert response.status_code == 302
    membership = steps.membership(think_tank.id, contact.id)
    assert (membership.role, membership.is_active) == (MembershipRole.MANAGER, True)
    assert db.session.get(User, contact.id).roles == frozenset({Role.RESEARCHER, Role.THINKTANK_MANAGER})
    assert steps.count(Invitation) == 0
    [message] = [m for m in outbox() if m["Subject"] == "Institute for Strategic Studies is approved"]
    assert message["To"] == "aida@iss.example.org"
    assert f"http://platform.test/thinktanks/{think_tank.id}/members" in steps.body(message)
    record = steps.audit_record("thinktank.approved")
    assert (record.actor_id, record.object_id, record.details) == (
        secretariat.id, think_tank.id,
        {"participation": "lead", "ends_on": None, "manager_user_id": contact.id, "invitation_id": None},
    )
    think_tank = steps.think_tank_named(think_tank.name)
    assert (think_tank.decided_by_id, think_tank.decided_at is not None) == (secretariat.id, True)


def test_approval_invites_a_contact_without_an_account_as_manager(client_of, secretariat, states, outbox):
    think_tank = pending(states)

    steps.approve(client_of(secretariat), think_tank.id)

    invitation = steps.invitation_to("aida@iss.example.org")
    assert (invitation.role, invitation.think_tank_id, invitation.invited_by_id) == (
        MembershipRole.MANAGER, think_tank.id, secretariat.id
    )
    assert invitation.expires_at - invitation.sent_at == timedelta(days=7)
    assert steps.count(Membership) == 0
    link = steps.invitation_link(outbox, "aida@iss.example.org")
    assert link.startswith("/invitations/")
    assert invitation.token_digest not in link
    assert steps.audit_record("thinktank.approved").details["invitation_id"] == invitation.id


def test_the_secretariat_sets_a_temporary_participation_with_its_end_date(client_of, secretariat, states):
    think_tank = pending(states)
    ends = (services.today() + timedelta(days=60)).isoformat()

    steps.approve(client_of(secretariat), think_tank.id, participation="temporary", ends_on=ends)

    think_tank = steps.think_tank_named(think_tank.name)
    assert (think_tank.participation, think_tank.participation_ends_on.isoformat()) == (Participation.TEMPORARY, ends)


@pytest.mark.parametrize(("ends_on", "message"), [
    ("", "A temporary participation needs an end date."),
    (services.today().isoformat(), "The end date must be in the future."),
])
def test_a_temporary_approval_without_a_future_end_date_is_refused(client_of, secretariat, states, ends_on, message):
    think_tank = pending(states)

    response = steps.approve(client_of(secretariat), think_tank.id, participation="temporary", ends_on=ends_on)

    assert response.status_code == 200
    assert field_error(response, "approve-ends_on") == message
    page = parse_html(response)
    assert page.find("select", id="approve-participation").find("option", selected="").text == "Temporary"
    assert steps.think_tank_named(think_tank.name).status == ThinkTankStatus.PENDING


def test_a_decided_application_cannot_be_decided_again(client_of, secretariat, states, outbox):
    think_tank = pending(states)
    office_client = client_of(secretariat)
    steps.reject(office_client, think_tank.id, "Not appointed.")

    again = steps.approve(office_client, think_tank.id)

    assert again.status_code == 200
    assert form_error(again) == "This application was decided already: it is rejected."
    assert steps.think_tank_named(think_tank.name).status == ThinkTankStatus.REJECTED
    assert parse_html(again).find("button", name="decision") is None


def test_a_review_post_without_a_decision_is_a_bad_request(client_of, secretariat, states):
    think_tank = pending(states)

    response = steps.decide(client_of(secretariat), think_tank.id, "maybe")

    assert response.status_code == 400


# --- rejection ---------------------------------------------------------------------------------


def test_a_rejection_emails_its_reason(client_of, secretariat, states, outbox):
    think_tank = pending(states)

    response = steps.reject(client_of(secretariat), think_tank.id, "  The member state has not appointed you.  ")

    assert response.status_code == 302
    think_tank = steps.think_tank_named(think_tank.name)
    assert (think_tank.status, think_tank.rejection_reason) == (
        ThinkTankStatus.REJECTED, "The member state has not appointed you."
    )
    [message] = [m for m in outbox() if m["Subject"] == "The application of Institute for Strategic Studies"]
    assert message["To"] == "aida@iss.example.org"
    assert "The reason given:\nThe member state has not appointed you." in steps.body(message)
    record = steps.audit_record("thinktank.rejected")
    assert (record.actor_id, record.details) == (secretariat.id, {"reason": "The member state has not appointed you."})


@pytest.mark.parametrize(("reason", "message"), [
    ("", "Give the reason for the rejection: the applicant receives it."),
    ("   ", "Give the reason for the rejection: the applicant receives it."),
    ("x" * 2001, "Use at most 2000 characters."),
])
def test_a_rejection_needs_a_reason_of_at_most_2000_characters(client_of, secretariat, states, outbox, reason, message):
    think_tank = pending(states)

    response = steps.reject(client_of(secretariat), think_tank.id, reason)

    assert response.status_code == 200
    assert field_error(response, "reject-reason") == message
    assert parse_html(response).find("textarea", id="reject-reason").text == reason.strip()
    assert steps.think_tank_named(think_tank.name).status == ThinkTankStatus.PENDING
    assert [m["Subject"] for m in outbox()] == ["We received the application of Institute for Strategic Studies"]


# --- one lead per member state -----------------------------------------------------------------


def test_a_member_state_has_at_most_one_approved_lead(client_of, secretariat, states):
    office_client = client_of(secretariat)
    first = pending(states, name="First Institute", participation="lead")
    second = pending(states, name="Second Institute", participation="lead")
    elsewhere = pending(states, name="Tashkent Forum", state="UZ", participation="lead")
    steps.approve(office_client, first.id, participation="lead")

    refused = steps.approve(office_client, second.id, participation="lead")
    as_permanent = steps.approve(office_client, second.id, participation="permanent")
    other_state = steps.approve(office_client, elsewhere.id, participation="lead")

    assert refused.status_code == 200
    assert field_error(refused, "approve-participation") == LEAD_TAKEN.format(name="First Institute")
    assert (as_permanent.status_code, other_state.status_code) == (302, 302)
    assert [(tank.name, tank.participation) for tank in db.session.scalars(
        select(ThinkTank).where(ThinkTank.status == ThinkTankStatus.APPROVED).order_by(ThinkTank.name)
    )] == [
        ("First Institute", Participation.LEAD),
        ("Second Institute", Participation.PERMANENT),
        ("Tashkent Forum", Participation.LEAD),
    ]


def test_the_unique_index_refusal_becomes_the_same_message(app, secretariat, states, monkeypatch):
    first = pending(states, name="First Institute", participation="lead")
    second = pending(states, name="Second Institute", participation="lead")
    services.approve(actor=secretariat, think_tank=first, participation="lead", ends_on=None)
    db.session.commit()
    # As if the other approval committed between the check and the flush: the check sees nothing.
    monkeypatch.setattr(services, "approved_lead_of", lambda state, besides=None: None)

    with pytest.raises(ValidationFailed) as refused:
        services.approve(actor=secretariat, think_tank=second, participation="lead", ends_on=None)

    assert (refused.value.field, refused.value.message) == (
        "participation", "Kazakhstan has a lead think tank already. Approve this one as permanent or temporary."
    )
    db.session.rollback()
    assert steps.think_tank_named("Second Institute").status == ThinkTankStatus.PENDING


def test_two_lead_approvals_at_the_same_moment_approve_exactly_one(app, secretariat, states):
    first = pending(states, name="First Institute", participation="lead")
    second = pending(states, name="Second Institute", participation="lead")
    secretariat_id, think_tank_ids = secretariat.id, [first.id, second.id]
    db.session.remove()
    start_together = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def approve_in_own_context(think_tank_id: int) -> None:
        with app.app_context():
            try:
                start_together.wait(timeout=10)
                services.approve(
                    actor=db.session.get(User, secretariat_id),
                    think_tank=db.session.get(ThinkTank, think_tank_id),
                    participation="lead",
                    ends_on=None,
                )
                db.session.commit()
                outcomes[think_tank_id] = "approved"
            except ValidationFailed as error:
                db.session.rollback()
                outcomes[think_tank_id] = error.message
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                db.session.rollback()
                outcomes[think_tank_id] = repr(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve_in_own_context, args=(tank_id,)) for tank_id in think_tank_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [thread.is_alive() for thread in threads] == [False, False]
    winner = next(tank_id for tank_id, outcome in outcomes.items() if outcome == "approved")
    loser = next(tank_id for tank_id in think_tank_ids if tank_id != winner)
    winner_name = db.session.get(ThinkTank, winner).name
    assert outcomes == {winner: "approved", loser: LEAD_TAKEN.format(name=winner_name)}
    assert db.session.get(ThinkTank, winner).status == ThinkTankStatus.APPROVED
    assert db.session.get(ThinkTank, loser).status == ThinkTankStatus.PENDING
    assert steps.audit_actions().count("thinktank.approved") == 1
