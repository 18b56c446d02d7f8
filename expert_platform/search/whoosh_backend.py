"""The Whoosh backend (``SEARCH_BACKEND=whoosh``, the default): an index folder on this server
(``index_store``), searched by our engine (``whoosh_engine``) and highlighted by ``highlighting``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from whoosh import classify, query

from . import index_store
from .backend import REMOVE
from .cache import KEPT_RANKS, kept_count, kept_window, result_key
from .documents import words_of
from .highlighting import analysis, prefixes, snippet, stemmed_variant, terms_by_variant
from .results import Filters, Page, Row, ShownText
from .schema import variant_of
from .similar import chosen
from .spelling import Lexicon
from .whoosh_engine import FACET_FIELDS, Engine, Matches, cache_of, forget_engine_caches


def filter_query(filters: Filters, think_tank_ids: list[int] | None) -> query.Query | None:
    """The facet filters as a Whoosh query (None: no filter); ``think_tank_ids`` are the ids of the think
    tanks the filter names (None: no think tank filter)."""
    parts = [query.Term("facet_dimension", value) for value in filters.dimensions]
    parts += [query.Term("facet_member_state", value) for value in filters.member_states]
    if filters.language:
        parts.append(query.Term("facet_language", filters.language))
    if filters.year:
        parts.append(query.Term("facet_year", str(filters.year)))
    if think_tank_ids is not None:
        parts.append(query.Or([query.Term("facet_think_tank", str(tank_id)) for tank_id in think_tank_ids])
                     if think_tank_ids else query.NullQuery)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else query.And(parts)


@dataclass
class _Found:
    """A query's matches on one searcher (None: a page of kept matches, shown without them)."""

    parsed: object
    searcher: object
    engine: Engine
    matches: Matches | None

    def ranked(self, sort: str, count: int) -> list[tuple]:
        """The ``count`` first (score or decided, document): newest first when asked or when nothing was typed."""
        if sort == "newest" or self.parsed.query is None:
            return self.engine.newest(self.matches, count)
        return self.engine.best(self.matches, count)


