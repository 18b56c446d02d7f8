"""The proposal pages and listings, and who sees them: "My proposals", a proposal's page and its
permanent address, a think tank's proposals; drafts never show to anyone but their co-authors."""

from __future__ import annotations

import pytest

from expert_platform.database import utcnow
from expert_platform.enums import ProposalState, Role, ThinkTankStatus
from expert_platform.extensions import db
from expert_platform.proposals import coauthors, workflow
from expert_platform.proposals.models import Proposal
from expert_platform.thinktanks.models import Membership
from tests.experts.support import StatementCounter
from tests.html_tree import parse_html
from tests.journeys import take

from .page_steps import (
    button_labels,
    details,
    new_expert,
    page_without_tokens,
    signed_in,
    start_proposal,
    stored,
    timeline,
)

S = ProposalState
YEAR = utcnow().year

#: Workflow steps from a draft to each state: (action, who), who being "author", "secretariat" or "system".
ROUTES = {
    S.DRAFT: [],
    S.SUBMITTED: [("submit", "author")],
    S.IN_REVIEW: [("submit", "author"), ("start_review", "secretariat")],
    S.CHANGES_REQUESTED: [("submit", "author"), ("return_for_revision", "secretariat")],
    S.CONSENSUS: [("submit", "author"), ("start_review", "secretariat"), ("open_consensus", "secretariat")],
    S.ENDORSED: [("submit", "author"), ("start_review", "secretariat"), ("open_consensus", "secretariat"),
                 ("endorse", "system")],
    S.NOT_ENDORSED: [("submit", "author"), ("start_review", "secretariat"), ("open_consensus", "secretariat"),
                     ("close_without_consensus", "secretariat")],
    S.WITHDRAWN: [("submit", "author"), ("withdraw", "author")],
}


@pytest.fixture
def author(make_user, make_think_tank):
    return new_expert(make_user, make_think_tank, display_name="Ann Lee", email="ann@example.org")


@pytest.fixture
def secretariat(make_user):
    return make_user(display_name="Sam Office", email="office@example.org", roles=(Role.ADMIN,))


@pytest.fixture
def proposal_in(make_proposal, author, secretariat):
    """A proposal of ``author`` (or ``by``) brought to ``state`` through the services."""

    def build(state: ProposalState, *, by=None, **values):
        writer = by or author
        proposal = make_proposal(author=writer, **values)
        actors = {"author": writer, "secretariat": secretariat, "system": workflow.SYSTEM}
        for action, who in ROUTES[state]:
            note = "Add a timetable." if action == "return_for_revision" else None
            take(proposal, action, actors[who], note)
        db.session.commit()
        return proposal

    return build


@pytest.fixture
def visitor_as(app, client, make_user, make_think_tank, make_proposal, author, secretariat):
    """A client for a kind of visitor (None: the anonymous ``client``)."""

    def visitor(kind: str):
        if kind == "anonymous visitor":
            return client
        people = {
            "co-author": lambda: author,
            "another expert": lambda: new_expert(make_user, make_think_tank),
            "council member": lambda: make_user(roles=(Role.COUNCIL_MEMBER,)),
            "secretariat": lambda: secretariat,
            "researcher": lambda: make_user(roles=(Role.RESEARCHER,)),
        }
        if kind == "co-author of another proposal":
            person = new_expert(make_user, make_think_tank)
            make_proposal(author=person)
        else:
            person = people[kind]()
        return signed_in(app, person)

    return visitor


def section_titles(response) -> list[str]:
    return [heading.text for heading in parse_html(response).find_all("h2")]


def rows_of(response) -> list[list[str]]:
    return [[cell.text for cell in row.find_all("td")] for row in parse_html(response).find_all("tr") if row.find("td")]


def progress_of(response) -> list[tuple[str, str, bool]]:
    """Each step of the progress indicator: label, its class, and whether it is the current step."""
    steps = parse_html(response).find("section", class_="workflow-progress").find_all("li")
    return [(step.text, step.attributes["class"], step.attributes.get("aria-current") == "step") for step in steps]


# --- My proposals ------------------------------------------------------------------------------


def test_my_proposals_needs_a_signed_in_user(client):
    response = client.get("/proposals/mine")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fproposals%2Fmine"


