"""What the index holds of a public proposal (its document), the same for every backend, and how the
public proposals are read from the database for indexing (in batches, with the relations a document
reads loaded with them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import sanitize
from ..enums import ProposalState
from ..extensions import db
from ..proposals.facts import author_names, decided_at, year_of
from ..proposals.models import Proposal
from .schema import spelling_words, variant_of

#: Stored text is cut here: snippets and "more like this" never need more, and the index stays small.
STORED_BODY_CHARACTERS = 20_000
#: Proposals read from the database at a time when indexing.
INDEXING_CHUNK = 500
#: What ``check`` compares: every stored field but the derived ones (the variant and the spelling words
#: follow from the language and the text).
CHECKED_FIELDS = ("reference", "stored_title", "stored_body", "stored_translations", "author", "thinktank", "keyword",
                  "facet_dimension", "facet_member_state", "facet_think_tank", "facet_language", "facet_year",
                  "decided")


def is_public(proposal: Proposal) -> bool:
    """What the index may hold: endorsed proposals (ARCHITECTURE.md section 5: public)."""
    return proposal.state == ProposalState.ENDORSED


def text_of(summary: str, body_html: str) -> str:
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
    body = text_of(proposal.summary, proposal.body_html)
    when = decided_at(proposal) or proposal.first_submitted_at
    year = year_of(proposal)
    translations = [(row.language, row.title, text_of(row.summary, row.body_html))
                    for row in indexed_translations(proposal)]
    document = {
        "proposal_id": str(proposal.id),
        "reference": proposal.reference or "",
        "author": " ".join(author_names(proposal)),
        "thinktank": " ".join(row.think_tank.name for row in proposal.think_tanks),
        # Sorted here, not by the relationship's ORDER BY (the database's collation): a proposal an import
        # holds before any flush (``outbox.index_as_recorded``) has its keywords in the file's order.
        "keyword": " ".join(sorted(row.keyword for row in proposal.keywords)),
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
        f"title_{variant}": proposal.title,
        f"body_{variant}": body,
    }
    for language, title, text in translations:
        document[f"title_{variant_of(language)}"] = title
        document[f"body_{variant_of(language)}"] = text
    return document


def words_of(document: dict) -> str:
    """What the "words" field ("did you mean") is given of a document: every word of its texts, whole
    (``spelling_words``). Each backend makes it as it writes the document, which does not hold it: it follows
    from the texts, and the PostgreSQL backend makes it in its worker processes for a large write."""
    translated = [f"{title}\n{document[f'body_{variant_of(language)}']}"
                  for language, title, _stored in document["stored_translations"]]
    return spelling_words("\n".join([document["stored_title"], full_body(document), *translated]))


def full_body(document: dict) -> str:
    """The whole text of a document's original (its stored body is cut at STORED_BODY_CHARACTERS)."""
    return document[f"body_{document['variant']}"]


def comparable(name: str, value):
    """A stored field as ``check`` compares it: a facet's values as a set (the PostgreSQL backend keeps
    them in rows, unordered); the translations as (language, title, body) tuples, by language (an entry
    from before translations were indexed has none)."""
    if name.startswith("facet_") and isinstance(value, str):
        return sorted(value.split(","))
    if name == "stored_translations":
        return sorted(tuple(text) for text in value or ())
    return value


#: What ``document_of`` reads of a proposal, loaded with it (one query per relation for a whole batch).
INDEXED_RELATIONS = (selectinload(Proposal.think_tanks), selectinload(Proposal.member_states),
                     selectinload(Proposal.keywords), selectinload(Proposal.dimensions),
                     selectinload(Proposal.authors), selectinload(Proposal.translations))


def load(session, proposal_ids: Iterable[int]) -> list[Proposal]:
    """The proposals of ``proposal_ids`` with what their documents read (in no particular order)."""
    ids = list(proposal_ids)
    if not ids:
        return []
    return list(session.scalars(select(Proposal).where(Proposal.id.in_(ids)).options(*INDEXED_RELATIONS)))


def chunks(values: list, size: int) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def public_batches(batch_size: int) -> Iterator[list[Proposal]]:
    """Every public proposal, ``batch_size`` at a time in id order; each batch is forgotten by the session
    once the caller is done with it, so memory stays bounded."""
    offset_id = 0
    while True:
        batch = list(db.session.scalars(
            select(Proposal).where(Proposal.state == ProposalState.ENDORSED, Proposal.id > offset_id)
            .order_by(Proposal.id).limit(batch_size).options(*INDEXED_RELATIONS)
        ))
        if not batch:
            return
        yield batch
        offset_id = batch[-1].id
        db.session.expunge_all()
