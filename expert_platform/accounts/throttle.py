"""Login throttling: at most N failures a minute per account and M per client address.

Counters live in the rate-limit storage (``RATELIMIT_STORAGE_URI``): memory for one process,
Redis when several workers serve. The account key is the normalised email, whether or not an
account exists, so throttling reveals nothing about which emails are registered.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class LoginThrottle:
    def __init__(self, storage_uri: str, per_account: int, per_address: int) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._per_account = RateLimitItemPerMinute(per_account)
        self._per_address = RateLimitItemPerMinute(per_address)

    @staticmethod
    def _account_key(email: str) -> str:
        # A digest, so the rate-limit store never holds email addresses.
        return hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]

    def is_blocked(self, email: str, address: str) -> bool:
        return not (
            self._limiter.test(self._per_account, "login-account", self._account_key(email))
            and self._limiter.test(self._per_address, "login-address", address)
        )

    def record_failure(self, email: str, address: str) -> None:
        self._limiter.hit(self._per_account, "login-account", self._account_key(email))
        self._limiter.hit(self._per_address, "login-address", address)

    def reset_account(self, email: str) -> None:
        """Forget an account's failures after a successful sign-in."""
        self._limiter.clear(self._per_account, "login-account", self._account_key(email))


def init_throttle(app: Flask) -> None:
    app.extensions["login_throttle"] = LoginThrottle(
        app.config["RATELIMIT_STORAGE_URI"],
        app.config["LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE"],
        app.config["LOGIN_FAILURES_PER_IP_PER_MINUTE"],
    )


def login_throttle() -> LoginThrottle:
    return current_app.extensions["login_throttle"]
