"""The database engine: SQLite pragmas, transactions that may write, concurrent writers, UTC datetimes.

Every test runs on SQLite and on PostgreSQL; where the backends differ, each asserts its own facts.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from expert_platform.accounts import services as account_services
from expert_platform.accounts.models import User, UserRole
from expert_platform.database import mark_request_as_writing, utcnow
from expert_platform.enums import Role
from expert_platform.extensions import db as _db
from tests.conftest import DEFAULT_PASSWORD, fetch_csrf_token

WRITERS = 2
TRANSACTIONS_PER_WRITER = 20


def is_sqlite(db) -> bool:
    return db.engine.dialect.name == "sqlite"


@contextmanager
def statements_sent(engine):
    """Collect every SQL statement the engine sends to the database inside the block."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def begins(statements: list[str]) -> list[str]:
    return [statement for statement in statements if statement.upper().startswith("BEGIN")]


def register_reading_routes(app) -> None:
    """Two GET pages that read the users table, one of them marked as writing (before the first request)."""

    def count_users() -> str:
        return str(_db.session.scalar(select(func.count(User.id))))

    def count_users_marked_as_writing() -> str:
        mark_request_as_writing()
        return count_users()

    app.add_url_rule("/test-read", "test_read", count_users)
    app.add_url_rule("/test-read-marked-as-writing", "test_read_marked_as_writing", count_users_marked_as_writing)


# --- Connection settings -----------------------------------------------------------------------


def test_connections_let_writers_wait_for_each_other(db):
    if is_sqlite(db):
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 15000
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    else:
        assert db.engine.dialect.name == "postgresql"
        # PostgreSQL queues writers on row locks by itself; no timeout may cut that wait short.
        assert db.session.execute(text("SHOW lock_timeout")).scalar() == "0"
        assert db.session.execute(text("SHOW default_transaction_isolation")).scalar() == "read committed"


def test_a_role_for_a_user_that_does_not_exist_is_refused_by_the_foreign_key(db):
    with pytest.raises(IntegrityError) as refused:
        db.session.execute(insert(UserRole).values(user_id=999_999, role=Role.RESEARCHER, granted_at=utcnow()))
    db.session.rollback()

    assert "foreign key" in str(refused.value.orig).lower()
    assert db.session.scalar(select(func.count(UserRole.id))) == 0


# --- BEGIN IMMEDIATE ---------------------------------------------------------------------------


