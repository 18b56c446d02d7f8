"""The search interface of ARCHITECTURE.md section 6: index, remove, search, more like this, sync,
rebuild, check. Only public (endorsed) proposals are ever written to the index; every hit is
re-checked against ``permissions.can_view_proposal`` before it is returned.
"""

from __future__ import annotations

import bisect
import collections
import functools
import hashlib
import heapq
import html
import itertools
import logging
import operator
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, lazyload, selectinload
from whoosh import highlight, query, scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.support.levenshtein import damerau_levenshtein
from whoosh.util.numeric import byte_to_length

from .. import permissions, sanitize
from ..enums import ProposalState
from ..extensions import db
from ..proposals.models import Proposal
from ..thinktanks.models import ThinkTank
from . import index_store
from .models import SearchOutboxEntry
from .query import parse
from .schema import ANALYZING, CJK, analyzer_of, spelling_words, token_pattern, variant_of

log = logging.getLogger(__name__)

SORTS = ("relevance", "newest")
FACETS = ("dimension", "member_state", "language", "year", "think_tank")
SNIPPET_CHARACTERS = 240
MAX_PER_PAGE = 100
#: Stored text is cut here: snippets and "more like this" never need more, and the index stays small.
STORED_BODY_CHARACTERS = 20_000
#: Proposals read from the database at a time when indexing.
INDEXING_CHUNK = 500

# --- the backend ----------------------------------------------------------------------------------


def backend() -> str:
    """``whoosh`` (an index folder on this server) or ``postgres`` (``postgres.py``: in the database)."""
    return current_app.config.get("SEARCH_BACKEND", "whoosh")


def _on_postgres() -> bool:
    return backend() == "postgres"


def indexed_count() -> int:
    """How many proposals the index holds (``/healthz`` asks: it fails when the index cannot be read)."""
    if _on_postgres():
        from . import postgres

        return postgres.doc_count()
    return index_store.searcher().doc_count()


# --- documents ------------------------------------------------------------------------------------


def is_public(proposal: Proposal) -> bool:
    """What the index may hold: endorsed proposals (ARCHITECTURE.md section 5: public)."""
    return proposal.state == ProposalState.ENDORSED


def decided_at(proposal: Proposal) -> datetime | None:
    """When the council decided (endorsed or closed without consensus), or the authors withdrew it."""
    return proposal.endorsed_at or proposal.closed_at or proposal.withdrawn_at


def year_of(proposal: Proposal) -> int | None:
    moment = decided_at(proposal) or proposal.first_submitted_at
    return moment.year if moment else None


def author_names(proposal: Proposal) -> list[str]:
    """The authors as readers know them: the accepted co-authors, lead first; the names of an import."""
    if proposal.is_imported:
        return list(proposal.imported_author_names or [])
    rows = sorted(proposal.coauthors, key=lambda row: (not row.is_lead, row.id))
    return [row.user.display_name for row in rows]


def _text_of(summary: str, body_html: str) -> str:
    """What the index searches of a text besides its title: the summary, then the body as plain text."""
    return "\n\n".join(part for part in (summary, sanitize.html_to_text(body_html)) if part)


def indexed_translations(proposal: Proposal) -> list:
    """The translations the index holds, by language: each in the fields of its language's variant. A
    translation is never in the original's language, and the working languages' variants differ, so none
    is left out; should two texts share a variant, the first one keeps its fields."""
    taken = {variant_of(proposal.language)}
    kept = []
    for translation in sorted(proposal.translations, key=lambda row: row.language):
        variant = variant_of(translation.language)
        if variant not in taken:
            taken.add(variant)
            kept.append(translation)
    return kept


def document_of(proposal: Proposal) -> dict:
    """The index entry of a public proposal: its original in its language's fields, each translation in
    its own language's (``indexed_translations``); the stored texts show the hits' snippets."""
    variant = variant_of(proposal.language)
    body = _text_of(proposal.summary, proposal.body_html)
    when = decided_at(proposal) or proposal.first_submitted_at
    year = year_of(proposal)
    translations = [(row.language, row.title, _text_of(row.summary, row.body_html))
                    for row in indexed_translations(proposal)]
    document = {
        "proposal_id": str(proposal.id),
        "reference": proposal.reference or "",
        "author": " ".join(author_names(proposal)),
        "thinktank": " ".join(row.think_tank.name for row in proposal.think_tanks),
        "keyword": " ".join(row.keyword for row in proposal.keywords),
        "facet_dimension": ",".join(row.dimension.value for row in proposal.dimensions),
        "facet_member_state": ",".join(row.member_state.code for row in proposal.member_states
                                       if row.member_state.code),
        "facet_think_tank": ",".join(str(row.think_tank_id) for row in proposal.think_tanks),
        "facet_language": proposal.language,
        "facet_year": str(year) if year else "",
        "decided": int(when.timestamp()) if when else 0,
        "variant": variant,
        "stored_title": proposal.title,
        "stored_body": body[:STORED_BODY_CHARACTERS],
        "stored_translations": [[language, title, text[:STORED_BODY_CHARACTERS]]
                                for language, title, text in translations],
        "words": spelling_words("\n".join([proposal.title, body, *(f"{title}\n{text}"
                                                                   for _language, title, text in translations)])),
        f"title_{variant}": proposal.title,
        f"body_{variant}": body,
    }
    for language, title, text in translations:
        document[f"title_{variant_of(language)}"] = title
        document[f"body_{variant_of(language)}"] = text
    return document


#: What ``document_of`` reads of a proposal, loaded with it (one query per relation for a whole batch).
_INDEXED_RELATIONS = (selectinload(Proposal.think_tanks), selectinload(Proposal.member_states),
                      selectinload(Proposal.keywords), selectinload(Proposal.dimensions),
                      selectinload(Proposal.authors), selectinload(Proposal.translations))


def _load(session, proposal_ids: Iterable[int]) -> list[Proposal]:
    ids = list(proposal_ids)
    if not ids:
        return []
    return list(session.scalars(select(Proposal).where(Proposal.id.in_(ids)).options(*_INDEXED_RELATIONS)))


def _public_batches(batch_size: int):
    """Every public proposal, ``batch_size`` at a time in id order; each batch is forgotten by the session
    once the caller is done with it, so memory stays bounded."""
    offset_id = 0
    while True:
        batch = list(db.session.scalars(
            select(Proposal).where(Proposal.state == ProposalState.ENDORSED, Proposal.id > offset_id)
            .order_by(Proposal.id).limit(batch_size).options(*_INDEXED_RELATIONS)
        ))
        if not batch:
            return
        yield batch
        offset_id = batch[-1].id
        db.session.expunge_all()


# --- writing the index ----------------------------------------------------------------------------


def index_proposals(proposals: Iterable[Proposal], *, removed_ids: Iterable[int] = ()) -> int:
    """Bring the index entries of ``proposals`` up to date (public ones written, others removed) and
    remove ``removed_ids``; one writer, one commit. Returns how many entries were written."""
    proposals = list(proposals)

    def changes():
        for proposal in proposals:
            if is_public(proposal):
                yield _WRITE, document_of(proposal)
            else:
                yield _REMOVE, str(proposal.id)
        for proposal_id in removed_ids:
            yield _REMOVE, str(proposal_id)

    return _apply_changes(changes(), expected=len(proposals), session=db.session)


