"""Account services: plain functions with keyword-only arguments that flush and never commit.

Paths that a stranger can reach (sign-up, sign-in, password reset) answer the same and do the same
work whether or not the email belongs to an account, so they cannot be used to list members.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import mail, permissions
from ..database import utcnow
from ..enums import AccountTokenPurpose, Role
from ..errors import DomainError, NotAllowed, ValidationFailed
from ..extensions import db
from ..i18n import current_language, in_language_of, is_working_language
from . import passwords, tokens
from .models import User, UserRole, new_session_token
from .throttle import login_throttle

auth_log = logging.getLogger("expert_platform.auth")


class LoginThrottled(DomainError):
    """Too many failed sign-ins for this account or address in the last minute."""


class EmailNotConfirmed(DomainError):
    """The password was right but the account's email address is not confirmed yet."""


def normalize_email(raw: str) -> str:
    """The stored form of an email address: trimmed and lower case (addresses are case-insensitive here)."""
    return (raw or "").strip().lower()


def checked_email(raw: str) -> str:
    """Normalise and validate an address's syntax (no DNS look-up: the platform may run offline)."""
    try:
        result = validate_email(normalize_email(raw), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationFailed("email", _("Enter a valid email address.")) from error
    return result.normalized.lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def _require_acceptable_password(password: str, *, email: str, display_name: str, field: str = "password") -> None:
    problems = passwords.password_problems(password, email=email, display_name=display_name)
    if problems:
        raise ValidationFailed(field, " ".join(problems))


def _clean_display_name(display_name: str) -> str:
    cleaned = " ".join((display_name or "").split())
    if not cleaned:
        raise ValidationFailed("display_name", _("Enter your name."))
    return cleaned


def create_user(
    *,
    email: str,
    display_name: str,
    password: str,
    roles: set[Role] | frozenset[Role] = frozenset({Role.RESEARCHER}),
    is_email_confirmed: bool = False,
) -> User:
    """Create an account. Raises ValidationFailed for a bad address, name or password, or a taken email."""
    address = checked_email(email)
    name = _clean_display_name(display_name)
    _require_acceptable_password(password, email=address, display_name=name)
    if find_user_by_email(address) is not None:
        raise ValidationFailed("email", _("An account with this email address already exists."))
    now = utcnow()
    user = User(
        email=address,
        display_name=name,
        password_hash=passwords.hash_password(password),
        email_confirmed_at=now if is_email_confirmed else None,
        created_at=now,
        password_changed_at=now,
    )
    user.role_grants = [UserRole(role=role) for role in sorted(roles)]
    db.session.add(user)
    db.session.flush()
    return user


def _confirmation_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["EMAIL_CONFIRMATION_HOURS"])


def _send_confirmation(user: User) -> None:
    token = tokens.issue(user, AccountTokenPurpose.CONFIRM_EMAIL, _confirmation_lifetime())
    with in_language_of(user):
        mail.queue(
            to=user.email,
            subject=_("Confirm your email address"),
            template="confirm_email",
            user=user,
            token=token,
            hours=current_app.config["EMAIL_CONFIRMATION_HOURS"],
        )


def sign_up(*, email: str, display_name: str, password: str) -> None:
    """Public sign-up: creates an unconfirmed researcher account and emails a confirmation link.

    When the address is taken, the owner is told by email instead and the page answers the same,
    after the same password hashing, so sign-up reveals nothing about who has an account.
    """
    address = checked_email(email)
    name = _clean_display_name(display_name)
    _require_acceptable_password(password, email=address, display_name=name)
    existing = find_user_by_email(address)
    if existing is not None:
        passwords.hash_password(password)  # equal work: a new account would hash it too
        with in_language_of(existing):
            mail.queue(to=existing.email, subject=_("Someone tried to sign up with your address"),
                       template="signup_existing", user=existing)
        auth_log.info("signup.existing_email user_id=%s", existing.id)
        return
    user = create_user(email=address, display_name=name, password=password)
    # Whoever signs up on a Russian page gets Russian pages and emails until they choose otherwise.
    user.locale = current_language()
    _send_confirmation(user)
    auth_log.info("signup.created user_id=%s", user.id)


