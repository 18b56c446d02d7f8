"""The Whoosh backend's query engine: a query tree evaluated on one searcher with set algebra over the
documents of each term, scored with Whoosh's own BM25F, with totals, facet counts, the best or newest
matches, prefixes and the words of "did you mean". What it derives from an index version is kept per
version (``VersionCache``), assembled from what is kept per segment (``SegmentView``) across versions."""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
import operator
import threading
from array import array
from collections import Counter, OrderedDict

from whoosh import query, scoring

from . import whoosh_postings
from .cache import LRU, RELATED_LISTS_KEPT, RESULTS_KEPT, result_weight
from .highlighting import analysis, stemmed_variant
from .whoosh_postings import index_folder

# --- the query engine -----------------------------------------------------------------------------
# Whoosh's matchers walk the posting lists document by document in Python: at 20,000 proposals a
# common word cost a quarter of a second, and the facets and the total asked for a second walk. The
# engine below evaluates the same query trees with set algebra (frozensets, in C) over the documents
# of each word, and scores them with Whoosh's own BM25F scorers, so totals, ranks and scores are
# Whoosh's (see ``Engine.best`` for the one place where they differ). What it derives from the index
# (the documents and scores of each term, phrase, prefix and word, the facets' documents, the
# "decided" column) depends on the index version: it is kept per version, shared by the threads,
# bounded (least recently used first out), and forgotten when the index changes (a new version gets a
# cache of its own).
#
# A change (an endorsement, a withdrawal, an import) writes a new segment, may delete documents in
# older ones and may merge small ones; a segment's files never change, only its set of deleted
# documents. So what is read from a segment's files is kept per segment, across versions
# (``_segment_terms``, ``_segment_tables``, keyed by the segment's id): a term's postings with the deleted
# documents (``SegmentTerm``), a phrase's documents, the field lengths, the facet values' documents, the
# "decided" keys, the words of the spelling lexicon. A new version (``SegmentView``: where each segment's
# documents start, which are deleted) assembles its own from them: document numbers shifted by the
# segment's offset, deleted documents taken out, and the BM25F scores computed again (each new document
# changes the idf and the average field length) with Whoosh's ``bm25`` once per distinct weight and
# field length of a term's postings, the rest in C (map, zip, frozenset, shifts of bit masks). The first
# search after a change reads only the new segments, and the searcher reads the others with the files
# it had open (``whoosh_postings.refreshed_searcher``).

#: Documents plus scores kept per index version, at most (about 130 bytes each).
ENGINE_CACHE_ENTRIES = 1_500_000
#: Index versions whose caches are kept (a rebuild or an update makes a new one; older searchers may
#: still finish a request on the previous one).
ENGINE_CACHE_VERSIONS = 3
#: Up to this many matches, facets are counted document by document; above, with bit masks.
FACET_COUNT_BY_DOCUMENT = 3000
#: Postings (of terms) and documents (of phrases) read from segments and kept across index versions, at
#: most (about 16 bytes each, 64 MB in all; a term's bit mask, one bit a document of its segment, is
#: kept with it once facets were counted with it).
SEGMENT_TERM_ENTRIES = 4_000_000
#: Whole-segment tables kept across index versions, at most: a field's lengths, the facets, the "decided"
#: keys, the spelling words (one entry each; about 8 bytes a document, or 60 a word).
SEGMENT_TABLES_KEPT = 512

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


class SegmentView:
    """One segment as an index version sees it: ``key`` names it across versions (the index folder and
    the segment's id), its documents are numbered from ``offset`` in the version, ``size`` counts them
    (deleted ones included) and ``deleted`` holds the deleted ones (numbers in the segment)."""

    __slots__ = ("key", "offset", "size", "deleted")

    def __init__(self, key, offset: int, size: int, deleted: frozenset) -> None:
        self.key = key
        self.offset = offset
        self.size = size
        self.deleted = deleted


