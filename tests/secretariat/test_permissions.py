"""Every /secretariat page and action is the secretariat's alone: other roles get 403 and change
nothing, anonymous visitors are sent to sign in."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from expert_platform.accounts.models import User
from expert_platform.audit.models import AuditRecord
from expert_platform.council.models import DelegationSeat
from expert_platform.enums import DelegationRole, Role
from expert_platform.reference.models import MemberState
from tests.conftest import fetch_csrf_token
from tests.secretariat.conftest import NON_SECRETARIAT_ROLES, appoint, current_seat_id

ALL_BUT_SECRETARIAT = [(role,) for role in NON_SECRETARIAT_ROLES] + [NON_SECRETARIAT_ROLES]


@pytest.fixture
def world(admin_client, make_user, states, db):
    """A council seat, an audit trail and reference data, made by the secretariat, who then signs out."""
    holder = make_user(email="zhanna.hidden@example.org", display_name="Zhanna Hidden")
    appoint(admin_client, holder, states["KZ"], DelegationRole.ALTERNATE.value)
    admin_client.post("/logout", data={"csrf_token": fetch_csrf_token(admin_client, "/")})
    return {"seat_id": current_seat_id(db, holder), "state_id": states["KZ"].id, "holder": holder}


def get_paths(world) -> list[str]:
    return [
        "/secretariat",
        "/secretariat/audit",
        "/secretariat/council",
        "/secretariat/member-states",
        "/secretariat/member-states/new",
        f"/secretariat/member-states/{world['state_id']}/edit",
    ]


def post_requests(world, states) -> list[tuple[str, dict]]:
    seat = world["seat_id"]
    return [
        ("/secretariat/council/appoint",
         {"email": "zhanna.hidden@example.org", "member_state": str(states["CN"].id), "role": "head"}),
        (f"/secretariat/council/seats/{seat}/remove", {}),
        (f"/secretariat/council/seats/{seat}/make-head", {}),
        ("/secretariat/member-states/new", {"name": "Oman", "code": "OM", "kind": "member_state"}),
        (f"/secretariat/member-states/{world['state_id']}/edit",
         {"name": "Renamed", "code": "KZ", "kind": "member_state"}),
    ]


def snapshot(db, world) -> tuple:
    """Everything the POSTs could change."""
    db.session.expire_all()
    seat = db.session.get(DelegationSeat, world["seat_id"])
    return (
        db.session.scalar(db.select(db.func.count(AuditRecord.id))),
        db.session.scalar(db.select(db.func.count(DelegationSeat.id))),
        seat.role,
        seat.removed_at,
        db.session.get(MemberState, world["state_id"]).name,
        db.session.scalar(db.select(db.func.count(MemberState.id))),
        db.session.get(User, world["holder"].id).roles,
    )


@pytest.mark.parametrize("roles", ALL_BUT_SECRETARIAT, ids=lambda roles: "+".join(roles))
def test_other_roles_get_403_on_every_secretariat_page_and_see_nothing(client, login, make_user, world, roles):
    login(make_user(email="outsider@example.org", roles=roles))

    for path in get_paths(world):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert (path, response.status_code) == (path, 403)
        assert "Zhanna" not in body
        assert "zhanna.hidden" not in body
        assert "council.appointed" not in body


@pytest.mark.parametrize("roles", ALL_BUT_SECRETARIAT, ids=lambda roles: "+".join(roles))
def test_other_roles_get_403_on_every_secretariat_action_and_change_nothing(
    client, login, make_user, world, states, db, roles
):
    login(make_user(email="outsider@example.org", roles=roles))
    before = snapshot(db, world)

    for path, data in post_requests(world, states):
        response = client.post(path, data={"csrf_token": fetch_csrf_token(client, "/"), **data})
        assert (path, response.status_code) == (path, 403)

    assert snapshot(db, world) == before


def test_an_unknown_seat_is_403_not_404_for_other_roles(client, login, make_user, world):
    login(make_user(email="outsider@example.org", roles=(Role.COUNCIL_MEMBER,)))

    response = client.post("/secretariat/council/seats/999999/remove",
                           data={"csrf_token": fetch_csrf_token(client, "/")})

    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(client, world):
    for path in get_paths(world):
        response = client.get(path)
        assert (path, response.status_code) == (path, 302)
        assert response.headers["Location"] == f"/login?next={quote(path, safe='')}"


def test_anonymous_visitors_are_sent_to_sign_in_from_every_action_and_change_nothing(client, world, states, db):
    before = snapshot(db, world)

    for path, data in post_requests(world, states):
        response = client.post(path, data={"csrf_token": fetch_csrf_token(client, "/login"), **data})
        assert (path, response.status_code) == (path, 302)
        assert response.headers["Location"].startswith("/login?next=")

    assert snapshot(db, world) == before


def test_the_secretariat_reaches_every_page(admin_client, states, world, login, admin):
    login(admin)

    assert {path: admin_client.get(path).status_code for path in get_paths(world)} == {
        path: 200 for path in get_paths(world)}


def test_the_public_council_page_is_open_to_anonymous_visitors(client, world):
    response = client.get("/council")

    assert response.status_code == 200
    assert "Zhanna Hidden" in response.get_data(as_text=True)
    assert "zhanna.hidden@example.org" not in response.get_data(as_text=True)