def test_my_proposals_tells_an_expert_without_proposals_how_to_start(client, login, author):
    login(author)

    response = client.get("/proposals/mine")

    page = parse_html(response)
    assert page.find("h1").text == "My proposals"
    assert page.find("p", class_="empty-state").text == (
        "You have no proposals yet. Press “Start a proposal” to write a draft: only you see it until you "
        "invite co-authors or submit it to the council."
    )
    assert page.find("a", href="/proposals/new").text == "Start a proposal"


def test_my_proposals_tells_someone_who_does_not_write_proposals_where_invitations_appear(client, login, make_user):
    login(make_user(roles=(Role.COUNCIL_MEMBER,)))

    page = parse_html(client.get("/proposals/mine"))

    assert page.find("p", class_="empty-state").text == (
        "You have no proposals. Experts of a think tank write proposals; when one invites you to co-author, "
        "the invitation appears here."
    )
    assert page.find("a", href="/proposals/new") is None


def test_my_proposals_groups_the_proposals_by_state(client, login, author, proposal_in):
    draft = proposal_in(S.DRAFT, title="A draft")
    submitted = proposal_in(S.SUBMITTED, title="A submitted one")
    returned = proposal_in(S.CHANGES_REQUESTED, title="A returned one")
    login(author)

    response = client.get("/proposals/mine")

    assert section_titles(response) == ["Draft", "Changes requested", "Submitted"]
    today = utcnow().strftime("%Y-%m-%d")
    assert rows_of(response) == [
        ["Draft", "", "A draft", today],
        ["Changes requested", f"EP-{YEAR}-0002", "A returned one", today],
        ["Submitted", f"EP-{YEAR}-0001", "A submitted one", today],
    ]
    page = parse_html(response)
    assert [link.attributes["href"] for link in page.find_all("a") if link.text.startswith("A ")] == [
        f"/proposals/{draft.id}", f"/proposals/{returned.id}", f"/proposals/{submitted.id}"
    ]


def test_my_proposals_shows_open_invitations_with_accept_and_decline(
    client, login, make_user, make_think_tank, make_proposal, author
):
    invitee = new_expert(make_user, make_think_tank)
    proposal = make_proposal(author=author, title="Water diplomacy")
    coauthors.invite(actor=author, proposal=proposal, user=invitee)
    db.session.commit()
    login(invitee)

    response = client.get("/proposals/mine")

    invitations = parse_html(response).find("section", aria_labelledby="invitations-heading")
    assert invitations.find("h3").text == "Water diplomacy"
    assert invitations.find("p").text == "Invited by the lead author, Ann Lee."
    form = invitations.find("form")
    assert form.attributes["action"] == f"/proposals/{proposal.id}/invitation"
    assert [(button.attributes["value"], button.text) for button in form.find_all("button")] == [
        ("accept", "Accept"), ("decline", "Decline")
    ]
    assert rows_of(response) == []


def test_the_navigation_links_writers_to_their_proposals(app, client, login, author, make_user):
    login(author)
    expert_nav = parse_html(client.get("/")).find("nav", id="site-nav")
    researcher = signed_in(app, make_user(roles=(Role.RESEARCHER,)))
    researcher_nav = parse_html(researcher.get("/")).find("nav", id="site-nav")

    assert expert_nav.find("a", href="/proposals/mine").text == "My proposals"
    assert researcher_nav.find("a", href="/proposals/mine") is None


# --- a proposal's page -------------------------------------------------------------------------


