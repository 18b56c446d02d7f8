"""The public page of an expert's profile, /experts/<user id>: what it shows and to whom."""

from __future__ import annotations

import pytest

from expert_platform.accounts import services as account_services
from expert_platform.enums import Role, ThinkTankStatus
from expert_platform.extensions import db
from tests.html_tree import parse_html

from .support import deactivate_membership, give_profile

NOT_FOUND_TITLE = "Page not found"


@pytest.fixture
def expert(make_user):
    return make_user(email="bolat@example.org", display_name="Bolat Sadykov", roles=(Role.EXPERT,))


def give_private_profile(user):
    return give_profile(
        user,
        title="Water economist",
        biography="Secret *biography* words",
        keywords=["hidden topic"],
        visibility="signed_in",
    )


def show_is_not_found(response, *secrets: str) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert parse_html(response).find("h1").text == NOT_FOUND_TITLE
    assert [secret for secret in secrets if secret in body] == []


def test_a_public_profile_is_seen_by_an_anonymous_visitor(client, expert):
    give_profile(expert, title="Water economist", visibility="public")

    response = client.get(f"/experts/{expert.id}")

    assert response.status_code == 200
    assert parse_html(response).find("h1").text == "Bolat Sadykov"
    assert parse_html(response).find("p", class_="lead").text == "Water economist"


def test_a_profile_for_signed_in_users_is_not_found_by_an_anonymous_visitor_and_shows_nothing_of_it(client, expert):
    give_private_profile(expert)

    response = client.get(f"/experts/{expert.id}")

    show_is_not_found(response, "Bolat", "Sadykov", "Water economist", "Secret", "hidden topic")


def test_a_profile_for_signed_in_users_is_seen_by_any_signed_in_user(client, login, make_user, expert):
    give_private_profile(expert)
    login(make_user(roles=(Role.RESEARCHER,)))

    response = client.get(f"/experts/{expert.id}")

    assert response.status_code == 200
    assert parse_html(response).find("h1").text == "Bolat Sadykov"


def test_an_expert_sees_their_own_profile_with_a_link_to_edit_it(client, login, expert):
    give_private_profile(expert)
    login(expert)

    page = parse_html(client.get(f"/experts/{expert.id}"))

    assert [link.text for link in page.find("main").find_all("a", href="/account/profile")] == ["Edit your profile"]


def test_others_get_no_link_to_edit_the_profile(client, login, make_user, expert):
    give_profile(expert, visibility="public")
    login(make_user(roles=(Role.EXPERT,)))

    page = parse_html(client.get(f"/experts/{expert.id}"))

    assert page.find("main").find_all("a", href="/account/profile") == []


@pytest.mark.parametrize("viewer_roles", [None, (Role.EXPERT,), (Role.RESEARCHER,)])
def test_the_profile_of_a_deactivated_account_is_not_found_by_others(client, login, make_user, expert, viewer_roles):
    give_profile(expert, title="Water economist", visibility="public")
    admin = make_user(roles=(Role.ADMIN,))
    account_services.set_active(actor=admin, user=expert, is_active=False)
    db.session.commit()
    if viewer_roles is not None:
        login(make_user(roles=viewer_roles))

    show_is_not_found(client.get(f"/experts/{expert.id}"), "Bolat", "Water economist")


def test_a_user_without_a_profile_has_no_profile_page(client, login, make_user, expert):
    login(make_user(roles=(Role.ADMIN,)))

    assert client.get(f"/experts/{expert.id}").status_code == 404
    assert client.get("/experts/987654").status_code == 404


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_email_address_is_never_shown(client, login, make_user, expert, states, signed_in):
    give_profile(
        expert,
        title="Economist",
        affiliations="Bolat Institute",
        biography="Contact through the institute.",
        keywords=["trade"],
        country_id=states["KZ"].id,
        visibility="public",
    )
    if signed_in:
        login(make_user(roles=(Role.EXPERT,)))

    body = client.get(f"/experts/{expert.id}").get_data(as_text=True)

    assert "bolat@example.org" not in body
    assert "Bolat Sadykov" in body


def test_the_page_lists_only_approved_think_tanks_where_the_membership_is_active(
    client, make_user, make_think_tank, expert
):
    manager = make_user(roles=(Role.THINKTANK_MANAGER,))
    current = make_think_tank(name="Current Institute", state="KZ", experts=[expert])
    also = make_think_tank(name="Another Centre", state="CN", experts=[expert])
    left = make_think_tank(name="Former Institute", state="UZ", managers=[manager], experts=[expert])
    make_think_tank(name="Applicant Institute", state="KG", experts=[expert], status=ThinkTankStatus.PENDING)
    deactivate_membership(manager, left, expert)
    give_profile(expert, visibility="public")

    section = parse_html(client.get(f"/experts/{expert.id}")).find("section", id="think-tanks")

    assert [(item.find("a").attributes["href"], item.text) for item in section.find_all("li")] == [
        (f"/thinktanks/{also.id}", "Another Centre (China)"),
        (f"/thinktanks/{current.id}", "Current Institute (Kazakhstan)"),
    ]


def test_a_profile_with_only_a_name_shows_no_empty_sections(client, expert):
    give_profile(expert, visibility="public")

    page = parse_html(client.get(f"/experts/{expert.id}"))

    assert page.find("main").find_all("section") == []
    assert page.find("dl").find_all("dt") == []
