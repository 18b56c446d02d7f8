"""Accepting an invitation: once, within 7 days, by the invited address only."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from expert_platform.accounts.models import User
from expert_platform.enums import MembershipRole, Participation, Role
from expert_platform.errors import ValidationFailed
from expert_platform.experts.models import ExpertProfile
from expert_platform.extensions import db
from expert_platform.thinktanks import services
from expert_platform.thinktanks.models import Invitation, Membership
from tests.conftest import sign_in
from tests.html_tree import parse_html
from tests.thinktanks import steps

CANNOT_BE_USED = "This invitation cannot be used"


@pytest.fixture
def manager(make_user):
    return make_user(email="aida@example.org", display_name="Aida Manager")


@pytest.fixture
def think_tank(make_think_tank, manager):
    return make_think_tank(name="Our Institute", managers=[manager])


@pytest.fixture
def invited(client_of, think_tank, manager, outbox):
    """Invite an address (as expert unless told) through the members page; returns the emailed link."""

    def send(email: str, role: str = "expert", by=None, into=None) -> str:
        target = into or think_tank
        response = steps.invite(client_of(by or manager), target.id, email, role=role)
        assert response.status_code == 302, response.get_data(as_text=True)
        return steps.invitation_link(outbox, email)

    return send


def user_with(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def is_invalid_page(response) -> bool:
    return response.status_code == 400 and parse_html(response).find("h1").text == CANNOT_BE_USED


# --- a new account -----------------------------------------------------------------------------


def test_the_link_leaves_the_address_bar_and_offers_an_account(client, invited):
    link = invited("bolat@example.org")

    page = steps.open_invitation(client, link)

    assert page.status_code == 200
    tree = parse_html(page)
    assert tree.find("h1").text == "Join Our Institute"
    assert tree.find("p", class_="lead").text == "You are invited to join Our Institute (Kazakhstan) as expert."
    assert [element.attributes["name"] for element in tree.find("main").find_all("input")] == [
        "csrf_token", "display_name", "new_password", "confirm_password"
    ]


def test_a_new_account_is_confirmed_signed_in_and_a_member(client, invited, think_tank):
    steps.open_invitation(client, invited("bolat@example.org"))

    response = steps.create_account(client, display_name="  Bolat   Serikov ")

    assert (response.status_code, response.headers["Location"]) == (302, f"/thinktanks/{think_tank.id}")
    user = user_with("bolat@example.org")
    assert (user.display_name, user.is_email_confirmed, user.roles) == (
        "Bolat Serikov", True, frozenset({Role.EXPERT})
    )
    assert steps.membership(think_tank.id, user.id).role == MembershipRole.EXPERT
    assert db.session.scalar(select(ExpertProfile).where(ExpertProfile.user_id == user.id)) is not None
    assert client.get("/account").status_code == 200
    invitation = steps.invitation_to("bolat@example.org")
    assert (invitation.accepted_by_id, invitation.accepted_at is not None) == (user.id, True)
    record = steps.audit_record("invitation.accepted")
    assert (record.actor_id, record.object_id, record.details) == (
        user.id, invitation.id,
        {"think_tank_id": think_tank.id, "user_id": user.id, "role": "expert", "new_account": True,
         "membership_id": steps.membership(think_tank.id, user.id).id},
    )


@pytest.mark.parametrize(("name", "password", "confirm", "field", "message"), [
    ("Bolat", "short", "short", "new_password", "Use at least 12 characters."),
    ("Bolat", steps.DEFAULT_PASSWORD, "something else entirely", "confirm_password",
     "The two passwords are not the same."),
    ("", steps.DEFAULT_PASSWORD, steps.DEFAULT_PASSWORD, "display_name", "This field is required."),
])
def test_a_refused_account_keeps_the_invitation_usable(client, invited, think_tank, name, password, confirm, field,
                                                       message):
    steps.open_invitation(client, invited("bolat@example.org"))

    refused = steps.create_account(client, display_name=name, password=password, confirm=confirm)

    assert refused.status_code == 200
    assert parse_html(refused).find("p", id=f"{field}-error").text == message
    assert parse_html(refused).find("input", id="display_name").attributes["value"] == name
    assert user_with("bolat@example.org") is None
    assert steps.create_account(client, display_name="Bolat").status_code == 302


# --- an existing account -----------------------------------------------------------------------


def test_a_signed_in_invitee_accepts_with_a_button(client_of, invited, make_user, think_tank):
    dana = make_user(email="dana@example.org", display_name="Dana")
    link = invited("dana@example.org", role="manager")
    dana_client = client_of(dana)

    page = steps.open_invitation(dana_client, link)
    assert parse_html(page).find("main").find("button").text == "Accept the invitation"
    response = steps.accept(dana_client)

    assert (response.status_code, response.headers["Location"]) == (302, f"/thinktanks/{think_tank.id}")
    assert steps.membership(think_tank.id, dana.id).role == MembershipRole.MANAGER
    assert user_with("dana@example.org").roles == frozenset({Role.RESEARCHER, Role.THINKTANK_MANAGER})
    assert steps.audit_record("invitation.accepted").details["new_account"] is False
    assert dana_client.get(f"/thinktanks/{think_tank.id}/members").status_code == 200


def test_an_invitee_with_an_account_is_asked_to_sign_in_and_comes_back(client, invited, make_user, think_tank):
    dana = make_user(email="dana@example.org")
    steps.open_invitation(client, invited("dana@example.org"))

    page = client.get("/invitations/accept")
    tried = steps.create_account(client, display_name="Someone Else")

    assert parse_html(page).find("main").find("a", class_="button-primary").attributes["href"] == (
        "/login?next=/invitations/accept"
    )
    assert parse_html(page).find("main").find("form") is None
    assert tried.status_code == 200
    assert steps.invitation_to("dana@example.org").accepted_at is None
    assert sign_in(client, dana.email, next_url="/invitations/accept").headers["Location"] == "/invitations/accept"
    assert steps.accept(client).status_code == 302
    assert steps.membership(think_tank.id, dana.id).is_active is True


def test_someone_signed_in_with_another_account_is_asked_to_sign_out_first(client_of, invited, make_user, think_tank):
    somebody = client_of(make_user(email="somebody@example.org"))
    steps.open_invitation(somebody, invited("bolat@example.org"))

    page = somebody.get("/invitations/accept")
    pressed = steps.accept(somebody)

    assert parse_html(page).find("main").find("div", class_="alert-info").text == (
        "This invitation was sent to bolat@example.org, but you are signed in with another account. "
        "Sign out first, then open the link again and sign in with bolat@example.org."
    )
    assert parse_html(page).find("main").find("form") is None
    assert pressed.status_code == 200
    assert steps.invitation_to("bolat@example.org").accepted_at is None
    assert db.session.scalar(select(Membership).where(Membership.think_tank_id == think_tank.id,
                                                      Membership.role == MembershipRole.EXPERT)) is None


def test_an_expert_may_belong_to_several_think_tanks(client_of, invited, make_user, make_think_tank, think_tank):
    oleg = make_user(email="oleg@example.org")
    other = make_think_tank(name="Other Institute", state="UZ", managers=[oleg])
    dana = make_user(email="dana@example.org")
    dana_client = client_of(dana)

    for link in (invited("dana@example.org"), invited("dana@example.org", by=oleg, into=other)):
        steps.open_invitation(dana_client, link)
        assert steps.accept(dana_client).status_code == 302

    memberships = db.session.scalars(select(Membership).where(Membership.user_id == dana.id)).all()
    assert sorted((m.think_tank.name, m.role, m.is_active) for m in memberships) == [
        ("Other Institute", MembershipRole.EXPERT, True),
        ("Our Institute", MembershipRole.EXPERT, True),
    ]


def test_a_deactivated_member_comes_back_through_a_new_invitation(client_of, invited, make_user, manager,
                                                                 think_tank):
    dana = make_user(email="dana@example.org")
    dana_client = client_of(dana)
    steps.open_invitation(dana_client, invited("dana@example.org"))
    steps.accept(dana_client)
    first = steps.membership(think_tank.id, dana.id)
    services.deactivate_membership(actor=manager, membership=first)
    db.session.commit()

    steps.open_invitation(dana_client, invited("dana@example.org", role="manager"))
    assert steps.accept(dana_client).status_code == 302

    again = steps.membership(think_tank.id, dana.id)
    assert (again.id, again.is_active, again.role, again.deactivated_at) == (
        first.id, True, MembershipRole.MANAGER, None
    )


# --- links that cannot be used -----------------------------------------------------------------


@pytest.mark.parametrize(("later", "usable"), [
    (timedelta(days=7) - timedelta(minutes=1), True),
    (timedelta(days=7) + timedelta(minutes=1), False),
])
def test_an_invitation_expires_after_seven_days(client, invited, monkeypatch, later, usable):
    link = invited("bolat@example.org")
    moment = services.utcnow() + later
    monkeypatch.setattr(services, "utcnow", lambda: moment)

    page = steps.open_invitation(client, link)

    assert page.status_code == (200 if usable else 400)
    assert is_invalid_page(page) is not usable
    assert (steps.create_account(client).status_code == 302) is usable
    assert (user_with("bolat@example.org") is not None) is usable


def test_an_invitation_works_once(app, client, invited):
    link = invited("bolat@example.org")
    steps.open_invitation(client, link)
    steps.create_account(client)

    again = steps.open_invitation(app.test_client(), link)

    assert is_invalid_page(again)
    assert "Ask the manager of the think tank to send you a new invitation." in again.get_data(as_text=True)


def test_a_withdrawn_invitation_cannot_be_used(client, invited, manager):
    link = invited("bolat@example.org")
    steps.open_invitation(client, link)
    services.revoke_invitation(actor=manager, invitation=steps.invitation_to("bolat@example.org"))
    db.session.commit()

    assert is_invalid_page(client.get("/invitations/accept"))
    assert is_invalid_page(steps.create_account(client))
    assert user_with("bolat@example.org") is None


@pytest.mark.parametrize("token", ["not-a-token", "x" * 300])
def test_an_unknown_token_cannot_be_used(client, token):
    assert is_invalid_page(steps.open_invitation(client, f"/invitations/{token}"))


def test_the_accept_page_without_a_link_cannot_be_used(client):
    assert is_invalid_page(client.get("/invitations/accept"))


def test_an_invitation_to_a_think_tank_whose_participation_ended_cannot_be_used(
    client, make_user, make_think_tank, monkeypatch, outbox
):
    aida = make_user()
    think_tank = make_think_tank(managers=[aida], participation=Participation.TEMPORARY,
                                 ends_on=services.today() + timedelta(days=2))
    services.invite(actor=aida, think_tank=think_tank, email="bolat@example.org", role="expert")
    db.session.commit()
    moment = services.utcnow() + timedelta(days=3)
    monkeypatch.setattr(services, "utcnow", lambda: moment)
    invitation = steps.invitation_to("bolat@example.org")

    assert invitation.is_open_at(moment) is True
    assert is_invalid_page(steps.open_invitation(client, steps.invitation_link(outbox, "bolat@example.org")))


def test_two_acceptances_at_the_same_moment_use_the_invitation_once(app, make_user, manager, think_tank):
    dana = make_user(email="dana@example.org")
    services.invite(actor=manager, think_tank=think_tank, email="dana@example.org", role="expert")
    invitation = steps.invitation_to("dana@example.org")
    raw_token = "racing-token"
    invitation.token_digest = services.digest(raw_token)
    db.session.commit()
    dana_id = dana.id
    db.session.remove()
    start_together = threading.Barrier(2)
    outcomes: list[str] = []

    def accept_in_own_context() -> None:
        with app.app_context():
            try:
                start_together.wait(timeout=10)
                services.accept_invitation(actor=db.session.get(User, dana_id), token=raw_token)
                db.session.commit()
                outcomes.append("accepted")
            except ValidationFailed as error:
                db.session.rollback()
                outcomes.append(error.message)
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                db.session.rollback()
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept_in_own_context) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["This invitation cannot be used: it was used, withdrawn or has expired.", "accepted"]
    assert steps.audit_actions().count("invitation.accepted") == 1
    assert steps.count(Membership) == 2
    assert db.session.scalar(select(Invitation.accepted_by_id).where(Invitation.email == "dana@example.org")) == dana_id