class WhooshBackend:
    name = "whoosh"
    in_the_database = False

    # --- writing --------------------------------------------------------------------------------------

    def count(self) -> int:
        return index_store.searcher().doc_count()

    def is_stale(self) -> bool:
        return index_store.is_stale()

    def write(self, changes: Iterable[tuple[str, object]], *, expected: int, session) -> int:
        """Apply (WRITE, document) and (REMOVE, proposal id) changes with one writer and one commit; the
        writer is opened at the first change the index needs (removing what it does not hold needs none:
        drafts change all the time). A batch of ``expected`` >= ``index_store.PARALLEL_INDEXING``
        documents is analysed by several processes. Returns how many entries were written."""
        searcher = index_store.searcher()
        reader = searcher.reader()
        writer = None
        written = 0
        try:
            for kind, change in changes:
                if kind == REMOVE:
                    if searcher.document_number(proposal_id=change) is None:
                        continue
                    writer = writer or index_store.writer(documents=expected)
                    writer.delete_by_term("proposal_id", change)
                    continue
                writer = writer or index_store.writer(documents=expected)
                if ("proposal_id", change["proposal_id"]) in reader:
                    writer.update_document(**change, words=words_of(change))
                else:  # a new entry: no older one to look for and delete
                    writer.add_document(**change, words=words_of(change))
                written += 1
            if writer is not None:
                writer.commit()
        except BaseException:
            if writer is not None:
                writer.cancel()
            raise
        return written

    def rebuild(self, documents: Iterable[dict], *, expected: int, finish: Callable[[], None]) -> int:
        """Build a new index generation beside the current one, swap it in, ``finish()``, then drop the old
        one. Searches keep reading the old generation until the swap."""
        root = index_store.index_root()
        root.mkdir(parents=True, exist_ok=True)
        name, fresh = index_store.new_generation(root)
        writer = index_store.writer_of(fresh, documents=expected)
        count = 0
        try:
            for document in documents:
                writer.add_document(**document, words=words_of(document))
                count += 1
            writer.commit()
        except BaseException:
            writer.cancel()
            index_store.drop_generation(name, root)
            raise
        previous = index_store.make_current(name, root)
        finish()
        if previous and previous != name:
            index_store.drop_generation(previous, root)
        return count

    def entries(self) -> dict[str, dict]:
        """Every entry's stored fields, by proposal id (for ``check``)."""
        return {fields["proposal_id"]: fields for fields in index_store.searcher().all_stored_fields()}

    def forget(self) -> None:
        """Drop what is kept of the index in memory: this thread's searchers and every version's cache
        (tests and restores that rewrite an index folder in place)."""
        index_store.forget_searchers()
        forget_engine_caches()

    # --- searching ------------------------------------------------------------------------------------

    def _find(self, parsed, filters: Filters, think_tank_ids: list[int] | None, searcher=None) -> _Found:
        searcher = searcher or index_store.searcher()
        engine = Engine(searcher)
        main = parsed.query
        if main is None:  # every proposal when nothing was typed; nothing for a plan that analyses to nothing
            main = query.Every() if parsed.plan is None else query.NullQuery
        restriction = filter_query(filters, think_tank_ids)
        matches = engine.matches(main if restriction is None else query.And([main, restriction]))
        return _Found(parsed, searcher, engine, matches)

    def find(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None, sort: str, offset: int,
             limit: int, with_facets: bool) -> Page:
        """A page of matches. Each query's count, facets and first KEPT_RANKS matches are kept for the index
        version (``VersionCache.results``), beside the words' matches the engine keeps: a query asked again
        costs its page's stored texts and their highlights (at 100,000 proposals, combining and ranking a
        common word's 75,000 matches cost 100-250 ms each time)."""
        searcher = index_store.searcher()
        kept = cache_of(searcher).results
        query = result_key(parsed, filters, think_tank_ids)
        computed: list[_Found] = []

        def found() -> _Found:
            if not computed:
                computed.append(self._find(parsed, filters, think_tank_ids, searcher))
            return computed[0]

        def counted() -> tuple[int, dict]:
            counts = found().engine.facet_counts(found().matches)
            return len(found().matches.docs), {facet: counts[fieldname] for facet, fieldname in FACET_FIELDS}

        total, facets = kept_count(kept, query, with_facets=with_facets, counted=counted,
                                   total=lambda: len(found().matches.docs))
        if not total:
            return Page(total=0, facets=facets, rows=[])
        window = kept_window(kept, query, sort, offset, limit, window=KEPT_RANKS,
                             ranked=lambda start, count: found().ranked(sort, start + count)[start:])
        shown = computed[0] if computed else _Found(parsed, searcher, Engine(searcher), None)
        return Page(total=total, facets=facets, rows=self._rows(shown, window))

    def _rows(self, found: _Found, window: list[tuple]) -> list[Row]:
        if not window:
            return []
        parsed_query = found.parsed.query
        terms = terms_by_variant(parsed_query)
        asked_prefixes = prefixes(parsed_query)
        for fieldname, prefix in asked_prefixes:
            # The stems a prefix found through the words as written are marked wherever they are.
            if stemmed_variant(fieldname) is not None:
                terms.setdefault(fieldname, set()).update(found.engine.prefix_terms(fieldname, prefix))
        rows = []
        for score, docnum in window:
            fields = found.searcher.stored_fields(docnum)
            texts = [(fields["facet_language"], fields.get("variant") or "any", fields["stored_title"],
                      fields["stored_body"])]
            texts += [(language, variant_of(language), title, body)
                      for language, title, body in fields.get("stored_translations") or ()]
            rows.append(Row(proposal_id=int(fields["proposal_id"]), score=score, texts=[
                ShownText(language=language,
                          title=snippet(title, f"title_{variant}", variant, terms, asked_prefixes, whole=True),
                          body=snippet(body, f"body_{variant}", variant, terms, asked_prefixes, whole=False))
                for language, variant, title, body in texts]))
        return rows

    def ranked_ids(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None, sort: str,
                   limit: int) -> list[int]:
        """The ids of the ``limit`` first matches, ranked once on one searcher."""
        found = self._find(parsed, filters, think_tank_ids)
        stored = found.searcher.stored_fields
        return [int(stored(docnum)["proposal_id"]) for _score, docnum in found.ranked(sort, limit)]

    def total(self, parsed, filters: Filters, *, think_tank_ids: list[int] | None) -> int:
        return len(self._find(parsed, filters, think_tank_ids).matches.docs)

    def lexicon(self) -> Lexicon:
        searcher = index_store.searcher()
        engine = Engine(searcher)
        reader = searcher.reader()
        return Lexicon(by_length=engine.spelling_lexicon(),
                       known=lambda word: searcher.doc_frequency("words", word) > 0,
                       frequency=lambda word: reader.frequency("words", word))

    def related(self, key, *, proposal_id: int, variant: str, text: str, count: int) -> list[int]:
        """Up to ``count`` public proposals most like ``text`` (not ``proposal_id`` itself): its twelve key
        terms, weighed as Whoosh weighs them, those ``similar.chosen`` keeps run through our engine (the same
        ranks as Whoosh's own search, a test holds them equal). Kept under ``key`` while the index version lasts."""
        searcher = index_store.searcher()
        return cache_of(searcher).related.get(key, lambda: _related(searcher, proposal_id, variant, text, count))


