"""Helpers shared by every blueprint's views: the one way a view acts (``act``, for a POST, whose commit is
``transactions.commit``; ``write_while_reading``, for a GET that must write, committed after the view), the
acting user (``actor``), and the parts a package adds to another package's page (``add_page_part``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from flask import abort, flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from . import transactions
from .database import mark_request_as_writing
from .errors import DomainError, ValidationFailed
from .extensions import db
from .forms import ActionForm

T = TypeVar("T")


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


def actor():
    """The signed-in user itself (not Flask-Login's proxy), as services take it for ``actor``."""
    return current_user._get_current_object()


# --- Acting: one service call, one commit ----------------------------------------------------------


def act(
    change: Callable[[], T],
    *,
    then: str | Callable[[T | None], str | ResponseReturnValue],
    done: str | Callable[[T], str] | None = None,
    form: FlaskForm | None = None,
    flashed: tuple[type[DomainError], ...] = (),
    refusals: Mapping[type[DomainError], Callable[[DomainError], ResponseReturnValue]] | None = None,
    undo: Callable[[T], object] | None = None,
) -> ResponseReturnValue | None:
    """Run ``change()`` (one service call) and end the request's changes with its one commit: the way
    every view acts (ARCHITECTURE.md section 2, steps 3 and 4).

    When it succeeds: commit, flash ``done`` (a message, or a function of what ``change`` returned) and
    answer ``then``: a URL to redirect to, or a function of that result giving a URL or a whole response,
    called after the commit (so it sees the change: where a viewer may still go, a new row's id). When the
    commit fails, ``undo(result)`` undoes what the change did outside the database (a file written) and
    the error goes on.

    When it raises a DomainError: roll back, then answer the refusal, the first that applies of
      1. ``refusals``: a function answering errors of a class (and its subclasses) with a page of its own;
      2. with a ``form`` and an error not among ``flashed``: the error is shown on the form (``show_error``)
         and None returned, so that the view shows the form again as posted, with what was typed;
      3. otherwise (a button has no form; ``flashed`` lists refusals that say the object moved on meanwhile,
         such as InvalidTransition): flash the error and answer ``then`` (a function of it gets None).
    """
    try:
        result = change()
    except DomainError as error:
        db.session.rollback()
        for refused, answer in (refusals or {}).items():
            if isinstance(error, refused):
                return answer(error)
        if form is not None and not isinstance(error, flashed):
            show_error(form, error)
            return None
        flash_error(error.message)
        return _answer(then, None)
    transactions.commit(result, undo)
    if done is not None:
        flash_success(done(result) if callable(done) else done)
    return _answer(then, result)


def check_button(form: FlaskForm | None = None) -> FlaskForm:
    """The posted form of a button (an ``ActionForm`` unless another is given), or 400 when it does not
    validate: a button has no page of its own to show errors on. CSRFProtect checked its token already."""
    form = ActionForm() if form is None else form
    if not form.validate_on_submit():
        abort(400)
    return form


def _answer(then, result) -> ResponseReturnValue:
    target = then(result) if callable(then) else then
    return redirect(target) if isinstance(target, str) else target


def write_while_reading(change: Callable[[], T]) -> T:
    """Run ``change()`` (one service call) in a GET view that must write (ARCHITECTURE.md section 2: settling a
    round whose deadline passed when a page shows it). It is committed by the request's one commit, after the
    view, with the page (``transactions``): the view commits nothing.

    The request is marked as writing (``database.mark_request_as_writing``) and the read transaction it is
    in ends first: it wrote nothing, so it is rolled back. The change then runs in a transaction of its own
    that may write, in which the page is then read: BEGIN IMMEDIATE on SQLite, which waits for any other
    writer; on PostgreSQL the service takes its row lock. Call it before loading anything else to show; a
    DomainError is not caught.
    """
    mark_request_as_writing()
    db.session.rollback()
    return change()


# --- Parts of a page that another package adds -----------------------------------------------------

#: {page: {name: build(**arguments)}}: what packages built on a page's package add to that page.
_PAGE_PARTS: dict[str, dict[str, Callable[..., object]]] = {}
#: {page: [hook(**arguments)]}: what they do before that page loads what it shows.
_BEFORE_PAGE: dict[str, list[Callable[..., object]]] = {}


def add_page_part(page: str, name: str, build: Callable[..., object]) -> None:
    """Let a package add ``name`` to the template context of a page of a package below it, built by
    ``build(**arguments)`` with the arguments the view gives ``page_parts``. ``page`` names the page by
    its view's endpoint (``proposals.show``), whichever view renders it. So dependencies point one way
    (ARCHITECTURE.md section 7.16): the page's package never imports the package that adds the part.
    Packages register when imported (the app factory imports every blueprint before the first request);
    registering a name again replaces its part."""
    _PAGE_PARTS.setdefault(page, {})[name] = build


def page_parts(page: str, **arguments) -> dict[str, object]:
    """The parts other packages add to ``page``, by name, built now for ``arguments``."""
    return {name: build(**arguments) for name, build in _PAGE_PARTS.get(page, {}).items()}


def before_page(page: str, hook: Callable[..., object]) -> None:
    """Let a package run ``hook(**arguments)`` when ``page`` is about to load what it shows (settling a
    round whose deadline passed), as ``add_page_part`` lets it add a part. Registering again adds nothing."""
    hooks = _BEFORE_PAGE.setdefault(page, [])
    if hook not in hooks:
        hooks.append(hook)


def run_before_page(page: str, **arguments) -> None:
    """Run the hooks other packages registered for ``page``, in the order they registered."""
    for hook in _BEFORE_PAGE.get(page, ()):
        hook(**arguments)
