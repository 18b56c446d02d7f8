"""Single-use tokens sent by email (email confirmation, password reset).

The raw token goes only into the email; the database keeps its SHA-256 digest, so a copy of the
database cannot be used to take over accounts. Consuming a token is one conditional UPDATE, so two
requests racing with the same token cannot both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..database import utcnow
from ..enums import AccountTokenPurpose
from ..extensions import db
from .models import AccountToken, User

#: Longest token string accepted from a URL; ours are 43 characters.
TOKEN_MAX_LENGTH = 128


def digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def issue(user: User, purpose: AccountTokenPurpose, lifetime: timedelta) -> str:
    """Store a new token for ``user`` and return the raw value to put in a link."""
    raw = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user=user,
            purpose=purpose,
            token_digest=digest(raw),
            expires_at=utcnow() + lifetime,
        )
    )
    db.session.flush()
    return raw


def find_valid(raw_token: str, purpose: AccountTokenPurpose) -> AccountToken | None:
    """The unused, unexpired token with this value and purpose, or None (without consuming it)."""
    if not raw_token or len(raw_token) > TOKEN_MAX_LENGTH:
        return None
    return db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_digest == digest(raw_token),
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
    )


def consume(raw_token: str, purpose: AccountTokenPurpose) -> User | None:
    """Mark the token used and return its user, or None when it is unknown, used or expired."""
    token = find_valid(raw_token, purpose)
    if token is None:
        return None
    result = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None  # another request used it a moment ago
    db.session.refresh(token)
    return token.user


def revoke_all(user: User, purpose: AccountTokenPurpose) -> None:
    """End every unused token of ``purpose`` for ``user`` (a password change ends reset links)."""
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
