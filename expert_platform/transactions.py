"""The request's one commit (ARCHITECTURE.md section 2): the only ``db.session.commit()`` a request runs.

- A view that acts (a POST) commits through ``web.act``, which calls ``commit`` once its service call is done,
  before it answers (a refused commit must not be answered as a success).
- A GET that must write (settling a consensus round whose deadline passed when a page shows it) marks the
  request as writing (``web.write_while_reading``) and does not commit: the request's one commit runs after
  the view, here, when the page was answered without an error. No GET view commits, nor anything it calls.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g, request

from .database import SAFE_METHODS
from .extensions import db


def commit(result=None, undo: Callable[[object], object] | None = None) -> None:
    """Commit the request's changes; when that fails, roll back, let ``undo(result)`` undo what was done
    outside the database (a file written), and raise."""
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        if undo is not None:
            undo(result)
        raise


def _commit_what_a_read_wrote(response):
    """After a GET marked as writing: its changes are committed with the page, or dropped with an error page."""
    if request.method in SAFE_METHODS and g.get("database_writes") and not g.get("database_committed"):
        if response.status_code < 400:
            commit()
        else:
            db.session.rollback()
    return response


def init_transactions(app: Flask) -> None:
    app.after_request(_commit_what_a_read_wrote)
