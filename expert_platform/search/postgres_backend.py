"""The PostgreSQL backend (``SEARCH_BACKEND=postgres``): the index is in the database every application
server shares (``postgres``: its tables, the writing and the query compiler), so several servers search
one index and an index update commits or rolls back with the change that caused it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable

from ..extensions import db
from . import postgres, postgres_ranking
from .backend import REMOVE, WRITE
from .cache import LRU, RELATED_LISTS_KEPT
from .documents import INDEXING_CHUNK, full_body
from .highlighting import prefixes, snippet, stemmed_variant, terms_by_variant
from .results import Filters, Page, Row, ShownText
from .spelling import Lexicon

_UNKNOWN = object()
#: A write of this many entries or more refreshes the search tables' statistics.
ANALYZE_AFTER_WRITING = 5000


def _shown_text(text: postgres.Text, terms: dict, asked_prefixes: list) -> ShownText:
    """A text of a hit highlighted as the Whoosh backend highlights its stored texts (``highlighting``)."""
    variant = text.variant
    return ShownText(language=text.language,
                     title=snippet(text.title, f"title_{variant}", variant, terms, asked_prefixes, whole=True),
                     body=snippet(text.body, f"body_{variant}", variant, terms, asked_prefixes, whole=False))


class PostgresBackend:
    name = "postgres"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._related_version = None
        self._related = LRU(RELATED_LISTS_KEPT)
        self._ranking: str | None | object = _UNKNOWN

    # --- writing --------------------------------------------------------------------------------------

    def count(self) -> int:
        return postgres.doc_count()

    def is_stale(self) -> bool:
        return False  # the tables follow the migrations

    def write(self, changes: Iterable[tuple[str, object]], *, expected: int, session) -> int:
        """The changes written in ``session``, INDEXING_CHUNK at a time; they commit with it. A write of
        ANALYZE_AFTER_WRITING entries or more (an import, a sync) refreshes the planner's statistics of the
        search tables now, as a rebuild does, rather than when autovacuum gets to them: more like this weighs
        words by them, and without them the planner misjudged the facet filters badly (20 ms becoming 75)."""
        count = self._write(changes, session)
        if count >= ANALYZE_AFTER_WRITING:
            postgres.analyze(session)
        return count

    @staticmethod
    def _write(changes: Iterable[tuple[str, object]], session) -> int:
        written, removed, count = [], [], 0

        def flush() -> None:
            postgres.remove(session, removed)
            postgres.write(session, written)
            written.clear()
            removed.clear()

        for kind, change in changes:
            if kind == REMOVE:
                removed.append(int(change))
            else:
                written.append((change, full_body(change)))
                count += 1
            if len(written) + len(removed) >= INDEXING_CHUNK:
                flush()
        flush()
        return count

    def rebuild(self, documents: Iterable[dict], *, expected: int, finish: Callable[[], None]) -> int:
        """The index emptied and refilled in one transaction: searches read the old rows until it commits.
        Every row is new: the statistics are refreshed whatever their number."""
        postgres.clear(db.session)
        postgres_ranking.install(db.session.connection())  # where the extension was installed since
        self._ranking = _UNKNOWN
        count = self._write(((WRITE, document) for document in documents), db.session)
        finish()
        postgres.analyze(db.session)
        db.session.commit()
        return count

    def entries(self) -> dict[str, dict]:
        return postgres.stored_entries()

    def forget(self) -> None:
        with self._lock:
            self._related_version = None
            self._related.clear()
            self._ranking = _UNKNOWN

    def ranking(self) -> str | None:
        """The rum extension's schema when this database has the RUM ranking indexes (``postgres_ranking``),
        asked once per process (and again after ``forget``)."""
        if self._ranking is _UNKNOWN:
            self._ranking = postgres_ranking.ranking_schema(db.session.connection())
        return self._ranking

    # --- searching ------------------------------------------------------------------------------------

    def find(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None, sort: str, offset: int,
             limit: int, with_facets: bool) -> Page:
        found = postgres.Found(parsed.plan, filters, think_tank_ids, ranking=self.ranking())
        if with_facets:
            total, facets = found.total_and_facets()
        else:
            total, facets = found.total(), {}
        rows = found.page(sort, offset, limit) if total else []
        terms, asked_prefixes = ((terms_by_variant(parsed.query), prefixes(parsed.query)) if parsed.query
                                 else ({}, []))
        for fieldname, prefix in asked_prefixes:
            # As the query found it (``postgres._leaf_query``): a prefix also stands for its own stem.
            stem = postgres.prefix_stem(prefix, stemmed_variant(fieldname))
            if stem is not None:
                terms.setdefault(fieldname, set()).add(stem)
        return Page(total=total, facets=facets, rows=[
            Row(proposal_id=row.proposal_id, score=row.score,
                texts=[_shown_text(text, terms, asked_prefixes) for text in row.texts])
            for row in rows])

    def ranked_ids(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None, sort: str,
                   limit: int) -> list[int]:
        return postgres.Found(parsed.plan, filters, think_tank_ids, ranking=self.ranking()).ids(sort, limit)

    def total(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None) -> int:
        return postgres.Found(parsed.plan, filters, think_tank_ids).total()

    def lexicon(self) -> Lexicon:
        by_length, frequency = postgres.spelling_lexicon()
        return Lexicon(by_length=by_length, known=frequency.__contains__, frequency=frequency.get)

    def related(self, key: Hashable, *, proposal_id: int, variant: str, text: str, count: int) -> list[int]:
        """``postgres.related_ids``, kept until the index changes (one list per proposal and text)."""
        version = postgres.index_version()
        with self._lock:
            if self._related_version != version:
                self._related_version = version
                self._related = LRU(RELATED_LISTS_KEPT)
            lists = self._related
        ranking = self.ranking()
        return lists.get(key, lambda: postgres.related_ids(proposal_id, variant, text, count, ranking=ranking))
