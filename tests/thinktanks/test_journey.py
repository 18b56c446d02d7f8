"""From an application to a think tank with managers and experts, through the web forms only."""

from __future__ import annotations

from expert_platform.enums import MembershipRole, Participation, Role, ThinkTankStatus
from expert_platform.experts.models import ExpertProfile
from expert_platform.extensions import db
from tests.conftest import sign_in
from tests.html_tree import parse_html
from tests.thinktanks import steps


def test_an_institution_applies_is_approved_and_builds_its_team(app, client, client_of, secretariat, make_user,
                                                                  states, outbox):
    # An anonymous visitor applies; the contact person gets an acknowledgement.
    applied = steps.send_application(client, steps.application(states))
    assert (applied.status_code, applied.headers["Location"]) == (302, "/thinktanks/apply/received")
    assert "your application is received" in client.get("/thinktanks/apply/received").get_data(as_text=True)
    think_tank = steps.think_tank_named("Institute for Strategic Studies")
    assert (think_tank.status, think_tank.applicant_id) == (ThinkTankStatus.PENDING, None)
    assert steps.subjects_to(outbox, "aida@iss.example.org") == [
        "We received the application of Institute for Strategic Studies"
    ]
    assert client.get(f"/thinktanks/{think_tank.id}").status_code == 404

    # The secretariat approves it as the lead think tank of Kazakhstan.
    office = client_of(secretariat)
    approved = steps.approve(office, think_tank.id, participation="lead")
    assert (approved.status_code, approved.headers["Location"]) == (302, f"/secretariat/applications/{think_tank.id}")
    think_tank = steps.think_tank_named("Institute for Strategic Studies")
    assert (think_tank.status, think_tank.participation) == (ThinkTankStatus.APPROVED, Participation.LEAD)
    assert steps.subjects_to(outbox, "aida@iss.example.org")[-1] == "Institute for Strategic Studies is approved"

    # The contact person has no account: the approval email's link creates one and makes her manager.
    manager_client = app.test_client()
    page = steps.open_invitation(manager_client, steps.invitation_link(outbox, "aida@iss.example.org"))
    assert "Create your account for aida@iss.example.org" in page.get_data(as_text=True)
    joined = steps.create_account(manager_client, display_name="Aida Nurlanova")
    assert (joined.status_code, joined.headers["Location"]) == (302, f"/thinktanks/{think_tank.id}")
    manager = steps.membership(think_tank.id, steps.invitation_to("aida@iss.example.org").accepted_by_id)
    assert (manager.role, manager.is_active, manager.user.roles) == (
        MembershipRole.MANAGER, True, frozenset({Role.THINKTANK_MANAGER})
    )
    assert manager.user.is_email_confirmed

    # She invites an expert, who creates an account from the link.
    assert steps.invite(manager_client, think_tank.id, "bolat@example.org").status_code == 302
    expert_client = app.test_client()
    steps.open_invitation(expert_client, steps.invitation_link(outbox, "bolat@example.org"))
    assert steps.create_account(expert_client, display_name="Bolat Serikov").status_code == 302
    bolat = steps.membership(think_tank.id, steps.invitation_to("bolat@example.org").accepted_by_id)
    assert (bolat.role, bolat.user.roles) == (MembershipRole.EXPERT, frozenset({Role.EXPERT}))
    assert db.session.scalar(db.select(ExpertProfile.user_id).where(ExpertProfile.user_id == bolat.user_id))

    # A researcher who already has an account signs in from the link and accepts.
    dana = make_user(email="dana@example.org", display_name="Dana Ermekova")
    assert steps.invite(manager_client, think_tank.id, "dana@example.org").status_code == 302
    dana_client = app.test_client()
    page = steps.open_invitation(dana_client, steps.invitation_link(outbox, "dana@example.org"))
    sign_in_link = parse_html(page).find("a", class_="button-primary")
    assert sign_in_link.attributes["href"] == "/login?next=/invitations/accept"
    signed_in = sign_in(dana_client, "dana@example.org", next_url="/invitations/accept")
    assert signed_in.headers["Location"] == "/invitations/accept"
    assert steps.accept(dana_client).status_code == 302
    assert steps.membership(think_tank.id, dana.id).role == MembershipRole.EXPERT
    assert steps.membership(think_tank.id, dana.id).user.roles == frozenset({Role.RESEARCHER, Role.EXPERT})

    # Bolat leaves and comes back; Dana becomes co-manager.
    base = f"/thinktanks/{think_tank.id}/members"
    assert steps.press(manager_client, f"{base}/{bolat.id}/deactivate").status_code == 302
    assert steps.membership(think_tank.id, bolat.user_id).is_active is False
    assert steps.press(manager_client, f"{base}/{bolat.id}/reactivate").status_code == 302
    assert steps.membership(think_tank.id, bolat.user_id).is_active is True
    dana_membership = steps.membership(think_tank.id, dana.id)
    assert steps.press(manager_client, f"{base}/{dana_membership.id}/role", role="manager").status_code == 302
    assert steps.membership(think_tank.id, dana.id).role == MembershipRole.MANAGER
    assert dana_client.get(base).status_code == 200

    # The public page lists the three members' profiles to signed-in users, without any email.
    public = client_of(make_user(email="reader@example.org")).get(f"/thinktanks/{think_tank.id}")
    names = [link.text for link in parse_html(public).find("section", aria_labelledby="experts-heading").find_all("a")]
    assert names == ["Aida Nurlanova", "Bolat Serikov", "Dana Ermekova"]
    assert "@" not in steps.main_html(public)

    assert steps.audit_actions() == [
        "thinktank.applied",
        "invitation.sent",
        "thinktank.approved",
        "invitation.accepted",
        "invitation.sent",
        "invitation.accepted",
        "invitation.sent",
        "invitation.accepted",
        "membership.deactivated",
        "membership.reactivated",
        "membership.role_changed",
    ]
