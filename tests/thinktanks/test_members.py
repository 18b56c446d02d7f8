"""Managers manage their think tank's members and invitations; nobody else touches them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from expert_platform.accounts.tokens import digest
from expert_platform.audit.models import AuditRecord
from expert_platform.enums import MembershipRole, Participation, Role
from expert_platform.extensions import db
from expert_platform.thinktanks import services
from expert_platform.thinktanks.models import Invitation
from tests.html_tree import parse_html
from tests.thinktanks import steps

LAST_MANAGER = "A think tank needs at least one active manager. Make someone else a manager first."


@pytest.fixture
def team(make_user, make_think_tank):
    """Two think tanks, each with a manager, an expert and an invitation waiting for an answer."""
    aida = make_user(email="aida@example.org", display_name="Aida Manager")
    bolat = make_user(email="bolat@example.org", display_name="Bolat Expert")
    oleg = make_user(email="oleg@example.org", display_name="Oleg Othermanager")
    petr = make_user(email="petr@example.org", display_name="Petr Otherexpert")
    ours = make_think_tank(name="Our Institute", managers=[aida], experts=[bolat])
    theirs = make_think_tank(name="Their Institute", state="UZ", managers=[oleg], experts=[petr])
    services.invite(actor=aida, think_tank=ours, email="waiting@example.org", role="expert")
    services.invite(actor=oleg, think_tank=theirs, email="secret-invitee@example.org", role="manager")
    db.session.commit()
    return {
        "aida": aida, "bolat": bolat, "oleg": oleg, "petr": petr, "ours": ours, "theirs": theirs,
        "our_invitation": steps.invitation_to("waiting@example.org"),
        "their_invitation": steps.invitation_to("secret-invitee@example.org"),
        "bolat_membership": steps.membership(ours.id, bolat.id),
        "petr_membership": steps.membership(theirs.id, petr.id),
        "aida_membership": steps.membership(ours.id, aida.id),
    }


def post_paths(think_tank_id: int, invitation_id: int, membership_id: int) -> list[str]:
    base = f"/thinktanks/{think_tank_id}"
    return [
        f"{base}/invitations",
        f"{base}/invitations/{invitation_id}/resend",
        f"{base}/invitations/{invitation_id}/revoke",
        f"{base}/members/{membership_id}/deactivate",
        f"{base}/members/{membership_id}/reactivate",
        f"{base}/members/{membership_id}/role",
    ]


POST_DATA = {"email": "new@example.org", "role": "manager"}


def table_rows(response, table_id: str) -> list[list[str]]:
    table = parse_html(response).find("table", id=table_id)
    return [[cell.text for cell in row.find_all("td")] for row in table.find("tbody").find_all("tr")]


def flashed(response_page) -> str:
    return parse_html(response_page).find("div", class_="flashes").text


def nothing_changed(team) -> None:
    assert steps.membership(team["theirs"].id, team["petr"].id).is_active is True
    assert steps.membership(team["theirs"].id, team["petr"].id).role == MembershipRole.EXPERT
    their_invitation = db.session.get(Invitation, team["their_invitation"].id)
    assert (their_invitation.revoked_at, their_invitation.token_digest) == (
        None, team["their_invitation"].token_digest
    )


# --- the members page --------------------------------------------------------------------------


def test_a_manager_sees_members_invitations_and_the_invitation_form(client_of, team):
    services.deactivate_membership(actor=team["aida"], membership=team["bolat_membership"])
    db.session.commit()

    response = client_of(team["aida"]).get(f"/thinktanks/{team['ours'].id}/members")

    assert response.status_code == 200
    members = table_rows(response, "members")
    assert [row[:4] for row in members] == [
        ["Aida Manager", "aida@example.org", "Manager", "Active"],
        ["Bolat Expert", "bolat@example.org", "Expert", "Deactivated"],
    ]
    assert [members[0][4], members[1][4]] == ["Make expert Deactivate", "Reactivate"]
    invitation = team["our_invitation"]
    assert table_rows(response, "invitations") == [[
        "waiting@example.org",
        "Expert",
        invitation.sent_at.strftime("%Y-%m-%d %H:%M UTC"),
        invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        "Send again Withdraw",
    ]]
    page = parse_html(response)
    assert page.find("form", action=f"/thinktanks/{team['ours'].id}/invitations") is not None
    body = response.get_data(as_text=True)
    assert "Petr Otherexpert" not in body
    assert "secret-invitee@example.org" not in body


def test_the_secretariat_sees_the_members_but_changes_nothing(client_of, secretariat, team):
    office = client_of(secretariat)

    response = office.get(f"/thinktanks/{team['ours'].id}/members")

    assert response.status_code == 200
    assert [row for row in table_rows(response, "members")] == [
        ["Aida Manager", "aida@example.org", "Manager", "Active"],
        ["Bolat Expert", "bolat@example.org", "Expert", "Active"],
    ]
    assert parse_html(response).find("form", class_="stacked-form") is None
    assert parse_html(response).find("table", id="invitations").find("button") is None
    paths = post_paths(team["ours"].id, team["our_invitation"].id, team["bolat_membership"].id)
    assert [steps.press(office, path, **POST_DATA).status_code for path in paths] == [403] * 6


@pytest.mark.parametrize("who", ["bolat", "oleg", "petr", "researcher"])
def test_others_may_not_see_the_members_page(client_of, make_user, team, who):
    person = make_user(email="researcher@example.org") if who == "researcher" else team[who]

    response = client_of(person).get(f"/thinktanks/{team['ours'].id}/members")

    assert response.status_code == 403
    body = steps.main_html(response)
    for secret in ("Bolat Expert", "bolat@example.org", "waiting@example.org"):
        assert secret not in body


def test_anonymous_visitors_are_sent_to_sign_in(client, team):
    paths = [f"/thinktanks/{team['ours'].id}/members"]

    responses = [client.get(paths[0])] + [
        steps.press(client, path) for path in post_paths(team["ours"].id, team["our_invitation"].id,
                                                         team["bolat_membership"].id)
    ]

    assert [(r.status_code, r.headers["Location"].split("?")[0]) for r in responses] == [(302, "/login")] * 7


def test_the_members_of_an_application_are_not_found_by_others(client_of, make_user, make_think_tank, secretariat):
    from expert_platform.enums import ThinkTankStatus

    think_tank = make_think_tank(status=ThinkTankStatus.PENDING)
    path = f"/thinktanks/{think_tank.id}/members"

    assert client_of(make_user()).get(path).status_code == 404
    assert client_of(make_user()).get("/thinktanks/999/members").status_code == 404
    assert client_of(secretariat).get(path).status_code == 200


# --- invitations -------------------------------------------------------------------------------


def test_a_manager_invites_an_expert_by_email(client_of, team, outbox):
    response = steps.invite(client_of(team["aida"]), team["ours"].id, "Dana@Example.org", role="expert")

    assert (response.status_code, response.headers["Location"]) == (302, f"/thinktanks/{team['ours'].id}/members")
    invitation = steps.invitation_to("dana@example.org")
    assert (invitation.role, invitation.invited_by_id, invitation.think_tank_id) == (
        MembershipRole.EXPERT, team["aida"].id, team["ours"].id
    )
    assert invitation.expires_at - invitation.sent_at == timedelta(days=7)
    [message] = [m for m in outbox() if m["To"] == "dana@example.org"]
    assert message["Subject"] == "Invitation to join Our Institute"
    text = steps.body(message)
    assert "Aida Manager invites you to join Our Institute (Kazakhstan) on Expert Platform as expert." in text
    link = steps.invitation_link(outbox, "dana@example.org")
    raw_token = link.removeprefix("/invitations/")
    assert (len(raw_token), digest(raw_token)) == (43, invitation.token_digest)
    record = steps.audit_record("invitation.sent")
    assert (record.actor_id, record.object_id, record.details) == (
        team["aida"].id, invitation.id,
        {"think_tank_id": team["ours"].id, "email": "dana@example.org", "role": "expert"},
    )


@pytest.mark.parametrize(("email", "role", "field", "message"), [
    ("bolat@example.org", "expert", "email", "bolat@example.org is an active member already."),
    ("WAITING@example.org", "manager", "email",
     "An invitation to waiting@example.org is waiting for an answer. "
     "Send it again from the list of invitations instead."),
    ("not an address", "expert", "email", "Enter a valid email address."),
    ("", "expert", "email", "Enter the email address to invite."),
    ("dana@example.org", "owner", "role", "Not a valid choice."),
])
def test_a_refused_invitation_shows_the_form_again(client_of, team, outbox, email, role, field, message):
    sent_before, invitations_before = len(outbox()), steps.count(Invitation)

    response = steps.invite(client_of(team["aida"]), team["ours"].id, email, role=role)

    assert response.status_code == 200
    page = parse_html(response)
    assert page.find("p", id=f"{field}-error").text == message
    assert page.find("input", id="email").attributes["value"] == email
    assert steps.count(Invitation) == invitations_before
    assert len(outbox()) == sent_before


def test_sending_again_replaces_the_link_and_the_expiry(app, client_of, team, outbox, monkeypatch):
    link = steps.invitation_link(outbox, "waiting@example.org")
    old_expiry = team["our_invitation"].expires_at
    later = services.utcnow() + timedelta(days=8)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    manager = client_of(team["aida"])
    expired_row = table_rows(manager.get(f"/thinktanks/{team['ours'].id}/members"), "invitations")[0]
    assert expired_row[3] == "Expired"

    response = steps.press(manager, f"/thinktanks/{team['ours'].id}/invitations/{team['our_invitation'].id}/resend")

    assert response.status_code == 302
    assert flashed(manager.get(response.headers["Location"])) == (
        "The invitation has been sent again to waiting@example.org. The earlier link no longer works."
    )
    invitation = steps.invitation_to("waiting@example.org")
    assert invitation.expires_at == later + timedelta(days=7)
    assert invitation.expires_at > old_expiry
    new_link = steps.invitation_link(outbox, "waiting@example.org")
    assert new_link != link
    assert steps.open_invitation(app.test_client(), link).status_code == 400
    assert steps.open_invitation(app.test_client(), new_link).status_code == 200
    assert steps.audit_record("invitation.resent").details == {
        "think_tank_id": team["ours"].id, "email": "waiting@example.org"
    }


def test_a_withdrawn_invitation_disappears_and_its_link_stops_working(app, client_of, team, outbox):
    link = steps.invitation_link(outbox, "waiting@example.org")
    manager = client_of(team["aida"])
    path = f"/thinktanks/{team['ours'].id}/invitations/{team['our_invitation'].id}/revoke"

    response = steps.press(manager, path)
    again = steps.press(manager, path)

    assert response.status_code == 302
    page = manager.get(f"/thinktanks/{team['ours'].id}/members")
    assert flashed(page) == "This invitation was withdrawn."
    assert parse_html(page).find("table", id="invitations") is None
    assert again.status_code == 302
    assert steps.open_invitation(app.test_client(), link).status_code == 400
    assert steps.audit_actions().count("invitation.revoked") == 1


def test_an_invitation_of_another_think_tank_is_not_found(client_of, team):
    manager = client_of(team["aida"])
    base = f"/thinktanks/{team['ours'].id}/invitations/{team['their_invitation'].id}"

    assert steps.press(manager, f"{base}/resend").status_code == 404
    assert steps.press(manager, f"{base}/revoke").status_code == 404
    assert steps.press(manager, f"/thinktanks/{team['ours'].id}/invitations/999/revoke").status_code == 404
    nothing_changed(team)


# --- memberships -------------------------------------------------------------------------------


def test_deactivating_and_reactivating_keeps_the_membership(client_of, team):
    manager = client_of(team["aida"])
    base = f"/thinktanks/{team['ours'].id}/members/{team['bolat_membership'].id}"

    deactivated = steps.press(manager, f"{base}/deactivate")
    membership = steps.membership(team["ours"].id, team["bolat"].id)
    assert (deactivated.status_code, membership.is_active, membership.deactivated_by_id) == (
        302, False, team["aida"].id
    )
    assert flashed(manager.get(f"/thinktanks/{team['ours'].id}/members")) == "Bolat Expert is deactivated."

    reactivated = steps.press(manager, f"{base}/reactivate")
    membership = steps.membership(team["ours"].id, team["bolat"].id)
    assert (reactivated.status_code, membership.is_active, membership.deactivated_at) == (302, True, None)
    assert membership.id == team["bolat_membership"].id
    records = db.session.scalars(
        db.select(AuditRecord)
        .where(AuditRecord.action.in_(["membership.deactivated", "membership.reactivated"]))
        .order_by(AuditRecord.id)
    ).all()
    assert [(record.action, record.actor_id, record.object_id) for record in records] == [
        ("membership.deactivated", team["aida"].id, membership.id),
        ("membership.reactivated", team["aida"].id, membership.id),
    ]


def test_a_member_made_manager_manages_and_holds_the_global_role(client_of, team):
    manager = client_of(team["aida"])
    path = f"/thinktanks/{team['ours'].id}/members/{team['bolat_membership'].id}/role"

    assert steps.press(manager, path, role="manager").status_code == 302

    membership = steps.membership(team["ours"].id, team["bolat"].id)
    assert membership.role == MembershipRole.MANAGER
    assert membership.user.roles == frozenset({Role.RESEARCHER, Role.EXPERT, Role.THINKTANK_MANAGER})
    co_manager = client_of(team["bolat"])
    assert co_manager.get(f"/thinktanks/{team['ours'].id}/members").status_code == 200
    assert steps.invite(co_manager, team["ours"].id, "dana@example.org").status_code == 302
    assert steps.audit_record("membership.role_changed").details == {
        "think_tank_id": team["ours"].id, "user_id": team["bolat"].id, "from": "expert", "to": "manager"
    }


def test_the_last_active_manager_cannot_leave_or_step_down(client_of, team):
    manager = client_of(team["aida"])
    base = f"/thinktanks/{team['ours'].id}/members/{team['aida_membership'].id}"

    for path, data in ((f"{base}/deactivate", {}), (f"{base}/role", {"role": "expert"})):
        assert steps.press(manager, path, **data).status_code == 302
        assert flashed(manager.get(f"/thinktanks/{team['ours'].id}/members")) == LAST_MANAGER
    assert steps.membership(team["ours"].id, team["aida"].id).is_manager is True

    steps.press(manager, f"/thinktanks/{team['ours'].id}/members/{team['bolat_membership'].id}/role", role="manager")
    assert steps.press(manager, f"{base}/role", role="expert").status_code == 302
    assert steps.membership(team["ours"].id, team["aida"].id).role == MembershipRole.EXPERT
    assert client_of(team["aida"]).get(f"/thinktanks/{team['ours'].id}/members").status_code == 403


def test_a_membership_of_another_think_tank_is_not_found(client_of, team):
    manager = client_of(team["aida"])
    base = f"/thinktanks/{team['ours'].id}/members/{team['petr_membership'].id}"

    assert steps.press(manager, f"{base}/deactivate").status_code == 404
    assert steps.press(manager, f"{base}/reactivate").status_code == 404
    assert steps.press(manager, f"{base}/role", role="manager").status_code == 404
    nothing_changed(team)


@pytest.mark.parametrize("who", ["aida", "bolat", "petr"])
def test_nobody_but_its_managers_changes_a_think_tank(client_of, team, who):
    person = client_of(team[who])
    invitations_before = steps.count(Invitation)

    statuses = [
        steps.press(person, path, **POST_DATA).status_code
        for path in post_paths(team["theirs"].id, team["their_invitation"].id, team["petr_membership"].id)
    ]

    assert statuses == [403] * 6
    nothing_changed(team)
    assert steps.count(Invitation) == invitations_before


def test_a_temporary_think_tank_past_its_end_date_is_read_only(client_of, make_user, make_think_tank):
    aida = make_user(display_name="Aida Manager")
    bolat = make_user(display_name="Bolat Expert")
    think_tank = make_think_tank(
        managers=[aida], experts=[bolat], participation=Participation.TEMPORARY,
        ends_on=services.today() - timedelta(days=1),
    )
    invitation = services._new_invitation(actor=aida, think_tank=think_tank, email="x@example.org",
                                          role=MembershipRole.EXPERT)[0]
    db.session.commit()
    manager = client_of(aida)

    page = manager.get(f"/thinktanks/{think_tank.id}/members")

    assert page.status_code == 200
    tree = parse_html(page)
    assert tree.find("div", class_="alert-info").text.startswith("The participation of this think tank ended on")
    assert tree.find("main").find("form") is None
    statuses = [
        steps.press(manager, path, **POST_DATA).status_code
        for path in post_paths(think_tank.id, invitation.id, steps.membership(think_tank.id, bolat.id).id)
    ]
    assert statuses == [403] * 6


# --- the secretariat adds a member directly ----------------------------------------------------


def test_the_secretariat_adds_an_existing_account_directly_once(make_user, make_think_tank, secretariat):
    think_tank = make_think_tank(name="Our Institute")
    dana = make_user(email="dana@example.org")

    first = services.add_member(actor=secretariat, think_tank=think_tank, user=dana, role="expert")
    again = services.add_member(actor=secretariat, think_tank=think_tank, user=dana, role=MembershipRole.EXPERT)
    promoted = services.add_member(actor=secretariat, think_tank=think_tank, user=dana, role="manager")
    db.session.commit()

    assert first.id == again.id == promoted.id
    assert (promoted.role, promoted.is_active) == (MembershipRole.MANAGER, True)
    assert dana.roles == frozenset({Role.RESEARCHER, Role.EXPERT, Role.THINKTANK_MANAGER})
    records = db.session.scalars(
        db.select(AuditRecord).where(AuditRecord.action == "membership.added").order_by(AuditRecord.id)
    ).all()
    assert [(record.actor_id, record.details["role"]) for record in records] == [
        (secretariat.id, "expert"), (secretariat.id, "manager")
    ]


def test_only_the_secretariat_adds_members_and_only_to_a_think_tank_that_takes_part(
    make_user, make_think_tank, secretariat
):
    from expert_platform.enums import ThinkTankStatus
    from expert_platform.errors import InvalidTransition, NotAllowed

    manager = make_user()
    think_tank = make_think_tank(managers=[manager])
    application = make_think_tank(status=ThinkTankStatus.PENDING)
    dana = make_user()

    with pytest.raises(NotAllowed):
        services.add_member(actor=manager, think_tank=think_tank, user=dana, role="expert")
    with pytest.raises(InvalidTransition):
        services.add_member(actor=secretariat, think_tank=application, user=dana, role="expert")
    db.session.rollback()
    assert steps.membership(think_tank.id, dana.id) is None
