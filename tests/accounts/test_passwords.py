"""The password policy and argon2id hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from config import get_config
from expert_platform.accounts import passwords

SHORT = "Use at least 12 characters."
COMMON = "This password is one of the most common passwords. Choose another."
REPEATED = "This password repeats the same characters. Choose another."
HAS_EMAIL = "The password must not contain your email address."
HAS_NAME = "The password must not contain your name."


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("violet kettle harbour", []),
        ("short", [SHORT]),
        ("qazwsxedcrfv", [COMMON]),
        ("1qaz2wsx3edc", [COMMON]),
        ("Password123456!", [COMMON]),  # a common password with digits and a symbol appended
        ("Sunshine2026!!", [COMMON]),
        ("aaaaaaaaaaaaaaaa", [REPEATED]),
        ("ababababababab", [REPEATED]),
        ("annlee-violet-kettle", [HAS_EMAIL]),
        ("Olga Petrova rules 77", [HAS_NAME]),
        ("x" * 257, [REPEATED, "Use at most 256 characters."]),
    ],
)
def test_the_password_policy(app, password, problems):
    found = passwords.password_problems(password, email="annlee@example.org", display_name="Olga Petrova")
    assert sorted(found) == sorted(problems)


def test_the_shipped_common_password_list_is_complete(app):
    listed = passwords.common_passwords()
    assert len(listed) == 30000
    assert {"password", "123456", "qwerty", "1qaz2wsx3edc"} <= listed


def test_passwords_are_hashed_with_argon2id_and_verified(app):
    hashed = passwords.hash_password("violet kettle harbour")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "violet kettle harbour") is True
    assert passwords.verify_password(hashed, "violet kettle harbor") is False
    assert passwords.verify_password("not a hash", "anything") is False


def test_production_hashing_parameters_are_above_the_owasp_floor(monkeypatch):
    """OWASP ASVS 5.0 / cheat sheet floor for argon2id: 19 MiB memory, 2 passes, 1 lane."""
    settings = get_config("production")
    assert settings.ARGON2_MEMORY_COST_KIB >= 19 * 1024
    assert settings.ARGON2_TIME_COST >= 2
    assert settings.ARGON2_PARALLELISM >= 1
    hasher = PasswordHasher(
        time_cost=settings.ARGON2_TIME_COST,
        memory_cost=settings.ARGON2_MEMORY_COST_KIB,
        parallelism=settings.ARGON2_PARALLELISM,
    )
    assert hasher.hash("x" * 12).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_sign_in(app, make_user, client, db):
    user = make_user(email="old@example.org")
    weak = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("correct horse battery staple")
    user.password_hash = weak  # an account created before the parameters were raised
    db.session.commit()
    from tests.conftest import sign_in

    assert sign_in(client, "old@example.org").status_code == 302
    db.session.refresh(user)
    assert user.password_hash != weak
    assert user.password_hash.startswith("$argon2id$v=19$m=256,t=1,p=1$")
