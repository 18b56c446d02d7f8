"""Signing in: one answer for every wrong credential, the same work for unknown emails, throttling."""

from __future__ import annotations

import uuid

import pytest
import redis
from argon2 import PasswordHasher

from expert_platform import create_app
from expert_platform.accounts import services
from tests.conftest import DEFAULT_PASSWORD, ServerLikeClient, database_settings, fetch_csrf_token, sign_in

WRONG = "The email address or password is not correct."


def test_a_confirmed_user_signs_in_and_lands_on_the_home_page(client, make_user, db):
    user = make_user(email="ann@example.org")

    response = sign_in(client, "ANN@example.org", DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    db.session.refresh(user)
    assert user.last_login_at is not None
    assert "Sign out" in client.get("/").get_data(as_text=True)


def test_sign_in_returns_to_a_local_next_page(client, make_user):
    user = make_user()
    login_page = client.get("/login?next=/account").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/account"' in login_page

    response = sign_in(client, user.email, next_url="/account")

    assert response.headers["Location"] == "/account"


def test_wrong_password_unknown_email_and_deactivated_account_get_the_same_answer(client, make_user, app, db):
    make_user(email="known@example.org")
    inactive = make_user(email="inactive@example.org")
    admin = make_user(email="admin@example.org", roles=("admin",))
    services.set_active(actor=admin, user=inactive, is_active=False)
    db.session.commit()

    answers = [
        sign_in(client, "known@example.org", "wrong password here"),
        sign_in(client, "unknown@example.org", "wrong password here"),
        sign_in(client, "inactive@example.org", DEFAULT_PASSWORD),
    ]

    assert {response.status_code for response in answers} == {200}
    assert all(WRONG in response.get_data(as_text=True) for response in answers)
    assert client.get("/account").status_code == 302


def test_an_unknown_email_costs_one_password_verification_like_a_known_one(client, make_user, monkeypatch):
    make_user(email="known@example.org")
    verifications: list[str] = []
    original = PasswordHasher.verify

    def counting_verify(self, password_hash, password):
        verifications.append(password)
        return original(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)

    sign_in(client, "known@example.org", "first wrong password")
    sign_in(client, "unknown@example.org", "second wrong password")

    assert verifications == ["first wrong password", "second wrong password"]


def test_the_sixth_failure_in_a_minute_is_throttled_even_with_the_right_password(client, make_user):
    user = make_user(email="target@example.org")
    for _ in range(5):
        assert sign_in(client, user.email, "not the password at all").status_code == 200

    response = sign_in(client, user.email, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Wait a minute and try again." in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_throttling_counts_unknown_emails_too_so_it_reveals_nothing(client):
    for _ in range(5):
        sign_in(client, "nobody@example.org", "not the password at all")
    assert sign_in(client, "nobody@example.org", "not the password at all").status_code == 429


def test_an_address_is_throttled_after_twenty_failures_across_accounts(client, make_user):
    user = make_user(email="fresh@example.org")
    for number in range(20):
        assert sign_in(client, f"guess{number}@example.org", "not the password at all").status_code == 200

    assert sign_in(client, user.email, DEFAULT_PASSWORD).status_code == 429


def test_a_successful_sign_in_clears_the_account_failures(client, make_user):
    user = make_user()
    for _ in range(4):
        sign_in(client, user.email, "not the password at all")
    assert sign_in(client, user.email, DEFAULT_PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": fetch_csrf_token(client, "/account")})

    for _ in range(4):
        assert sign_in(client, user.email, "not the password at all").status_code == 200
    assert sign_in(client, user.email, DEFAULT_PASSWORD).status_code == 302


def test_authentication_events_are_logged_without_passwords(client, make_user, caplog):
    user = make_user(email="logged@example.org")
    caplog.set_level("INFO", logger="expert_platform.auth")

    sign_in(client, user.email, "a wrong secret phrase")
    sign_in(client, user.email, DEFAULT_PASSWORD)

    messages = [record.getMessage() for record in caplog.records if record.name == "expert_platform.auth"]
    assert [message.split(" ")[0] for message in messages] == ["login.failure", "login.success"]
    assert f"user_id={user.id}" in messages[1]
    assert not any("a wrong secret phrase" in message or DEFAULT_PASSWORD in message for message in messages)


def test_the_throttled_attempt_is_logged(client, caplog):
    caplog.set_level("INFO", logger="expert_platform.auth")
    for _ in range(6):
        sign_in(client, "someone@example.org", "not the password at all")
    assert [r.getMessage().split(" ")[0] for r in caplog.records if r.name == "expert_platform.auth"][-1] == (
        "login.throttled"
    )


def test_a_signed_in_user_visiting_the_login_page_is_sent_on(client, make_user, login):
    login(make_user())
    response = client.get("/login?next=/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


@pytest.fixture
def redis_url():
    url = "redis://127.0.0.1:6379/15"
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()


def test_with_redis_two_workers_share_the_failure_count(shared_database, tmp_path, redis_url, make_user):
    """Two app instances stand for two gunicorn workers: failures seen by either count together."""
    user = make_user(email=f"shared-{uuid.uuid4().hex[:8]}@example.org")
    settings = {**database_settings(shared_database, tmp_path / "outbox"), "RATELIMIT_STORAGE_URI": redis_url}
    workers = []
    for _ in range(2):
        worker = create_app("testing", dict(settings))
        worker.test_client_class = ServerLikeClient
        workers.append(worker)
    first, second = (worker.test_client() for worker in workers)

    for _ in range(3):
        assert sign_in(first, user.email, "not the password at all").status_code == 200
    for _ in range(2):
        assert sign_in(second, user.email, "not the password at all").status_code == 200

    assert sign_in(first, user.email, DEFAULT_PASSWORD).status_code == 429
    assert redis.Redis.from_url(redis_url).dbsize() > 0
    for worker in workers:
        with worker.app_context():
            from expert_platform.extensions import db

            db.engine.dispose()
