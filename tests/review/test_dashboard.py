"""The council's dashboard (GET /council/review): proposals by stage, my pending reviews and positions,
deadlines, and for the secretariat the rounds that can be closed and the proposals waiting for a review.

Council members and the secretariat only; nobody sees a proposal they co-author there; the page reads
every kind of row once, so its number of queries does not grow with the number of proposals.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from expert_platform.council import services as council_services
from expert_platform.database import utcnow
from expert_platform.enums import DelegationRole, Position, ProposalState, Recommendation, Role, RoundKind
from expert_platform.extensions import db
from expert_platform.review import rounds
from expert_platform.review import services as review_services
from tests.html_tree import parse_html

S = ProposalState
DASHBOARD = "/council/review"


def section(page, section_id: str):
    return page.find(id=section_id)


def titles_in(page, section_id: str) -> list[str]:
    """The proposal titles linked in a section, in order."""
    found = section(page, section_id)
    return [link.text for link in found.find_all("a")] if found is not None else []


def rows_of(page, table_id: str) -> list[list[str]]:
    table = page.find("table", id=table_id)
    return [[cell.text for cell in row.find_all() if cell.tag in ("td", "th")]
            for row in table.find("tbody").find_all("tr")]


def open_round_in_the_past(proposal, secretariat, *, kind=RoundKind.STANDARD, opened_hours_ago=5,
                           deadline_hours_ago=1):
    """A round whose deadline has already passed by the real clock (opened with ``now`` in the past)."""
    opened = utcnow() - timedelta(hours=opened_hours_ago)
    round_ = rounds.open_round(actor=secretariat, proposal=proposal, kind=kind, now=opened,
                               deadline_at=utcnow() - timedelta(hours=deadline_hours_ago))
    db.session.commit()
    return round_, opened


@pytest.fixture
def council(make_council):
    return make_council(("CN", "IN", "RU"), alternates=("CN",))


# --- who may see it ---------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fcouncil%2Freview"


@pytest.mark.parametrize("role", [Role.EXPERT, Role.RESEARCHER, Role.THINKTANK_MANAGER])
def test_people_outside_the_council_are_refused_and_see_no_proposal(client, login, make_user, make_proposal,
                                                                     bring_to, council, role):
    bring_to(make_proposal(title="MARKER-DASHBOARD-7f3a in review"), S.IN_REVIEW)
    login(make_user(roles=(role,)))

    response = client.get(DASHBOARD)

    assert response.status_code == 403
    assert "MARKER-DASHBOARD-7f3a" not in response.get_data(as_text=True)


def test_a_council_member_sees_the_proposals_before_the_council_by_stage(client, login, make_proposal, bring_to,
                                                                         council):
    bring_to(make_proposal(title="Submitted one"), S.SUBMITTED)
    bring_to(make_proposal(title="Reviewed one"), S.IN_REVIEW)
    bring_to(make_proposal(title="Reviewed two"), S.IN_REVIEW)
    in_round = bring_to(make_proposal(title="In a round"), S.CONSENSUS)
    make_proposal(title="A draft nobody else sees")
    login(council["CN"])

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    page = parse_html(response)
    assert [heading.text for heading in page.find(id="stages").find_all("h3")] == [
        "Submitted (1)", "In review (2)", "Consensus round (1)",
    ]
    assert titles_in(page, "stage-submitted") == ["Submitted one"]
    assert titles_in(page, "stage-in_review") == ["Reviewed one", "Reviewed two"]
    assert titles_in(page, "stage-consensus") == ["In a round"]
    assert page.find(id="stage-consensus").find("a").attributes["href"] == f"/proposals/{in_round.id}/review"
    assert "A draft nobody else sees" not in response.get_data(as_text=True)


def test_a_council_member_never_sees_a_proposal_they_co_author(client, login, make_user, make_proposal, bring_to,
                                                               council, states, secretariat):
    member = make_user(roles=(Role.EXPERT,), display_name="Expert and delegate")
    council_services.appoint(actor=secretariat, user=member, member_state=states["KZ"], role=DelegationRole.HEAD)
    db.session.commit()
    bring_to(make_proposal(title="MARKER-OWN-91c2 co-written", coauthors=(member,)), S.CONSENSUS)
    bring_to(make_proposal(title="Somebody else's"), S.CONSENSUS)
    login(member)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    page = parse_html(response)
    assert titles_in(page, "stage-consensus") == ["Somebody else's"]
    assert titles_in(page, "my-positions") == ["Somebody else's"]
    assert titles_in(page, "deadlines") == ["Somebody else's"]
    assert "MARKER-OWN-91c2" not in response.get_data(as_text=True)


def test_the_secretariat_only_sections_are_absent_for_a_council_member(client, login, make_proposal, bring_to,
                                                                       council, secretariat):
    bring_to(make_proposal(title="Waiting"), S.SUBMITTED)
    login(council["CN"])

    page = parse_html(client.get(DASHBOARD))

    assert section(page, "closable") is None
    assert section(page, "waiting-for-review") is None
    assert [heading.text for heading in page.find_all("h2")] == [
        "My pending reviews", "My delegation's pending positions", "Deadlines", "Proposals by stage",
    ]


# --- my pending work --------------------------------------------------------------------------


def test_my_pending_reviews_are_those_without_my_review_of_the_current_revision(client, login, make_proposal,
                                                                              bring_to, council, secretariat):
    member = council["CN"]
    reviewed = bring_to(make_proposal(title="Reviewed by me"), S.IN_REVIEW)
    waiting = bring_to(make_proposal(title="Waiting for my review"), S.IN_REVIEW)
    removed = bring_to(make_proposal(title="No longer mine"), S.IN_REVIEW)
    bring_to(make_proposal(title="Someone else's to review"), S.IN_REVIEW)
    submitted = bring_to(make_proposal(title="Submitted, not in review yet"), S.SUBMITTED)
    for proposal in (reviewed, waiting, removed, submitted):
        review_services.assign_rapporteur(actor=secretariat, proposal=proposal, user=member)
    db.session.commit()
    review_services.save_review(actor=member, proposal=reviewed, recommendation=Recommendation.ENDORSE,
                                assessment="Fine.")
    review_services.remove_rapporteur(actor=secretariat, proposal=removed,
                                      assignment=review_services.assignment_of(removed, member))
    db.session.commit()
    login(member)

    page = parse_html(client.get(DASHBOARD))

    assert titles_in(page, "my-reviews") == ["Waiting for my review"]


def test_a_rapporteur_in_a_consensus_round_still_owes_the_review(client, login, make_proposal, bring_to, council,
                                                                secretariat):
    member = council["CN"]
    proposal = bring_to(make_proposal(title="Round under way"), S.IN_REVIEW)
    review_services.assign_rapporteur(actor=secretariat, proposal=proposal, user=member)
    rounds.open_round(actor=secretariat, proposal=proposal, kind=RoundKind.STANDARD,
                      deadline_at=utcnow() + timedelta(hours=48))
    db.session.commit()
    login(member)

    page = parse_html(client.get(DASHBOARD))

    assert titles_in(page, "my-reviews") == ["Round under way"]


def test_my_delegations_pending_positions_soonest_deadline_first_with_hours_left(client, login, make_proposal,
                                                                                bring_to, council):
    bring_to(make_proposal(title="Closes in five days"), S.CONSENSUS, hours=120)
    bring_to(make_proposal(title="Closes in three days"), S.CONSENSUS, kind=RoundKind.SILENCE, hours=72)
    answered = bring_to(make_proposal(title="Answered by my alternate"), S.CONSENSUS, hours=24)
    rounds.record_position(actor=council["CN-alternate"], proposal=answered, position=Position.STAND_ASIDE)
    db.session.commit()
    login(council["CN"])

    page = parse_html(client.get(DASHBOARD))

    assert [row[1:3] + row[4:] for row in rows_of(page, "pending-positions")] == [
        ["Closes in three days", "Silence procedure", "71 hours left"],
        ["Closes in five days", "Standard round", "119 hours left"],
    ]
    assert titles_in(page, "deadlines") == ["Answered by my alternate", "Closes in three days", "Closes in five days"]


def test_a_round_past_its_deadline_is_no_longer_a_pending_position(client, login, make_proposal, bring_to, council,
                                                                  secretariat):
    proposal = bring_to(make_proposal(title="Deadline passed"), S.IN_REVIEW)
    round_, _opened = open_round_in_the_past(proposal, secretariat)
    deadline = round_.deadline_at.strftime("%Y-%m-%d %H:%M UTC")
    login(council["CN"])

    page = parse_html(client.get(DASHBOARD))

    assert titles_in(page, "my-positions") == []
    assert section(page, "my-positions").find("p").text == "Your delegation has answered every open round."
    assert [row[1:] for row in rows_of(page, "deadline-list")] == [
        ["Deadline passed", "Standard round", deadline, "Deadline passed"],
    ]


def test_the_secretariat_has_no_pending_positions_and_sees_every_round(client, login, make_proposal, bring_to,
                                                                      council, secretariat):
    bring_to(make_proposal(title="A round"), S.CONSENSUS)
    login(secretariat)

    page = parse_html(client.get(DASHBOARD))

    assert titles_in(page, "my-positions") == []
    assert titles_in(page, "deadlines") == ["A round"]


# --- the secretariat's sections ---------------------------------------------------------------


def test_the_secretariat_sees_the_rounds_that_can_be_closed_and_the_proposals_waiting(client, login, make_proposal,
                                                                                     bring_to, council, secretariat):
    blocked = bring_to(make_proposal(title="Blocked past its deadline"), S.IN_REVIEW)
    _round, opened = open_round_in_the_past(blocked, secretariat)
    rounds.record_position(actor=council["RU"], proposal=blocked, position=Position.OBJECT, reason="No.",
                           now=opened + timedelta(hours=1))
    quorum_missed = bring_to(make_proposal(title="Quorum missed"), S.IN_REVIEW)
    open_round_in_the_past(quorum_missed, secretariat)
    silent = bring_to(make_proposal(title="Silence, no objection"), S.IN_REVIEW)
    open_round_in_the_past(silent, secretariat, kind=RoundKind.SILENCE)
    bring_to(make_proposal(title="Still open"), S.CONSENSUS)
    bring_to(make_proposal(title="Submitted first"), S.SUBMITTED)
    bring_to(make_proposal(title="Submitted second"), S.SUBMITTED)
    db.session.commit()
    login(secretariat)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    page = parse_html(response)
    assert titles_in(page, "closable") == ["Blocked past its deadline", "Quorum missed"]
    assert titles_in(page, "waiting-for-review") == ["Submitted first", "Submitted second"]
    assert [heading.text for heading in page.find_all("h2")] == [
        "My pending reviews", "My delegation's pending positions", "Deadlines", "Rounds that can be closed",
        "Submitted, waiting for a review to start", "Proposals by stage",
    ]


def test_the_secretariat_sees_empty_sections_when_nothing_waits(client, login, secretariat):
    login(secretariat)

    page = parse_html(client.get(DASHBOARD))

    assert section(page, "closable").find("p", class_="empty-state").text == "No round is waiting to be closed."
    assert section(page, "waiting-for-review").find("p").text == "No submitted proposal is waiting."
    assert [heading.text for heading in page.find(id="stages").find_all("h3")] == [
        "Submitted (0)", "In review (0)", "Consensus round (0)",
    ]


# --- a constant number of queries -------------------------------------------------------------


class QueryCounter:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.count = 0

    def __call__(self, *args, **kwargs) -> None:
        self.count += 1

    def during(self, action) -> int:
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self)
        try:
            action()
        finally:
            event.remove(self.engine, "before_cursor_execute", self)
        return self.count


def add_proposals_in_every_stage(count, *, make_proposal, bring_to, council, secretariat, member):
    """``count`` more proposals cycling through: a round past its deadline with an objection, an open
    round (standard or silence) with a position, in review with the member as rapporteur, submitted."""
    for _ in range(count):
        index = len(add_proposals_in_every_stage.made)
        add_proposals_in_every_stage.made.append(index)
        proposal = make_proposal(title=f"Proposal number {index}")
        if index % 4 == 0:
            bring_to(proposal, S.IN_REVIEW)
            _round, opened = open_round_in_the_past(proposal, secretariat)
            rounds.record_position(actor=council["IN"], proposal=proposal, position=Position.OBJECT, reason="No.",
                                   now=opened + timedelta(hours=1))
        elif index % 4 == 1:
            bring_to(proposal, S.CONSENSUS, kind=RoundKind.SILENCE if index % 8 == 1 else RoundKind.STANDARD)
            rounds.record_position(actor=council["RU"], proposal=proposal, position=Position.ENDORSE)
        elif index % 4 == 2:
            bring_to(proposal, S.IN_REVIEW)
            review_services.assign_rapporteur(actor=secretariat, proposal=proposal, user=member)
        else:
            bring_to(proposal, S.SUBMITTED)
        db.session.commit()


@pytest.mark.parametrize("who", ["secretariat", "council member"])
def test_the_number_of_queries_does_not_grow_with_the_proposals(app, client, login, make_proposal, bring_to,
                                                               council, secretariat, who):
    member = council["CN"]
    viewer = secretariat if who == "secretariat" else member
    world = dict(make_proposal=make_proposal, bring_to=bring_to, council=council, secretariat=secretariat,
                 member=member)
    add_proposals_in_every_stage.made = []
    counter = QueryCounter(db.engine)
    login(viewer)
    add_proposals_in_every_stage(2, **world)
    with_two = counter.during(lambda: client.get(DASHBOARD))
    page_with_two = parse_html(client.get(DASHBOARD))

    add_proposals_in_every_stage(10, **world)
    with_twelve = counter.during(lambda: client.get(DASHBOARD))
    page_with_twelve = parse_html(client.get(DASHBOARD))

    assert with_twelve == with_two
    assert with_two > 5  # the listener saw the page's queries
    assert len(titles_in(page_with_two, "deadlines")) == 2
    assert len(titles_in(page_with_twelve, "deadlines")) == 6
    assert len(titles_in(page_with_twelve, "stage-submitted")) == 3
