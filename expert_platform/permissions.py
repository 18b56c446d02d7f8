"""Every permission rule of the platform, one predicate each, used by views, services and templates.

Predicates take the acting user first (the anonymous visitor is an object with no roles) and
return a bool; they never query more than the objects they are given.
"""

from __future__ import annotations

from flask import Flask, abort

from .enums import Role


def is_signed_in(user) -> bool:
    """A signed-in user (anonymous visitors are not)."""
    return bool(getattr(user, "is_authenticated", False))


def can_manage_users(user) -> bool:
    """The secretariat manages accounts, roles and deactivation."""
    return is_signed_in(user) and user.has_role(Role.ADMIN)


def can_edit_own_account(user) -> bool:
    """Every signed-in user edits their own profile and password."""
    return is_signed_in(user)


def require(allowed: bool) -> None:
    """Abort with 403 unless ``allowed``: call it after loading the object (404 when invisible)."""
    if not allowed:
        abort(403)


PREDICATES = {
    "is_signed_in": is_signed_in,
    "can_manage_users": can_manage_users,
    "can_edit_own_account": can_edit_own_account,
}


def register_template_globals(app: Flask) -> None:
    """Expose the predicates to Jinja, so templates show only what the user may do."""
    app.jinja_env.globals.update(PREDICATES)
