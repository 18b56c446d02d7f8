"""The secretariat's user admin: listing, filtering and paging accounts, changing roles, deactivating."""

from __future__ import annotations

import pytest

from expert_platform.accounts import services as account_services
from expert_platform.accounts.models import User
from expert_platform.enums import Role
from tests.conftest import DEFAULT_PASSWORD, fetch_csrf_token, sign_in
from tests.html_tree import parse_html

NOT_CORRECT = "The email address or password is not correct."
NON_ADMIN_ROLES = (Role.RESEARCHER, Role.EXPERT, Role.COUNCIL_MEMBER, Role.THINKTANK_MANAGER)


def listed_users(response) -> list[tuple[str, str]]:
    """(name, email) of every row of the users table, in page order."""
    body = parse_html(response).find("tbody")
    rows = body.find_all("tr") if body else []
    return [tuple(cell.text for cell in row.find_all("td")[:2]) for row in rows]


def navigation_links(response) -> list[tuple[str, str]]:
    """(href, text) of every link in the main navigation."""
    navigation = parse_html(response).find("nav", id="site-nav")
    return [(link.attributes["href"], link.text) for link in navigation.find_all("a")]


def alert(response) -> str | None:
    """The text of the form's error box, or None."""
    box = parse_html(response).find(class_="alert-error")
    return box.text if box else None


def field_error(response, field_id: str) -> str | None:
    """The error text shown under a form field, or None."""
    error = parse_html(response).find(id=f"{field_id}-error")
    return error.text if error else None


def save_account_form(client, user_id: int, *, roles: list[str], is_active: bool = True):
    """Submit the admin form of one account as the secretariat would."""
    data = {"csrf_token": fetch_csrf_token(client, f"/admin/users/{user_id}"), "roles": roles}
    if is_active:
        data["is_active"] = "y"
    return client.post(f"/admin/users/{user_id}", data=data)


def roles_of(db, user_id: int) -> frozenset[Role]:
    db.session.expire_all()
    return db.session.get(User, user_id).roles


def is_active(db, user_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(User, user_id).is_active


@pytest.fixture
def admin(make_user):
    return make_user(email="admin@example.org", display_name="Ada Admin", roles=(Role.ADMIN,))


@pytest.fixture
def admin_client(client, login, admin):
    login(admin)
    return client


# --- the list -------------------------------------------------------------------------------


def test_an_admin_sees_every_users_name_and_email(admin_client, make_user):
    make_user(email="bob@example.org", display_name="Bob Stone", roles=(Role.EXPERT,))
    make_user(email="carla@example.org", display_name="Carla Diaz", roles=(Role.COUNCIL_MEMBER,))

    response = admin_client.get("/admin/users")

    assert response.status_code == 200
    assert listed_users(response) == [
        ("Ada Admin", "admin@example.org"),
        ("Bob Stone", "bob@example.org"),
        ("Carla Diaz", "carla@example.org"),
    ]
    assert "3 accounts" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["ann", "ANN", "Nn L"])
def test_filtering_by_part_of_a_name_ignores_case(admin_client, make_user, query):
    make_user(email="a.lee@example.org", display_name="Ann Lee")
    make_user(email="bob@example.org", display_name="Bob Stone")

    response = admin_client.get("/admin/users", query_string={"q": query})

    assert listed_users(response) == [("Ann Lee", "a.lee@example.org")]


@pytest.mark.parametrize("query", ["stone@", "STONE@EXAMPLE", "Bob.Stone"])
def test_filtering_by_part_of_an_email_ignores_case(admin_client, make_user, query):
    make_user(email="a.lee@example.org", display_name="Ann Lee")
    make_user(email="bob.stone@example.org", display_name="Robert S.")

    response = admin_client.get("/admin/users", query_string={"q": query})

    assert listed_users(response) == [("Robert S.", "bob.stone@example.org")]


def test_filtering_by_role_shows_exactly_the_holders_of_that_role(admin_client, make_user):
    make_user(email="expert@example.org", display_name="Eve Expert", roles=(Role.EXPERT,))
    make_user(email="council@example.org", display_name="Cy Council", roles=(Role.COUNCIL_MEMBER,))
    make_user(email="both@example.org", display_name="Bo Both", roles=(Role.EXPERT, Role.COUNCIL_MEMBER))

    response = admin_client.get("/admin/users", query_string={"role": "expert"})

    assert listed_users(response) == [("Bo Both", "both@example.org"), ("Eve Expert", "expert@example.org")]


def test_a_query_and_a_role_together_show_the_users_matching_both(admin_client, make_user):
    make_user(email="ann.expert@example.org", display_name="Ann Expert", roles=(Role.EXPERT,))
    make_user(email="ann.council@example.org", display_name="Ann Council", roles=(Role.COUNCIL_MEMBER,))
    make_user(email="bob.expert@example.org", display_name="Bob Expert", roles=(Role.EXPERT,))

    response = admin_client.get("/admin/users", query_string={"q": "ann", "role": "expert"})

    assert listed_users(response) == [("Ann Expert", "ann.expert@example.org")]


