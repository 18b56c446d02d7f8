"""The search interface of ARCHITECTURE.md section 6: index, remove, search, more like this, sync,
rebuild, check. Only public (endorsed) proposals are ever written to the index; every hit is
re-checked against ``permissions.can_view_proposal`` before it is returned.

This facade is the same whichever backend the application chose at start-up (``init_backend``): it
builds the documents (``documents``), parses queries (``query``), loads the proposals of the hits and
re-checks them, names the facets and suggests corrections (``spelling``); the backend (``backend.Backend``:
``whoosh_backend`` or ``postgres_backend``) keeps the index and answers the parsed queries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from flask import Flask, current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, defer, lazyload

from .. import permissions, sanitize
from ..extensions import db
from ..proposals.cards import Card, cards
from ..proposals.models import Proposal
from .backend import REMOVE, WRITE, Backend
from .documents import (
    CHECKED_FIELDS,
    INDEXING_CHUNK,
    STORED_BODY_CHARACTERS,
    chunks,
    comparable,
    document_of,
    is_public,
    load,
    public_batches,
)
from .models import SearchOutboxEntry
from .postgres_backend import PostgresBackend
from .query import MAX_QUERY_LENGTH, parse
from .results import (
    FACETS,
    MAX_PER_PAGE,
    NO_FILTERS,
    SORTS,
    Filters,
    Hit,
    Results,
    named_facets,
    shown,
    think_tank_ids,
)
from .schema import variant_of
from .spelling import corrected
from .whoosh_backend import WhooshBackend

__all__ = ["FACETS", "INDEXING_CHUNK", "MAX_PER_PAGE", "MAX_QUERY_LENGTH", "SORTS", "STORED_BODY_CHARACTERS",
           "Filters", "Hit", "Results", "apply_outbox", "backend", "changes_of", "check", "document_of",
           "forget_engine_caches", "index_proposal", "index_proposals", "indexed_count", "init_backend", "is_public",
           "iter_hits", "more_like_this", "pending_count", "remove_proposal", "search"]

#: The backends by the name SEARCH_BACKEND gives.
BACKENDS: dict[str, type] = {"whoosh": WhooshBackend, "postgres": PostgresBackend}


def init_backend(app: Flask) -> None:
    """Choose the application's backend once, at start-up, from SEARCH_BACKEND."""
    app.extensions["search_backend"] = BACKENDS[app.config.get("SEARCH_BACKEND", "whoosh")]()


def active_backend() -> Backend:
    return current_app.extensions["search_backend"]


def backend() -> str:
    """The name of the application's backend: ``whoosh`` (an index folder on this server) or ``postgres``
    (in the database)."""
    return active_backend().name


def indexed_count() -> int:
    """How many proposals the index holds (``/healthz`` asks: it fails when the index cannot be read)."""
    return active_backend().count()


def forget_engine_caches() -> None:
    """Drop what this process keeps of the index in memory (tests and restores that rewrite it in place)."""
    active_backend().forget()


# --- writing the index ----------------------------------------------------------------------------


def changes_of(proposals: Iterable[Proposal]) -> Iterator[tuple[str, object]]:
    """Each proposal's change: its document written if it is public, else its entry removed."""
    for proposal in proposals:
        if is_public(proposal):
            yield WRITE, document_of(proposal)
        else:
            yield REMOVE, str(proposal.id)


def index_proposals(proposals: Iterable[Proposal], *, removed_ids: Iterable[int] = ()) -> int:
    """Bring the index entries of ``proposals`` up to date (public ones written, others removed) and
    remove ``removed_ids``; one update. Returns how many entries were written."""
    proposals = list(proposals)

    def changes():
        yield from changes_of(proposals)
        for proposal_id in removed_ids:
            yield REMOVE, str(proposal_id)

    return active_backend().write(changes(), expected=len(proposals), session=db.session)


def index_proposal(proposal: Proposal) -> None:
    index_proposals([proposal])


def remove_proposal(proposal_id: int) -> None:
    index_proposals([], removed_ids=[proposal_id])


def apply_outbox(proposal_ids: Iterable[int] | None = None) -> int:
    """Apply the outbox (all of it, or the rows of ``proposal_ids``) in a session of its own: index
    what changed, then delete the rows applied. Returns how many proposals were brought up to date.
    Safe to run in several processes at once (updates are idempotent; the index has a writer lock).
    Proposals are read INDEXING_CHUNK at a time (memory stays bounded, IN lists stay short) and written
    as one update."""
    with Session(db.engine) as session:
        rows = select(SearchOutboxEntry.id, SearchOutboxEntry.proposal_id)
        if proposal_ids is None:
            pending = session.execute(rows).all()
        else:
            pending = []
            for chunk in chunks(sorted(set(proposal_ids)), INDEXING_CHUNK):
                pending += session.execute(rows.where(SearchOutboxEntry.proposal_id.in_(chunk))).all()
        if not pending:
            return 0
        wanted = sorted({proposal_id for _row_id, proposal_id in pending})

        def changes():
            for chunk in chunks(wanted, INDEXING_CHUNK):
                found = load(session, chunk)
                yield from changes_of(found)
                for proposal_id in set(chunk) - {proposal.id for proposal in found}:
                    yield REMOVE, str(proposal_id)
                session.expunge_all()

        active_backend().write(changes(), expected=len(wanted), session=session)
        for chunk in chunks([row_id for row_id, _proposal_id in pending], INDEXING_CHUNK):
            session.execute(delete(SearchOutboxEntry).where(SearchOutboxEntry.id.in_(chunk)))
        session.commit()
        return len(wanted)