class VersionCache:
    """What the engine derives from one version of the index (its ``segments``), computed on first use.
    Reading the index goes through the calling thread's own searcher (Whoosh's file handles are not
    shared)."""

    def __init__(self, segments: list[SegmentView]) -> None:
        self.segments = segments
        #: The deleted documents, numbered in the version.
        self.deleted = [segment.offset + docnum for segment in segments for docnum in segment.deleted]
        self.size = sum(segment.size for segment in segments)
        self._live_mask: int | None = None
        #: Term, phrase, prefix and word units: their documents and scores, weighed by their size.
        self.units = LRU(ENGINE_CACHE_ENTRIES, weigh=_unit_size)
        self.facet_masks: dict[str, dict[str, int]] | None = None
        self.facets_of_document: list | None = None
        self.live: Matches | None = None
        self.decided: list | None = None
        self.spelling: dict[int, list[str]] | None = None
        #: "More like this" lists, kept while the index version lasts.
        self.related = LRU(RELATED_LISTS_KEPT, name="more like this")
        #: (field, word) -> (the word's frequency in the collection, the documents holding it), or None when the
        #: index does not hold it: what weighing a text's key terms reads for each of its words.
        self.term_statistics: dict[tuple[str, str], tuple[float, int] | None] = {}
        #: Each query's count and facets, and its first matches (score or key, document number): the backend's
        #: (``WhooshBackend.find``).
        self.results = LRU(RESULTS_KEPT, weigh=result_weight, name="search results")

    def unit(self, key, compute) -> Matches:
        return self.units.get(key, compute)

    def live_mask(self) -> int:
        """The documents not deleted, as a bit mask."""
        if self._live_mask is None:
            self._live_mask = ((1 << self.size) - 1) & ~mask_of(self.deleted)
        return self._live_mask


def _unit_size(found: Matches) -> int:
    return len(found.docs) * (2 if isinstance(found.scores, dict) else 1) + 1


_versions: OrderedDict = OrderedDict()
_versions_lock = threading.Lock()
#: What is read from a segment's files, kept across index versions; keys start with the segment's key.
_segment_terms = LRU(SEGMENT_TERM_ENTRIES, weigh=lambda kept: len(kept) + 1)
_segment_tables = LRU(SEGMENT_TABLES_KEPT)


def _leaf_searchers(searcher) -> list:
    return [(searcher, 0)] if searcher.is_atomic() else list(searcher.subsearchers)


def _segments_of(searcher, folder) -> list[SegmentView]:
    views = []
    for leaf, offset in _leaf_searchers(searcher):
        reader = leaf.reader()
        segment = reader.segment()
        if segment is None:  # an empty index (Whoosh's EmptyReader): nothing to read, nothing to keep
            views.append(SegmentView((folder, None), offset, reader.doc_count_all(), frozenset()))
        else:
            views.append(SegmentView((folder, segment.segment_id()), offset, reader.doc_count_all(),
                                     frozenset(segment.deleted_docs())))
    return views


def cache_of(searcher) -> VersionCache:
    """The cache of the index version ``searcher`` reads (its folder and its table-of-contents generation).
    When an older version's cache goes, so does what is kept of the segments no kept version holds."""
    folder = index_folder(searcher) or id(searcher)
    key = (folder, searcher.reader().generation())
    with _versions_lock:
        found = _versions.get(key)
        if found is not None:
            _versions.move_to_end(key)
            return found
        found = _versions[key] = VersionCache(_segments_of(searcher, folder))
        gone: set = set()
        while len(_versions) > ENGINE_CACHE_VERSIONS:
            gone.update(segment.key for segment in _versions.popitem(last=False)[1].segments)
        gone.difference_update(segment.key for version in _versions.values() for segment in version.segments)
    if gone:
        for cache in (_segment_terms, _segment_tables):
            cache.keep_only(lambda entry: entry[0] not in gone)
    return found


def cached_segments() -> set:
    """The keys (index folder, segment id) of the segments of which something is kept."""
    return {key[0] for cache in (_segment_terms, _segment_tables) for key in list(cache.values)}


def forget_engine_caches() -> None:
    """Drop every index version's cache and what is kept of every segment (tests that rewrite an index
    folder in place)."""
    with _versions_lock:
        _versions.clear()
        _segment_terms.clear()
        _segment_tables.clear()


class SegmentTerm:
    """A term's postings in one segment, read once and kept across index versions: ``ids`` (document
    numbers in the segment, deleted documents included) and ``weights``; empty when the segment does not
    hold the term. For BM25F, ``pairs`` gives the distinct (weight, field length) of its postings (few:
    Whoosh keeps a length in one byte) and each posting's pair, so that a version scores each pair once
    (``bm25`` in Python) and its postings with a look-up (in C)."""

    __slots__ = ("ids", "weights", "_scoring", "_mask")

    def __init__(self, ids: array, weights: array) -> None:
        self.ids = ids
        self.weights = weights
        self._scoring: tuple | None = None
        self._mask: int | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def pairs(self, lengths: list) -> tuple[list, list, array]:
        """(the pairs' weights, the pairs' field lengths, each posting's pair) given the segment's lengths
        of the field."""
        if self._scoring is None:
            keys = list(zip(self.weights, map(lengths.__getitem__, self.ids), strict=True))
            distinct = list(dict.fromkeys(keys))
            code_of = {pair: code for code, pair in enumerate(distinct)}
            self._scoring = ([weight for weight, _length in distinct], [length for _weight, length in distinct],
                             array("I", map(code_of.__getitem__, keys)))
        return self._scoring

    def mask(self) -> int:
        """The documents as a bit mask (``mask_of``), numbered in the segment."""
        if self._mask is None:
            self._mask = mask_of(self.ids)
        return self._mask


