"""A proposal as a list shows it: the archive's hits, the API's items, the CSV export's rows and the feed's
entries. A ``Card`` holds what readers are shown of a proposal in a list (its reference, title, summary and
dates, and the names of its dimensions, member states, think tanks and authors), never its text.

``cards`` reads the cards of a page in two statements of plain rows, whatever the page's size: loading the
same twenty proposals as ORM objects with their relations took five statements and 5.0-5.5 ms against 2.4
(20,000 proposals on PostgreSQL; most of it building objects nobody changes). ``card_of`` makes the card of
a proposal already loaded (a proposal's own page, its citations), so every list and every page says the
same of it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, bindparam, literal, select, type_coerce, union_all

from ..accounts.models import User
from ..enums import AuthorStatus, Dimension, ProposalState
from ..extensions import db
from ..reference.models import MemberState
from ..thinktanks.models import ThinkTank
from .facts import author_names, author_order, decided_at
from .models import Proposal, ProposalAuthor, ProposalDimension, ProposalMemberState, ProposalThinkTank


@dataclass(frozen=True)
class Card:
    id: int
    reference: str
    title: str
    summary: str
    language: str
    state: ProposalState
    first_submitted_at: datetime | None
    #: ``facts.decided_at``: when the council decided, or the authors withdrew it.
    decided_at: datetime | None
    updated_at: datetime
    #: In the order of their values.
    dimensions: tuple[Dimension, ...]
    #: The ISO codes of the states it concerns, in code order (organisations without a code are left out,
    #: as in the facets).
    member_states: tuple[str, ...]
    #: Names, in alphabetical order whatever their case.
    think_tanks: tuple[str, ...]
    #: ``facts.author_names``: the accepted co-authors, lead first; the names of an import.
    authors: tuple[str, ...]


def _card(source, *, dimensions: Iterable[Dimension], member_states: Iterable[str], think_tanks: Iterable[str],
          authors: Iterable[str]) -> Card:
    """The card of ``source`` (a proposal, or a row of the proposals table: ``facts.decided_at`` reads either)
    with the names of its relations, put in the order a card lists them."""
    return Card(
        id=source.id, reference=source.reference or "", title=source.title, summary=source.summary or "",
        language=source.language, state=source.state, first_submitted_at=source.first_submitted_at,
        decided_at=decided_at(source), updated_at=source.updated_at,
        dimensions=tuple(sorted(dimensions, key=lambda dimension: dimension.value)),
        member_states=tuple(sorted(member_states)),
        think_tanks=tuple(sorted(think_tanks, key=lambda name: (name.casefold(), name))),
        authors=tuple(authors),
    )


def card_of(proposal: Proposal) -> Card:
    """The card of a loaded proposal (its relations are read)."""
    return _card(proposal, dimensions=(row.dimension for row in proposal.dimensions),
                 member_states=(row.member_state.code for row in proposal.member_states if row.member_state.code),
                 think_tanks=(row.think_tank.name for row in proposal.think_tanks), authors=author_names(proposal))


#: The columns of a card read from the proposals table.
_COLUMNS = (Proposal.id, Proposal.reference, Proposal.title, Proposal.summary, Proposal.language, Proposal.state,
            Proposal.first_submitted_at, Proposal.endorsed_at, Proposal.closed_at, Proposal.withdrawn_at,
            Proposal.updated_at, Proposal.is_imported, Proposal.imported_author_names)


def _names_statement():
    """Every name a card lists of the proposals ``:ids``, one statement: (proposal id, kind, name, lead,
    order), kind "d" a dimension's value, "m" a member state's code, "t" a think tank's name, "a" an
    accepted co-author's display name with whether they lead and the id of their row (``author_order``)."""
    ids = bindparam("ids", expanding=True)
    nothing = (literal(False), literal(0))
    dimensions = select(ProposalDimension.proposal_id, literal("d"), type_coerce(ProposalDimension.dimension, String),
                        *nothing).where(ProposalDimension.proposal_id.in_(ids))
    states = select(ProposalMemberState.proposal_id, literal("m"), MemberState.code, *nothing).join(
        MemberState, MemberState.id == ProposalMemberState.member_state_id).where(
        ProposalMemberState.proposal_id.in_(ids), MemberState.code.is_not(None))
    tanks = select(ProposalThinkTank.proposal_id, literal("t"), ThinkTank.name, *nothing).join(
        ThinkTank, ThinkTank.id == ProposalThinkTank.think_tank_id).where(ProposalThinkTank.proposal_id.in_(ids))
    authors = select(ProposalAuthor.proposal_id, literal("a"), User.display_name, ProposalAuthor.is_lead,
                     ProposalAuthor.id).join(User, User.id == ProposalAuthor.user_id).where(
        ProposalAuthor.proposal_id.in_(ids), ProposalAuthor.status == AuthorStatus.ACCEPTED)
    return union_all(dimensions, states, tanks, authors)


#: The two statements of ``cards``, built once: building them for each page (four selects, a union and their
#: cache keys) cost more than running them on SQLite. The ids are bound when they run.
_ROWS = select(*_COLUMNS).where(Proposal.id.in_(bindparam("ids", expanding=True)))
_NAMES = _names_statement()


def cards(proposal_ids: Iterable[int]) -> dict[int, Card]:
    """The cards of the proposals ``proposal_ids`` that exist, by id (two statements)."""
    ids = sorted(set(proposal_ids))
    if not ids:
        return {}
    rows = db.session.execute(_ROWS, {"ids": ids}).all()
    names: dict[int, dict[str, list]] = {row.id: {"d": [], "m": [], "t": [], "a": []} for row in rows}
    for proposal_id, kind, name, lead, order in db.session.execute(_NAMES, {"ids": ids}):
        if proposal_id in names:
            names[proposal_id][kind].append((author_order(bool(lead), order), name) if kind == "a" else name)
    found = {}
    for row in rows:
        listed = names[row.id]
        authors = ((row.imported_author_names or ()) if row.is_imported
                   else (name for _order, name in sorted(listed["a"])))
        found[row.id] = _card(row, dimensions=map(Dimension, listed["d"]), member_states=listed["m"],
                              think_tanks=listed["t"], authors=authors)
    return found