def test_a_drafts_page_shows_its_co_authors_everything_about_it(
    app, client, login, make_user, make_think_tank, author, states
):
    bob = new_expert(make_user, make_think_tank, display_name="Bob Kim")
    login(author)
    start_proposal(
        client, title="Early warning for <b>floods</b>", summary="Line one\nline two.\n\nSecond paragraph.",
        body="## Problem\n\n*Floods* cross borders.", dimensions=["environmental", "human"],
        member_states=[str(states["KZ"].id), str(states["CN"].id)], keywords="water, floods", language="ru",
    )
    proposal_id = db.session.scalar(db.select(Proposal.id))
    proposal = stored(proposal_id)
    coauthors.invite(actor=author, proposal=proposal, user=bob)
    coauthors.respond(actor=bob, proposal=proposal, accept=True)
    db.session.commit()

    response = client.get(f"/proposals/{proposal_id}")

    assert response.status_code == 200
    page = parse_html(response)
    assert page.find("h1").text == "Early warning for <b>floods</b>"
    assert page.find("p", class_="proposal-state").text == "Draft"
    assert details(response) == {
        "Authors": "Ann Lee lead author Bob Kim",
        "Think tanks": "Institute 1 , Institute 2",
        "Dimensions": "Environmental dimension Human dimension",
        "Member states concerned": "China, Kazakhstan",
        "Keywords": "floods, water",
        "Language": "Russian",
        "Last changed": proposal.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    tank_links = [(link.attributes["href"], link.text) for link in page.find("dl", class_="details").find_all("a")]
    assert tank_links == [
        (f"/thinktanks/{row.think_tank_id}", row.think_tank.name)
        for row in sorted(proposal.think_tanks, key=lambda row: row.think_tank.name)
    ]
    summary = page.find("section", aria_labelledby="summary-heading")
    assert [paragraph.text for paragraph in summary.find_all("p")] == ["Line one line two.", "Second paragraph."]
    assert len(summary.find_all("br")) == 1
    text = page.find("div", class_="proposal-text")
    assert [(element.tag, element.text) for element in text.elements()] == [
        ("h2", "Problem"), ("p", "Floods cross borders."), ("em", "Floods")
    ]
    assert page.find("b") is None
    assert timeline(response) == [
        "Ann Lee started the draft.",
        "Ann Lee invited Bob Kim to co-author.",
        "Bob Kim accepted the invitation to co-author.",
    ]
    assert page.find("a", href=f"/proposals/{proposal_id}/edit").text == "Edit the proposal"


@pytest.mark.parametrize("state", [S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.CONSENSUS, S.ENDORSED])
def test_the_progress_indicator_marks_the_current_step(client, login, author, proposal_in, state):
    proposal = proposal_in(state)
    login(author)

    progress = progress_of(client.get(f"/proposals/{proposal.id}"))

    order = [S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.CONSENSUS, S.ENDORSED]
    position = order.index(state)
    labels = ["Draft", "Submitted", "In review", "Consensus round", "Endorsed"]
    assert progress == [
        (
            f"{label} (done)" if index < position else label,
            "step-done" if index < position else "step-current" if index == position else "step-todo",
            index == position,
        )
        for index, label in enumerate(labels)
    ]


def test_a_returned_proposal_has_no_current_step_and_says_where_it_stands(client, login, author, proposal_in):
    proposal = proposal_in(S.CHANGES_REQUESTED)
    login(author)

    response = client.get(f"/proposals/{proposal.id}")

    assert progress_of(response) == [
        ("Draft (done)", "step-done", False),
        ("Submitted (done)", "step-done", False),
        ("In review", "step-todo", False),
        ("Consensus round", "step-todo", False),
        ("Endorsed", "step-todo", False),
    ]
    assert parse_html(response).find("section", class_="workflow-progress").find("p").text == (
        "Changes requested: Returned to its authors for revision."
    )


DRAFT_OUTSIDERS = ["another expert", "council member", "secretariat", "researcher", "anonymous visitor",
                   "co-author of another proposal"]


@pytest.mark.parametrize("kind", DRAFT_OUTSIDERS)
def test_a_draft_is_not_found_for_anyone_but_its_co_authors(proposal_in, visitor_as, kind):
    proposal = proposal_in(S.DRAFT, title="Secret draft")
    visitor = visitor_as(kind)

    response = visitor.get(f"/proposals/{proposal.id}")
    missing = visitor.get("/proposals/999999")

    assert response.status_code == 404
    assert page_without_tokens(response) == page_without_tokens(missing)
    assert "Secret draft" not in visitor.get("/proposals/mine").get_data(as_text=True)


@pytest.mark.parametrize(
    ("kind", "status"),
    [("co-author", 200), ("council member", 200), ("secretariat", 200), ("another expert", 404),
     ("researcher", 404), ("anonymous visitor", 404)],
)
def test_a_submitted_proposal_is_seen_by_its_authors_the_council_and_the_secretariat(
    proposal_in, visitor_as, kind, status
):
    proposal = proposal_in(S.SUBMITTED)

    assert visitor_as(kind).get(f"/proposals/{proposal.id}").status_code == status


@pytest.mark.parametrize("kind", ["anonymous visitor", "researcher", "another expert"])
def test_an_endorsed_proposal_is_public(proposal_in, visitor_as, kind):
    proposal = proposal_in(S.ENDORSED, title="Endorsed measure")

    response = visitor_as(kind).get(f"/proposals/{proposal.id}")

    assert response.status_code == 200
    assert parse_html(response).find("h1").text == "Endorsed measure"
    assert button_labels(response, f"/proposals/{proposal.id}/") == []
    assert timeline(response)[-1] == "The platform endorsed the proposal: the consensus rule is met."


# --- the permanent address ---------------------------------------------------------------------


def test_a_submitted_proposal_is_reached_by_its_reference(app, make_user, proposal_in):
    proposal = proposal_in(S.SUBMITTED, title="Cited measure")
    council = signed_in(app, make_user(roles=(Role.COUNCIL_MEMBER,)))

    by_reference = council.get(f"/proposals/EP-{YEAR}-0001")
    lower_case = council.get(f"/proposals/ep-{YEAR}-0001")

    assert (by_reference.status_code, lower_case.status_code) == (200, 200)
    assert page_without_tokens(by_reference) == page_without_tokens(council.get(f"/proposals/{proposal.id}"))
    assert parse_html(lower_case).find("h1").text == "Cited measure"


@pytest.mark.parametrize("address", [f"EP-{YEAR}-0002", "EP-20-1", "not-a-reference", f"EP-{YEAR}-0001x"])
def test_an_unknown_reference_is_not_found(app, make_user, proposal_in, address):
    proposal_in(S.SUBMITTED)
    council = signed_in(app, make_user(roles=(Role.COUNCIL_MEMBER,)))

    assert council.get(f"/proposals/{address}").status_code == 404


@pytest.mark.parametrize(
    ("state", "kind"),
    [(S.SUBMITTED, "anonymous visitor"), (S.CHANGES_REQUESTED, "council member"), (S.CHANGES_REQUESTED, "secretariat")],
)
def test_a_reference_the_visitor_may_not_see_is_not_found(proposal_in, visitor_as, state, kind):
    proposal_in(state)

    assert visitor_as(kind).get(f"/proposals/EP-{YEAR}-0001").status_code == 404


# --- a think tank's proposals ------------------------------------------------------------------


@pytest.fixture
def think_tank_world(author, proposal_in):
    """One proposal of Ann's think tank in every state."""
    titles = {state: proposal_in(state, title=f"In state {state.value}").title for state in S}
    return think_tank_of(author), titles


def think_tank_of(person) -> int:
    return db.session.scalar(db.select(Membership.think_tank_id).where(Membership.user_id == person.id))


def listed_titles(response) -> list[str]:
    table = parse_html(response).find("table", id="proposals")
    return sorted(link.text for link in table.find_all("a")) if table else []


@pytest.mark.parametrize(
    ("kind", "listed_states"),
    [
        ("anonymous visitor", [S.ENDORSED]),
        ("researcher", [S.ENDORSED]),
        ("another expert", [S.ENDORSED]),
        ("council member", [S.SUBMITTED, S.IN_REVIEW, S.CONSENSUS, S.ENDORSED, S.NOT_ENDORSED, S.WITHDRAWN]),
        ("secretariat", [S.SUBMITTED, S.IN_REVIEW, S.CONSENSUS, S.ENDORSED, S.NOT_ENDORSED, S.WITHDRAWN]),
        ("co-author", [S.SUBMITTED, S.IN_REVIEW, S.CHANGES_REQUESTED, S.CONSENSUS, S.ENDORSED, S.NOT_ENDORSED,
                       S.WITHDRAWN]),
    ],
)
def test_a_think_tanks_page_lists_the_proposals_the_visitor_may_see_and_never_a_draft(
    think_tank_world, visitor_as, kind, listed_states
):
    think_tank_id, titles = think_tank_world

    response = visitor_as(kind).get(f"/thinktanks/{think_tank_id}/proposals")

    assert response.status_code == 200
    assert listed_titles(response) == sorted(titles[state] for state in listed_states)


def test_a_think_tanks_proposals_are_linked_from_its_page(client, make_think_tank):
    think_tank = make_think_tank(name="Water Institute")

    page = parse_html(client.get(f"/thinktanks/{think_tank.id}"))

    assert page.find("a", href=f"/thinktanks/{think_tank.id}/proposals").text == "Proposals of this think tank"


def test_a_think_tank_nobody_may_see_has_no_proposals_page(client, make_think_tank):
    pending = make_think_tank(status=ThinkTankStatus.PENDING)

    assert client.get(f"/thinktanks/{pending.id}/proposals").status_code == 404
    assert client.get("/thinktanks/999999/proposals").status_code == 404


def test_a_think_tank_without_visible_proposals_says_so(client, make_think_tank):
    think_tank = make_think_tank()

    page = parse_html(client.get(f"/thinktanks/{think_tank.id}/proposals"))

    assert page.find("p", class_="empty-state").text == (
        "No proposal of this think tank is visible to you. Endorsed proposals are public; the council sees "
        "those under review."
    )


# --- the number of SQL statements does not grow with the data ----------------------------------


def statements_for(visitor, path: str) -> list[str]:
    with StatementCounter(db.engine) as counter:
        response = visitor.get(path)
    assert response.status_code == 200
    return counter.statements


def test_a_proposal_page_costs_the_same_statements_with_many_authors_and_events(
    app, make_user, make_think_tank, author, make_proposal, states
):
    few = make_proposal(author=author)
    many = make_proposal(author=author, coauthors=[new_expert(make_user, make_think_tank) for _ in range(6)],
                         keywords=("a", "b", "c", "d"), dimensions=("economic", "human", "environmental"))
    ann = signed_in(app, author)

    assert len(statements_for(ann, f"/proposals/{many.id}")) == len(statements_for(ann, f"/proposals/{few.id}"))


def test_listings_cost_the_same_statements_with_many_proposals(app, author, proposal_in):
    ann = signed_in(app, author)
    proposal_in(S.ENDORSED)
    think_tank_id = think_tank_of(author)
    mine_with_one = statements_for(ann, "/proposals/mine")
    tank_with_one = statements_for(ann, f"/thinktanks/{think_tank_id}/proposals")
    for _ in range(6):
        proposal_in(S.ENDORSED)
        proposal_in(S.SUBMITTED)

    assert len(statements_for(ann, "/proposals/mine")) == len(mine_with_one)
    assert len(statements_for(ann, f"/thinktanks/{think_tank_id}/proposals")) == len(tank_with_one)


def test_pages_are_served_without_inline_script_or_style(app, author, proposal_in, client):
    proposal = proposal_in(S.SUBMITTED)
    ann = signed_in(app, author)

    for path in ["/proposals/mine", "/proposals/new", f"/proposals/{proposal.id}"]:
        page = parse_html(ann.get(path))
        assert [script.attributes.get("src") for script in page.find_all("script")] == ["/static/js/app.js"]
        assert page.find_all("style") == []
        assert [element.tag for element in page.elements() if "style" in element.attributes] == []


def test_every_field_of_the_proposal_pages_has_a_label(app, make_user, make_think_tank, author, proposal_in):
    proposal = proposal_in(S.DRAFT)
    coauthors.invite(actor=author, proposal=stored(proposal.id), user=new_expert(make_user, make_think_tank))
    db.session.commit()
    ann = signed_in(app, author)

    for path in ["/proposals/new", f"/proposals/{proposal.id}", f"/proposals/{proposal.id}/edit"]:
        page = parse_html(ann.get(path))
        fields = [element for element in page.find_all("input") if element.attributes.get("type") != "hidden"]
        fields += page.find_all("select") + page.find_all("textarea")
        labelled = {label.attributes.get("for") for label in page.find_all("label")}
        unlabelled = [field.attributes.get("id") for field in fields if field.attributes.get("id") not in labelled]
        assert fields != []
        assert unlabelled == []
