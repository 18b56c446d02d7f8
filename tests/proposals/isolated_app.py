"""An app on an empty database of its own, for data a whole test module shares.

The ``app`` fixture empties the shared database after every test; a module whose tests all read one
expensive set-up (the workflow table's proposal in each state, the stored-XSS pages) builds it once
here instead, where no other test's clean-up can reach it. Tests roll back what they change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask

from expert_platform import create_app
from expert_platform.extensions import db
from tests.conftest import database_settings, serving


@contextmanager
def app_of_its_own(test_database, folder) -> Iterator[Flask]:
    """Push the context of a new app whose tables live in a new database (SQLite) or schema (PostgreSQL)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSTANCE_PATH", str(folder / "instance"))
        patch.delenv("EXPERT_PLATFORM_ENV", raising=False)
        patch.delenv("SECRET_KEY", raising=False)
        application = create_app("testing", database_settings(test_database.new_empty(), folder / "outbox"))
        with serving(application):
            db.create_all()
            yield application


@contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever the block does to the database is undone at its end, also when it fails."""
    db.session.rollback()
    try:
        yield
    finally:
        db.session.rollback()
