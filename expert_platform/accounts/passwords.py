"""Password policy and hashing (argon2id).

Policy: at least ``PASSWORD_MIN_LENGTH`` characters, not a common password (also not one with
digits or symbols appended), not one repeated character, and not containing the account's email name.
"""

from __future__ import annotations

import re
import secrets
from functools import cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

#: Longest password accepted: argon2 hashes any length, but a megabyte password is a denial of service.
PASSWORD_MAX_LENGTH = 256
_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\d\W_]+$")


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("expert_platform").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def password_problems(password: str, *, email: str = "", display_name: str = "") -> list[str]:
    """Every reason ``password`` is refused, as messages for the form (empty when it is acceptable)."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    problems: list[str] = []
    if len(password) < minimum:
        problems.append(_("Use at least %(count)d characters.", count=minimum))
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(_("Use at most %(count)d characters.", count=PASSWORD_MAX_LENGTH))
    lowered = password.lower()
    stem = _TRAILING_DIGITS_AND_SYMBOLS.sub("", lowered)
    if lowered in common_passwords() or (len(stem) >= 4 and stem in common_passwords()):
        problems.append(_("This password is one of the most common passwords. Choose another."))
    elif len(set(password)) <= 2 and password:
        problems.append(_("This password repeats the same characters. Choose another."))
    email_name = email.split("@", 1)[0].lower()
    if len(email_name) >= 4 and email_name in lowered:
        problems.append(_("The password must not contain your email address."))
    name = re.sub(r"\s+", "", display_name.lower())
    if len(name) >= 4 and name in re.sub(r"\s+", "", lowered):
        problems.append(_("The password must not contain your name."))
    return problems


def _hasher() -> PasswordHasher:
    hasher = current_app.extensions.get("password_hasher")
    if hasher is None:
        config = current_app.config
        hasher = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_COST_KIB"],
            parallelism=config["ARGON2_PARALLELISM"],
            type=Type.ID,
        )
        current_app.extensions["password_hasher"] = hasher
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong password or a damaged hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def spend_equal_time(password: str) -> None:
    """Verify against a throw-away hash, so an unknown email costs what a known one does."""
    dummy = current_app.extensions.get("dummy_password_hash")
    if dummy is None:
        dummy = hash_password(secrets.token_urlsafe(16))
        current_app.extensions["dummy_password_hash"] = dummy
    verify_password(dummy, password)