_WRITE, _REMOVE = "write", "remove"


def _apply_changes(changes, *, expected: int, session) -> int:
    """Apply (``_WRITE``, document) and (``_REMOVE``, proposal id) changes with one writer and one
    commit; the writer is opened at the first change the index needs (removing what it does not hold
    needs none: drafts change all the time). A batch of ``expected`` >= ``index_store.PARALLEL_INDEXING``
    documents is analysed by several processes. Returns how many entries were written. On PostgreSQL
    the changes are written in ``session``, INDEXING_CHUNK at a time, and commit with it."""
    if _on_postgres():
        return _apply_in_postgres(changes, session)
    searcher = index_store.searcher()
    reader = searcher.reader()
    writer = None
    written = 0
    try:
        for kind, change in changes:
            if kind == _REMOVE:
                if searcher.document_number(proposal_id=change) is None:
                    continue
                writer = writer or index_store.writer(documents=expected)
                writer.delete_by_term("proposal_id", change)
                continue
            writer = writer or index_store.writer(documents=expected)
            if ("proposal_id", change["proposal_id"]) in reader:
                writer.update_document(**change)
            else:  # a new entry: no older one to look for and delete
                writer.add_document(**change)
            written += 1
        if writer is not None:
            writer.commit()
    except BaseException:
        if writer is not None:
            writer.cancel()
        raise
    return written


def _apply_in_postgres(changes, session) -> int:
    from . import postgres

    written, removed, count = [], [], 0

    def flush() -> None:
        postgres.remove(session, removed)
        postgres.write(session, written)
        written.clear()
        removed.clear()

    for kind, change in changes:
        if kind == _REMOVE:
            removed.append(int(change))
        else:
            written.append((change, change[f"body_{change['variant']}"]))
            count += 1
        if len(written) + len(removed) >= INDEXING_CHUNK:
            flush()
    flush()
    return count


def index_proposal(proposal: Proposal) -> None:
    index_proposals([proposal])


def remove_proposal(proposal_id: int) -> None:
    index_proposals([], removed_ids=[proposal_id])


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def apply_outbox(proposal_ids: Iterable[int] | None = None) -> int:
    """Apply the outbox (all of it, or the rows of ``proposal_ids``) in a session of its own: index
    what changed, then delete the rows applied. Returns how many proposals were brought up to date.
    Safe to run in several processes at once (updates are idempotent; the index has a writer lock).
    Proposals are read INDEXING_CHUNK at a time (memory stays bounded, IN lists stay short) and written
    with one writer and one commit."""
    with Session(db.engine) as session:
        rows = select(SearchOutboxEntry.id, SearchOutboxEntry.proposal_id)
        if proposal_ids is None:
            pending = session.execute(rows).all()
        else:
            pending = []
            for chunk in _chunks(sorted(set(proposal_ids)), INDEXING_CHUNK):
                pending += session.execute(rows.where(SearchOutboxEntry.proposal_id.in_(chunk))).all()
        if not pending:
            return 0
        wanted = sorted({proposal_id for _row_id, proposal_id in pending})

        def changes():
            for chunk in _chunks(wanted, INDEXING_CHUNK):
                found = _load(session, chunk)
                for proposal in found:
                    if is_public(proposal):
                        yield _WRITE, document_of(proposal)
                    else:
                        yield _REMOVE, str(proposal.id)
                for proposal_id in set(chunk) - {proposal.id for proposal in found}:
                    yield _REMOVE, str(proposal_id)
                session.expunge_all()

        _apply_changes(changes(), expected=len(wanted), session=session)
        for chunk in _chunks([row_id for row_id, _proposal_id in pending], INDEXING_CHUNK):
            session.execute(delete(SearchOutboxEntry).where(SearchOutboxEntry.id.in_(chunk)))
        session.commit()
        return len(wanted)


def sync() -> tuple[int, int | None]:
    """Apply the outbox; then, when the index holds nothing while the database has public proposals (its
    folder was lost, or the database predates the index), rebuild it. An index whose fields are not the
    code's (written by an older version: ``index_store.is_stale``) is rebuilt first, since it cannot take
    the code's documents. Returns (proposals brought up to date, proposals of the rebuilt index or None
    when no rebuild was needed)."""
    if not _on_postgres() and index_store.is_stale():
        return 0, rebuild()
    applied = apply_outbox()
    db.session.commit()  # end this session's read: the rebuild's swap must not wait behind it
    if indexed_count() == 0 and db.session.scalar(
        select(func.count(Proposal.id)).where(Proposal.state == ProposalState.ENDORSED)
    ):
        return applied, rebuild()
    return applied, None


def pending_count() -> int:
    return db.session.scalar(select(func.count(SearchOutboxEntry.id))) or 0


def rebuild(batch_size: int = 500) -> int:
    """Build a new index generation from the database beside the current one, then swap it in.
    Searches keep reading the old one until the swap. Returns how many proposals it holds. On
    PostgreSQL the index is emptied and refilled in one transaction: searches read the old rows until
    it commits."""
    if _on_postgres():
        return _rebuild_in_postgres(batch_size)
    root = index_store.index_root()
    root.mkdir(parents=True, exist_ok=True)
    name, fresh = index_store.new_generation(root)
    public = db.session.scalar(select(func.count(Proposal.id)).where(Proposal.state == ProposalState.ENDORSED))
    writer = index_store.writer_of(fresh, documents=public or 0)
    count = 0
    try:
        for batch in _public_batches(batch_size):
            for proposal in batch:
                writer.add_document(**document_of(proposal))
                count += 1
        writer.commit()
    except BaseException:
        writer.cancel()
        index_store.drop_generation(name, root)
        raise
    previous = index_store.make_current(name, root)
    db.session.execute(delete(SearchOutboxEntry))
    db.session.commit()
    if previous and previous != name:
        index_store.drop_generation(previous, root)
    return count


def _rebuild_in_postgres(batch_size: int) -> int:
    from . import postgres

    postgres.clear(db.session)
    count = 0
    for batch in _public_batches(batch_size):
        documents = [document_of(proposal) for proposal in batch]
        postgres.write(db.session, [(document, document[f"body_{document['variant']}"]) for document in documents])
        count += len(documents)
    db.session.execute(delete(SearchOutboxEntry))
    db.session.commit()
    # Every row is new: the planner's statistics of the search tables are refreshed now rather than when
    # autovacuum gets to them (without them it misjudged the facet filters badly, 20 ms becoming 75).
    postgres.analyze(db.session)
    db.session.commit()
    return count


#: What `check` compares: every stored field but the derived ones (the variant and the spelling words
#: follow from the language and the text).
CHECKED_FIELDS = ("reference", "stored_title", "stored_body", "stored_translations", "author", "thinktank", "keyword",
                  "facet_dimension", "facet_member_state", "facet_think_tank", "facet_language", "facet_year",
                  "decided")


