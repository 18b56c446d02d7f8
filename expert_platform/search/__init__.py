"""The archive's full-text search: the only package that imports Whoosh (ARCHITECTURE.md section 6).

One facade (``service``: index, remove, search, more like this, check; ``maintenance``: sync and rebuild,
which commit, for the command line) over one backend
interface (``backend.Backend``), implemented twice and chosen once at start-up by ``SEARCH_BACKEND``:

- Whoosh, the default, an index folder on the server: ``whoosh_backend`` (writing, rebuilding, finding),
  ``whoosh_engine`` (queries evaluated with set algebra and BM25F), ``whoosh_postings`` (the only module
  that reads Whoosh's private fields, for the pinned release), ``index_store`` (generations, searchers),
  ``schema`` (fields and analyzers);
- PostgreSQL's full-text search, tables in the database for several application servers:
  ``postgres_backend`` over ``postgres`` (writing and the query compiler) and ``models``.

Shared by both: ``query`` (what a researcher types, parsed once into a plan), ``documents`` (what the
index holds of a proposal), ``results`` (filters, rows, hits), ``highlighting`` (snippets with <mark>),
``spelling`` ("did you mean"), ``cache`` (the one bounded cache).

The index holds public (endorsed) proposals only, so no query can find anything else. The domain never
imports this package: ``outbox`` listens to the database session and the workflow and writes outbox rows
in the same transaction as each change.
"""

from __future__ import annotations

from flask import Flask


def init_search(app: Flask) -> None:
    """Choose the backend and listen to the changes that concern the index."""
    from . import outbox, service

    service.init_backend(app)
    outbox.listen()
