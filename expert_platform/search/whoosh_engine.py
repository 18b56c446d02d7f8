"""The Whoosh backend's query engine: a query tree evaluated on one searcher with set algebra over the
documents of each term, scored with Whoosh's own BM25F, with totals, facet counts, the best or newest
matches, prefixes and the words of "did you mean". What it derives from an index version is kept per
version (``VersionCache``)."""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
import operator
import threading
from collections import Counter, OrderedDict

from whoosh import query, scoring

from .cache import LRU
from .highlighting import analysis, stemmed_variant
from .whoosh_postings import field_lengths, index_folder, leaf_postings

# --- the query engine -----------------------------------------------------------------------------
# Whoosh's matchers walk the posting lists document by document in Python: at 20,000 proposals a
# common word cost a quarter of a second, and the facets and the total asked for a second walk. The
# engine below evaluates the same query trees with set algebra (frozensets, in C) over the documents
# of each word, and scores them with Whoosh's own BM25F scorers, so totals, ranks and scores are
# Whoosh's (see ``Engine.best`` for the one place where they differ). What it derives from the index
# (the documents and scores of each term, phrase, prefix and word, the facets' documents, the
# "decided" column) depends only on the index version: it is kept per version, shared by the
# threads, bounded (least recently used first out), and forgotten when the index changes (a new
# version gets a cache of its own).

#: Documents plus scores kept per index version, at most (about 130 bytes each).
ENGINE_CACHE_ENTRIES = 1_500_000
#: Index versions whose caches are kept (a rebuild or an update makes a new one; older searchers may
#: still finish a request on the previous one).
ENGINE_CACHE_VERSIONS = 3
#: "More like this" lists kept per index version (a few hundred bytes each).
RELATED_KEPT = 4096
#: Up to this many matches, facets are counted document by document; above, with bit masks.
FACET_COUNT_BY_DOCUMENT = 3000

FACET_FIELDS = (("dimension", "facet_dimension"), ("member_state", "facet_member_state"),
                ("language", "facet_language"), ("year", "facet_year"), ("think_tank", "facet_think_tank"))


def mask_of(docs) -> int:
    """The documents as the bits of an int (bit n: document n), for counting with ``&`` and ``bit_count``."""
    if not docs:
        return 0
    bits = bytearray((max(docs) >> 3) + 1)
    for docnum in docs:
        bits[docnum >> 3] |= 1 << (docnum & 7)
    return int.from_bytes(bits, "little")


class _Sum:
    """Scores not added up yet: for each document, the sum of its scores in ``parts`` (dicts holding
    every document concerned) plus ``constant``, in that order (so the same float as adding them up at
    once). Ranking adds them up for all the matches at once, in C (``values``)."""

    __slots__ = ("parts", "constant")

    def __init__(self, parts: list[dict], constant: float) -> None:
        self.parts = parts
        self.constant = constant

    def __getitem__(self, docnum: int) -> float:
        return sum(part[docnum] for part in self.parts) + self.constant

    def values(self, docs: list[int]):
        """The scores of ``docs``, in their order."""
        found = map(self.parts[0].__getitem__, docs)
        for part in self.parts[1:]:
            found = map(operator.add, found, map(part.__getitem__, docs))
        if self.constant:
            found = map(operator.add, found, itertools.repeat(self.constant))
        return found


class Matches:
    """The documents a query matches and their scores: a dict or a _Sum giving the score of every one
    of ``docs`` (a dict of a cached unit holds exactly them), or one score for all (Whoosh gives
    ``Every`` and ``Not`` a constant weight of 1). The same documents as a bit mask are made on demand
    (``mask``), from the parts' masks when ``combine`` says how."""

    __slots__ = ("docs", "scores", "_mask", "_combine")

    def __init__(self, docs, scores, combine=None) -> None:
        self.docs = docs
        self.scores = scores
        self._mask = None
        self._combine = combine

    def mask(self) -> int:
        if self._mask is None:
            self._mask = self._combine() if self._combine is not None else mask_of(self.docs)
        return self._mask

    def items(self):
        """(document, score) of every match."""
        scores = self.scores
        if isinstance(scores, float):
            return zip(self.docs, itertools.repeat(scores))
        if isinstance(scores, dict) and len(scores) == len(self.docs):
            return scores.items()
        docs = list(self.docs)
        return zip(docs, scores.values(docs) if isinstance(scores, _Sum) else map(scores.__getitem__, docs),
                   strict=True)