def test_a_post_request_starts_its_transactions_with_begin_immediate(db, client, make_user):
    user = make_user()
    token = fetch_csrf_token(client)

    with statements_sent(db.engine) as statements:
        response = client.post("/login", data={"csrf_token": token, "email": user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert statements != []
    if is_sqlite(db):
        # Until its commit; what it reads after (the page to redirect to) waits for no lock.
        first_write = next(index for index, statement in enumerate(statements)
                           if statement.startswith(("INSERT", "UPDATE", "DELETE")))
        assert set(begins(statements[:first_write])) == {"BEGIN IMMEDIATE"}
        assert set(begins(statements[first_write:])) <= {"BEGIN"}
    else:
        assert begins(statements) == []


def test_a_get_request_starts_its_transaction_with_a_plain_begin(app, db, client):
    register_reading_routes(app)

    with statements_sent(db.engine) as statements:
        response = client.get("/test-read")

    assert response.get_data(as_text=True) == "0"
    assert statements != []
    if is_sqlite(db):
        assert begins(statements) == ["BEGIN"]
    else:
        assert begins(statements) == []


def test_a_get_request_marked_as_writing_starts_its_transaction_with_begin_immediate(app, db, client):
    register_reading_routes(app)

    with statements_sent(db.engine) as statements:
        response = client.get("/test-read-marked-as-writing")

    assert response.get_data(as_text=True) == "0"
    assert statements != []
    if is_sqlite(db):
        assert begins(statements) == ["BEGIN IMMEDIATE"]
    else:
        assert begins(statements) == []


def test_what_a_request_reads_after_its_commit_starts_with_a_plain_begin(app, db, client):
    """The commit ends the request's writing: reading afterwards (where to redirect, who may still see what)
    does not wait for the write lock. A GET that ends its read transaction before writing still writes."""

    def write_then_read() -> str:
        _db.session.scalar(select(func.count(User.id)))
        mark_request_as_writing()
        _db.session.rollback()  # the read transaction ends, the writing one begins (write_while_reading)
        _db.session.execute(insert(UserRole).values(user_id=user_id, role=Role.EXPERT))
        _db.session.commit()
        return str(_db.session.scalar(select(func.count(UserRole.id)).where(UserRole.user_id == user_id)))

    def read_commit_then_write() -> str:
        mark_request_as_writing()
        _db.session.scalar(select(func.count(User.id)))
        _db.session.commit()  # a transaction that could write: after it the request only reads
        return str(_db.session.scalar(select(func.count(User.id))))

    app.add_url_rule("/test-write-then-read", "test_write_then_read", write_then_read)
    app.add_url_rule("/test-read-commit", "test_read_commit", read_commit_then_write)
    user_id = account_services.create_user(email="someone@example.org", display_name="Someone",
                                           password=DEFAULT_PASSWORD, roles=set()).id
    _db.session.commit()

    with statements_sent(db.engine) as statements:
        response = client.get("/test-write-then-read")
    assert response.get_data(as_text=True) == "1"
    if is_sqlite(db):
        assert begins(statements) == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN"]
    else:
        assert begins(statements) == []

    with statements_sent(db.engine) as statements:
        response = client.get("/test-read-commit")
    assert response.get_data(as_text=True) == "1"
    if is_sqlite(db):
        assert begins(statements) == ["BEGIN IMMEDIATE", "BEGIN"]


def test_work_outside_a_request_starts_its_transaction_with_begin_immediate(db):
    db.session.remove()

    with statements_sent(db.engine) as statements:
        db.session.scalar(select(func.count(User.id)))
        db.session.commit()

    if is_sqlite(db):
        assert begins(statements) == ["BEGIN IMMEDIATE"]
    else:
        assert begins(statements) == []


# --- Concurrent writers ------------------------------------------------------------------------


def test_two_writers_at_the_same_time_never_see_database_is_locked(app, db):
    start_together = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        with app.app_context():
            try:
                start_together.wait(timeout=10)
                for number in range(TRANSACTIONS_PER_WRITER):
                    account_services.create_user(
                        email=f"writer{writer}-{number}@example.org",
                        display_name=f"Writer {writer} number {number}",
                        password=DEFAULT_PASSWORD,
                    )
                    _db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                failures.append(error)
                _db.session.rollback()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert [thread.is_alive() for thread in threads] == [False] * WRITERS
    assert [repr(failure) for failure in failures] == []
    db.session.remove()
    assert db.session.scalar(select(func.count(User.id))) == WRITERS * TRANSACTIONS_PER_WRITER


# --- UTC datetimes -----------------------------------------------------------------------------


def test_a_datetime_read_back_from_the_database_is_aware_and_in_utc(db, make_user):
    user = make_user()
    user_id, created_at = user.id, user.created_at
    db.session.remove()

    read_back = db.session.get(User, user_id).created_at

    assert read_back.tzinfo is UTC
    assert read_back == created_at


def test_a_datetime_in_another_zone_is_stored_as_the_same_instant_in_utc(db, make_user):
    user = make_user()
    user.last_login_at = datetime(2026, 3, 1, 20, 30, tzinfo=timezone(timedelta(hours=5)))
    user_id = user.id
    db.session.commit()
    db.session.remove()

    read_back = db.session.get(User, user_id).last_login_at

    assert read_back == datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    assert read_back.tzinfo is UTC


def test_a_naive_datetime_is_refused_when_flushed(db, make_user):
    user = make_user()
    user.last_login_at = datetime(2026, 3, 1, 15, 30)

    with pytest.raises(StatementError) as refused:
        db.session.flush()
    db.session.rollback()

    assert isinstance(refused.value.orig, ValueError)
    assert str(refused.value.orig) == "naive datetime given where a timezone-aware UTC datetime is required"
