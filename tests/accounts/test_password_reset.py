"""Password reset by an emailed single-use link that expires and dies on any password change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from expert_platform.accounts import tokens
from expert_platform.database import utcnow
from tests.conftest import DEFAULT_PASSWORD, csrf_token_from, fetch_csrf_token, link_in, sign_in

NEW_PASSWORD = "amber lantern orchard"


def request_reset(client, email, **kwargs):
    return client.post(
        "/reset-password", data={"csrf_token": fetch_csrf_token(client, "/reset-password"), "email": email}, **kwargs
    )


def choose_password(client, password=NEW_PASSWORD, confirm=None):
    return client.post(
        "/reset-password/new",
        data={
            "csrf_token": fetch_csrf_token(client, "/login"),
            "new_password": password,
            "confirm_password": password if confirm is None else confirm,
        },
    )


def reset_link(outbox) -> str:
    [message] = [m for m in outbox() if m["Subject"] == "Reset your password"]
    return link_in(message, "/reset-password/")


def test_the_reset_request_answers_the_same_for_known_and_unknown_addresses(client, make_user, outbox):
    make_user(email="known@example.org")

    known = request_reset(client, "known@example.org")
    unknown = request_reset(client, "unknown@example.org")

    assert (known.status_code, known.headers["Location"]) == (302, "/check-your-email?reason=reset")
    assert (unknown.status_code, unknown.headers["Location"]) == (302, "/check-your-email?reason=reset")
    assert [message["To"] for message in outbox()] == ["known@example.org"]


def test_a_reset_link_sets_a_new_password_once(client, make_user, outbox):
    user = make_user(email="ann@example.org")
    request_reset(client, user.email)
    link = reset_link(outbox)

    moved = client.get(link)
    assert moved.status_code == 302
    assert moved.headers["Location"] == "/reset-password/new"  # the token leaves the address bar
    assert "Choose a new password" in client.get("/reset-password/new").get_data(as_text=True)
    done = choose_password(client)

    assert done.status_code == 302
    assert done.headers["Location"] == "/login"
    assert sign_in(client, user.email, DEFAULT_PASSWORD).status_code == 200
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302
    assert "Your password was changed" in [message["Subject"] for message in outbox()]

    reused = client.get(link)
    assert reused.status_code == 302
    again = client.get("/reset-password/new")
    assert again.status_code == 400
    assert "This reset link cannot be used" in again.get_data(as_text=True)


@pytest.mark.parametrize(("minutes_later", "usable"), [(59, True), (61, False)])
def test_a_reset_link_expires_after_sixty_minutes(client, make_user, outbox, monkeypatch, minutes_later, usable):
    user = make_user()
    request_reset(client, user.email)
    link = reset_link(outbox)
    monkeypatch.setattr(tokens, "utcnow", lambda: utcnow() + timedelta(minutes=minutes_later))

    client.get(link)
    response = client.get("/reset-password/new")

    assert response.status_code == (200 if usable else 400)


def test_any_password_change_kills_outstanding_reset_links(client, make_user, outbox, login):
    user = make_user()
    request_reset(client, user.email)
    link = reset_link(outbox)
    login(user)
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": fetch_csrf_token(client, "/account/password"),
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302

    client.get(link)

    assert client.get("/reset-password/new").status_code == 400


def test_a_refused_new_password_keeps_the_link_usable(client, make_user, outbox):
    user = make_user(email="ann@example.org")
    request_reset(client, user.email)
    client.get(reset_link(outbox))

    refused = choose_password(client, "short")
    assert refused.status_code == 200
    assert "Use at least 12 characters." in refused.get_data(as_text=True)
    mismatch = choose_password(client, NEW_PASSWORD, confirm="something different")
    assert "The two passwords are not the same." in mismatch.get_data(as_text=True)

    assert choose_password(client).status_code == 302


def test_resetting_the_password_signs_out_every_session(app, client, make_user, outbox):
    user = make_user()
    other_device = app.test_client()
    sign_in(other_device, user.email)
    request_reset(client, user.email)
    client.get(reset_link(outbox))

    choose_password(client)

    assert other_device.get("/account").status_code == 302


def test_reset_links_use_the_configured_base_url_not_the_host_header(client, make_user, outbox):
    user = make_user()

    forged = {"Host": "evil.example"}
    token = csrf_token_from(client.get("/reset-password", headers=forged).get_data(as_text=True))
    response = client.post("/reset-password", data={"csrf_token": token, "email": user.email}, headers=forged)
    assert response.status_code == 302

    body = [m for m in outbox() if m["Subject"] == "Reset your password"][0].get_body(("plain",)).get_content()
    assert "http://platform.test/reset-password/" in body
    assert "evil.example" not in body


def test_reset_tokens_are_stored_only_as_digests_and_never_logged(client, make_user, outbox, db, caplog):
    caplog.set_level("INFO")
    user = make_user()
    request_reset(client, user.email)
    raw = reset_link(outbox).rsplit("/", 1)[1]

    from expert_platform.accounts.models import AccountToken

    stored = db.session.scalars(db.select(AccountToken.token_digest)).all()
    assert stored == [tokens.digest(raw)]
    assert raw not in caplog.text
    assert "reset.requested" in caplog.text


def test_a_deactivated_account_gets_no_reset_link(client, make_user, outbox, db):
    from expert_platform.accounts import services
    from expert_platform.enums import Role

    admin = make_user(roles=(Role.ADMIN,))
    user = make_user(email="gone@example.org")
    services.set_active(actor=admin, user=user, is_active=False)
    db.session.commit()

    request_reset(client, "gone@example.org")

    assert outbox() == []
