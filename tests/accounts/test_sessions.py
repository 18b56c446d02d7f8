"""Sessions end for real: logout, password change and deactivation kill every copy of a session."""

from __future__ import annotations

from datetime import timedelta

from expert_platform.accounts import services
from expert_platform.enums import Role
from tests.conftest import fetch_csrf_token, sign_in


def logout(client):
    return client.post("/logout", data={"csrf_token": fetch_csrf_token(client, "/account")})


def cookie(client, name):
    found = client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return found.value


def test_sign_out_is_a_post_with_a_csrf_token(client, make_user, login):
    login(make_user())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/account").status_code == 200

    response = logout(client)

    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_a_session_cookie_copied_before_sign_out_is_refused_after_it(app, client, make_user, login):
    login(make_user())
    copied = cookie(client, "ep_session")
    thief = app.test_client()
    thief.set_cookie("ep_session", copied)
    assert thief.get("/account").status_code == 200

    logout(client)

    response = thief.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_remember_me_cookie_signs_in_until_sign_out_and_never_after(app, client, make_user, login):
    login(make_user(), remember=True)
    remembered = cookie(client, "ep_remember")
    returning = app.test_client()
    returning.set_cookie("ep_remember", remembered)
    assert returning.get("/account").status_code == 200

    logout(client)

    stale = app.test_client()
    stale.set_cookie("ep_remember", remembered)
    assert stale.get("/account").status_code == 302


def test_remember_me_lasts_at_most_fourteen_days(app):
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)


def test_signing_out_on_one_device_signs_out_every_device(app, make_user):
    user = make_user()
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, user.email)
    sign_in(phone, user.email)

    logout(laptop)

    assert phone.get("/account").status_code == 302


def test_deactivation_ends_the_sessions_of_the_account(app, make_user, db):
    admin = make_user(roles=(Role.ADMIN,))
    user = make_user()
    device = app.test_client()
    sign_in(device, user.email)
    assert device.get("/account").status_code == 200

    services.set_active(actor=admin, user=user, is_active=False)
    db.session.commit()

    assert device.get("/account").status_code == 302


def test_a_session_moved_to_another_browser_is_dropped(app, client, make_user, login):
    """Strong session protection: a cookie replayed with another user agent loses its session."""
    login(make_user())
    copied = cookie(client, "ep_session")
    other = app.test_client()
    other.set_cookie("ep_session", copied)

    response = other.get("/account", headers={"User-Agent": "SomethingElse/1.0"})

    assert response.status_code == 302


def test_a_tampered_session_id_is_refused(app, make_user, login, client):
    user = make_user()
    login(user)
    with client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:not-the-token"
    assert client.get("/account").status_code == 302


def test_a_sign_in_without_remember_me_ends_after_the_session_lifetime(client, make_user, login, monkeypatch):
    import time

    login(make_user())
    assert client.get("/account").status_code == 200
    started = time.time()
    monkeypatch.setattr(time, "time", lambda: started + 12 * 3600 + 60)

    assert client.get("/account").status_code == 302
