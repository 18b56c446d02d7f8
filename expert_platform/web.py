"""Helpers shared by every blueprint's views."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, request
from flask_wtf import FlaskForm

from .errors import DomainError, ValidationFailed
from .extensions import db


@dataclass(frozen=True)
class Page:
    """Where a listing stands, in the shape the ``pagination`` macro reads."""

    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


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


#: The largest integer key a database can hold (64 bits), as ``<int:>`` routes also accept.
MAX_DATABASE_ID = 2**63 - 1


def get_child_or_404(model, object_id: int, **parent):
    """The ``model`` row with this id that belongs to ``parent`` (for example ``proposal_id=3``).

    A missing row and a row of another parent both answer 404: ids of other think tanks' or
    proposals' rows must not reveal that they exist.
    """
    # An id read from a form can be any size; the database could not even bind some (a 500).
    found = db.session.get(model, object_id) if 0 < object_id <= MAX_DATABASE_ID else None
    if found is None or any(getattr(found, column) != value for column, value in parent.items()):
        abort(404)
    return found