def pending_count() -> int:
    return db.session.scalar(select(func.count(SearchOutboxEntry.id))) or 0


def check() -> list[str]:
    """Every difference between the index and the database's public proposals (empty: they agree):
    missing entries, entries that should not be there, and entries whose content is stale."""
    indexed = active_backend().entries()
    differences = []
    seen = set()
    for batch in public_batches(INDEXING_CHUNK):
        for proposal in batch:
            key = str(proposal.id)
            seen.add(key)
            stored = indexed.get(key)
            if stored is None:
                differences.append(f"{proposal.reference}: public but not in the index")
                continue
            expected = document_of(proposal)
            for name in CHECKED_FIELDS:
                if comparable(name, stored.get(name)) != comparable(name, expected[name]):
                    differences.append(f"{proposal.reference}: {name} differs in the index")
                    break
    for key, stored in indexed.items():
        if key not in seen:
            differences.append(f"{stored.get('reference') or key}: in the index but not public")
    return differences


# --- searching ------------------------------------------------------------------------------------


def _may_show(viewer, proposal: Proposal | Card | None) -> bool:
    """A hit is shown only if it is (still) public and the viewer may see it: the index holds public
    proposals only, and this re-check guards against a stale entry (a card's state is the database's)."""
    return proposal is not None and is_public(proposal) and permissions.can_view_proposal(viewer, proposal)


def search(text: str | None, filters: Filters = NO_FILTERS, viewer=None, *, page: int = 1, per_page: int = 20,
           sort: str = "relevance", with_facets: bool = True) -> Results:
    """Search the public archive: the hits of ``page`` (re-checked against the viewer's permissions),
    the total, facet counts over every matching proposal, a "did you mean" suggestion when nothing
    matched, and a notice when the query was changed (cut, or searched as plain words)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    parsed = parse(text)
    tank_ids = think_tank_ids(filters)
    found = active_backend().find(parsed, filters, think_tank_ids=tank_ids, sort=sort,
                                  offset=(page - 1) * per_page, limit=per_page, with_facets=with_facets)
    proposals = cards([row.proposal_id for row in found.rows])
    hits = []
    for row in found.rows:
        proposal = proposals.get(row.proposal_id)
        if not _may_show(viewer, proposal):
            continue
        text_shown = shown(row.texts)
        hits.append(Hit(proposal=proposal, score=row.score,
                        highlights={"title": text_shown.title, "body": text_shown.body},
                        language=text_shown.language))
    facets = named_facets(found.facets) if with_facets else {}
    suggestion = _suggestion(parsed.words, filters, tank_ids) if found.total == 0 and parsed.words else None
    return Results(hits=hits, total=found.total, page=page, per_page=per_page, facets=facets,
                   suggestion=suggestion, notice=parsed.notice)


def _suggestion(words: list[str], filters: Filters, tank_ids: list[int] | None) -> str | None:
    """The query with each unknown word replaced by the closest known one, when that finds something."""
    suggestion = corrected(words, active_backend().lexicon())
    if suggestion is None:
        return None
    parsed = parse(suggestion)
    if parsed.plan is None:
        return None
    return suggestion if active_backend().total(parsed, filters, think_tank_ids=tank_ids) else None


def iter_hits(text: str | None, filters: Filters = NO_FILTERS, viewer=None, *, sort: str = "relevance",
              limit: int, chunk: int = INDEXING_CHUNK):
    """The cards of the proposals the search finds, best (or newest) first, at most ``limit``, each
    re-checked like a page of hits: ranked once (so rows neither repeat nor go missing if the index changes
    meanwhile), read from the database ``chunk`` at a time. For exports."""
    ids = active_backend().ranked_ids(parse(text), filters, think_tank_ids=think_tank_ids(filters), sort=sort,
                                      limit=limit)
    for window in chunks(ids, chunk):
        loaded = cards(window)
        for number in window:
            if _may_show(viewer, loaded.get(number)):
                yield loaded[number]


def more_like_this(proposal: Proposal, viewer, *, limit: int = 5) -> list[Proposal]:
    """Public proposals whose text is most like this one's, as far as the viewer may see them; each
    proposal's list is kept until the index changes."""
    text = "\n".join(part for part in (proposal.title, proposal.summary, sanitize.html_to_text(proposal.body_html))
                     if part)
    key = (proposal.id, hashlib.blake2b(text.encode(), digest_size=16).digest(), limit + 1)
    ids = active_backend().related(key, proposal_id=proposal.id, variant=variant_of(proposal.language), text=text,
                                   count=limit + 1)
    loaded = {row.id: row for row in _load_related(ids)}
    return [loaded[number] for number in ids if _may_show(viewer, loaded.get(number))][:limit]


def _load_related(proposal_ids: list[int]) -> list[Proposal]:
    """The proposals of a related list, as the page lists them (title and reference): no relation and no
    text is loaded with them (each is loaded if ever asked for)."""
    if not proposal_ids:
        return []
    return list(db.session.scalars(select(Proposal).where(Proposal.id.in_(proposal_ids)).options(
        lazyload("*"), defer(Proposal.body), defer(Proposal.body_html))))
