"""Helpers shared by every blueprint's views."""

from __future__ import annotations

from flask import flash, request
from flask_wtf import FlaskForm

from .errors import DomainError, ValidationFailed


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Show a service's refusal on the form: under its field when it names one, else at the top."""
    field = getattr(error, "field", None) if isinstance(error, ValidationFailed) else None
    if field and field in form._fields:
        form._fields[field].errors = [*form._fields[field].errors, error.message]
    else:
        form.form_errors.append(error.message)


def client_address() -> str:
    """The client's address (after ProxyFix when TRUSTED_PROXY_COUNT is set)."""
    return request.remote_addr or "unknown"


def flash_success(message: str) -> None:
    flash(message, "success")


def flash_error(message: str) -> None:
    flash(message, "error")