def _related(searcher, proposal_id: int, variant: str, text: str, count: int) -> list[int]:
    field = f"body_{variant}"
    weighed = key_terms(searcher, variant, text, 12)
    if not weighed:
        return []
    words = chosen(weighed, searcher.doc_count())
    similar = query.Or([query.Term(field, word, boost=weight) for word, weight in words])
    engine = Engine(searcher)
    ids = [int(searcher.stored_fields(docnum)["proposal_id"]) for _score, docnum in
           engine.best(engine.matches(similar), count + 1)]
    return [number for number in ids if number != proposal_id][:count]


def key_terms(searcher, variant: str, text: str, number: int) -> list[tuple[str, float, int]]:
    """(word, weight, documents holding it) of the ``number`` key terms of ``text`` in the field
    ``body_<variant>``: exactly what ``searcher.key_terms_from_text`` (Whoosh's Bo1 model, normalised) weighs,
    with the documents ``searcher.doc_frequency`` counts. Each word's statistics are read from the index once
    per index version (``VersionCache.term_statistics``): a page's text shares most of its words with others,
    and reading them was two thirds of the first view of a proposal page."""
    fieldname = f"body_{variant}"
    statistics = cache_of(searcher).term_statistics
    reader = searcher.reader()
    field = reader.schema[fieldname]
    # The terms as ``field.index(text)`` gives them (each occurrence weighs 1), through the highlighter's
    # analysis of each distinct token, kept across requests: the same terms in the same order, in a third of
    # the time (a test holds them equal to Whoosh's own).
    tokens = analysis(variant)
    weights: defaultdict[str, float] = defaultdict(float)
    for raw in tokens.splitter.split(text)[1::2]:
        for _start, _end, term, stopped in tokens.of(raw):
            if not stopped:
                weights[term] += 1.0
    total = float(sum(weights.values()))
    if not weights:
        return []
    model = classify.Bo1Model(reader.doc_count_all(), reader.field_length(fieldname))
    scored, best = [], 0.0
    for word, weight in weights.items():
        key = (fieldname, word)
        if key in statistics:
            found = statistics[key]
        else:
            token = field.to_bytes(word)
            found = statistics[key] = ((reader.frequency(fieldname, token), reader.doc_frequency(fieldname, token))
                                       if (fieldname, token) in reader else None)
        if found is None:
            continue
        score = model.score(weight, found[0], total)
        best = max(best, score)
        scored.append((score, word, found[1]))
    norm = model.normalizer(best, total)
    ranked = sorted(((score / norm, word, holding) for score, word, holding in scored),
                    key=lambda item: (-item[0], item[1]))
    return [(word, weight, holding) for weight, word, holding in ranked[:number]]