def test_a_percent_sign_in_the_query_is_matched_literally(admin_client, make_user):
    make_user(email="sure@example.org", display_name="100% Sure")
    make_user(email="plain@example.org", display_name="Plain Person")

    response = admin_client.get("/admin/users", query_string={"q": "%"})

    assert listed_users(response) == [("100% Sure", "sure@example.org")]


def test_an_underscore_in_the_query_is_matched_literally(admin_client, make_user):
    make_user(email="first_last@example.org", display_name="Underscore Person")
    make_user(email="firstxlast@example.org", display_name="Letter Person")

    response = admin_client.get("/admin/users", query_string={"q": "t_l"})

    assert listed_users(response) == [("Underscore Person", "first_last@example.org")]


def test_a_query_matching_nobody_shows_no_rows(admin_client, make_user):
    make_user(email="bob@example.org", display_name="Bob Stone")

    response = admin_client.get("/admin/users", query_string={"q": "zzz"})

    assert listed_users(response) == []
    assert "No account matches this filter." in response.get_data(as_text=True)


def test_the_list_shows_fifty_users_a_page(admin_client, db):
    for number in range(1, 51):
        account_services.create_user(
            email=f"user{number:02d}@example.org", display_name=f"User {number:02d}", password=DEFAULT_PASSWORD
        )
    db.session.commit()  # with the admin: 51 accounts

    first = admin_client.get("/admin/users")
    second = admin_client.get("/admin/users", query_string={"page": 2})

    assert first.status_code == 200
    assert listed_users(first) == [("Ada Admin", "admin@example.org")] + [
        (f"User {number:02d}", f"user{number:02d}@example.org") for number in range(1, 50)
    ]
    assert "Page 1 of 2" in first.get_data(as_text=True)
    assert second.status_code == 200
    assert listed_users(second) == [("User 50", "user50@example.org")]
    assert "Page 2 of 2" in second.get_data(as_text=True)


# --- changing roles and deactivating -------------------------------------------------------


def test_an_admin_replaces_the_roles_of_another_user(admin_client, make_user, db):
    person = make_user(email="person@example.org", display_name="Pat Person", roles=(Role.RESEARCHER,))

    response = save_account_form(admin_client, person.id, roles=["expert", "council_member"])

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{person.id}"
    assert roles_of(db, person.id) == {Role.EXPERT, Role.COUNCIL_MEMBER}
    assert is_active(db, person.id) is True
    assert "The account of Pat Person is saved." in admin_client.get(f"/admin/users/{person.id}").get_data(as_text=True)


def test_an_admin_removes_every_role_of_another_user(admin_client, make_user, db):
    person = make_user(email="person@example.org", roles=(Role.EXPERT, Role.RESEARCHER))

    response = save_account_form(admin_client, person.id, roles=[])

    assert response.status_code == 302
    assert roles_of(db, person.id) == frozenset()


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in_again(app, admin_client, make_user, db):
    person = make_user(email="person@example.org", roles=(Role.RESEARCHER,))
    persons_browser = app.test_client()
    assert sign_in(persons_browser, person.email).status_code == 302
    assert persons_browser.get("/account").status_code == 200

    response = save_account_form(admin_client, person.id, roles=["researcher"], is_active=False)

    assert response.status_code == 302
    assert is_active(db, person.id) is False
    next_visit = persons_browser.get("/account")
    assert next_visit.status_code == 302
    assert next_visit.headers["Location"] == "/login?next=%2Faccount"
    refused = sign_in(app.test_client(), person.email)
    wrong_password = sign_in(app.test_client(), "admin@example.org", "not the password at all")
    assert (refused.status_code, alert(refused)) == (200, NOT_CORRECT)
    assert (wrong_password.status_code, alert(wrong_password)) == (200, NOT_CORRECT)


def test_a_reactivated_user_can_sign_in_again(app, admin_client, make_user, db):
    person = make_user(email="person@example.org", roles=(Role.RESEARCHER,))
    save_account_form(admin_client, person.id, roles=["researcher"], is_active=False)

    response = save_account_form(admin_client, person.id, roles=["researcher"], is_active=True)

    assert response.status_code == 302
    assert is_active(db, person.id) is True
    assert sign_in(app.test_client(), person.email).status_code == 302


def test_an_admin_cannot_deactivate_themself(admin_client, admin, db):
    response = save_account_form(admin_client, admin.id, roles=["admin"], is_active=False)

    assert response.status_code == 200
    assert field_error(response, "is_active") == "You cannot deactivate your own account."
    assert is_active(db, admin.id) is True
    assert admin_client.get("/account").status_code == 200


