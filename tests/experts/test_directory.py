"""The expert directory, /experts: who is listed, each filter, the text search, pages, and its queries."""

from __future__ import annotations

import pytest

from expert_platform.accounts import services as account_services
from expert_platform.enums import Role, ThinkTankStatus
from expert_platform.experts.services import LinkInput
from expert_platform.extensions import db
from tests.html_tree import parse_html

from .support import StatementCounter, deactivate_membership, field_error, give_profile, listed_experts, query_of

EMPTY_STATE = "No expert matches this search. To widen it, remove a filter, or search for fewer or shorter words."


@pytest.fixture
def add_expert(make_user, make_think_tank):
    """An expert with the expert role, an active membership in a new approved think tank, and a profile."""

    def factory(name: str, *, state: str = "KZ", visibility: str = "public", **profile):
        expert = make_user(display_name=name, roles=(Role.EXPERT,))
        make_think_tank(state=state, experts=[expert])
        give_profile(expert, visibility=visibility, **profile)
        return expert

    return factory


@pytest.fixture
def signed_in(client, login, make_user):
    """Sign a researcher in on the client (someone with no special role)."""
    login(make_user(display_name="Zoe Reader", roles=(Role.RESEARCHER,)))
    return client


# --- who is listed ---------------------------------------------------------------------------


def test_the_directory_lists_the_visible_experts_by_name(client, add_expert):
    add_expert("Chen Wei")
    add_expert("aigerim Bekova")
    add_expert("Bolat Sadykov")

    response = client.get("/experts")

    assert response.status_code == 200
    assert listed_experts(response) == ["aigerim Bekova", "Bolat Sadykov", "Chen Wei"]
    assert parse_html(response).find(class_="result-count").text == "3 experts"


def test_each_listed_expert_shows_their_think_tanks_dimensions_keywords_and_languages_never_the_email(
    client, make_user, make_think_tank, states
):
    expert = make_user(email="aigerim@example.org", display_name="Aigerim Bekova", roles=(Role.EXPERT,))
    think_tank = make_think_tank(name="Institute for Strategic Studies", state="KZ", experts=[expert])
    give_profile(
        expert,
        title="Senior fellow",
        dimensions=["human", "economic"],
        keywords=["Water", "energy"],
        languages=["ru", "kk"],
        country_id=states["KZ"].id,
        visibility="public",
    )

    response = client.get("/experts")

    card = parse_html(response).find("ul", id="experts").find("li")
    assert card.find("h2").find("a").attributes["href"] == f"/experts/{expert.id}"
    assert card.find("p").text == "Senior fellow"
    terms = [term.text for term in card.find_all("dt")]
    descriptions = [description.text for description in card.find_all("dd")]
    assert dict(zip(terms, descriptions, strict=True)) == {
        "Think tanks": "Institute for Strategic Studies (Kazakhstan)",
        "Country": "Kazakhstan",
        "Dimensions": "Economic dimension Human dimension",
        "Keywords": "energy water",
        "Languages": "Kazakh, Russian",
    }
    assert card.find("dd").find("a").attributes["href"] == f"/thinktanks/{think_tank.id}"
    assert "aigerim@example.org" not in response.get_data(as_text=True)


def test_experts_without_an_active_membership_in_an_approved_think_tank_are_not_listed(
    signed_in, make_user, make_think_tank, add_expert
):
    add_expert("Listed Expert")
    no_membership = make_user(display_name="No Membership", roles=(Role.EXPERT,))
    give_profile(no_membership)
    applicant = make_user(display_name="Pending Member", roles=(Role.EXPERT,))
    make_think_tank(experts=[applicant], status=ThinkTankStatus.PENDING)
    give_profile(applicant)
    refused = make_user(display_name="Rejected Member", roles=(Role.EXPERT,))
    make_think_tank(experts=[refused], status=ThinkTankStatus.REJECTED)
    give_profile(refused)
    manager = make_user(roles=(Role.THINKTANK_MANAGER,))
    former = make_user(display_name="Former Member", roles=(Role.EXPERT,))
    think_tank = make_think_tank(managers=[manager], experts=[former])
    deactivate_membership(manager, think_tank, former)
    give_profile(former)

    assert listed_experts(signed_in.get("/experts")) == ["Listed Expert"]