def check() -> list[str]:
    """Every difference between the index and the database's public proposals (empty: they agree):
    missing entries, entries that should not be there, and entries whose content is stale."""
    if _on_postgres():
        from . import postgres

        indexed = postgres.stored_entries()
    else:
        indexed = {fields["proposal_id"]: fields for fields in index_store.searcher().all_stored_fields()}
    differences = []
    seen = set()
    for batch in _public_batches(INDEXING_CHUNK):
        for proposal in batch:
            key = str(proposal.id)
            seen.add(key)
            stored = indexed.get(key)
            if stored is None:
                differences.append(f"{proposal.reference}: public but not in the index")
                continue
            expected = document_of(proposal)
            for name in CHECKED_FIELDS:
                if _comparable(name, stored.get(name)) != _comparable(name, expected[name]):
                    differences.append(f"{proposal.reference}: {name} differs in the index")
                    break
    for key, stored in indexed.items():
        if key not in seen:
            differences.append(f"{stored.get('reference') or key}: in the index but not public")
    return differences


def _comparable(name: str, value):
    """A facet's values compare as a set (the PostgreSQL backend keeps them in rows, unordered); the
    translations as (language, title, body) tuples, by language (an entry from before translations
    were indexed has none)."""
    if name.startswith("facet_") and isinstance(value, str):
        return sorted(value.split(","))
    if name == "stored_translations":
        return sorted(tuple(text) for text in value or ())
    return value


# --- searching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Facet filters; ``dimensions`` and ``member_states`` are ANDed when several are given."""

    dimensions: tuple[str, ...] = ()
    member_states: tuple[str, ...] = ()
    language: str | None = None
    year: int | None = None
    think_tank: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.dimensions or self.member_states or self.language or self.year or self.think_tank)


@dataclass
class Hit:
    proposal: Proposal
    score: float | None
    #: "title" and "body": snippets with matches in <mark>, everything else HTML-escaped, both of one text
    #: of the proposal (``_shown``).
    highlights: dict[str, str]
    #: The language of that text (the original's or a translation's), for the page's ``lang``.
    language: str = ""


@dataclass(frozen=True)
class _ShownText:
    """One text of a hit as it may be shown: its language and its highlighted title and snippet."""

    language: str
    title: str
    body: str

    @property
    def matched(self) -> bool:
        # Everything but the marks is escaped: "<mark>" in the HTML is a match.
        return "<mark>" in self.title or "<mark>" in self.body


def _interface_language() -> str | None:
    locale = get_locale()
    return locale.language if locale is not None else None


def _shown(texts: list[_ShownText]) -> _ShownText:
    """The text a hit shows (``texts``: the original first): the one the query matched; of several, the
    one in the interface language, else the original (else the first translation that matched); the
    original when none matched (the proposal was found by its authors, think tanks or keywords)."""
    matched = [text for text in texts if text.matched]
    if not matched:
        return texts[0]
    if len(matched) > 1:
        wanted = _interface_language()
        for text in matched:
            if text.language == wanted:
                return text
    return matched[0]


@dataclass
class Results:
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    suggestion: str | None = None
    notice: str | None = None

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def _think_tank_ids(filters: Filters) -> list[int] | None:
    """The ids of the think tanks named by the filter (namesakes included); None: no such filter."""
    if not filters.think_tank:
        return None
    return list(db.session.scalars(select(ThinkTank.id).where(ThinkTank.name == filters.think_tank)))


def _filter_query(filters: Filters) -> query.Query | None:
    parts = [query.Term("facet_dimension", value) for value in filters.dimensions]
    parts += [query.Term("facet_member_state", value) for value in filters.member_states]
    if filters.language:
        parts.append(query.Term("facet_language", filters.language))
    if filters.year:
        parts.append(query.Term("facet_year", str(filters.year)))
    if filters.think_tank:
        ids = _think_tank_ids(filters)
        parts.append(query.Or([query.Term("facet_think_tank", str(tank_id)) for tank_id in ids])
                     if ids else query.NullQuery)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else query.And(parts)


# --- the query engine -----------------------------------------------------------------------------
# Whoosh's matchers walk the posting lists document by document in Python: at 20,000 proposals a
# common word cost a quarter of a second, and the facets and the total asked for a second walk. The
# engine below evaluates the same query trees with set algebra (frozensets, in C) over the documents
# of each word, and scores them with Whoosh's own BM25F scorers, so totals, ranks and scores are
# Whoosh's (see ``_Engine.best`` for the one place where they differ). What it derives from the index
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


def _mask_of(docs) -> int:
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


class _Matches:
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
            self._mask = self._combine() if self._combine is not None else _mask_of(self.docs)
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


_NOTHING = _Matches(frozenset(), 0.0)


class KeptLists:
    """Values computed by key, at most ``size`` of them (least recently used first out), safe for
    threads: a proposal page viewed again reuses its "more like this" list. Both backends keep one per
    index version."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.values: OrderedDict = OrderedDict()

    def get(self, key, compute):
        with self.lock:
            found = self.values.get(key)
            if found is not None:
                self.values.move_to_end(key)
                return found
        found = compute()
        with self.lock:
            self.values[key] = found
            while len(self.values) > self.size:
                self.values.popitem(last=False)
        return found


class _VersionCache:
    """What the engine derives from one version of the index, computed on first use. Reading the index
    goes through the calling thread's own searcher (Whoosh's file handles are not shared)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.units: OrderedDict = OrderedDict()
        self.entries = 0
        self.facets: dict[str, dict[str, frozenset]] | None = None
        self.facet_masks: dict[str, dict[str, int]] | None = None
        self.facets_of_document: list | None = None
        self.live: _Matches | None = None
        self.decided: list | None = None
        self.lengths: dict = {}
        self.spelling: dict[int, list[str]] | None = None
        #: "More like this" lists, kept while the index version lasts.
        self.related = KeptLists(RELATED_KEPT)

    def unit(self, key, compute) -> _Matches:
        with self.lock:
            found = self.units.get(key)
            if found is not None:
                self.units.move_to_end(key)
                return found
        found = compute()
        size = len(found.docs) * (2 if isinstance(found.scores, dict) else 1) + 1
        with self.lock:
            if key in self.units:
                return self.units[key]
            self.units[key] = found
            self.entries += size
            while self.entries > ENGINE_CACHE_ENTRIES and len(self.units) > 1:
                _old_key, old = self.units.popitem(last=False)
                self.entries -= len(old.docs) * (2 if isinstance(old.scores, dict) else 1) + 1
        return found


_versions: OrderedDict = OrderedDict()
_versions_lock = threading.Lock()


def _cache_of(searcher) -> _VersionCache:
    """The cache of the index version ``searcher`` reads (its folder and its table-of-contents generation)."""
    storage = getattr(getattr(searcher, "_ix", None), "storage", None)
    key = (getattr(storage, "folder", None) or id(searcher), searcher.reader().generation())
    with _versions_lock:
        found = _versions.get(key)
        if found is None:
            found = _versions[key] = _VersionCache()
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


