"""The indexes of the PostgreSQL search's text vectors (english, russian, simple), chosen by what the database
has. Where PostgreSQL's ``rum`` extension is installed (Debian's ``postgresql-15-rum``), a RUM index: it keeps
each lexeme's positions, so it answers ``vector @@ query`` without reading the tsvector (phrases and weights
included), and returns matches in the order of ``vector <=> query`` (RUM's distance, the inverse of a
``ts_rank``), so the candidates for a page of the best among 15,000 matches come from a walk of the index,
not a read of 15,000 tsvectors of several kilobytes each. Elsewhere a GIN index, and ranking reads every
match, as before.

The models do not declare these indexes and Alembic's comparison leaves them alone (``migrations/env.py``):
``install`` makes them, called by migration 0009, by ``flask search rebuild`` (a server whose package was
installed later gets RUM then) and by the test suite's database; ``built_after`` drops them for a bulk write
and makes them again with ``install`` after its rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

#: The text columns whose index is chosen here.
RANKED_COLUMNS = ("english", "russian", "simple")
RUM_SUFFIX = "_rum"


def gin_index_name(column: str) -> str:
    return f"ix_search_documents_{column}"


def rum_index_name(column: str) -> str:
    return f"ix_search_documents_{column}{RUM_SUFFIX}"


#: Every index name this module manages (for Alembic's filter).
MANAGED_INDEXES = frozenset(name for column in RANKED_COLUMNS for name in (gin_index_name(column),
                                                                          rum_index_name(column)))


def install(connection, *, use_rum: bool = True) -> bool:
    """Give each text column of this search path's ``search_documents`` its index: RUM when ``use_rum`` and
    the extension can be had (created in ``public`` once per database), the GIN index dropped then; else
    GIN, any RUM index dropped. Returns whether RUM is in use."""
    if connection.dialect.name != "postgresql":
        return False
    schema = extension_schema(connection) if use_rum else None
    if use_rum and schema is None:
        try:
            with connection.begin_nested():
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS rum SCHEMA public"))
            schema = extension_schema(connection)
        except Exception:  # not installed on the server (or the role may not create it): GIN serves
            schema = None
    for column in RANKED_COLUMNS:
        if schema is not None:
            connection.execute(text(f"CREATE INDEX IF NOT EXISTS {rum_index_name(column)} ON search_documents "
                                    f"USING rum ({column} {schema}.rum_tsvector_ops)"))
            connection.execute(text(f"DROP INDEX IF EXISTS {gin_index_name(column)}"))
        else:
            connection.execute(text(f"CREATE INDEX IF NOT EXISTS {gin_index_name(column)} ON search_documents "
                                    f"USING gin ({column})"))
            connection.execute(text(f"DROP INDEX IF EXISTS {rum_index_name(column)}"))
    return schema is not None


@contextmanager
def built_after(connection, *, use_rum: bool | None = None) -> Iterator[None]:
    """The text columns' indexes of this search path's ``search_documents`` (RUM or GIN, those this module
    made) dropped before the block and made again after it by ``install``, with the same names and
    definitions: RUM where every column had its RUM index (or as ``use_rum`` says), else GIN. All in the
    caller's transaction: an exception in the block leaves them dropped until its rollback restores them.
    ``PostgresBackend.write`` says when this pays, and what it costs concurrent searches.

    maintenance_work_mem is left as configured: 64 MB to 1 GB built the three RUM indexes over 20,000 rows
    (and the english one over 80,000) in the same time, within the 10% the runs varied by."""
    present = _present(connection, sorted(MANAGED_INDEXES))
    if use_rum is None:
        use_rum = set(present) >= {rum_index_name(column) for column in RANKED_COLUMNS}
    if present:
        connection.execute(text(f"DROP INDEX {', '.join(present)}"))
    yield
    install(connection, use_rum=use_rum)


def _present(connection, names: list[str]) -> list[str]:
    """Those of the index ``names`` that this search path's ``search_documents`` has."""
    return list(connection.execute(text(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents' AND indexname = ANY(:names) "
        "AND schemaname = current_schema() ORDER BY indexname"), {"names": names}).scalars())


def extension_schema(connection) -> str | None:
    """The schema the extension is installed in, or None."""
    return connection.execute(text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'rum'")).scalar()


def ranking_schema(connection) -> str | None:
    """The extension's schema when every text column of this search path's ``search_documents`` has its RUM
    index (then the backend ranks through them), else None."""
    schema = extension_schema(connection)
    if schema is None:
        return None
    present = _present(connection, [rum_index_name(column) for column in RANKED_COLUMNS])
    return schema if len(present) == len(RANKED_COLUMNS) else None
