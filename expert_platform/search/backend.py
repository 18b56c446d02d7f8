"""The one interface every search backend implements (ARCHITECTURE.md section 6): the facade
(``service``) talks to the backend chosen at start-up through it alone, and never asks which one it is.

A backend keeps the index of public proposals and answers queries already parsed (``query.parse``);
the facade builds the documents, loads proposals from the database, re-checks permissions and names
facets. Implementations: ``whoosh_backend.WhooshBackend`` and ``postgres_backend.PostgresBackend``."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Protocol

from .results import Filters, Page
from .spelling import Lexicon

#: The kinds of change ``Backend.write`` applies: (WRITE, document) and (REMOVE, proposal id as text).
WRITE, REMOVE = "write", "remove"


class Backend(Protocol):
    name: str
    #: Whether the index is in the database, so that a write in a transaction commits or rolls back with it
    #: (PostgreSQL); otherwise changes are written after the commit (the outbox).
    in_the_database: bool

    # --- writing --------------------------------------------------------------------------------------

    def count(self) -> int:
        """How many proposals the index holds (fails when the index cannot be read)."""

    def is_stale(self) -> bool:
        """Whether the index was written by an older version of the code and must be rebuilt first."""

    def write(self, changes: Iterable[tuple[str, object]], *, expected: int, session) -> int:
        """Apply (WRITE, document) and (REMOVE, proposal id) changes, about ``expected`` of them, as one
        update (in ``session`` where the index is in the database). Returns how many were written."""

    def rebuild(self, documents: Iterable[dict], *, expected: int, finish: Callable[[], None]) -> int:
        """Replace the whole index with ``documents`` (about ``expected``); ``finish()`` (which clears the
        outbox and commits) is called once they are in place. Returns how many were written."""

    def entries(self) -> dict[str, dict]:
        """Every entry's stored fields, under the document's names, by proposal id (for ``check``)."""

    def forget(self) -> None:
        """Drop what this process keeps of the index in memory."""

    # --- searching ------------------------------------------------------------------------------------

    def find(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None, sort: str, offset: int,
             limit: int, with_facets: bool) -> Page:
        """The matches of a parsed query (``parsed.plan`` None: every proposal) and filters: the total,
        facet counts over all of them when asked, and ``limit`` rows from ``offset`` highlighted."""

    def ranked_ids(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None, sort: str,
                   limit: int) -> list[int]:
        """The ids of the ``limit`` first matches, ranked once (for exports)."""

    def total(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None) -> int:
        """How many proposals match."""

    def lexicon(self) -> Lexicon:
        """Every word of the public proposals, for "did you mean"."""

    def related(self, key: Hashable, *, proposal_id: int, variant: str, text: str, count: int) -> list[int]:
        """Up to ``count`` ids of public proposals most like ``text`` (never ``proposal_id``), kept under
        ``key`` until the index changes."""
