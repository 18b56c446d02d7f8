"""Users, their roles, and single-use emailed tokens."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from flask_login import AnonymousUserMixin, UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, enum_column, utcnow
from ..enums import AccountTokenPurpose, Role
from ..extensions import db

EMAIL_MAX_LENGTH = 254
DISPLAY_NAME_MAX_LENGTH = 120


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    """A person with an account. The email is stored normalised (lower case) and is unique.

    ``session_token`` is part of the id kept in session and remember-me cookies: replacing it ends
    every session of the user at once (logout, password change, deactivation).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The interface language the user chose ("en", "ru"); None follows the browser. Emails use it.
    locale: Mapped[str | None] = mapped_column(String(2))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    role_grants: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @classmethod
    def load_for_session(cls, session_id: str) -> User | None:
        """The active user whose session id (``"<id>:<session token>"``) matches, else None."""
        user_id, _, token = (session_id or "").partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(cls, int(user_id))
        if user is None or not user.is_active or not hmac.compare_digest(user.session_token, token):
            return None
        return user

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(grant.role for grant in self.role_grants)

    def has_role(self, *roles: Role) -> bool:
        """True when the user holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def is_email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class UserRole(db.Model):
    """One role held by one user (a user may hold several, each once)."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="role_grants")


class AccountToken(db.Model):
    """A single-use token sent by email; only its SHA-256 digest is stored.

    A token is valid while ``used_at`` is empty and ``expires_at`` is in the future.
    """

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_id_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[AccountTokenPurpose] = mapped_column(enum_column(AccountTokenPurpose))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class AnonymousUser(AnonymousUserMixin):
    """The signed-out visitor: an object with no roles, so permission predicates need no special case."""

    roles: frozenset[Role] = frozenset()
    id = None
    display_name = ""
    is_email_confirmed = False

    def has_role(self, *roles: Role) -> bool:
        return False