NOTHING = Matches(frozenset(), 0.0)


class VersionCache:
    """What the engine derives from one version of the index, computed on first use. Reading the index
    goes through the calling thread's own searcher (Whoosh's file handles are not shared)."""

    def __init__(self) -> None:
        #: Term, phrase, prefix and word units: their documents and scores, weighed by their size.
        self.units = LRU(ENGINE_CACHE_ENTRIES, weigh=_unit_size)
        self.facets: dict[str, dict[str, frozenset]] | None = None
        self.facet_masks: dict[str, dict[str, int]] | None = None
        self.facets_of_document: list | None = None
        self.live: Matches | None = None
        self.decided: list | None = None
        self.lengths: dict = {}
        self.spelling: dict[int, list[str]] | None = None
        #: "More like this" lists, kept while the index version lasts.
        self.related = LRU(RELATED_KEPT)

    def unit(self, key, compute) -> Matches:
        return self.units.get(key, compute)


def _unit_size(found: Matches) -> int:
    return len(found.docs) * (2 if isinstance(found.scores, dict) else 1) + 1


_versions: OrderedDict = OrderedDict()
_versions_lock = threading.Lock()


def cache_of(searcher) -> VersionCache:
    """The cache of the index version ``searcher`` reads (its folder and its table-of-contents generation)."""
    key = (index_folder(searcher) or id(searcher), searcher.reader().generation())
    with _versions_lock:
        found = _versions.get(key)
        if found is None:
            found = _versions[key] = VersionCache()
            while len(_versions) > ENGINE_CACHE_VERSIONS:
                _versions.popitem(last=False)
        else:
            _versions.move_to_end(key)
        return found


def forget_engine_caches() -> None:
    """Drop every index version's cache (tests that rewrite an index folder in place)."""
    with _versions_lock:
        _versions.clear()

def _leaf_searchers(searcher) -> list:
    return [(searcher, 0)] if searcher.is_atomic() else list(searcher.subsearchers)



def _field_lengths(cache: VersionCache, leaf_number: int, reader, fieldname: str):
    """A segment's lengths of a field (``field_lengths``), read once per segment and index version."""
    key = (leaf_number, fieldname)
    if key not in cache.lengths:
        cache.lengths[key] = field_lengths(reader, fieldname)
    return cache.lengths[key]


def _term_matches(searcher, cache: VersionCache, fieldname: str, text) -> Matches:
    """A term's documents and their BM25F scores, as ``searcher.postings`` scores them: the same
    scorer's statistics and Whoosh's own ``bm25`` function, applied to the whole posting list at once."""
    schema = searcher.schema
    if fieldname not in schema:
        return NOTHING
    try:
        btext = schema[fieldname].to_bytes(text)
    except ValueError:
        return NOTHING
    if (fieldname, btext) not in searcher.reader():
        return NOTHING
    weighting = searcher.weighting
    scores: dict[int, float] = {}
    for leaf_number, (leaf, offset) in enumerate(_leaf_searchers(searcher)):
        reader = leaf.reader()
        if (fieldname, btext) not in reader:
            continue
        scorer = weighting.scorer(leaf, fieldname, btext)
        ids, weights, _values = leaf_postings(reader, fieldname, btext)
        lengths = _field_lengths(cache, leaf_number, reader, fieldname) \
            if isinstance(scorer, scoring.BM25FScorer) else None
        if lengths is not None:
            found = map(scoring.bm25, itertools.repeat(scorer.idf), weights, map(lengths.__getitem__, ids),
                        itertools.repeat(scorer.avgfl), itertools.repeat(scorer.B), itertools.repeat(scorer.K1))
        elif isinstance(scorer, scoring.WeightScorer):
            found = iter(weights)
        else:
            found = map(scorer.score, map(_Posting, ids, weights))
        scores.update(zip(map(offset.__add__, ids), found, strict=True))
    return Matches(frozenset(scores), scores)


class _Posting:
    """One posting as a scorer reads it (``id()`` and ``weight()``)."""

    __slots__ = ("_id", "_weight")

    def __init__(self, docnum: int, weight: float) -> None:
        self._id = docnum
        self._weight = weight

    def id(self) -> int:
        return self._id

    def weight(self) -> float:
        return self._weight