def test_a_member_without_a_profile_is_not_listed(signed_in, make_user, make_think_tank, add_expert):
    add_expert("Listed Expert")
    make_think_tank(experts=[make_user(display_name="Never Saved", roles=(Role.EXPERT,))])

    assert listed_experts(signed_in.get("/experts")) == ["Listed Expert"]


@pytest.mark.parametrize("viewer_roles", [None, (Role.RESEARCHER,), (Role.ADMIN,)])
def test_a_deactivated_account_is_not_listed(client, login, make_user, add_expert, viewer_roles):
    add_expert("Active Expert")
    gone = add_expert("Gone Expert")
    admin = make_user(roles=(Role.ADMIN,))
    account_services.set_active(actor=admin, user=gone, is_active=False)
    db.session.commit()
    if viewer_roles is not None:
        login(make_user(roles=viewer_roles))

    assert listed_experts(client.get("/experts")) == ["Active Expert"]


def test_a_profile_for_signed_in_users_is_not_listed_for_anonymous_visitors(client, add_expert):
    add_expert("Public Expert", keywords=["water"])
    add_expert("Private Expert", keywords=["water"], visibility="signed_in")

    assert listed_experts(client.get("/experts")) == ["Public Expert"]
    assert listed_experts(client.get("/experts", query_string={"q": "private"})) == []
    assert listed_experts(client.get("/experts", query_string={"q": "water"})) == ["Public Expert"]
    assert listed_experts(client.get("/experts", query_string={"keyword": "water"})) == ["Public Expert"]
    assert "Private Expert" not in client.get("/experts", query_string={"q": "private"}).get_data(as_text=True)


def test_a_profile_for_signed_in_users_is_listed_for_a_signed_in_user(signed_in, add_expert):
    add_expert("Public Expert", keywords=["water"])
    add_expert("Private Expert", keywords=["water"], visibility="signed_in")

    assert listed_experts(signed_in.get("/experts")) == ["Private Expert", "Public Expert"]
    assert listed_experts(signed_in.get("/experts", query_string={"q": "private"})) == ["Private Expert"]


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        ("human", ["Aigerim Bekova", "Bolat Sadykov"]),
        ("economic", ["Aigerim Bekova"]),
        ("environmental", []),
        ("", ["Aigerim Bekova", "Bolat Sadykov", "Chen Wei"]),
    ],
)
def test_the_dimension_filter_lists_the_experts_of_that_dimension(client, add_expert, dimension, expected):
    add_expert("Aigerim Bekova", dimensions=["economic", "human"])
    add_expert("Bolat Sadykov", dimensions=["human"])
    add_expert("Chen Wei")

    assert listed_experts(client.get("/experts", query_string={"dimension": dimension})) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("KZ", ["Aigerim Bekova", "Chen Wei"]),
        ("CN", ["Bolat Sadykov", "Chen Wei", "Daniyar Pending", "Erlan Former"]),
        ("IN", []),
    ],
)
def test_the_member_state_filter_follows_active_memberships_in_approved_think_tanks(
    client, make_user, make_think_tank, states, state, expected
):
    manager = make_user(roles=(Role.THINKTANK_MANAGER,))
    people = {
        name: make_user(display_name=name, roles=(Role.EXPERT,))
        for name in ("Aigerim Bekova", "Bolat Sadykov", "Chen Wei", "Daniyar Pending", "Erlan Former")
    }
    make_think_tank(state="KZ", experts=[people["Aigerim Bekova"], people["Chen Wei"]])
    make_think_tank(state="CN", experts=[people["Bolat Sadykov"], people["Chen Wei"], people["Daniyar Pending"],
                                         people["Erlan Former"]])
    make_think_tank(state="KZ", experts=[people["Daniyar Pending"]], status=ThinkTankStatus.PENDING)
    left = make_think_tank(state="KZ", managers=[manager], experts=[people["Erlan Former"]])
    deactivate_membership(manager, left, people["Erlan Former"])
    for person in people.values():
        give_profile(person, visibility="public")

    response = client.get("/experts", query_string={"member_state": states[state].id})

    assert listed_experts(response) == expected


