"""The proposal register (/proposals): the database searched under the rules of who sees what, for
the council, the secretariat and authors, who find there the proposals the archive (endorsed ones
only) does not hold.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import event, select

from expert_platform.council import services as council_services
from expert_platform.enums import DelegationRole, ProposalState, Role
from expert_platform.extensions import db as _db
from expert_platform.permissions import can_view_proposal, visible_proposals_condition
from expert_platform.proposals.models import Proposal, coauthored_by
from tests.html_tree import parse_html
from tests.journeys import take
from tests.proposals.page_steps import new_expert

S = ProposalState


@pytest.fixture
def world(app, states, make_user, make_think_tank, make_proposal):
    """Ann's proposals in every state (Bo co-authors the grain one), and the people who look at them."""
    people = SimpleNamespace(
        ann=new_expert(make_user, make_think_tank, display_name="Ann Lee", email="ann@example.org"),
        bo=new_expert(make_user, make_think_tank, display_name="Bo Chen", email="bo@example.org"),
        outsider=new_expert(make_user, make_think_tank, display_name="Other Expert", email="other@example.org"),
        researcher=make_user(email="reader@example.org", roles=(Role.RESEARCHER,)),
        secretariat=make_user(email="secretariat@example.org", roles=(Role.ADMIN,)),
        council=make_user(email="delegate@example.org", roles=(Role.RESEARCHER,)),
    )
    council_services.appoint(actor=people.secretariat, user=people.council, member_state=states["CN"],
                             role=DelegationRole.HEAD)
    _db.session.commit()
    ann, secretariat = people.ann, people.secretariat

    def proposal(title, *steps, coauthors=(), dimensions=("environmental",), summary="A short summary."):
        made = make_proposal(author=ann, title=title, coauthors=coauthors, dimensions=dimensions, summary=summary)
        for action, actor in steps:
            take(made, action, actor, note="A note." if action == "return_for_revision" else None,
                 secretariat=secretariat)
            _db.session.commit()
        return made

    proposal("Draft river plan")
    proposal("Never submitted, withdrawn", ("withdraw", ann))
    proposal("Grain corridor 100% open", ("submit", ann), coauthors=(people.bo,), dimensions=("economic",))
    proposal("Flood gauges in review", ("submit", ann), ("start_review", secretariat))
    proposal("Returned glacier plan", ("submit", ann), ("start_review", secretariat),
             ("return_for_revision", secretariat))
    proposal("Withdrawn after submission", ("submit", ann), ("withdraw", ann))
    proposal("Endorsed seed bank", ("submit", ann), ("start_review", secretariat), ("open_consensus", secretariat),
             ("endorse", secretariat), summary="Seeds kept safe in the mountains.")
    return people


def titles(response) -> list[str]:
    table = parse_html(response).find("table", id="proposals")
    return sorted(link.text for link in table.find_all("a")) if table else []


def test_the_sql_rule_agrees_with_can_view_proposal_for_every_state_and_viewer(world):
    proposals = _db.session.scalars(select(Proposal)).all()
    viewers = {"anonymous": AnonymousUserMixin(), **vars(world)}
    assert {proposal.state for proposal in proposals} == {S.DRAFT, S.WITHDRAWN, S.SUBMITTED, S.IN_REVIEW,
                                                          S.CHANGES_REQUESTED, S.ENDORSED}

    for name, viewer in viewers.items():
        by_rule = {proposal.title for proposal in proposals if can_view_proposal(viewer, proposal)}
        by_sql = set(_db.session.scalars(
            select(Proposal.title).where(visible_proposals_condition(viewer, Proposal, coauthored_by))))
        assert (name, by_sql) == (name, by_rule)

    council_sees = set(_db.session.scalars(
        select(Proposal.title).where(visible_proposals_condition(world.council, Proposal, coauthored_by))))
    assert council_sees == {"Grain corridor 100% open", "Flood gauges in review", "Withdrawn after submission",
                            "Endorsed seed bank"}