def _phrase_documents(searcher, fieldname: str, words: list, candidates: frozenset) -> frozenset:
    """Of ``candidates`` (documents holding every word), those holding the words in a row: Whoosh's
    Phrase with slop 1 (each word at the position right after the previous one's), checked on the
    positions the index stores."""
    field = searcher.schema[fieldname]
    positions_of = field.format.decode_positions
    found: set[int] | None = None
    previous: dict[int, set[int]] = {}
    for index, word in enumerate(words):
        btext = field.to_bytes(word)
        current: dict[int, set[int]] = {}
        for leaf, offset in _leaf_searchers(searcher):
            reader = leaf.reader()
            if (fieldname, btext) not in reader:
                continue
            ids, _weights, encoded = leaf_postings(reader, fieldname, btext, values=True)
            for docnum, value in zip(ids, encoded, strict=True):
                docnum += offset
                if docnum not in candidates or (found is not None and docnum not in found):
                    continue
                positions = set(positions_of(value))
                if index:
                    # Positions where the phrase so far continues with this word.
                    positions = {position for position in positions if position - 1 in previous[docnum]}
                if positions:
                    current[docnum] = positions
        found = set(current)
        previous = current
        if not found:
            return frozenset()
    return frozenset(found or ())



def _union(parts: list[Matches]) -> Matches:
    """Documents matching any part, each scored with the sum of the parts it matches (Whoosh's Or)."""
    parts = [part for part in parts if part.docs]
    if not parts:
        return NOTHING
    if len(parts) == 1:
        return parts[0]
    scores: dict[int, float] = {}
    get = scores.get
    for part in parts:
        for docnum, value in part.items():
            scores[docnum] = get(docnum, 0.0) + value
    return Matches(frozenset(scores), scores, lambda: functools.reduce(operator.or_, [part.mask() for part in parts]))


def _boosted(found: Matches, boost: float) -> Matches:
    if boost == 1.0 or not found.docs:
        return found
    if isinstance(found.scores, float):
        return Matches(found.docs, found.scores * boost, found.mask)
    return Matches(found.docs, {docnum: value * boost for docnum, value in found.items()}, found.mask)


