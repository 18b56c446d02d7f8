"""Ranking without reading every match, where the database can: the RUM index (PostgreSQL's ``rum``
extension, Debian's ``postgresql-15-rum``) keeps each lexeme's positions in the index, so it answers
``vector @@ query`` without reading the tsvector (phrases and weights included) and returns the matches
already ordered by ``vector <=> query`` (RUM's distance, the inverse of a ``ts_rank`` of its own): a page
of the best matches among 15,000 costs a walk of the index, not a read of 15,000 tsvectors of several
kilobytes each.

The RUM indexes are an acceleration beside the GIN indexes the models declare (Alembic leaves them alone,
``migrations/env.py``): where the extension is not installed, nothing changes and the backend ranks with
``ts_rank_cd`` over the matches, as before. ``install`` is called by the migration that introduced them
and by ``flask search rebuild`` (so a server whose package was installed later gets them)."""

from __future__ import annotations

from sqlalchemy import text

#: The text columns ranked through RUM, and their indexes' names (the suffix Alembic's filter knows).
RANKED_COLUMNS = ("english", "russian", "simple")
INDEX_SUFFIX = "_rum"


def index_name(column: str) -> str:
    return f"ix_search_documents_{column}{INDEX_SUFFIX}"


def install(connection) -> bool:
    """Create the extension (in ``public``, once per database) and the RUM index of each ranked column of
    the ``search_documents`` table on the connection's search path. Returns False, changing nothing, where
    the extension's files are not installed on the database server (or the role may not create it)."""
    if connection.dialect.name != "postgresql":
        return False
    schema = extension_schema(connection)
    if schema is None:
        try:
            with connection.begin_nested():
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS rum SCHEMA public"))
        except Exception:  # not installed on the server: the GIN indexes and ts_rank_cd serve
            return False
        schema = extension_schema(connection)
    for column in RANKED_COLUMNS:
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS {index_name(column)} ON search_documents "
                                f"USING rum ({column} {schema}.rum_tsvector_ops)"))
    return True


def drop(connection) -> None:
    """Remove the RUM indexes (the extension stays: other schemas of the database may use it)."""
    for column in RANKED_COLUMNS:
        connection.execute(text(f"DROP INDEX IF EXISTS {index_name(column)}"))


def extension_schema(connection) -> str | None:
    """The schema the extension is installed in, or None."""
    return connection.execute(text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'rum'")).scalar()


def ranking_schema(connection) -> str | None:
    """The extension's schema when every ranked column of this search path's ``search_documents`` has its
    RUM index (then the backend ranks through them), else None."""
    schema = extension_schema(connection)
    if schema is None:
        return None
    present = connection.execute(text(
        "SELECT count(*) FROM pg_indexes WHERE tablename = 'search_documents' AND indexname = ANY(:names) "
        "AND schemaname = current_schema()"), {"names": [index_name(column) for column in RANKED_COLUMNS]}).scalar()
    return schema if present == len(RANKED_COLUMNS) else None