def confirm_email(*, token: str) -> User:
    """Confirm the address behind a confirmation token. Raises ValidationFailed if it is unknown or used."""
    user = tokens.consume(token, AccountTokenPurpose.CONFIRM_EMAIL)
    if user is None:
        raise ValidationFailed(None, _("This confirmation link is invalid, used or expired. Ask for a new one."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    db.session.flush()
    auth_log.info("email.confirmed user_id=%s", user.id)
    return user


def resend_confirmation(*, email: str) -> None:
    """Send a new confirmation link to an unconfirmed account; answers the same for any address."""
    user = find_user_by_email(email)
    if user is not None and user.is_active and not user.is_email_confirmed:
        _send_confirmation(user)
    else:
        mail.render_only(template="confirm_email", user=user, token="x", hours=0)


def authenticate(*, email: str, password: str, client_address: str) -> User:
    """Check credentials, with throttling, and record the sign-in.

    Raises LoginThrottled (before any password check) when the account or address has failed too
    often in the last minute; ValidationFailed with one message for every kind of wrong credential;
    EmailNotConfirmed when the password is right but the address is unconfirmed.
    """
    address = normalize_email(email)
    throttle = login_throttle()
    if throttle.is_blocked(address, client_address):
        auth_log.warning("login.throttled address=%s", client_address)
        raise LoginThrottled(_("Too many failed sign-in attempts. Wait a minute and try again."))
    user = find_user_by_email(address)
    if user is None:
        passwords.spend_equal_time(password)
        valid = False
    else:
        valid = passwords.verify_password(user.password_hash, password)
    if not valid or user is None or not user.is_active:
        throttle.record_failure(address, client_address)
        auth_log.warning(
            "login.failure user_id=%s address=%s reason=%s",
            user.id if user else None,
            client_address,
            "inactive" if valid and user is not None else "credentials",
        )
        raise ValidationFailed(None, _("The email address or password is not correct."))
    if not user.is_email_confirmed:
        auth_log.info("login.unconfirmed user_id=%s", user.id)
        raise EmailNotConfirmed(_("Confirm your email address first: follow the link we sent you."))
    throttle.reset_account(address)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    db.session.flush()
    auth_log.info("login.success user_id=%s address=%s", user.id, client_address)
    return user


def end_all_sessions(*, user: User) -> None:
    """Invalidate every session and remember-me cookie of ``user`` (they carry the old token)."""
    user.session_token = new_session_token()
    db.session.flush()


def sign_out(*, user: User) -> None:
    """Signing out ends every session of the user, also copies of the cookie on other devices."""
    end_all_sessions(user=user)
    auth_log.info("logout user_id=%s", user.id)


def _set_password(user: User, new_password: str) -> None:
    _require_acceptable_password(
        new_password, email=user.email, display_name=user.display_name, field="new_password"
    )
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    tokens.revoke_all(user, AccountTokenPurpose.RESET_PASSWORD)
    end_all_sessions(user=user)
    with in_language_of(user):
        mail.queue(to=user.email, subject=_("Your password was changed"), template="password_changed", user=user)


def request_password_reset(*, email: str) -> None:
    """Email a reset link to an active account; for any other address do the same work, send nothing."""
    user = find_user_by_email(email)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    if user is not None and user.is_active:
        token = tokens.issue(user, AccountTokenPurpose.RESET_PASSWORD, timedelta(minutes=minutes))
        with in_language_of(user):
            mail.queue(to=user.email, subject=_("Reset your password"), template="reset_password",
                       user=user, token=token, minutes=minutes)
        auth_log.info("reset.requested user_id=%s", user.id)
    else:
        mail.render_only(template="reset_password", user=None, token="x", minutes=minutes)
        auth_log.info("reset.requested user_id=None")


def reset_token_is_valid(token: str) -> bool:
    return tokens.find_valid(token, AccountTokenPurpose.RESET_PASSWORD) is not None


def reset_password(*, token: str, new_password: str) -> User:
    """Set a new password with a reset token; the token, other reset links and all sessions die.

    Raises ValidationFailed when the token is unknown, used or expired, or the password is refused
    (then the token stays usable, so the person can try another password).
    """
    found = tokens.find_valid(token, AccountTokenPurpose.RESET_PASSWORD)
    if found is None or not found.user.is_active:
        raise ValidationFailed(None, _("This reset link is invalid, used or expired. Ask for a new one."))
    user = found.user
    _require_acceptable_password(new_password, email=user.email, display_name=user.display_name,
                                 field="new_password")
    if tokens.consume(token, AccountTokenPurpose.RESET_PASSWORD) is None:
        raise ValidationFailed(None, _("This reset link is invalid, used or expired. Ask for a new one."))
    _set_password(user, new_password)
    # Following the emailed link proves the address, as a confirmation link would.
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    db.session.flush()
    auth_log.info("reset.completed user_id=%s", user.id)
    return user


def change_password(*, actor: User, current_password: str, new_password: str) -> None:
    """Change the actor's own password; every other session of the actor ends."""
    if not passwords.verify_password(actor.password_hash, current_password):
        raise ValidationFailed("current_password", _("Your current password is not correct."))
    if current_password == new_password:
        raise ValidationFailed("new_password", _("Choose a password different from the current one."))
    _set_password(actor, new_password)
    db.session.flush()
    auth_log.info("password.changed user_id=%s", actor.id)


def update_profile(*, actor: User, display_name: str, locale: str | None = None) -> None:
    actor.display_name = _clean_display_name(display_name)
    set_locale(user=actor, locale=locale)


def set_locale(*, user: User, locale: str | None) -> None:
    """Save the interface language ``user`` chose; None or "" follows the browser again."""
    if locale and not is_working_language(locale):
        raise ValidationFailed("locale", _("Choose one of the working languages."))
    user.locale = locale or None
    db.session.flush()


def grant_role(*, user: User, role: Role) -> None:
    """Give ``user`` the role unless they hold it. The caller's service decided it is due (joining a
    think tank, a council seat); it is not a permission of its own."""
    if role not in user.roles:
        user.role_grants = [*user.role_grants, UserRole(role=role)]


def revoke_role(*, user: User, role: Role) -> None:
    """Take the role from ``user`` (nothing happens when they do not hold it)."""
    user.role_grants = [grant for grant in user.role_grants if grant.role != role]


def set_roles(*, actor: User, user: User, roles: set[Role]) -> None:
    """Replace the roles of ``user``. Raises NotAllowed unless the actor may manage users, and
    ValidationFailed when it would remove the secretariat role from the last active secretariat member."""
    if not permissions.can_manage_users(actor):
        raise NotAllowed(_("Only the secretariat can change roles."))
    if Role.ADMIN in user.roles and Role.ADMIN not in roles and _active_admin_count() <= 1:
        raise ValidationFailed("roles", _("The platform needs at least one active secretariat account."))
    kept = [grant for grant in user.role_grants if grant.role in roles]
    added = [UserRole(role=role) for role in sorted(roles - user.roles)]
    user.role_grants = kept + added
    db.session.flush()
    auth_log.info("roles.changed user_id=%s by=%s roles=%s", user.id, actor.id, ",".join(sorted(roles)))


def set_active(*, actor: User, user: User, is_active: bool) -> None:
    """Activate or deactivate an account; deactivation ends all its sessions at once.

    Raises NotAllowed unless the actor may manage users, and ValidationFailed for the actor's own
    account (nobody locks themselves out by mistake).
    """
    if not permissions.can_manage_users(actor):
        raise NotAllowed(_("Only the secretariat can deactivate accounts."))
    if user.id == actor.id and not is_active:
        raise ValidationFailed("is_active", _("You cannot deactivate your own account."))
    if user.is_active == is_active:
        return
    user.is_active = is_active
    if not is_active:
        end_all_sessions(user=user)
    db.session.flush()
    auth_log.info("account.%s user_id=%s by=%s", "activated" if is_active else "deactivated", user.id, actor.id)


def _active_admin_count() -> int:
    return db.session.scalar(
        select(func.count(User.id.distinct()))
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.is_active.is_(True))
    ) or 0