class Engine:
    """Evaluates a query tree on one searcher: ``matches(node)`` -> Matches."""

    def __init__(self, searcher) -> None:
        self.searcher = searcher
        self.cache = cache_of(searcher)
        self.prefixes: dict = {}

    def live(self) -> Matches:
        """Every document not deleted (Whoosh's ``Every``, weight 1)."""
        if self.cache.live is None:
            self.cache.live = Matches(frozenset(self.searcher.reader().all_doc_ids()), 1.0)
        return self.cache.live

    def matches(self, node) -> Matches:
        if node is None or node is query.NullQuery or isinstance(node, type(query.NullQuery)):
            return NOTHING
        if isinstance(node, query.Every):
            return _boosted(self.live(), float(node.boost))
        if isinstance(node, query.Term):
            return self.cache.unit(("term", node.fieldname, node.text, node.boost), lambda: _boosted(
                _term_matches(self.searcher, self.cache, node.fieldname, node.text), node.boost))
        if isinstance(node, query.Phrase):
            return self.cache.unit(("phrase", node.fieldname, tuple(node.words), node.slop, node.boost),
                                   lambda: self._phrase(node))
        if isinstance(node, query.Prefix):
            return self.cache.unit(("prefix", node.fieldname, node.text, node.boost), lambda: self._prefix(node))
        if isinstance(node, query.Or) and not node.minmatch and not node.scale:
            if all(isinstance(part, (query.Term, query.Phrase, query.Prefix)) for part in node.subqueries):
                # A word (or phrase) in every field it may be in: kept whole, it is the unit queries reuse.
                return self.cache.unit(("or", tuple(node.subqueries), node.boost), lambda: self._or(node))
            return self._or(node)
        if isinstance(node, query.And):
            return self._and(node)
        if isinstance(node, query.AndNot):
            positive = self.matches(node.a)
            if not positive.docs:
                return NOTHING
            negative = self.matches(node.b)
            if not negative.docs:
                return _boosted(positive, node.boost)
            # The positive part's scores cover its documents, so these too.
            return _boosted(Matches(positive.docs - negative.docs, positive.scores,
                                     lambda: positive.mask() & ~negative.mask()), node.boost)
        if isinstance(node, query.Not):
            live = self.live()
            excluded = self.matches(node.query)
            return Matches(live.docs - excluded.docs, 1.0, lambda: live.mask() & ~excluded.mask())
        return self._by_whoosh(node)

    def _or(self, node) -> Matches:
        return _boosted(_union([self.matches(part) for part in node.subqueries]), node.boost)

    def _and(self, node) -> Matches:
        positives, negatives = [], []
        for part in node.subqueries:
            if isinstance(part, query.Not):
                negatives.append(self.matches(part.query))
            else:
                found = self.matches(part)
                if not found.docs:
                    return NOTHING
                positives.append(found)
        if not positives:
            positives = [Matches(self.live().docs, 0.0, self.live().mask)]
        ordered = sorted(positives, key=lambda found: len(found.docs))
        docs = ordered[0].docs.intersection(*[found.docs for found in ordered[1:]])
        for excluded in negatives:
            docs = docs - excluded.docs
        if not docs:
            return NOTHING
        # Whoosh sums the parts' scores; each Not part (an InverseMatcher) adds its weight of 1. The sum
        # is made when ranking, for all the matches at once.
        constant = float(len(negatives))
        parts: list[dict] = []
        for found in positives:
            if isinstance(found.scores, float):
                constant += found.scores
            elif isinstance(found.scores, _Sum):
                parts += found.scores.parts
                constant += found.scores.constant
            else:
                parts.append(found.scores)
        scores: _Sum | float = _Sum(parts, constant) if parts else constant

        def combine() -> int:
            mask = functools.reduce(operator.and_, [found.mask() for found in positives])
            for excluded in negatives:
                mask &= ~excluded.mask()
            return mask

        return _boosted(Matches(docs, scores, combine), node.boost)

    def _phrase(self, node) -> Matches:
        """Documents holding the words in a row, scored as Whoosh does: the sum of the words' scores."""
        words = [self.matches(query.Term(node.fieldname, word)) for word in node.words]
        if not words or not all(found.docs for found in words):
            return NOTHING
        candidates = functools.reduce(frozenset.intersection, [found.docs for found in words])
        if node.slop == 1:
            docs = _phrase_documents(self.searcher, node.fieldname, list(node.words), candidates)
        else:  # the parser never asks for one, but Whoosh knows how
            docs = frozenset(self.searcher.docs_for_query(query.Phrase(node.fieldname, node.words, slop=node.slop)))
        if not docs:
            return NOTHING
        scores = {docnum: sum(found.scores[docnum] for found in words) for docnum in docs}
        return _boosted(Matches(docs, scores), node.boost)

    def _prefix(self, node) -> Matches:
        """Every term with the prefix, each scored with BM25F. (Whoosh scored them so above 5,000
        documents and gave each a constant 1 below: its Or chose its matcher by the index's size.)"""
        terms = [query.Term(node.fieldname, text) for text in self.prefix_terms(node.fieldname, node.text)]
        return _boosted(_union([self.matches(term) for term in terms]), node.boost)

    def prefix_terms(self, fieldname: str, prefix: str) -> list[str]:
        """The field's terms a prefix stands for: those starting with it and, in a stemmed field, the
        stems of the words as written that start with it ("economi*": "economic" is indexed as
        "econom"; "desalination*": "desalination" as "desalin"), looked up in the "words" field."""
        key = ("prefix terms", fieldname, prefix)
        found = self.prefixes.get(key)
        if found is not None:
            return found
        schema = self.searcher.schema
        if fieldname not in schema:
            return []
        reader = self.searcher.reader()
        texts = {schema[fieldname].from_bytes(btext) for btext in reader.expand_prefix(fieldname, prefix)}
        variant = stemmed_variant(fieldname)
        if variant is not None:
            analysed = analysis(variant)
            for btext in reader.expand_prefix("words", prefix):
                word = schema["words"].from_bytes(btext)
                texts.update(term for _start, _end, term, stopped in analysed.of(word)
                             if not stopped and (fieldname, schema[fieldname].to_bytes(term)) in reader)
        found = self.prefixes[key] = sorted(text for text in texts if text)
        return found

    def _by_whoosh(self, node) -> Matches:
        """Any other query (AndMaybe, Require, ...): Whoosh's matcher, document by document."""
        matcher = node.matcher(self.searcher, self.searcher.context())
        scores: dict[int, float] = {}
        while matcher.is_active():
            scores[matcher.id()] = matcher.score()
            matcher.next()
        return Matches(frozenset(scores), scores)

    def best(self, found: Matches, count: int) -> list[tuple[float, int]]:
        """The ``count`` best (score, document): highest score first, then lowest document, which is
        Whoosh's order when it scores every match. (Its default top-N search skips blocks of postings
        it judges unable to reach the top; with our trees of fields that judgment was wrong and better
        documents were left out, so we score every match.)"""
        if not found.docs or count <= 0:
            return []
        docs = list(found.docs)
        scores = found.scores
        if isinstance(scores, float):
            return [(scores, docnum) for docnum in heapq.nsmallest(count, docs)]
        values = scores.values(docs) if isinstance(scores, _Sum) else map(scores.__getitem__, docs)
        best = heapq.nsmallest(count, zip(map(operator.neg, values), docs, strict=True))
        return [(-negative, docnum) for negative, docnum in best]

    def newest(self, found: Matches, count: int) -> list[tuple[int, int]]:
        """The ``count`` most recently decided (decided, document), as Whoosh sorts by the "decided"
        column in reverse: latest first, then highest document."""
        if not found.docs or count <= 0:
            return []
        cache = self.cache
        if cache.decided is None:
            # The sort keys Whoosh's ColumnCategorizer reads, segment by segment.
            keys = []
            for leaf, _offset in _leaf_searchers(self.searcher):
                column = leaf.reader().column_reader("decided", reverse=False, translate=False)
                keys.extend(column.sort_key(docnum) for docnum in range(leaf.doc_count_all()))
            cache.decided = keys
        decided = cache.decided
        docs = list(found.docs)
        return heapq.nlargest(count, zip(map(decided.__getitem__, docs), docs, strict=True))

    def spelling_lexicon(self) -> dict[int, list[str]]:
        """The words of the "words" field (every word of the public proposals), by length."""
        cache = self.cache
        if cache.spelling is None:
            field = self.searcher.schema["words"]
            by_length: dict[int, list[str]] = {}
            for term in self.searcher.reader().lexicon("words"):
                word = field.from_bytes(term)
                by_length.setdefault(len(word), []).append(word)
            cache.spelling = by_length
        return cache.spelling

    def _facets(self) -> VersionCache:
        """Loads, once per index version, each facet value's documents, as masks too, and each
        document's facet values."""
        cache = self.cache
        if cache.facets is None:
            reader = self.searcher.reader()
            postings: dict[str, dict[str, frozenset]] = {}
            of_document: list[list] = [[] for _ in range(self.searcher.doc_count_all())]
            leaves = _leaf_searchers(self.searcher)
            for _facet, name in FACET_FIELDS:
                values = {}
                for term in reader.lexicon(name):
                    value = term.decode("utf-8") if isinstance(term, bytes) else term
                    documents: list[int] = []
                    for leaf, offset in leaves:
                        if (name, term) in leaf.reader():
                            documents += map(offset.__add__, leaf_postings(leaf.reader(), name, term)[0])
                    values[value] = frozenset(documents)
                    # Append the value to each of its documents' lists (the loop runs in C).
                    collections.deque(map(list.append, map(of_document.__getitem__, documents),
                                          itertools.repeat((name, value))), maxlen=0)
                postings[name] = values
            cache.facets_of_document = [tuple(keys) for keys in of_document]
            cache.facet_masks = {name: {value: mask_of(documents) for value, documents in values.items()}
                                 for name, values in postings.items()}
            cache.facets = postings
        return cache

    def facet_counts(self, found: Matches) -> dict[str, dict[str, int]]:
        """Per facet field, value -> how many matches hold it (values held by none left out): few
        matches are counted one by one, many with bit masks (``&`` and ``bit_count``, in C)."""
        cache = self._facets()
        counts: dict[str, dict[str, int]] = {name: {} for _facet, name in FACET_FIELDS}
        if len(found.docs) <= FACET_COUNT_BY_DOCUMENT:
            tally = Counter(itertools.chain.from_iterable(map(cache.facets_of_document.__getitem__, found.docs)))
            for (name, value), count in tally.items():
                counts[name][value] = count
            return counts
        mask = found.mask()
        for name, values in cache.facet_masks.items():
            found_counts = counts[name]
            for value, value_mask in values.items():
                count = (value_mask & mask).bit_count()
                if count:
                    found_counts[value] = count
        return counts