def _leaf_postings(reader, fieldname: str, btext: bytes, *, values: bool = False):
    """(document numbers in the segment, weights, encoded values or None) of a term, deleted documents
    left out. Whoosh's own W3 matcher is read a block (up to 128 postings) at a time, in C; any other
    matcher posting by posting."""
    matcher = reader.postings(fieldname, btext)
    deleted = None
    if isinstance(matcher, FilterMatcher) and matcher._exclude:  # how a segment hides deleted documents
        deleted = matcher._ids
        matcher = matcher.child
    ids: list[int] = []
    weights: list[float] = []
    encoded: list | None = [] if values else None
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            stored_ids = matcher._data[0]
            # The block's ids are stored as differences (W3LeafMatcher._read_ids adds them up in Python).
            ids += stored_ids if matcher._byteids else itertools.accumulate(stored_ids)
            matcher._read_weights()
            weights += matcher._weights
            if values:
                matcher._read_values()
                encoded += matcher._values
            matcher._next_block()
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            if values:
                encoded.append(matcher.value())
            matcher.next()
    if deleted:
        kept = [index for index, docnum in enumerate(ids) if docnum not in deleted]
        ids = [ids[index] for index in kept]
        weights = [weights[index] for index in kept]
        if values:
            encoded = [encoded[index] for index in kept]
    return ids, weights, encoded


def _field_lengths(cache: _VersionCache, leaf_number: int, reader, fieldname: str):
    """Document number -> the field's length as Whoosh stores it (one byte, decoded by ``byte_to_length``),
    read once per segment and index version. None when the segment keeps no lengths we can read whole."""
    key = (leaf_number, fieldname)
    if key not in cache.lengths:
        lengths = None
        try:
            column = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
            if column is not None and column._fixedlen == 1 and column._typecode == "B":
                stored = column._dbfile.get(column._basepos, column._count)
                lengths = list(map(byte_to_length, stored)) + [None] * (reader.doc_count_all() - column._count)
        except AttributeError:  # another codec: the scorer asks document by document
            lengths = None
        cache.lengths[key] = lengths
    return cache.lengths[key]


def _term_matches(searcher, cache: _VersionCache, fieldname: str, text) -> _Matches:
    """A term's documents and their BM25F scores, as ``searcher.postings`` scores them: the same
    scorer's statistics and Whoosh's own ``bm25`` function, applied to the whole posting list at once."""
    schema = searcher.schema
    if fieldname not in schema:
        return _NOTHING
    try:
        btext = schema[fieldname].to_bytes(text)
    except ValueError:
        return _NOTHING
    if (fieldname, btext) not in searcher.reader():
        return _NOTHING
    weighting = searcher.weighting
    scores: dict[int, float] = {}
    for leaf_number, (leaf, offset) in enumerate(_leaf_searchers(searcher)):
        reader = leaf.reader()
        if (fieldname, btext) not in reader:
            continue
        scorer = weighting.scorer(leaf, fieldname, btext)
        ids, weights, _values = _leaf_postings(reader, fieldname, btext)
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
    return _Matches(frozenset(scores), scores)


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
            ids, _weights, encoded = _leaf_postings(reader, fieldname, btext, values=True)
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


def _stemmed_variant(fieldname: str) -> str | None:
    """"en" or "ru" for a stemmed text field (``body_en``), else None."""
    group, _sep, variant = fieldname.rpartition("_")
    return variant if group in ("title", "body") and variant in ("en", "ru") else None


def _union(parts: list[_Matches]) -> _Matches:
    """Documents matching any part, each scored with the sum of the parts it matches (Whoosh's Or)."""
    parts = [part for part in parts if part.docs]
    if not parts:
        return _NOTHING
    if len(parts) == 1:
        return parts[0]
    scores: dict[int, float] = {}
    get = scores.get
    for part in parts:
        for docnum, value in part.items():
            scores[docnum] = get(docnum, 0.0) + value
    return _Matches(frozenset(scores), scores, lambda: functools.reduce(operator.or_, [part.mask() for part in parts]))


def _boosted(found: _Matches, boost: float) -> _Matches:
    if boost == 1.0 or not found.docs:
        return found
    if isinstance(found.scores, float):
        return _Matches(found.docs, found.scores * boost, found.mask)
    return _Matches(found.docs, {docnum: value * boost for docnum, value in found.items()}, found.mask)


class _Engine:
    """Evaluates a query tree on one searcher: ``matches(node)`` -> _Matches."""

    def __init__(self, searcher) -> None:
        self.searcher = searcher
        self.cache = _cache_of(searcher)
        self.prefixes: dict = {}

    def live(self) -> _Matches:
        """Every document not deleted (Whoosh's ``Every``, weight 1)."""
        if self.cache.live is None:
            self.cache.live = _Matches(frozenset(self.searcher.reader().all_doc_ids()), 1.0)
        return self.cache.live

    def matches(self, node) -> _Matches:
        if node is None or node is query.NullQuery or isinstance(node, type(query.NullQuery)):
            return _NOTHING
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
                return _NOTHING
            negative = self.matches(node.b)
            if not negative.docs:
                return _boosted(positive, node.boost)
            # The positive part's scores cover its documents, so these too.
            return _boosted(_Matches(positive.docs - negative.docs, positive.scores,
                                     lambda: positive.mask() & ~negative.mask()), node.boost)
        if isinstance(node, query.Not):
            live = self.live()
            excluded = self.matches(node.query)
            return _Matches(live.docs - excluded.docs, 1.0, lambda: live.mask() & ~excluded.mask())
        return self._by_whoosh(node)

    def _or(self, node) -> _Matches:
        return _boosted(_union([self.matches(part) for part in node.subqueries]), node.boost)

    def _and(self, node) -> _Matches:
        positives, negatives = [], []
        for part in node.subqueries:
            if isinstance(part, query.Not):
                negatives.append(self.matches(part.query))
            else:
                found = self.matches(part)
                if not found.docs:
                    return _NOTHING
                positives.append(found)
        if not positives:
            positives = [_Matches(self.live().docs, 0.0, self.live().mask)]
        ordered = sorted(positives, key=lambda found: len(found.docs))
        docs = ordered[0].docs.intersection(*[found.docs for found in ordered[1:]])
        for excluded in negatives:
            docs = docs - excluded.docs
        if not docs:
            return _NOTHING
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

        return _boosted(_Matches(docs, scores, combine), node.boost)

    def _phrase(self, node) -> _Matches:
        """Documents holding the words in a row, scored as Whoosh does: the sum of the words' scores."""
        words = [self.matches(query.Term(node.fieldname, word)) for word in node.words]
        if not words or not all(found.docs for found in words):
            return _NOTHING
        candidates = functools.reduce(frozenset.intersection, [found.docs for found in words])
        if node.slop == 1:
            docs = _phrase_documents(self.searcher, node.fieldname, list(node.words), candidates)
        else:  # the parser never asks for one, but Whoosh knows how
            docs = frozenset(self.searcher.docs_for_query(query.Phrase(node.fieldname, node.words, slop=node.slop)))
        if not docs:
            return _NOTHING
        scores = {docnum: sum(found.scores[docnum] for found in words) for docnum in docs}
        return _boosted(_Matches(docs, scores), node.boost)

    def _prefix(self, node) -> _Matches:
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
        variant = _stemmed_variant(fieldname)
        if variant is not None:
            analysis = _analysis(variant)
            for btext in reader.expand_prefix("words", prefix):
                word = schema["words"].from_bytes(btext)
                texts.update(term for _start, _end, term, stopped in analysis.of(word)
                             if not stopped and (fieldname, schema[fieldname].to_bytes(term)) in reader)
        found = self.prefixes[key] = sorted(text for text in texts if text)
        return found

    def _by_whoosh(self, node) -> _Matches:
        """Any other query (AndMaybe, Require, ...): Whoosh's matcher, document by document."""
        matcher = node.matcher(self.searcher, self.searcher.context())
        scores: dict[int, float] = {}
        while matcher.is_active():
            scores[matcher.id()] = matcher.score()
            matcher.next()
        return _Matches(frozenset(scores), scores)

    def best(self, found: _Matches, count: int) -> list[tuple[float, int]]:
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

    def newest(self, found: _Matches, count: int) -> list[tuple[int, int]]:
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

    def _facets(self) -> _VersionCache:
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
                            documents += map(offset.__add__, _leaf_postings(leaf.reader(), name, term)[0])
                    values[value] = frozenset(documents)
                    # Append the value to each of its documents' lists (the loop runs in C).
                    collections.deque(map(list.append, map(of_document.__getitem__, documents),
                                          itertools.repeat((name, value))), maxlen=0)
                postings[name] = values
            cache.facets_of_document = [tuple(keys) for keys in of_document]
            cache.facet_masks = {name: {value: _mask_of(documents) for value, documents in values.items()}
                                 for name, values in postings.items()}
            cache.facets = postings
        return cache

    def facet_counts(self, found: _Matches) -> dict[str, dict[str, int]]:
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