def test_the_member_state_filter_offers_the_member_states_only(client, states):
    options = parse_html(client.get("/experts")).find("select", id="member_state").find_all("option")

    names = [option.text for option in options]
    assert names[0] == "Any member state"
    assert len(names) == 1 + 28
    assert "Kazakhstan" in names
    assert "Japan" not in names


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ru", ["Aigerim Bekova", "Bolat Sadykov"]), ("kk", ["Aigerim Bekova"]), ("fr", [])],
)
def test_the_language_filter_lists_the_experts_who_speak_it(client, add_expert, language, expected):
    add_expert("Aigerim Bekova", languages=["kk", "ru"])
    add_expert("Bolat Sadykov", languages=["ru"])
    add_expert("Chen Wei", languages=["en", "zh"])

    assert listed_experts(client.get("/experts", query_string={"language": language})) == expected


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("water", ["Aigerim Bekova", "Chen Wei"]),
        ("WATER", ["Aigerim Bekova", "Chen Wei"]),
        ("  Water  ", ["Aigerim Bekova", "Chen Wei"]),
        ("water diplomacy", ["Bolat Sadykov"]),
        ("wat", []),
        ("water%", []),
    ],
)
def test_the_keyword_filter_matches_a_whole_keyword_ignoring_case(client, add_expert, keyword, expected):
    add_expert("Aigerim Bekova", keywords=["water", "energy"])
    add_expert("Bolat Sadykov", keywords=["water diplomacy"])
    add_expert("Chen Wei", keywords=["Water"])

    assert listed_experts(client.get("/experts", query_string={"keyword": keyword})) == expected


@pytest.fixture
def searchable(add_expert):
    add_expert("Aigerim Bekova", keywords=["water diplomacy"], biography="Works on river basins.")
    add_expert("Bolat Sadykov", keywords=["energy"], biography="Studies WATER tariffs and 100% renewable grids.")
    add_expert("Chen Wei", keywords=["security", "trade policy"], biography="Maritime confidence-building.")
    add_expert("Daniyar Waterman", keywords=["trade_policy"], biography="Customs unions.")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("water", ["Aigerim Bekova", "Bolat Sadykov", "Daniyar Waterman"]),
        ("WATER DIPLOMACY", ["Aigerim Bekova"]),
        ("  water   diplomacy ", ["Aigerim Bekova"]),
        ("sadykov", ["Bolat Sadykov"]),
        ("Confidence-Building", ["Chen Wei"]),
        ("trade", ["Chen Wei", "Daniyar Waterman"]),
        ("100%", ["Bolat Sadykov"]),
        ("%", ["Bolat Sadykov"]),
        ("_", ["Daniyar Waterman"]),
        ("trade_policy", ["Daniyar Waterman"]),
        ("nobody", []),
        ("", ["Aigerim Bekova", "Bolat Sadykov", "Chen Wei", "Daniyar Waterman"]),
    ],
)
def test_the_text_search_looks_in_names_keywords_and_biographies(client, searchable, query, expected):
    assert listed_experts(client.get("/experts", query_string={"q": query})) == expected


def test_the_text_search_uses_only_the_first_100_characters(client, add_expert):
    add_expert("Long Biography", biography="Notes: " + "a" * 100 + "b")
    add_expert("Short Biography", biography="a" * 99)

    response = client.get("/experts", query_string={"q": "a" * 100 + "zzz"})

    assert listed_experts(response) == ["Long Biography"]
    assert parse_html(response).find("input", id="q").attributes["value"] == "a" * 100


def test_filters_combine(client, add_expert):
    add_expert("Aigerim Bekova", dimensions=["human"], languages=["ru"], keywords=["water"])
    add_expert("Bolat Sadykov", dimensions=["human"], languages=["kk"], keywords=["water"])
    add_expert("Chen Wei", dimensions=["economic"], languages=["ru"], keywords=["water"])

    response = client.get("/experts", query_string={"dimension": "human", "language": "ru", "q": "water"})

    assert listed_experts(response) == ["Aigerim Bekova"]


