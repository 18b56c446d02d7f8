"""Engine set-up that SQLAlchemy does not do by itself.

SQLite is the embedded default and must survive several gunicorn workers: WAL mode lets readers
run beside a writer, a busy timeout makes a writer wait instead of failing, foreign keys are
enforced, and a transaction that may write starts with ``BEGIN IMMEDIATE``. A deferred
transaction that reads and then writes cannot wait for the lock: SQLite answers "database is
locked" at once when another writer committed meanwhile, whatever the busy timeout.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from sqlalchemy import DateTime, Enum, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def mark_request_as_writing() -> None:
    """Declare that this GET request writes, so its SQLite transaction starts with BEGIN IMMEDIATE."""
    g.database_writes = True


def transaction_may_write() -> bool:
    """True outside requests (CLI, jobs), for unsafe methods, and for GETs marked as writing, until the
    request's one commit: what a view reads after it (the page it redirects to, who may still see what) starts
    a plain transaction, instead of queueing behind every other writer for a lock it will not use."""
    if not has_request_context():
        return True
    if g.get("database_committed"):
        return False
    return request.method not in SAFE_METHODS or bool(g.get("database_writes"))


def _note_commit(_connection) -> None:
    # Only the commit of a transaction that could write: a GET that ends its read first still writes after.
    if has_request_context() and transaction_may_write():
        g.database_committed = True


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Install the pragmas and the BEGIN statement on a SQLite engine (no-op for other backends)."""
    if engine.dialect.name != "sqlite":
        return
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below instead of pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if transaction_may_write() else "BEGIN")

    event.listen(engine, "commit", _note_commit)


#: Sets the session's compression of long values to LZ4 where the server was built with it (Debian's is).
_LZ4_WHERE_AVAILABLE = (
    "SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings "
    "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")


def configure_postgresql(engine: Engine) -> None:
    """On a PostgreSQL engine (no-op for other backends), each connection compresses the long values it writes
    (a proposal's text and HTML, its revisions, the search rows) with LZ4 instead of the default pglz: writing
    5,000 generated proposals' texts took the server 0.23 s against 0.65 (docs/performance.md), for a fifth
    more space. Values already stored stay as they are; both are read alike."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(_LZ4_WHERE_AVAILABLE)
        dbapi_connection.commit()


def init_database(app: Flask) -> None:
    """Configure the app's engine(s) once the SQLAlchemy extension is bound."""
    from .extensions import db

    with app.app_context():
        configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        configure_postgresql(db.engine)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC: the only clock models and services use."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps the zone; SQLite stores text without one, so values read back are tagged UTC.
    A naive datetime is refused on write: it is always a bug (local time or a forgotten zone).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware UTC datetime is required")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(enum_class, length: int = 32, name: str | None = None) -> Enum:
    """A portable enum column: stored as its value in a VARCHAR with a CHECK constraint.

    ``name`` names the constraint; two columns of one enum in a table need different names.
    """
    return Enum(
        enum_class,
        name=name or enum_class.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


#: The escape character used with every pattern from ``contains_pattern`` (pass it as ``escape=``).
LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its ``%`` and ``_`` taken literally (use LIKE_ESCAPE)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