def _facet_counts(engine: _Engine, found: _Matches) -> dict[str, dict[str, int]]:
    counts = engine.facet_counts(found)
    return _named_facets({facet: counts[fieldname] for facet, fieldname in FACET_FIELDS})


def _named_facets(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Facet counts as the archive shows them: think tanks by name, each facet most frequent first."""
    # Think tanks are indexed by id (names may hold commas): name them, summing namesakes.
    ids = [int(value) for value in counts["think_tank"]]
    names = {}
    if ids:
        names = dict(db.session.execute(select(ThinkTank.id, ThinkTank.name).where(ThinkTank.id.in_(ids))).all())
    by_name: dict[str, int] = {}
    for value, count in counts["think_tank"].items():
        name = names.get(int(value))
        if name is not None:
            by_name[name] = by_name.get(name, 0) + count
    counts["think_tank"] = by_name
    return {facet: dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))
            for facet, values in counts.items()}


class _MarkFormatter(highlight.Formatter):
    """Matches in <mark>, every other character HTML-escaped; fragments joined with an ellipsis."""

    between = " … "

    def format_fragment(self, fragment, replace=False):
        # Overlapping or touching matches (CJK bigrams: 安全, 全合, 合作) become one mark.
        spans: list[list[int]] = []
        for token in sorted(fragment.matches, key=lambda match: match.startchar):
            if spans and token.startchar <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], token.endchar)
            else:
                spans.append([token.startchar, token.endchar])
        output = []
        index = fragment.startchar
        text = fragment.text
        for start, end in spans:
            output.append(html.escape(text[index:start]))
            output.append(f"<mark>{html.escape(text[start:end])}</mark>")
            index = end
        output.append(html.escape(text[index:fragment.endchar]))
        return "".join(output)


def _terms_by_variant(parsed_query) -> dict[str, set[str]]:
    terms: dict[str, set[str]] = {}
    if parsed_query is None:
        return terms
    for fieldname, text in parsed_query.iter_all_terms(phrases=True):
        if fieldname.startswith(("title_", "body_")):
            value = text.decode("utf-8") if isinstance(text, bytes) else text
            terms.setdefault(fieldname, set()).add(value)
    return terms


def _prefixes(parsed_query) -> list[tuple[str, str]]:
    found = []

    def walk(node):
        if isinstance(node, query.Prefix):
            found.append((node.fieldname, str(node.text)))
        for child in node.children():
            walk(child)

    if parsed_query is not None:
        walk(parsed_query)
    return found


#: Snippets: ``highlight.ContextFragmenter(maxchars=SNIPPET_CHARACTERS, surround=SNIPPET_SURROUND)``, best two.
SNIPPET_SURROUND = 60
SNIPPET_FRAGMENTS = 2


class _TokenAnalysis:
    """A language variant's analyzer applied token by token, each distinct token analysed once.

    Whoosh's ``highlight()`` runs the analyzer over the whole text of every hit (tokenize, lower-case,
    stop words, Snowball stemming), which was most of a search's time. Every filter of our analyzers
    works token by token (the CJK bigram filter cuts one token into pieces), so analysing a token alone
    gives what the analyzer gives it inside a text: the text is cut with the analyzer's own pattern (in
    C, by ``re.split``) and each distinct token's analysis is remembered, with the tokens each term comes
    from. The snippets are the same, character for character.
    """

    MAX_REMEMBERED = 200_000

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.analyzer = analyzer_of(variant)
        tokens = token_pattern(self.analyzer)
        # The tokens as one capturing group: split() returns the text between tokens and the tokens, in turn.
        self.splitter = re.compile(f"({tokens.pattern})", tokens.flags)
        self.lock = threading.Lock()
        self.known: dict[str, tuple[tuple[int, int, str, bool], ...]] = {}
        #: term -> the tokens (as written) the analyzer turns into it, for single-piece tokens.
        self.sources: dict[str, set[str]] = {}
        self.splits = False  # whether some token gave several pieces (CJK bigrams)

    def of(self, raw: str) -> tuple[tuple[int, int, str, bool], ...]:
        """(start, end, term, is_stop_word) of each token the analyzer makes of the token ``raw``."""
        found = self.known.get(raw)
        if found is None:
            with ANALYZING, self.lock:
                found = tuple((token.startchar, token.endchar, token.text, token.stopped)
                              for token in self.analyzer(raw, chars=True, mode="query", removestops=False))
                if len(self.known) == self.MAX_REMEMBERED:
                    # Full: later requests start afresh; this one (and any still using it) stays consistent.
                    _analyses.pop(self.variant, None)
                self.known[raw] = found
                if len(found) == 1:
                    self.sources.setdefault(found[0][2], set()).add(raw)
                else:
                    self.splits = True
        return found

    def learn(self, raws: set[str]) -> None:
        for raw in raws.difference(self.known):
            self.of(raw)

    def sources_of(self, terms) -> set[str]:
        sources = self.sources
        found: set[str] = set()
        for term in terms:
            found.update(sources.get(term, ()))
        return found


_analyses: dict[str, _TokenAnalysis] = {}


def _analysis(variant: str) -> _TokenAnalysis:
    found = _analyses.get(variant)
    if found is None:
        found = _analyses.setdefault(variant, _TokenAnalysis(variant))
    return found


class _Match:
    """A matched token, as Whoosh's fragment scorer and our formatter read it."""

    __slots__ = ("text", "startchar", "endchar", "boost", "matched")

    def __init__(self, text: str, startchar: int, endchar: int) -> None:
        self.text = text
        self.startchar = startchar
        self.endchar = endchar
        self.boost = 1.0
        self.matched = True


