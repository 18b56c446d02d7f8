"""The PostgreSQL backend (``SEARCH_BACKEND=postgres``): the index is in the database every application
server shares (``postgres``: its tables, the writing and the query compiler), so several servers search
one index and an index update commits or rolls back with the change that caused it."""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from contextlib import nullcontext

from .. import workers
from ..extensions import db
from . import postgres, postgres_ranking
from .backend import REMOVE, WRITE
from .cache import KEPT_RANKS, LRU, RELATED_LISTS_KEPT, RESULTS_KEPT, kept_count, kept_window, result_key, result_weight
from .documents import INDEXING_CHUNK, chunks, full_body
from .highlighting import prefixes, snippet, stemmed_variant, terms_by_variant
from .results import Filters, Page, Row, ShownText
from .spelling import Lexicon

_UNKNOWN = object()
#: A write of this many entries or more refreshes the search tables' statistics.
ANALYZE_AFTER_WRITING = 5000
#: A write of this many entries or more into a table that holds fewer rows builds the text vectors' indexes
#: after its rows (``write``). That pays from a few hundred on (200 documents: 0.70 ms each against 2.24);
#: the threshold keeps the outbox's everyday writes, a request's few proposals, away from DDL and its lock.
BULK_BUILD_FROM = 1000
#: A write of this many entries or more has worker processes make the rows (``_write``), ROWS_PER_TASK
#: documents at a time (one chunk is shared by the workers).
PARALLEL_ROWS_FROM = 1000
ROWS_PER_TASK = 125


def _shown_text(text: postgres.Text, terms: dict, asked_prefixes: list) -> ShownText:
    """A text of a hit highlighted as the Whoosh backend highlights its stored texts (``highlighting``)."""
    variant = text.variant
    return ShownText(language=text.language,
                     title=snippet(text.title, f"title_{variant}", variant, terms, asked_prefixes, whole=True),
                     body=snippet(text.body, f"body_{variant}", variant, terms, asked_prefixes, whole=False))


