"""A proposal's card (``proposals.cards``): what the archive's lists, the API, the CSV export and the feed
show of it. ``cards`` reads a page of them in two statements; ``card_of`` makes one of a loaded proposal;
the two must say the same."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, select

from expert_platform.enums import Dimension, ProposalState, Role
from expert_platform.extensions import db as _db
from expert_platform.proposals import coauthors as coauthor_services
from expert_platform.proposals.cards import Card, card_of, cards
from expert_platform.proposals.models import Proposal, ProposalMemberState, ProposalThinkTank
from tests.search_corpus import publish


def _statements(action) -> tuple[object, int]:
    seen = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(_db.engine, "before_cursor_execute", remember)
    try:
        result = action()
    finally:
        event.remove(_db.engine, "before_cursor_execute", remember)
    return result, len(seen)


def test_a_written_proposals_card_lists_its_accepted_authors_lead_first_and_its_names_in_order(
        app, states, make_user, make_proposal, make_think_tank):
    lead = make_user(roles=(Role.EXPERT,), display_name="Zhanna Lead")
    make_think_tank(experts=[lead], name="zeta Institute")
    early = make_user(roles=(Role.EXPERT,), display_name="Adil Early")
    later = make_user(roles=(Role.EXPERT,), display_name="Bota Later")
    pending = make_user(roles=(Role.EXPERT,), display_name="Invited Only")
    proposal = make_proposal(author=lead, coauthors=(early, later), title="Water <plan>",
                             dimensions=("human", "economic"), summary="")
    coauthor_services.invite(actor=lead, proposal=proposal, user=pending)
    alpha = make_think_tank(name="Alpha centre", state="UZ")
    proposal.think_tanks.append(ProposalThinkTank(think_tank=alpha))
    organisation = next(state for state in states.values() if state.code is None)
    proposal.member_states += [ProposalMemberState(member_state=states["UZ"]),
                               ProposalMemberState(member_state=organisation),
                               ProposalMemberState(member_state=states["KZ"])]
    _db.session.commit()
    number = proposal.id
    _db.session.expunge_all()

    found = cards([number])
    loaded = _db.session.get(Proposal, number)

    assert found == {number: Card(
        id=number, reference="", title="Water <plan>", summary="", language="en", state=ProposalState.DRAFT,
        first_submitted_at=None, decided_at=None, updated_at=loaded.updated_at,
        dimensions=(Dimension.ECONOMIC, Dimension.HUMAN), member_states=("KZ", "UZ"),
        think_tanks=("Alpha centre", "zeta Institute"), authors=("Zhanna Lead", "Adil Early", "Bota Later"))}
    assert card_of(loaded) == found[number]


def test_an_imported_proposals_card_lists_the_imported_names_and_its_decision(app, states):
    proposal = publish(title="Archive", authors=("B. Second", "A. First"), dimensions=("military_political",),
                       member_states=("TR",), think_tanks=(("Old Institute", "TR"),), decided="2019-03-04",
                       submitted="2019-01-02", reference="ARCH-2019-1")
    number = proposal.id
    _db.session.expunge_all()

    card = cards([number])[number]

    assert (card.reference, card.state, card.authors, card.dimensions, card.member_states, card.think_tanks) == (
        "ARCH-2019-1", ProposalState.ENDORSED, ("B. Second", "A. First"), (Dimension.MILITARY_POLITICAL,),
        ("TR",), ("Old Institute",))
    assert (card.first_submitted_at, card.decided_at) == (datetime(2019, 1, 2, tzinfo=UTC),
                                                           datetime(2019, 3, 4, tzinfo=UTC))
    assert card_of(_db.session.get(Proposal, number)) == card


def test_cards_are_read_in_two_statements_whatever_their_number_and_unknown_ids_are_left_out(app, states):
    ids = [publish(title=f"Plan {number}", authors=(f"Author {number}", "Shared"), member_states=("KZ", "UZ"),
                   think_tanks=((f"Institute {number}", "KZ"),), dimensions=("economic", "human")).id
           for number in range(12)]
    _db.session.expunge_all()

    few, few_statements = _statements(lambda: cards(ids[:2]))
    many, many_statements = _statements(lambda: cards([*ids, 999_999]))

    assert (few_statements, many_statements) == (2, 2)
    assert sorted(many) == sorted(ids)
    assert [many[number].title for number in ids] == [f"Plan {number}" for number in range(12)]
    assert sorted(few) == sorted(ids[:2])
    assert _statements(lambda: cards([]))[1] == 0
    assert _db.session.scalars(select(Proposal.id).where(Proposal.id == 999_999)).first() is None
