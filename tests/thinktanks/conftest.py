"""Fixtures for the think-tank tests: the secretariat, one signed-in client per person, and think
tanks built through the services (apply, then approve or reject, then invitations accepted)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from expert_platform.accounts.models import AnonymousUser
from expert_platform.enums import MembershipRole, Participation, Role, ThinkTankStatus
from expert_platform.extensions import db
from expert_platform.thinktanks import services
from tests.conftest import sign_in


@pytest.fixture
def secretariat(make_user):
    return make_user(email="secretariat@example.org", display_name="Sam Secretariat", roles=(Role.ADMIN,))


@pytest.fixture
def client_of(app):
    """A new client signed in as ``user`` (several people can act in one test)."""

    def signed_in(user):
        other = app.test_client()
        response = sign_in(other, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return other

    return signed_in


@pytest.fixture
def make_think_tank(app, states, make_user):
    """A think tank built through the services: applied for, then approved (or rejected), its first
    manager being the contact person and the other members added by the secretariat.

    It replaces the fixture of tests/conftest.py for these tests only: that one builds rows directly
    (other packages' tests need think tanks the services refuse, such as pending ones with members)."""

    counter = {"n": 0}
    office = {}

    def secretariat_account():
        if "user" not in office:
            office["user"] = make_user(email="office@example.org", display_name="Office", roles=(Role.ADMIN,))
        return office["user"]

    def factory(*, name=None, state="KZ", participation=Participation.PERMANENT, ends_on=None,
                managers=(), experts=(), status=ThinkTankStatus.APPROVED, description="", website=None):
        counter["n"] += 1
        requested_end = ends_on
        if participation == Participation.TEMPORARY and (ends_on is None or ends_on <= services.today()):
            requested_end = services.today() + timedelta(days=1)
        think_tank = services.apply(
            actor=AnonymousUser(),
            name=name or f"Institute {counter['n']}",
            member_state_id=states[state].id,
            website=website,
            description=description,
            contact_name="Contact Person",
            contact_email=managers[0].email if managers else f"contact{counter['n']}@example.org",
            participation=participation,
            ends_on=requested_end,
        )
        if status == ThinkTankStatus.REJECTED:
            services.reject(actor=secretariat_account(), think_tank=think_tank, reason="Not appointed.")
        elif status == ThinkTankStatus.APPROVED:
            services.approve(actor=secretariat_account(), think_tank=think_tank, participation=participation,
                             ends_on=requested_end)
            members = [(user, MembershipRole.MANAGER) for user in managers[1:]]
            members += [(user, MembershipRole.EXPERT) for user in experts]
            for user, role in members:
                services.add_member(actor=secretariat_account(), think_tank=think_tank, user=user, role=role)
            if participation == Participation.TEMPORARY and ends_on is not None:
                # A participation that has ended already cannot be approved: its end date moves back here.
                think_tank.participation_ends_on = ends_on
        db.session.commit()
        return think_tank

    return factory