def _marked_tokens(text: str, analysis: _TokenAnalysis, wanted: set[str], prefixes: list[str]):
    """The text's tokens as ``bounds`` (start and end of token i at 2i and 2i + 1), and index -> term of
    the tokens to mark: their term is ``wanted`` or, not being a stop word, starts with a prefix."""
    parts = analysis.splitter.split(text)
    raws = parts[1::2]
    distinct = set(raws)
    analysis.learn(distinct)
    if prefixes:
        # As Whoosh's highlight is given them: every term of the text (stop words apart) with the prefix.
        starts = tuple(prefixes)
        of = analysis.of
        wanted = wanted | {term for raw in distinct for _start, _end, term, stopped in of(raw)
                           if not stopped and term.startswith(starts)}
    if not analysis.splits or not any(len(analysis.of(raw)) != 1 for raw in distinct):
        present = distinct & analysis.sources_of(wanted)
        if not present:
            return [], {}
        # Offsets of the parts: the tokens are the odd parts, so token i spans bounds[2i]..bounds[2i + 1].
        bounds = list(itertools.accumulate(map(len, parts), initial=0))[1:-1]
        of = analysis.of
        indexes = itertools.compress(range(len(raws)), map(present.__contains__, raws))
        return bounds, {index: of(raws[index])[0][2] for index in indexes}
    # Some tokens are cut into several pieces (CJK bigrams): list every piece.
    bounds, marked = [], {}
    offset = 0
    for position, part in enumerate(parts):
        if position % 2:
            for start, end, term, _stopped in analysis.of(part):
                if term in wanted:
                    marked[len(bounds) // 2] = term
                bounds += (offset + start, offset + end)
        offset += len(part)
    return bounds, marked


def _context_fragments(text: str, bounds: list[int], marked: dict[int, str], *, maxchars: int,
                       surround: int, charlimit: int) -> list[tuple[int | None, int, list[int]]]:
    """The fragments ``highlight.ContextFragmenter(maxchars, surround, charlimit).fragment_tokens`` makes,
    as (start, end, indexes of the marked tokens in it), without Fragment objects (``_best`` makes the
    two shown). Exactly Whoosh's, visiting only the marked tokens: between two of them the fragmenter
    only adds up token lengths (in a fragment) or moves its look-behind window (out of one), so the
    token where a fragment ends is found by bisecting the running total of token lengths, and the
    window is rebuilt from the token positions when the next marked token comes."""
    total = len(bounds) // 2
    count = total
    if charlimit and total and bounds[-1] > charlimit:
        # Whoosh stops at the first token ending past the limit (and ends an open fragment there).
        count = bisect.bisect_right(bounds[1::2], charlimit)
    # running[i]: the length of the tokens before token i (the fragmenter counts token characters only).
    running = list(itertools.accumulate(map(operator.sub, bounds[1:2 * count:2], bounds[0:2 * count:2]), initial=0))
    fragments = []
    marked_indexes = [index for index in marked if index < count]  # in token order
    first = None
    window_first = None  # the oldest start in Whoosh's look-behind deque ("firsts"), None when empty
    countdown = -1
    kept: list[int] = []
    currentlen = 0
    endchar = None
    last_reset = -1  # the token at which the look-behind window was last emptied (a fragment ended)
    upcoming = 0  # position in marked_indexes of the next marked token at or after index
    index = 0
    while index < count:
        while upcoming < len(marked_indexes) and marked_indexes[upcoming] < index:
            upcoming += 1
        next_marked = marked_indexes[upcoming] if upcoming < len(marked_indexes) else count
        if countdown < 0:
            # Out of a fragment, unmarked tokens only feed the window: jump to the next marked token.
            if next_marked == count:
                break
            window_first = None
            if next_marked - 1 > last_reset:
                horizon = bounds[2 * next_marked - 1] - surround
                position = next_marked - 1
                while position > last_reset and bounds[2 * position] >= horizon:
                    window_first = bounds[2 * position]
                    position -= 1
            index = next_marked
        elif index < next_marked:
            # In a fragment, unmarked tokens up to the next marked one: the fragment ends at the first
            # whose end takes it past maxchars, or uses up the countdown.
            past_maxchars = bisect.bisect_right(running, maxchars - currentlen + running[index], index + 1) - 1
            countdown_spent = bisect.bisect_left(running, countdown + running[index], index + 1) - 1
            ending = min(past_maxchars, countdown_spent)
            if ending < next_marked:
                spent = running[ending + 1] - running[index]
                if past_maxchars <= countdown_spent:
                    countdown = -(running[ending + 1] - running[ending])
                else:
                    countdown -= spent
                endchar = bounds[2 * ending + 1]
                fragments.append((first, endchar, kept))
                kept = []
                first = None
                window_first = None
                currentlen = 0
                last_reset = ending
                index = ending + 1
            else:
                spent = running[next_marked] - running[index]
                currentlen += spent
                countdown -= spent
                endchar = bounds[2 * next_marked - 1]
                index = next_marked
            continue
        # A marked token (or, right after a fragment ended on a spent countdown, any token).
        start = bounds[2 * index]
        end = bounds[2 * index + 1]
        length = end - start
        endchar = end
        term = marked.get(index)
        if currentlen + length > maxchars:
            countdown = 0
        elif term is not None:
            countdown = surround
            if first is None:
                if window_first is not None:
                    first = window_first
                else:
                    first = start
                    countdown += surround
            kept.append(index)
        if countdown >= 0:
            currentlen += length
            countdown -= length
            if countdown <= 0:
                fragments.append((first, end, kept))
                kept = []
                first = None
                window_first = None
                currentlen = 0
                last_reset = index
        index += 1
    if kept:
        if count < total:
            endchar = bounds[2 * count + 1]
        fragments.append((first, endchar, kept))
    return fragments


def _best(text: str, bounds: list[int], marked: dict[int, str], fragments, count: int) -> list[highlight.Fragment]:
    """What ``highlight.top_fragments(..., count, BasicFragmentScorer(), FIRST, minscore=1)`` keeps of the
    fragments: the ``count`` best scored (matches x distinct terms x 100; on a tie the later one, as
    Fragment objects compare by start), in text order. Fragments without a match score 0: never kept."""
    scored = []
    for start, end, indexes in fragments:
        if indexes:
            terms = [marked[index] for index in indexes]
            scored.append((float(len(terms)) * (len(set(terms)) * 100), start, end, indexes))
    best = sorted(heapq.nlargest(count, scored, key=operator.itemgetter(0, 1)), key=operator.itemgetter(1))
    return [highlight.Fragment(text, [_Match(marked[index], bounds[2 * index], bounds[2 * index + 1])
                                      for index in indexes], start, min(len(text), end))
            for _score, start, end, indexes in best]


def _whole_fragment(text: str, bounds: list[int], marked: dict[int, str], *,
                    charlimit: int) -> list[highlight.Fragment]:
    """What ``highlight.WholeFragmenter(charlimit).fragment_tokens`` gives."""
    matches = []
    for index, term in marked.items():
        start, end = bounds[2 * index], bounds[2 * index + 1]
        if charlimit and end > charlimit:
            break
        matches.append(_Match(term, start, end))
    return [highlight.Fragment(text, matches)]


def _snippet(text: str, fieldname: str, variant: str, terms: dict, prefixes, *, whole: bool) -> str:
    """The text with its matches in <mark> (Whoosh's ``highlight()`` with our formatter, two best
    fragments in text order), the whole text for a title; escaped plain text when nothing matched."""
    wanted = terms.get(fieldname, set())
    field_prefixes = [prefix for field, prefix in prefixes if field == fieldname]
    if wanted or field_prefixes:
        bounds, marked = _marked_tokens(text, _analysis(variant), wanted, field_prefixes)
        if marked:
            if whole:
                best = highlight.top_fragments(
                    _whole_fragment(text, bounds, marked, charlimit=highlight.DEFAULT_CHARLIMIT), SNIPPET_FRAGMENTS,
                    highlight.BasicFragmentScorer(), highlight.FIRST, minscore=1)
            else:
                fragments = _context_fragments(text, bounds, marked, maxchars=SNIPPET_CHARACTERS,
                                               surround=SNIPPET_SURROUND, charlimit=highlight.DEFAULT_CHARLIMIT)
                best = _best(text, bounds, marked, fragments, SNIPPET_FRAGMENTS)
            marked_text = _MarkFormatter()(text, best)
            if marked_text:
                return marked_text
    if whole:
        return html.escape(text)
    return html.escape(_shorten(text))


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARACTERS:
        return text
    return text[:SNIPPET_CHARACTERS].rsplit(" ", 1)[0] + " …"


@dataclass
class _Found:
    """A query's matches on one searcher, and what it was parsed into."""

    parsed: object
    searcher: object
    engine: _Engine
    restriction: query.Query | None
    matches: _Matches

    def ranked(self, sort: str, count: int) -> list[tuple]:
        """The ``count`` first (score or decided, document): newest first when asked or when nothing was typed."""
        if sort == "newest" or self.parsed.query is None:
            return self.engine.newest(self.matches, count)
        return self.engine.best(self.matches, count)


def _find(text: str | None, filters: Filters) -> _Found:
    parsed = parse(text)
    searcher = index_store.searcher()
    engine = _Engine(searcher)
    main = parsed.query if parsed.query is not None else query.Every()
    restriction = _filter_query(filters)
    matches = engine.matches(main if restriction is None else query.And([main, restriction]))
    return _Found(parsed, searcher, engine, restriction, matches)


def _may_show(viewer, proposal: Proposal | None) -> bool:
    """A hit is shown only if it is (still) public and the viewer may see it: the index holds public
    proposals only, and this re-check guards against a stale entry."""
    return proposal is not None and is_public(proposal) and permissions.can_view_proposal(viewer, proposal)


def search(text: str | None, filters: Filters = Filters(), viewer=None, *, page: int = 1, per_page: int = 20,
           sort: str = "relevance", with_facets: bool = True) -> Results:
    """Search the public archive: the hits of ``page`` (re-checked against the viewer's permissions),
    the total, facet counts over every matching proposal, a "did you mean" suggestion when nothing
    matched, and a notice when the query was changed (cut, or searched as plain words)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    if _on_postgres():
        return _search_postgres(text, filters, viewer, page=page, per_page=per_page, sort=sort,
                                with_facets=with_facets)
    found = _find(text, filters)
    total = len(found.matches.docs)
    facets = _facet_counts(found.engine, found.matches) if with_facets else {}
    wanted = page * per_page
    window = [_Row(score, found.searcher.stored_fields(docnum))
              for score, docnum in found.ranked(sort, wanted)[(page - 1) * per_page:wanted]]
    hits = _hits(window, found.parsed.query, viewer, found.engine)
    words = found.parsed.words
    suggestion = _suggestion(found.engine, words, found.restriction) if total == 0 and words else None
    return Results(hits=hits, total=total, page=page, per_page=per_page, facets=facets, suggestion=suggestion,
                   notice=found.parsed.notice)


def iter_hits(text: str | None, filters: Filters = Filters(), viewer=None, *, sort: str = "relevance",
              limit: int, chunk: int = INDEXING_CHUNK):
    """The proposals the search finds, best (or newest) first, at most ``limit``, each re-checked like a
    page of hits: ranked once on one searcher (so rows neither repeat nor go missing if the index changes
    meanwhile), loaded from the database ``chunk`` at a time. For exports."""
    if _on_postgres():
        from . import postgres

        parsed = parse(text)
        windows = _chunks(postgres.Found(parsed.plan, filters, _think_tank_ids(filters)).ids(sort, limit), chunk)
    else:
        found = _find(text, filters)
        windows = ([int(found.searcher.stored_fields(docnum)["proposal_id"]) for _score, docnum in window]
                   for window in _chunks(found.ranked(sort, limit), chunk))
    for ids in windows:
        loaded = {proposal.id: proposal for proposal in _load_hits(ids)}
        for number in ids:
            if _may_show(viewer, loaded.get(number)):
                yield loaded[number]


class _Row(dict):
    """A ranked document's stored fields, with its score (what ``whoosh.searching.Hit`` offered)."""

    def __init__(self, score, fields: dict) -> None:
        super().__init__(fields)
        self.score = score


def _load_hits(proposal_ids: list[int]) -> list[Proposal]:
    """The proposals of a page of hits, with what readers are shown of them (dimensions, member states,
    think tanks, authors) and without what they are not (keywords and translations: the index holds the
    texts a hit shows; loaded if ever asked for)."""
    if not proposal_ids:
        return []
    return list(db.session.scalars(
        select(Proposal).where(Proposal.id.in_(proposal_ids)).options(
            selectinload(Proposal.think_tanks), selectinload(Proposal.member_states),
            selectinload(Proposal.dimensions), selectinload(Proposal.authors), lazyload(Proposal.keywords),
            lazyload(Proposal.translations),
        )
    ))


def _hits(window, parsed_query, viewer, engine: _Engine) -> list[Hit]:
    ids = [int(hit["proposal_id"]) for hit in window]
    proposals = {proposal.id: proposal for proposal in _load_hits(ids)}
    terms = _terms_by_variant(parsed_query)
    prefixes = _prefixes(parsed_query)
    for fieldname, prefix in prefixes:
        # The stems a prefix found through the words as written are marked wherever they are.
        if _stemmed_variant(fieldname) is not None:
            terms.setdefault(fieldname, set()).update(engine.prefix_terms(fieldname, prefix))
    hits = []
    for hit in window:
        proposal = proposals.get(int(hit["proposal_id"]))
        if not _may_show(viewer, proposal):
            continue
        texts = [(hit["facet_language"], hit.get("variant") or "any", hit["stored_title"], hit["stored_body"])]
        texts += [(language, variant_of(language), title, body)
                  for language, title, body in hit.get("stored_translations") or ()]
        shown = _shown([_ShownText(language=language,
                                   title=_snippet(title, f"title_{variant}", variant, terms, prefixes, whole=True),
                                   body=_snippet(body, f"body_{variant}", variant, terms, prefixes, whole=False))
                        for language, variant, title, body in texts])
        hits.append(Hit(proposal=proposal, score=hit.score, highlights={"title": shown.title, "body": shown.body},
                        language=shown.language))
    return hits


def _closest_word(engine: _Engine, word: str) -> str | None:
    """The known word closest to ``word`` (Damerau-Levenshtein distance 1, else 2), the most frequent of
    those, then the last in alphabetical order. Whoosh's ``corrector("words").suggest(word, limit=1,
    maxdist=2)`` computed the distance to every word of the lexicon (a quarter to half a second at 20,000
    proposals) and then ranked by frequency alone, despite its documentation: a frequent word two edits
    away beat the word one edit away. Here only words that can be that close are measured (a length
    within 2, at most 2 of the word's letters missing from them: each edit removes at most one)."""
    reader = engine.searcher.reader()
    return _closest_in(engine.spelling_lexicon(), lambda known: reader.frequency("words", known), word)


def _closest_in(lexicon: dict[int, list[str]], frequency, word: str) -> str | None:
    """``_closest_word`` over a lexicon by length, with ``frequency(word)`` (how many proposals hold it)."""
    letters = set(word)
    length = len(word)
    within: dict[int, list[str]] = {1: [], 2: []}
    for size in range(max(length - 2, 1), length + 3):
        for known in lexicon.get(size, ()):
            if len(letters.difference(known)) > 2 or known == word:
                continue
            distance = damerau_levenshtein(known, word, limit=2)
            if distance <= 2:
                within[distance].append(known)
    closest = within[1] or within[2]
    if not closest:
        return None
    return max(closest, key=lambda known: (frequency(known) or 1, known))


def _corrected(words: list[str], known, closest) -> str | None:
    """``words`` with each unknown one (``known(lowered)`` false) replaced by ``closest(lowered)``;
    None when no word changed."""
    changed = False
    corrected = []
    for word in words:
        lowered = word.lower()
        if CJK.search(word) or known(lowered):
            corrected.append(word)
            continue
        replacement = closest(lowered)
        if replacement:
            corrected.append(replacement)
            changed = True
        else:
            corrected.append(word)
    return " ".join(corrected) if changed else None


def _suggestion(engine: _Engine, words: list[str], restriction) -> str | None:
    """The query with each unknown word replaced by the closest known one, when that finds something."""
    searcher = engine.searcher
    suggestion = _corrected(words, lambda word: searcher.doc_frequency("words", word) > 0,
                            lambda word: _closest_word(engine, word))
    if suggestion is None:
        return None
    parsed = parse(suggestion)
    if parsed.query is None:
        return None
    check_query = parsed.query if restriction is None else query.And([parsed.query, restriction])
    return suggestion if engine.matches(check_query).docs else None


def more_like_this(proposal: Proposal, viewer, *, limit: int = 5) -> list[Proposal]:
    """Public proposals whose text is most like this one's, as far as the viewer may see them."""
    variant = variant_of(proposal.language)
    text = "\n".join(part for part in (proposal.title, proposal.summary, sanitize.html_to_text(proposal.body_html))
                     if part)
    key = (proposal.id, hashlib.blake2b(text.encode(), digest_size=16).digest(), limit + 1)
    if _on_postgres():
        from . import postgres

        ids = postgres.remembered(key, lambda: postgres.related_ids(proposal.id, variant, text, limit + 1))
    else:
        searcher = index_store.searcher()
        ids = _cache_of(searcher).related.get(key, lambda: _whoosh_related(searcher, proposal.id, variant, text,
                                                                           limit + 1))
    loaded = {row.id: row for row in _load(db.session, ids)}
    return [loaded[number] for number in ids if _may_show(viewer, loaded.get(number))][:limit]


def _whoosh_related(searcher, proposal_id: int, variant: str, text: str, count: int) -> list[int]:
    key_terms = searcher.key_terms_from_text(f"body_{variant}", text, numterms=12)
    if not key_terms:
        return []
    similar = query.Or([query.Term(f"body_{variant}", word, boost=weight) for word, weight in key_terms])
    # Our engine, not ``searcher.search``: the same ranks (tested), four times faster at 20,000 proposals
    # (180 ms against 800 the first time; the terms' postings are then kept with the index version).
    engine = _Engine(searcher)
    ids = [int(searcher.stored_fields(docnum)["proposal_id"]) for _score, docnum in
           engine.best(engine.matches(similar), count + 1)]
    return [number for number in ids if number != proposal_id][:count]


# --- the PostgreSQL backend's search (``postgres.py`` compiles and runs it) ---------------------------


def _postgres_text(text, terms: dict, prefixes: list) -> _ShownText:
    """A text of a PostgreSQL hit (``postgres.Text``) highlighted."""
    from . import postgres

    if text.variant == "cjk":
        # PostgreSQL's parser keeps a run of CJK characters as one word: its pairs are marked here.
        return _ShownText(language=text.language,
                          title=_snippet(text.title, "title_cjk", "cjk", terms, prefixes, whole=True),
                          body=_snippet(text.body, "body_cjk", "cjk", terms, prefixes, whole=False))
    return _ShownText(language=text.language,
                      title=postgres.marked(text.title_marked) or html.escape(text.title),
                      body=postgres.marked(text.body_marked) or html.escape(_shorten(text.body)))


def _search_postgres(text: str | None, filters: Filters, viewer, *, page: int, per_page: int, sort: str,
                     with_facets: bool) -> Results:
    from . import postgres

    parsed = parse(text)
    think_tank_ids = _think_tank_ids(filters)
    found = postgres.Found(parsed.plan, filters, think_tank_ids)
    if with_facets:
        total, counts = found.total_and_facets()
        facets = _named_facets(counts)
    else:
        total, facets = found.total(), {}
    rows = found.page(sort, (page - 1) * per_page, per_page) if total else []
    proposals = {proposal.id: proposal for proposal in _load_hits([row.proposal_id for row in rows])}
    terms, prefixes = (_terms_by_variant(parsed.query), _prefixes(parsed.query)) if parsed.query else ({}, [])
    hits = []
    for row in rows:
        proposal = proposals.get(row.proposal_id)
        if not _may_show(viewer, proposal):
            continue
        shown = _shown([_postgres_text(text, terms, prefixes) for text in row.texts])
        hits.append(Hit(proposal=proposal, score=row.score, highlights={"title": shown.title, "body": shown.body},
                        language=shown.language))
    suggestion = None
    if total == 0 and parsed.words:
        by_length, frequency = postgres.spelling_lexicon()
        corrected = _corrected(parsed.words, frequency.__contains__,
                               lambda word: _closest_in(by_length, frequency.get, word))
        if corrected is not None:
            plan = parse(corrected).plan
            if plan is not None and postgres.Found(plan, filters, think_tank_ids).total():
                suggestion = corrected
    return Results(hits=hits, total=total, page=page, per_page=per_page, facets=facets, suggestion=suggestion,
                   notice=parsed.notice)