def test_the_council_finds_every_proposal_before_it_or_decided(world, client, login):
    login(world.council)

    response = client.get("/proposals")

    assert response.status_code == 200
    assert titles(response) == ["Endorsed seed bank", "Flood gauges in review", "Grain corridor 100% open",
                                "Withdrawn after submission"]
    assert "4 proposals" in response.get_data(as_text=True)


def test_the_council_searches_by_text_state_and_dimension(world, client, login):
    login(world.council)

    assert titles(client.get("/proposals?q=GRAIN")) == ["Grain corridor 100% open"]
    assert titles(client.get("/proposals?q=mountains")) == ["Endorsed seed bank"]
    assert titles(client.get("/proposals?state=in_review")) == ["Flood gauges in review"]
    assert titles(client.get("/proposals?dimension=economic")) == ["Grain corridor 100% open"]
    assert titles(client.get("/proposals?q=glacier")) == []  # returned to its authors: theirs alone


def test_wildcards_are_taken_literally(world, client, login):
    login(world.council)

    assert titles(client.get("/proposals?q=100%25")) == ["Grain corridor 100% open"]
    assert titles(client.get("/proposals?q=%25%25")) == []
    assert titles(client.get("/proposals?q=_")) == []


def test_an_author_finds_their_own_drafts_and_only_theirs_with_mine(world, client, login):
    login(world.bo)

    assert titles(client.get("/proposals")) == ["Endorsed seed bank", "Grain corridor 100% open"]
    assert titles(client.get("/proposals?mine=y")) == ["Grain corridor 100% open"]


def test_the_lead_author_sees_every_state_of_her_own(world, client, login):
    login(world.ann)

    assert titles(client.get("/proposals?mine=y")) == [
        "Draft river plan", "Endorsed seed bank", "Flood gauges in review", "Grain corridor 100% open",
        "Never submitted, withdrawn", "Returned glacier plan", "Withdrawn after submission"]
    assert titles(client.get("/proposals?state=draft")) == ["Draft river plan"]


def test_an_outsider_finds_endorsed_proposals_only_and_nothing_of_the_others(world, client, login):
    login(world.outsider)

    response = client.get("/proposals?q=a")
    page = response.get_data(as_text=True)

    assert titles(response) == ["Endorsed seed bank"]
    for hidden in ("Draft river plan", "Grain corridor", "Flood gauges", "Returned glacier", "Withdrawn after",
                   "Never submitted"):
        assert hidden not in page
    assert titles(client.get("/proposals?q=grain")) == []
    assert "No proposal you may see matches this search." in client.get("/proposals?q=grain").get_data(as_text=True)


def test_an_anonymous_visitor_is_asked_to_sign_in(world, client):
    response = client.get("/proposals?q=grain")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_a_state_or_dimension_that_is_not_offered_is_shown_as_an_error_and_left_out(world, client, login):
    login(world.council)

    response = client.get("/proposals?state=secret&dimension=nonsense&q=grain")

    assert response.status_code == 200
    assert titles(response) == ["Grain corridor 100% open"]
    assert response.get_data(as_text=True).count("Not a valid choice.") == 2


def test_the_pages_keep_the_search(world, client, login, make_proposal):
    for number in range(30):
        made = make_proposal(author=world.ann, title=f"Extra plan {number:02d}")
        take(made, "submit", world.ann)
    _db.session.commit()
    login(world.council)

    first = client.get("/proposals?q=extra")
    second = client.get("/proposals?q=extra&page=2")

    assert len(titles(first)) == 25 and len(titles(second)) == 5
    assert parse_html(first).find("a", rel="next").attributes["href"] == "/proposals?page=2&q=extra"


def test_the_register_runs_the_same_number_of_queries_however_many_proposals(world, app, client, login,
                                                                           make_proposal):
    login(world.council)

    def queries() -> int:
        statements = []

        def remember(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(_db.engine, "before_cursor_execute", remember)
        try:
            assert client.get("/proposals").status_code == 200
        finally:
            event.remove(_db.engine, "before_cursor_execute", remember)
        return len(statements)

    few = queries()
    for number in range(12):
        take(make_proposal(author=world.ann, title=f"More {number}"), "submit", world.ann)
    _db.session.commit()

    assert queries() == few