def _segment_term(segment: SegmentView, reader, fieldname: str, btext: bytes) -> SegmentTerm:
    """A term's SegmentTerm, read once per segment."""
    def read():
        if (fieldname, btext) not in reader:
            return SegmentTerm(array("I"), array("d"))
        ids, weights, _values = whoosh_postings.leaf_postings(reader, fieldname, btext, with_deleted=True)
        return SegmentTerm(array("I", ids), array("d", weights))

    return _segment_terms.get((segment.key, "postings", fieldname, btext), read)


def _field_lengths(segment: SegmentView, reader, fieldname: str) -> list:
    """A segment's lengths of a field (``field_lengths``; an empty list when it keeps none we can read
    whole), read once per segment."""
    return _segment_tables.get((segment.key, "lengths", fieldname),
                               lambda: whoosh_postings.field_lengths(reader, fieldname) or [])


def _term_matches(searcher, cache: VersionCache, fieldname: str, text) -> Matches:
    """A term's documents and their BM25F scores, as ``searcher.postings`` scores them: the same
    scorer's statistics (those of the whole index version, whichever segment's scorer gives them) and
    Whoosh's own ``bm25`` function, applied to each segment's kept postings at once (once per distinct
    weight and length); the deleted documents are taken out after."""
    schema = searcher.schema
    if fieldname not in schema:
        return NOTHING
    try:
        btext = schema[fieldname].to_bytes(text)
    except ValueError:
        return NOTHING
    weighting = searcher.weighting
    scores: dict[int, float] = {}
    scorer = None
    held: list[tuple[SegmentView, SegmentTerm]] = []
    for segment, (leaf, _offset) in zip(cache.segments, _leaf_searchers(searcher), strict=True):
        reader = leaf.reader()
        term = _segment_term(segment, reader, fieldname, btext)
        if not term.ids:
            continue
        held.append((segment, term))
        if not isinstance(scorer, scoring.BM25FScorer):
            scorer = weighting.scorer(leaf, fieldname, btext)
        lengths = _field_lengths(segment, reader, fieldname) if isinstance(scorer, scoring.BM25FScorer) else None
        if lengths:
            weights, pair_lengths, codes = term.pairs(lengths)
            pair_scores = list(map(scoring.bm25, itertools.repeat(scorer.idf), weights, pair_lengths,
                                   itertools.repeat(scorer.avgfl), itertools.repeat(scorer.B),
                                   itertools.repeat(scorer.K1)))
            found = map(pair_scores.__getitem__, codes)
        elif isinstance(scorer, scoring.WeightScorer):
            found = iter(term.weights)
        else:
            found = map(scorer.score, map(_Posting, term.ids, term.weights))
        ids = map(segment.offset.__add__, term.ids) if segment.offset else term.ids
        scores.update(zip(ids, found, strict=True))
    if cache.deleted and scores:
        collections.deque(map(scores.pop, cache.deleted, itertools.repeat(None)), maxlen=0)
    if not scores:
        return NOTHING

    def combine() -> int:
        mask = functools.reduce(operator.or_, [term.mask() << segment.offset for segment, term in held])
        return mask & cache.live_mask() if cache.deleted else mask

    return Matches(frozenset(scores), scores, combine)


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


