"""Public sign-up creates a researcher account confirmed by an emailed link, and reveals nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from expert_platform.accounts import passwords
from expert_platform.accounts.models import User
from expert_platform.enums import Role
from tests.conftest import DEFAULT_PASSWORD, link_in, sign_in

GOOD_PASSWORD = "violet kettle harbour"


def signup(client, csrf_token, *, email="ann@example.org", name="Ann Lee", password=GOOD_PASSWORD, confirm=None):
    return client.post(
        "/signup",
        data={
            "csrf_token": csrf_token("/signup"),
            "display_name": name,
            "email": email,
            "new_password": password,
            "confirm_password": password if confirm is None else confirm,
        },
    )


def test_sign_up_creates_an_unconfirmed_researcher_and_emails_a_confirmation_link(client, csrf_token, outbox, db):
    response = signup(client, csrf_token, email="  Ann@Example.ORG ")

    assert response.status_code == 302
    assert response.headers["Location"] == "/check-your-email?reason=signup"
    user = db.session.scalar(select(User))
    assert user.email == "ann@example.org"
    assert user.display_name == "Ann Lee"
    assert user.roles == frozenset({Role.RESEARCHER})
    assert user.email_confirmed_at is None
    [message] = outbox()
    assert message["To"] == "ann@example.org"
    assert message["Subject"] == "Confirm your email address"
    assert "/confirm/" in message.get_body(("plain",)).get_content()


def test_following_the_link_confirms_the_address_and_then_the_researcher_can_sign_in(client, csrf_token, outbox, db):
    signup(client, csrf_token)
    refused = sign_in(client, "ann@example.org", GOOD_PASSWORD)
    assert refused.status_code == 200
    assert "Confirm your email address first" in refused.get_data(as_text=True)

    response = client.get(link_in(outbox()[0], "/confirm/"))

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert db.session.scalar(select(User)).email_confirmed_at is not None
    signed_in = sign_in(client, "ann@example.org", GOOD_PASSWORD)
    assert signed_in.status_code == 302
    assert client.get("/account").status_code == 200


def test_a_confirmation_link_works_once(client, csrf_token, outbox):
    signup(client, csrf_token)
    link = link_in(outbox()[0], "/confirm/")
    assert client.get(link).status_code == 302

    again = client.get(link)

    assert again.status_code == 400
    assert "invalid, used or expired" in again.get_data(as_text=True)


def test_an_unknown_confirmation_token_is_refused_with_a_way_forward(client):
    response = client.get("/confirm/not-a-real-token")
    assert response.status_code == 400
    assert "Send me a new confirmation link" in response.get_data(as_text=True)


def test_signing_up_with_a_taken_address_answers_the_same_and_warns_the_owner(
    client, csrf_token, outbox, make_user, db, monkeypatch
):
    owner = make_user(email="taken@example.org", display_name="Owner Person")
    hashes: list[str] = []
    original = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda value: hashes.append(value) or original(value))

    for_new = signup(client, csrf_token, email="fresh@example.org")
    for_taken = signup(client, csrf_token, email="TAKEN@example.org")

    assert (for_taken.status_code, for_taken.headers["Location"]) == (
        for_new.status_code,
        for_new.headers["Location"],
    )
    assert hashes == [GOOD_PASSWORD, GOOD_PASSWORD]  # the same password hashing work for both
    assert db.session.scalar(select(func.count(User.id))) == 2
    messages = {message["To"]: message for message in outbox()}
    assert messages["taken@example.org"]["Subject"] == "Someone tried to sign up with your address"
    assert messages["fresh@example.org"]["Subject"] == "Confirm your email address"
    db.session.refresh(owner)
    assert owner.display_name == "Owner Person"


def test_a_refused_sign_up_keeps_what_was_typed_except_the_password(client, csrf_token, db):
    response = signup(client, csrf_token, email="ann@example.org", name="Ann Lee", password="password1234")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This password is one of the most common passwords" in page
    assert 'value="Ann Lee"' in page
    assert 'value="ann@example.org"' in page
    assert "password1234" not in page
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_sign_up_checks_the_repeated_password_and_the_address(client, csrf_token, db):
    mismatch = signup(client, csrf_token, confirm="another long phrase")
    assert "The two passwords are not the same." in mismatch.get_data(as_text=True)
    invalid = signup(client, csrf_token, email="not-an-address")
    assert "Enter a valid email address." in invalid.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_a_resent_confirmation_link_works_and_the_answer_is_the_same_for_any_address(client, csrf_token, outbox):
    signup(client, csrf_token)
    for address in ("ann@example.org", "nobody@example.org"):
        response = client.post(
            "/confirm/resend", data={"csrf_token": csrf_token("/confirm/resend"), "email": address}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/check-your-email?reason=confirm"
    messages = outbox()
    assert [message["To"] for message in messages] == ["ann@example.org", "ann@example.org"]
    assert client.get(link_in(messages[1], "/confirm/")).status_code == 302


def test_a_signed_in_user_is_sent_home_from_the_sign_up_page(client, make_user, login):
    user = make_user()
    login(user)
    response = client.get("/signup")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_check_email_page_ignores_unknown_reasons(client):
    page = client.get("/check-your-email?reason=<script>").get_data(as_text=True)
    assert "<script>" not in page
    assert re.search(r"Follow the link in it to confirm your address", page)


def test_default_password_fixture_is_acceptable(app):
    assert passwords.password_problems(DEFAULT_PASSWORD, email="x@example.org") == []
