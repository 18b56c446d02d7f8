"""Pages whose SQL does not grow with the data (issue 8 point 4): the same number of statements with 10
and with 300 proposals, on the archive page, the API search, a proposal page (with each search backend
the database allows), the expert directory and the council dashboard (for the secretariat and for a
council member, with proposals submitted, in review with a rapporteur, and in a consensus round with a
position). tests/review/test_dashboard.py checks the dashboard the same way with 2 and 12 proposals in
more kinds of stages, and what each section shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from expert_platform.council import services as council_services
from expert_platform.database import utcnow
from expert_platform.enums import DelegationRole, Position, ProposalAction, Role, RoundKind
from expert_platform.extensions import db as _db
from expert_platform.proposals import services as proposal_services
from expert_platform.proposals import workflow
from expert_platform.review import rounds
from expert_platform.review import services as review_services
from tests.conftest import SEARCH_BACKENDS, sign_in
from tests.search_corpus import publish

PAGES = ("/archive?q=water", "/archive", "/api/v1/proposals?q=water&per_page=100", "/experts",
         "/proposals/TEST-2020-0001")


def statements_during(client, path: str) -> int:
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", remember)
    try:
        response = client.get(path)
    finally:
        event.remove(_db.engine, "before_cursor_execute", remember)
    assert response.status_code == 200, (path, response.status_code)
    return len(statements)


def publish_many(count: int, start: int) -> None:
    for number in range(start, start + count):
        publish(title=f"Water plan {number}", body=f"Water for towns, plan {number}.",
                reference=f"TEST-2020-{number:04d}",
                authors=(f"Author {number}", "Shared Author"), think_tanks=((f"Institute {number % 7}", "KZ"),),
                member_states=("KZ", "UZ"), keywords=("water", f"plan{number}"), dimensions=("environmental", "human"))


@pytest.mark.parametrize("app_overrides", [{"SEARCH_BACKEND": backend} for backend in SEARCH_BACKENDS],
                         ids=SEARCH_BACKENDS)
@pytest.mark.parametrize("path", PAGES)
def test_a_page_issues_as_many_statements_with_300_proposals_as_with_10(client, states, path):
    publish_many(10, 1)
    client.get(path)  # the first request of a process loads what every later one reuses
    few = statements_during(client, path)

    publish_many(290, 11)
    client.get(path)
    many = statements_during(client, path)

    assert many == few


def put_before_the_council(count: int, start: int, *, author, secretariat, member) -> None:
    """``count`` proposals in turn submitted, in review with ``member`` as rapporteur, and in a standard round
    where ``member``'s delegation has endorsed (the other delegation has not answered: the round stays open)."""
    for number in range(start, start + count):
        proposal = proposal_services.create_draft(actor=author, content=proposal_services.Content(
            title=f"Council item {number}", summary="A summary.", body="## Problem\n\nWater.", language="en",
            dimensions=("environmental",), member_state_ids=(), keywords=("water",)))
        workflow.transition(proposal, ProposalAction.SUBMIT, actor=author)
        if number % 3 == 0:
            continue
        review_services.start_review(actor=secretariat, proposal=proposal)
        if number % 3 == 1:
            review_services.assign_rapporteur(actor=secretariat, proposal=proposal, user=member)
        else:
            rounds.open_round(actor=secretariat, proposal=proposal, kind=RoundKind.STANDARD,
                              deadline_at=utcnow() + timedelta(hours=72))
            rounds.record_position(actor=member, proposal=proposal, position=Position.ENDORSE)
    _db.session.commit()


@pytest.mark.parametrize("who", ["secretariat", "council member"])
def test_the_council_dashboard_issues_as_many_statements_with_300_proposals_as_with_10(client, states, make_user,
                                                                                      make_think_tank, who):
    secretariat = make_user(roles=(Role.ADMIN,))
    author = make_user(roles=(Role.EXPERT,))
    make_think_tank(experts=[author])
    member, other = make_user(), make_user()
    for person, code in ((member, "IN"), (other, "CN")):  # the think tank is in KZ: no conflict
        council_services.appoint(actor=secretariat, user=person, member_state=states[code], role=DelegationRole.HEAD)
    _db.session.commit()
    world = dict(author=author, secretariat=secretariat, member=member)
    viewer = secretariat if who == "secretariat" else member
    assert sign_in(client, viewer.email).status_code == 302

    put_before_the_council(10, 1, **world)
    client.get("/council/review")
    few = statements_during(client, "/council/review")

    put_before_the_council(290, 11, **world)
    client.get("/council/review")
    many = statements_during(client, "/council/review")

    assert many == few
    assert "Council item 300" in client.get("/council/review").get_data(as_text=True)