def _segment_phrase(segment: SegmentView, reader, field, fieldname: str, words: tuple) -> frozenset:
    """The documents of a segment (numbers in it, deleted ones included) holding the words in a row:
    Whoosh's Phrase with slop 1 (each word at the position right after the previous one's), checked on
    the positions the index stores. Read once per segment."""
    def read():
        btexts = [field.to_bytes(word) for word in words]
        postings = [_segment_term(segment, reader, fieldname, btext).ids for btext in btexts]
        candidates = set(postings[0]).intersection(*postings[1:])
        if not candidates:  # a word the segment does not hold, or no document holding them all
            return frozenset()
        positions_of = field.format.decode_positions
        previous: dict[int, set[int]] = {}
        for index, btext in enumerate(btexts):
            ids, _weights, encoded = whoosh_postings.leaf_postings(reader, fieldname, btext, values=True,
                                                                    with_deleted=True)
            current: dict[int, set[int]] = {}
            for docnum, value in zip(ids, encoded, strict=True):
                if docnum not in candidates:
                    continue
                positions = set(positions_of(value))
                if index:
                    # Positions where the phrase so far continues with this word.
                    positions = {position for position in positions if position - 1 in previous[docnum]}
                if positions:
                    current[docnum] = positions
            candidates = set(current)
            previous = current
            if not candidates:
                break
        return frozenset(candidates)

    return _segment_terms.get((segment.key, "phrase", fieldname, words), read)


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

    def leaves(self) -> list[tuple[SegmentView, object]]:
        """(segment, its reader in this thread's searcher) of each segment of the index version."""
        return [(segment, leaf.reader()) for segment, (leaf, _offset)
                in zip(self.cache.segments, _leaf_searchers(self.searcher), strict=True)]

    def live(self) -> Matches:
        """Every document not deleted (Whoosh's ``Every``, weight 1)."""
        if self.cache.live is None:
            self.cache.live = Matches(frozenset(range(self.cache.size)).difference(self.cache.deleted), 1.0,
                                      self.cache.live_mask)
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
            field = self.searcher.schema[node.fieldname]
            docs = candidates.intersection(itertools.chain.from_iterable(
                map(segment.offset.__add__, _segment_phrase(segment, reader, field, node.fieldname, tuple(node.words)))
                for segment, reader in self.leaves()))
        else:  # the parser never asks for one, but Whoosh knows how
            docs = frozenset(self.searcher.docs_for_query(query.Phrase(node.fieldname, node.words, slop=node.slop)))
        if not docs:
            return NOTHING
        # Each document's words' scores added up in order, as sum() would (in C).
        ordered = list(docs)
        values = map(words[0].scores.__getitem__, ordered)
        for found in words[1:]:
            values = map(operator.add, values, map(found.scores.__getitem__, ordered))
        scores = dict(zip(ordered, values, strict=True))
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
            # The sort keys Whoosh's ColumnCategorizer reads, kept per segment.
            def keys_of(reader):
                column = reader.column_reader("decided", reverse=False, translate=False)
                return list(map(column.sort_key, range(reader.doc_count_all())))

            cache.decided = list(itertools.chain.from_iterable(
                _segment_tables.get((segment.key, "decided"), functools.partial(keys_of, reader))
                for segment, reader in self.leaves()))
        decided = cache.decided
        docs = list(found.docs)
        return heapq.nlargest(count, zip(map(decided.__getitem__, docs), docs, strict=True))

    def spelling_lexicon(self) -> dict[int, list[str]]:
        """The words of the "words" field (every word of the public proposals), by length."""
        cache = self.cache
        if cache.spelling is None:
            field = self.searcher.schema["words"]

            def words_of(reader) -> dict[int, set[str]]:
                by_length: dict[int, set[str]] = {}
                for term in reader.lexicon("words"):
                    word = field.from_bytes(term)
                    by_length.setdefault(len(word), set()).add(word)
                return by_length

            tables = [_segment_tables.get((segment.key, "words"), functools.partial(words_of, reader))
                      for segment, reader in self.leaves()]
            # In no particular order: "did you mean" ranks the words it finds (spelling.closest_in).
            cache.spelling = {length: list(set().union(*[table.get(length, ()) for table in tables]))
                              for length in set().union(*tables)}
        return cache.spelling

    def _facets(self) -> VersionCache:
        """Each facet value's documents as a bit mask, and each document's facet values: read per segment
        (``_segment_facets``), joined once per index version. Deleted documents are left in: no match holds them."""
        cache = self.cache
        if cache.facet_masks is None:
            tables = [(segment, _segment_facets(segment, reader)) for segment, reader in self.leaves()]
            masks: dict[str, dict[str, int]] = {name: {} for _facet, name in FACET_FIELDS}
            for segment, (_of_document, segment_masks) in tables:
                for name, values in segment_masks.items():
                    joined = masks[name]
                    for value, mask in values.items():
                        joined[value] = joined.get(value, 0) | (mask << segment.offset)
            cache.facets_of_document = list(itertools.chain.from_iterable(table[0] for _segment, table in tables))
            # In the order of the index's lexicon, as one reader would list them.
            cache.facet_masks = {name: dict(sorted(values.items())) for name, values in masks.items()}
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


def _segment_facets(segment: SegmentView, reader) -> tuple[list[tuple], dict[str, dict[str, int]]]:
    """(each document's facet values, each facet value's documents as a bit mask) of a segment, numbers in
    the segment, deleted documents included; read once per segment."""
    def read():
        of_document: list[list] = [[] for _ in range(segment.size)]
        masks: dict[str, dict[str, int]] = {}
        for _facet, name in FACET_FIELDS:
            values = masks[name] = {}
            for term in reader.lexicon(name):
                value = term.decode("utf-8") if isinstance(term, bytes) else term
                documents = _segment_term(segment, reader, name, term).ids
                values[value] = mask_of(documents)
                # Append the value to each of its documents' lists (the loop runs in C).
                collections.deque(map(list.append, map(of_document.__getitem__, documents),
                                      itertools.repeat((name, value))), maxlen=0)
        return [tuple(keys) for keys in of_document], masks

    return _segment_tables.get((segment.key, "facets"), read)
