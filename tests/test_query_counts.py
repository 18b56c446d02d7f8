"""Pages whose SQL does not grow with the data (issue 8 point 4): the same number of statements with 10
and with 300 proposals, on the archive page, the API search, a proposal page (with each search backend
the database allows), the expert directory and the council dashboard (for the secretariat and for a
council member, with proposals submitted, in review with a rapporteur, and in a consensus round with a
position). tests/review/test_dashboard.py checks the dashboard the same way with 2 and 12 proposals in
more kinds of stages, and what each section shows.

Each world is built once per module and search backend, on a database of its own, and only read by the
tests: the statements of every page are counted with 10 proposals, the same world is grown to 300, and each
test counts its page again and holds the two figures equal."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import event

from expert_platform.accounts import services as account_services
from expert_platform.council import services as council_services
from expert_platform.database import utcnow
from expert_platform.enums import (
    DelegationRole,
    MembershipRole,
    Participation,
    Position,
    ProposalAction,
    Role,
    RoundKind,
    ThinkTankStatus,
)
from expert_platform.extensions import db as _db
from expert_platform.proposals import services as proposal_services
from expert_platform.proposals import workflow
from expert_platform.reference.models import MemberState
from expert_platform.reference.services import load_reference_data
from expert_platform.review import rounds
from expert_platform.review import services as review_services
from expert_platform.thinktanks.models import Membership, ThinkTank
from tests.conftest import DEFAULT_PASSWORD, SEARCH_BACKENDS, app_on_its_own_database, sign_in
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


@dataclass
class World:
    """An app whose data the tests only read, a client per viewer, and each page's statements counted with 10
    proposals (``few``, by path and viewer) before the world grew to 300."""

    app: object
    clients: dict = field(default_factory=dict)
    few: dict = field(default_factory=dict)

    def statements(self, path: str, viewer: str = "anonymous") -> int:
        client = self.clients[viewer]
        with self.app.app_context():
            client.get(path)  # the first request of a process loads what every later one reuses
            return statements_during(client, path)


@pytest.fixture(scope="module", params=SEARCH_BACKENDS, ids=SEARCH_BACKENDS)
def archive_world(request, test_database, tmp_path_factory):
    """The public archive with 10 proposals (every page counted), then 300, on the search backend ``param``."""
    folder = tmp_path_factory.mktemp(f"query-counts-{request.param}")
    with app_on_its_own_database(test_database, folder, {"SEARCH_BACKEND": request.param}) as app:
        world = World(app, clients={"anonymous": app.test_client()})
        with app.app_context():
            load_reference_data()
            _db.session.commit()
            publish_many(10, 1)
            world.few = {path: world.statements(path) for path in PAGES}
            publish_many(290, 11)
        yield world


@pytest.mark.parametrize("path", PAGES)
def test_a_page_issues_as_many_statements_with_300_proposals_as_with_10(archive_world, path):
    many = archive_world.statements(path)

    assert many == archive_world.few[path]


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


@pytest.fixture(scope="module")
def council_world(test_database, tmp_path_factory):
    """Proposals before the council, 10 then 300, the dashboard counted with 10 for the secretariat and for a
    council member (each on a client signed in as them)."""
    with app_on_its_own_database(test_database, tmp_path_factory.mktemp("query-counts-council")) as app:
        world = World(app)
        with app.app_context():
            load_reference_data()
            states = {state.code: state for state in _db.session.scalars(_db.select(MemberState))}
            secretariat = _new_user(roles={Role.ADMIN})
            author = _new_user(roles={Role.EXPERT})
            _think_tank_with_expert(states["KZ"], author)
            member, other = _new_user(), _new_user()
            for person, code in ((member, "IN"), (other, "CN")):  # the think tank is in KZ: no conflict
                council_services.appoint(actor=secretariat, user=person, member_state=states[code],
                                         role=DelegationRole.HEAD)
            _db.session.commit()
            people = dict(author=author, secretariat=secretariat, member=member)
            for who, viewer in (("secretariat", secretariat), ("council member", member)):
                world.clients[who] = app.test_client()
                assert sign_in(world.clients[who], viewer.email).status_code == 302
            put_before_the_council(10, 1, **people)
            world.few = {who: world.statements("/council/review", who) for who in world.clients}
            put_before_the_council(290, 11, **people)
        yield world


@pytest.mark.parametrize("who", ["secretariat", "council member"])
def test_the_council_dashboard_issues_as_many_statements_with_300_proposals_as_with_10(council_world, who):
    many = council_world.statements("/council/review", who)

    assert many == council_world.few[who]
    with council_world.app.app_context():
        page = council_world.clients[who].get("/council/review").get_data(as_text=True)
    assert "Council item 300" in page


_people = itertools.count(1)


def _new_user(*, roles=frozenset({Role.RESEARCHER})):
    """A confirmed, active account, as the ``make_user`` fixture makes one (that fixture serves the ``app``
    fixture's database)."""
    number = next(_people)
    user = account_services.create_user(email=f"person{number}@example.org", display_name=f"Person {number}",
                                        password=DEFAULT_PASSWORD, roles=set(roles), is_email_confirmed=True)
    _db.session.commit()
    return user


def _think_tank_with_expert(state, expert) -> None:
    """An approved think tank in ``state`` with ``expert`` as a member, as the ``make_think_tank`` fixture makes one."""
    tank = ThinkTank(name="Institute 1", member_state=state, contact_name="Contact Person",
                     contact_email="contact1@example.org", status=ThinkTankStatus.APPROVED,
                     participation=Participation.PERMANENT)
    _db.session.add(tank)
    _db.session.add(Membership(think_tank=tank, user=expert, role=MembershipRole.EXPERT))
    _db.session.commit()
