"""The user's own account: the profile page (/account) and the password change (/account/password)."""

from __future__ import annotations

import pytest

from expert_platform.accounts import passwords
from expert_platform.accounts.models import User
from expert_platform.enums import Role
from tests.conftest import DEFAULT_PASSWORD, fetch_csrf_token, sign_in
from tests.html_tree import parse_html

NEW_PASSWORD = "a fresh and unusual passphrase"
NOT_CORRECT = "The email address or password is not correct."


def field_error(response, field_id: str) -> str | None:
    """The error text shown under a form field, or None."""
    error = parse_html(response).find(id=f"{field_id}-error")
    return error.text if error else None


def flashes(response) -> list[str]:
    flash_list = parse_html(response).find(class_="flashes")
    return [alert.text for alert in flash_list.find_all(class_="alert")] if flash_list else []


def details(response) -> dict[str, str]:
    """The sign-in details of the account page, as {term: description}."""
    listing = parse_html(response).find("dl", class_="details")
    terms, descriptions = listing.find_all("dt"), listing.find_all("dd")
    return {term.text: description.text for term, description in zip(terms, descriptions, strict=True)}


def stored_user(db, user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def save_profile(client, display_name: str):
    return client.post(
        "/account", data={"csrf_token": fetch_csrf_token(client, "/account"), "display_name": display_name}
    )


def change_password(client, *, current: str = DEFAULT_PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(
        "/account/password",
        data={
            "csrf_token": fetch_csrf_token(client, "/account/password"),
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


@pytest.fixture
def ann(make_user):
    return make_user(email="ann@example.org", display_name="Ann Lee", roles=(Role.EXPERT, Role.COUNCIL_MEMBER))


@pytest.fixture
def ann_client(client, login, ann):
    login(ann)
    return client


# --- the profile ---------------------------------------------------------------------------


def test_the_account_page_shows_the_users_email_name_and_role_labels(ann_client):
    response = ann_client.get("/account")

    assert response.status_code == 200
    page = parse_html(response)
    assert page.find("input", id="display_name").attributes["value"] == "Ann Lee"
    shown = details(response)
    assert shown["Email address"] == "ann@example.org"
    assert shown["Roles"] == "Council member Expert"
    assert [badge.text for badge in page.find_all("span", class_="badge")] == ["Council member", "Expert"]


def test_a_new_display_name_is_saved_with_its_whitespace_collapsed(client, login, make_user, db):
    person = make_user(email="a.lee@example.org", display_name="A. Lee")
    login(person)

    response = save_profile(client, "  Ann   Lee ")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert stored_user(db, person.id).display_name == "Ann Lee"
    page = client.get("/account")
    assert flashes(page) == ["Your profile is saved."]
    assert parse_html(page).find("input", id="display_name").attributes["value"] == "Ann Lee"
    navigation = parse_html(page).find("nav", id="site-nav")
    assert ("/account", "Ann Lee") in [(link.attributes["href"], link.text) for link in navigation.find_all("a")]


def test_tabs_and_newlines_in_a_name_collapse_to_single_spaces(ann_client, ann, db):
    save_profile(ann_client, "Ann\tMaria\n Lee")

    assert stored_user(db, ann.id).display_name == "Ann Maria Lee"


def test_a_name_of_the_greatest_length_is_saved(ann_client, ann, db):
    response = save_profile(ann_client, "x" * 120)

    assert response.status_code == 302
    assert stored_user(db, ann.id).display_name == "x" * 120


@pytest.mark.parametrize("display_name", ["", "   "], ids=["empty", "blank"])
def test_an_empty_name_is_refused_and_changes_nothing(ann_client, ann, db, display_name):
    response = save_profile(ann_client, display_name)

    assert response.status_code == 200
    assert field_error(response, "display_name") == "This field is required."
    assert stored_user(db, ann.id).display_name == "Ann Lee"


def test_a_name_over_120_characters_is_refused_and_changes_nothing(ann_client, ann, db):
    response = save_profile(ann_client, "x" * 121)

    assert response.status_code == 200
    assert field_error(response, "display_name") == "Field cannot be longer than 120 characters."
    assert parse_html(response).find("input", id="display_name").attributes["value"] == "x" * 121
    assert stored_user(db, ann.id).display_name == "Ann Lee"


# --- the password --------------------------------------------------------------------------


def test_a_wrong_current_password_is_refused_and_changes_nothing(ann_client, ann, db, outbox):
    response = change_password(ann_client, current="not my password at all")

    assert response.status_code == 200
    assert field_error(response, "current_password") == "Your current password is not correct."
    assert passwords.verify_password(stored_user(db, ann.id).password_hash, DEFAULT_PASSWORD) is True
    assert outbox() == []


@pytest.mark.parametrize(
    ("new_password", "reason"),
    [
        ("password1234", "This password is one of the most common passwords. Choose another."),
        ("Xq9#tLm", "Use at least 12 characters."),
        ("zzzzzzzzzzzzzz", "This password repeats the same characters. Choose another."),
        ("my name is annlee!", "The password must not contain your name."),
    ],
    ids=["common", "short", "repeated", "contains-name"],
)
def test_a_weak_new_password_is_refused_with_the_reason(ann_client, ann, db, outbox, new_password, reason):
    response = change_password(ann_client, new=new_password)

    assert response.status_code == 200
    assert field_error(response, "new_password") == reason
    assert passwords.verify_password(stored_user(db, ann.id).password_hash, DEFAULT_PASSWORD) is True
    assert outbox() == []


def test_a_password_failing_several_rules_lists_every_reason(ann_client):
    response = change_password(ann_client, new="annlee")

    assert field_error(response, "new_password") == (
        "Use at least 12 characters. The password must not contain your name."
    )


def test_a_new_password_that_is_not_repeated_exactly_is_refused(ann_client, ann, db):
    response = change_password(ann_client, confirm=NEW_PASSWORD + "!")

    assert response.status_code == 200
    assert field_error(response, "confirm_password") == "The two passwords are not the same."
    assert passwords.verify_password(stored_user(db, ann.id).password_hash, DEFAULT_PASSWORD) is True


def test_the_new_password_must_differ_from_the_current_one(ann_client):
    response = change_password(ann_client, new=DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert field_error(response, "new_password") == "Choose a password different from the current one."


def test_a_changed_password_replaces_the_old_one(app, ann_client, ann):
    response = change_password(ann_client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert sign_in(app.test_client(), ann.email, NEW_PASSWORD).status_code == 302
    refused = sign_in(app.test_client(), ann.email, DEFAULT_PASSWORD)
    assert refused.status_code == 200
    assert parse_html(refused).find(class_="alert-error").text == NOT_CORRECT


def test_a_changed_password_is_announced_by_email_to_the_user(ann_client, outbox):
    change_password(ann_client)

    messages = outbox()
    assert [(message["To"], message["Subject"]) for message in messages] == [
        ("ann@example.org", "Your password was changed")
    ]
    assert "The password of your account on Expert Platform was just changed" in (
        messages[0].get_body(("plain",)).get_content()
    )


def test_a_password_change_keeps_this_session_and_ends_every_other(app, ann_client, ann):
    other_device = app.test_client()
    assert sign_in(other_device, ann.email).status_code == 302
    assert other_device.get("/account").status_code == 200

    change_password(ann_client)

    page = ann_client.get("/account")
    assert page.status_code == 200
    assert flashes(page) == ["Your password is changed. Every other session has been signed out."]
    signed_out = other_device.get("/account")
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"] == "/login?next=%2Faccount"


# --- anonymous visitors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "login_address"),
    [("/account", "/login?next=%2Faccount"), ("/account/password", "/login?next=%2Faccount%2Fpassword")],
)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, path, login_address):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"] == login_address


def test_the_account_page_leads_experts_to_their_profile_and_think_tanks(client, make_user, login, make_think_tank):
    manager = make_user(email="manager@example.org", roles=(Role.EXPERT,))
    expert = make_user(email="expert@example.org", roles=(Role.EXPERT,))
    tank = make_think_tank(name="Steppe Institute", managers=[manager], experts=[expert])

    login(expert)
    page = client.get("/account").get_data(as_text=True)
    assert "Edit your expert profile" in page
    assert f'href="/thinktanks/{tank.id}">Steppe Institute</a>' in page
    assert f"/thinktanks/{tank.id}/members" not in page

    client.post("/logout", data={"csrf_token": fetch_csrf_token(client, "/account")})
    login(manager)
    assert f'href="/thinktanks/{tank.id}/members"' in client.get("/account").get_data(as_text=True)


def test_a_researcher_has_no_expert_section(client, make_user, login):
    login(make_user(roles=(Role.RESEARCHER,)))
    page = client.get("/account").get_data(as_text=True)
    assert "Your work" not in page
    assert "/account/profile" not in page