def test_a_choice_that_is_not_offered_is_reported_and_left_out(client, add_expert):
    add_expert("Aigerim Bekova", dimensions=["human"])
    add_expert("Bolat Sadykov")

    response = client.get("/experts", query_string={"dimension": "nonsense", "language": "zz"})

    assert field_error(response, "dimension") == "Not a valid choice."
    assert field_error(response, "language") == "Not a valid choice."
    assert listed_experts(response) == ["Aigerim Bekova", "Bolat Sadykov"]


def test_the_filter_form_is_a_get_form_without_a_security_token(client):
    form = parse_html(client.get("/experts")).find("form", role="search")

    assert form.attributes["method"] == "get"
    assert form.attributes["action"] == "/experts"
    assert form.find("input", name="csrf_token") is None
    assert [element.attributes["name"] for element in form.find_all("input") + form.find_all("select")] == [
        "q", "keyword", "dimension", "member_state", "language",
    ]


def test_a_search_without_results_says_how_to_widen_it(client, add_expert):
    add_expert("Aigerim Bekova")

    response = client.get("/experts", query_string={"q": "nobody"})

    page = parse_html(response)
    assert page.find("ul", id="experts") is None
    assert page.find(class_="empty-state").text == EMPTY_STATE
    assert page.find(class_="result-count").text == "0 experts"


# --- pages and queries -----------------------------------------------------------------------


def test_twenty_one_experts_fill_a_page_of_twenty_and_a_page_of_one_keeping_the_filters(
    client, make_user, make_think_tank
):
    experts = [make_user(display_name=f"Expert {number:02d}", roles=(Role.EXPERT,)) for number in range(1, 22)]
    make_think_tank(experts=experts)
    for expert in experts:
        give_profile(expert, dimensions=["human"], visibility="public")

    first = client.get("/experts", query_string={"dimension": "human", "q": "expert"})

    assert listed_experts(first) == [f"Expert {number:02d}" for number in range(1, 21)]
    assert parse_html(first).find(class_="result-count").text == "21 experts"
    next_link = parse_html(first).find("a", rel="next")
    assert query_of(next_link.attributes["href"]) == {"page": ["2"], "q": ["expert"], "dimension": ["human"]}
    assert parse_html(first).find("a", rel="prev") is None

    second = client.get(next_link.attributes["href"])

    assert listed_experts(second) == ["Expert 21"]
    assert parse_html(second).find("a", rel="next") is None
    previous = parse_html(second).find("a", rel="prev")
    assert query_of(previous.attributes["href"]) == {"page": ["1"], "q": ["expert"], "dimension": ["human"]}


@pytest.mark.parametrize("filters", [{}, {"q": "expert", "language": "ru", "dimension": "human"}])
def test_the_directory_sends_as_many_statements_for_thirty_experts_as_for_three(
    signed_in, make_user, make_think_tank, states, filters
):
    # Every expert has a country of their own, so loading countries one by one would show.
    countries = sorted(state.id for state in states.values() if state.code)

    def add_experts(first: int, count: int) -> None:
        experts = [
            make_user(display_name=f"Expert {number:02d}", roles=(Role.EXPERT,))
            for number in range(first, first + count)
        ]
        make_think_tank(experts=experts)
        for number, expert in enumerate(experts, start=first):
            give_profile(
                expert,
                title="Fellow",
                dimensions=["human", "economic"],
                keywords=["water", "energy"],
                languages=["ru", "kk"],
                country_id=countries[number],
                publication_links=[LinkInput(title="Paper", url="https://example.org/paper")],
                visibility="signed_in",
            )

    def statements_of_one_page() -> tuple[list[str], list[str]]:
        db.session.commit()
        with StatementCounter(db.engine) as counter:
            response = signed_in.get("/experts", query_string=filters)
        assert response.status_code == 200
        return counter.statements, listed_experts(response)

    add_experts(1, 3)
    with_three, listed_three = statements_of_one_page()
    add_experts(4, 27)
    with_thirty, listed_thirty = statements_of_one_page()

    assert len(listed_three) == 3
    assert len(listed_thirty) == 20
    assert len(with_thirty) == len(with_three), "\n".join(with_thirty)