def test_the_last_active_admin_keeps_the_admin_role(admin_client, admin, db):
    response = save_account_form(admin_client, admin.id, roles=["expert"])

    assert response.status_code == 200
    assert field_error(response, "roles") == "The platform needs at least one active secretariat account."
    assert roles_of(db, admin.id) == {Role.ADMIN}


def test_a_deactivated_admin_does_not_count_as_another_admin(admin_client, admin, make_user, db):
    other_admin = make_user(email="second.admin@example.org", roles=(Role.ADMIN,))
    save_account_form(admin_client, other_admin.id, roles=["admin"], is_active=False)

    response = save_account_form(admin_client, admin.id, roles=["expert"])

    assert response.status_code == 200
    assert field_error(response, "roles") == "The platform needs at least one active secretariat account."
    assert roles_of(db, admin.id) == {Role.ADMIN}


def test_an_admin_may_give_up_the_admin_role_while_another_admin_is_active(admin_client, admin, make_user, db):
    make_user(email="second.admin@example.org", roles=(Role.ADMIN,))

    response = save_account_form(admin_client, admin.id, roles=["expert"])

    assert response.status_code == 302
    assert roles_of(db, admin.id) == {Role.EXPERT}


# --- who may use the admin -----------------------------------------------------------------


@pytest.mark.parametrize("role", NON_ADMIN_ROLES, ids=str)
def test_a_non_admin_is_refused_the_user_list(client, login, make_user, role):
    login(make_user(email="member@example.org", roles=(role,)))
    make_user(email="admin@example.org", roles=(Role.ADMIN,))
    make_user(email="someone.else@example.org", roles=(Role.EXPERT,))

    response = client.get("/admin/users", query_string={"q": "example"})

    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "admin@example.org" not in body
    assert "someone.else@example.org" not in body


@pytest.mark.parametrize("role", NON_ADMIN_ROLES, ids=str)
def test_a_non_admin_is_refused_the_page_of_another_user(client, login, make_user, role):
    login(make_user(email="member@example.org", roles=(role,)))
    other = make_user(email="someone.else@example.org", roles=(Role.EXPERT,))

    response = client.get(f"/admin/users/{other.id}")

    assert response.status_code == 403
    assert "someone.else@example.org" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", NON_ADMIN_ROLES, ids=str)
def test_a_non_admin_cannot_change_another_user(client, login, make_user, db, role):
    login(make_user(email="member@example.org", roles=(role,)))
    other = make_user(email="someone.else@example.org", roles=(Role.EXPERT,))

    response = client.post(
        f"/admin/users/{other.id}",
        data={"csrf_token": fetch_csrf_token(client, "/account"), "roles": ["admin"]},
    )

    assert response.status_code == 403
    assert "someone.else@example.org" not in response.get_data(as_text=True)
    assert roles_of(db, other.id) == {Role.EXPERT}
    assert is_active(db, other.id) is True


@pytest.mark.parametrize("role", NON_ADMIN_ROLES, ids=str)
def test_a_non_admin_cannot_make_themself_an_admin(client, login, make_user, db, role):
    member = make_user(email="member@example.org", roles=(role,))
    login(member)

    response = client.post(
        f"/admin/users/{member.id}",
        data={"csrf_token": fetch_csrf_token(client, "/account"), "roles": ["admin"], "is_active": "y"},
    )

    assert response.status_code == 403
    assert roles_of(db, member.id) == {role}


@pytest.mark.parametrize(
    ("path", "login_address"),
    [
        ("/admin/users", "/login?next=%2Fadmin%2Fusers"),
        ("/admin/users/1", "/login?next=%2Fadmin%2Fusers%2F1"),
        ("/admin/users?q=ann&role=expert", "/login?next=%2Fadmin%2Fusers%3Fq%3Dann%26role%3Dexpert"),
    ],
)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, path, login_address):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"] == login_address


def test_an_admin_asking_for_a_missing_user_gets_404(admin_client, admin):
    missing_id = admin.id + 1000

    token = fetch_csrf_token(admin_client, "/account")

    assert admin_client.get(f"/admin/users/{missing_id}").status_code == 404
    posted = admin_client.post(f"/admin/users/{missing_id}", data={"csrf_token": token, "roles": ["admin"]})
    assert posted.status_code == 404


# --- navigation ----------------------------------------------------------------------------


def test_the_navigation_offers_users_to_an_admin(admin_client):
    response = admin_client.get("/")

    assert ("/admin/users", "Users") in navigation_links(response)


@pytest.mark.parametrize("role", NON_ADMIN_ROLES, ids=str)
def test_the_navigation_has_no_users_link_for_other_roles(client, login, make_user, role):
    login(make_user(roles=(role,)))

    response = client.get("/")

    links = navigation_links(response)
    assert [href for href, _ in links if href.startswith("/admin")] == []
    assert "/admin/users" not in response.get_data(as_text=True)


def test_the_navigation_has_no_users_link_for_anonymous_visitors(client):
    response = client.get("/")

    assert [href for href, _ in navigation_links(response) if href.startswith("/admin")] == []