class PostgresBackend:
    name = "postgres"
    in_the_database = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = None
        self._results, self._related = _version_caches()
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
        words by them, and without them the planner misjudged the facet filters badly (20 ms becoming 75).

        A write of BULK_BUILD_FROM entries or more into a table that holds fewer rows than it brings (the first
        import of a fresh platform) drops the text vectors' indexes before its first row and makes them again
        after its last, in its transaction (``postgres_ranking.built_after``): a RUM index has no pending list
        like GIN's, so keeping one up row by row cost 2.1-2.4 ms a document against 0.7 without, while
        building the three over 20,000 rows takes a second (0.72 ms a document in all). GIN costs the same
        either way (its pending list), so its indexes stay. The price: DROP INDEX holds an ACCESS EXCLUSIVE
        lock on search_documents until the commit, so searches wait for the whole write, and it waits for
        those under way; hence only into a table nearly empty beside what the write brings, never a live
        archive's everyday sync. The index version is moved first (``postgres.next_version``): a concurrent
        write waits for this one before it counts the rows, so two bulk writes never deadlock."""
        # In the caller's session: the outbox writes in a session of its own, after the request's commit.
        bulk = expected >= BULK_BUILD_FROM and postgres_ranking.ranking_schema(session.connection()) is not None
        if bulk:
            postgres.next_version(session)
            bulk = postgres.doc_count_up_to(session, expected) < expected
        with postgres_ranking.built_after(session.connection()) if bulk else nullcontext():
            count = self._write(changes, session, expected=expected)
        if count >= ANALYZE_AFTER_WRITING:
            postgres.analyze(session)
        return count

    @staticmethod
    def _write(changes: Iterable[tuple[str, object]], session, *, expected: int) -> int:
        """Write ``changes`` INDEXING_CHUNK at a time. From PARALLEL_ROWS_FROM expected entries on, worker
        processes analyse a chunk's texts (``postgres.rows_of``, pure) while this process reads and builds the
        next chunk's documents, then writes the chunk's rows: the analysis, a third of a document's cost,
        leaves the path every chunk waits on."""
        written, removed, count = [], [], 0
        # Chunks read but not written yet, in order: the ids they remove, the futures of the rows they write.
        computing: deque[tuple[list[int], list[Future]]] = deque()

        with workers.pool(parallel=expected >= PARALLEL_ROWS_FROM) as executor:
            def write_ready(*, all_of_them: bool) -> None:
                # One chunk stays in the workers while the next one is read, unless this is the end.
                while len(computing) > (0 if all_of_them or isinstance(executor, workers.InProcess) else 1):
                    removing, parts = computing.popleft()
                    postgres.remove(session, removing)
                    postgres.write_rows(session, [rows for part in parts for rows in part.result()])

            def flush() -> None:
                computing.append((list(removed), [executor.submit(postgres.rows_of, part)
                                                  for part in chunks(written, ROWS_PER_TASK)]))
                written.clear()
                removed.clear()
                write_ready(all_of_them=False)

            for kind, change in changes:
                if kind == REMOVE:
                    removed.append(int(change))
                else:
                    written.append((change, full_body(change)))
                    count += 1
                if len(written) + len(removed) >= INDEXING_CHUNK:
                    flush()
            flush()
            write_ready(all_of_them=True)
        return count

    def rebuild(self, documents: Iterable[dict], *, expected: int, finish: Callable[[], None]) -> int:
        """The index emptied and refilled in one transaction. Every row is new: the statistics are refreshed
        whatever their number. The text vectors' indexes are RUM where the extension was installed since
        (``postgres_ranking.install``). With the extension, from BULK_BUILD_FROM documents on, they are made
        after the rows, as in ``write`` (into the emptied table), before ``finish`` commits: searches then
        wait for the rebuild; otherwise they read the old rows until it commits."""
        postgres.clear(db.session)
        self._ranking = _UNKNOWN
        connection = db.session.connection()
        bulk = expected >= BULK_BUILD_FROM and postgres_ranking.extension_schema(connection) is not None
        if not bulk:
            postgres_ranking.install(connection)
        with postgres_ranking.built_after(connection, use_rum=True) if bulk else nullcontext():
            count = self._write(((WRITE, document) for document in documents), db.session, expected=expected)
        # The planner's statistics of the new rows, in the rebuild's transaction, which ``finish`` commits.
        postgres.analyze(db.session)
        finish()
        return count

    def entries(self) -> dict[str, dict]:
        return postgres.stored_entries()

    def forget(self) -> None:
        with self._lock:
            self._version = None
            self._related.clear()
            self._results.clear()
            self._ranking = _UNKNOWN

    def _kept(self) -> tuple[LRU, LRU]:
        """What this process keeps of the current index version: (query results, related lists), emptied
        when the version moved. The version is read first, so what is computed after it is at least as new."""
        version = postgres.index_version()
        with self._lock:
            if self._version != version:
                self._version = version
                self._results, self._related = _version_caches()
            return self._results, self._related

    def ranking(self) -> str | None:
        """The rum extension's schema when this database has the RUM ranking indexes (``postgres_ranking``),
        asked once per process (and again after ``forget``)."""
        if self._ranking is _UNKNOWN:
            self._ranking = postgres_ranking.ranking_schema(db.session.connection())
        return self._ranking

    # --- searching ------------------------------------------------------------------------------------

    def find(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None, sort: str, offset: int,
             limit: int, with_facets: bool) -> Page:
        """A page of matches. The count, the facets and the first KEPT_RANKS matches of a query are kept
        for the index version (``_kept``): a query asked again costs the version's number, the page's stored
        texts and their highlights. At 20,000 proposals counting a common word's 15,000 matches with their
        facets took 35 ms and ranking them 40; as in the Whoosh backend, which keeps each word's matches per
        version, what several servers share is the database, and each keeps its own."""
        results, _related = self._kept()
        query = result_key(parsed, filters, think_tank_ids)
        # Compiled only when something is not kept.
        found = functools.cache(lambda: postgres.Found(parsed.plan, filters, think_tank_ids, ranking=self.ranking()))
        total, facets = kept_count(results, query, with_facets=with_facets,
                                   counted=lambda: found().total_and_facets(), total=lambda: found().total())
        # The kept window stays within the matches RUM's order gives to rank (``postgres.RANKED_CANDIDATES``):
        # no more is read.
        ranked = kept_window(results, query, sort, offset, limit, window=min(KEPT_RANKS, postgres.RANKED_CANDIDATES),
                             ranked=lambda start, count: found().ranked(sort, start, count)) if total else []
        stored = postgres.texts([proposal_id for proposal_id, _score in ranked])
        terms, asked_prefixes = ((terms_by_variant(parsed.query), prefixes(parsed.query)) if parsed.query
                                 else ({}, []))
        for fieldname, prefix in asked_prefixes:
            # As the query found it (``postgres._leaf_query``): a prefix also stands for its own stem.
            stem = postgres.prefix_stem(prefix, stemmed_variant(fieldname))
            if stem is not None:
                terms.setdefault(fieldname, set()).add(stem)
        return Page(total=total, facets=facets, rows=[
            Row(proposal_id=proposal_id, score=score,
                texts=[_shown_text(text, terms, asked_prefixes) for text in stored[proposal_id]])
            for proposal_id, score in ranked if proposal_id in stored])

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
        _results, lists = self._kept()
        ranking = self.ranking()
        return lists.get(key, lambda: postgres.related_ids(proposal_id, variant, text, count, ranking=ranking))


def _version_caches() -> tuple[LRU, LRU]:
    """What one index version keeps: each query's results, and the "more like this" lists."""
    return (LRU(RESULTS_KEPT, weigh=result_weight, name="search results"),
            LRU(RELATED_LISTS_KEPT, name="more like this"))
