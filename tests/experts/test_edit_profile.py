"""An expert edits their profile at /account/profile: every field, the rules, and who may."""

from __future__ import annotations

import pytest

from expert_platform.enums import ProfileVisibility, Role
from expert_platform.experts.models import ExpertProfile
from tests.html_tree import parse_html

from .support import (
    deactivate_membership,
    details,
    field_error,
    field_errors,
    form_values,
    post_profile_form,
    profile_of,
)

PROFILE_PATH = "/account/profile"


@pytest.fixture
def expert(make_user):
    return make_user(email="aigerim@example.org", display_name="Aigerim Bekova", roles=(Role.EXPERT,))


@pytest.fixture
def expert_client(client, login, expert):
    login(expert)
    return client


def typed_profile(states) -> dict:
    """A full set of typed values, as the form posts them."""
    return {
        "title": "Senior research fellow",
        "affiliations": "Al-Farabi University\nEurasian Water Centre",
        "biography": "Works on **transboundary water** in Central Asia.",
        "dimensions": ["economic", "environmental"],
        "keywords": "Water Diplomacy, border management",
        "languages": ["en", "kk", "ru"],
        "country": str(states["KZ"].id),
        "orcid": "https://orcid.org/0000-0002-1825-0097",
        "publication_links": "Water and peace | https://example.org/water\nBorders | http://example.org/borders",
        "visibility": "public",
    }


def shown_form(typed: dict) -> dict:
    """What the form shows after ``typed`` was posted: selections as lists of values."""
    return {
        **typed,
        "country": [typed["country"]],
        "visibility": [typed["visibility"]],
    }


# --- the whole round trip --------------------------------------------------------------------


def test_an_expert_saves_every_field_and_sees_each_on_their_profile_page(
    expert_client, expert, make_think_tank, states, client
):
    think_tank = make_think_tank(name="Institute for Strategic Studies", state="KZ", experts=[expert])

    assert expert_client.get(PROFILE_PATH).status_code == 200
    response = post_profile_form(expert_client, **typed_profile(states))

    assert response.status_code == 302
    assert response.headers["Location"] == PROFILE_PATH
    page = expert_client.get(f"/experts/{expert.id}")
    assert page.status_code == 200
    document = parse_html(page)
    assert document.find("h1").text == "Aigerim Bekova"
    assert document.find("p", class_="lead").text == "Senior research fellow"
    assert details(page) == {
        "Affiliations": "Al-Farabi University Eurasian Water Centre",
        "Country": "Kazakhstan",
        "Dimensions": "Economic dimension Environmental dimension",
        "Keywords": "border management water diplomacy",
        "Languages": "English, Kazakh, Russian",
        "ORCID iD": "0000-0002-1825-0097",
    }
    orcid_link = document.find("dl").find("a", href="https://orcid.org/0000-0002-1825-0097")
    assert orcid_link.text == "0000-0002-1825-0097"
    biography = document.find("section", id="biography")
    assert [element.tag for element in biography.elements()] == ["h2", "p", "strong"]
    assert biography.find("strong").text == "transboundary water"
    publications = document.find("section", id="publications").find_all("a")
    assert [(link.attributes["href"], link.text, link.attributes["rel"]) for link in publications] == [
        ("https://example.org/water", "Water and peace", "nofollow noopener noreferrer"),
        ("http://example.org/borders", "Borders", "nofollow noopener noreferrer"),
    ]
    think_tanks = document.find("section", id="think-tanks").find_all("li")
    assert [(item.find("a").attributes["href"], item.text) for item in think_tanks] == [
        (f"/thinktanks/{think_tank.id}", "Institute for Strategic Studies (Kazakhstan)")
    ]
    assert "aigerim@example.org" not in page.get_data(as_text=True)


def test_the_saved_profile_is_stored_in_its_clean_form(expert_client, expert, states):
    post_profile_form(expert_client, **typed_profile(states))

    profile = profile_of(expert.id)
    assert profile.title == "Senior research fellow"
    assert profile.affiliations == "Al-Farabi University\nEurasian Water Centre"
    assert profile.biography == "Works on **transboundary water** in Central Asia."
    assert profile.biography_html == "<p>Works on <strong>transboundary water</strong> in Central Asia.</p>\n"
    assert [row.dimension for row in profile.dimensions] == ["economic", "environmental"]
    assert [row.keyword for row in profile.keywords] == ["border management", "water diplomacy"]
    assert [row.language for row in profile.languages] == ["en", "kk", "ru"]
    assert profile.country.name == "Kazakhstan"
    assert profile.orcid == "0000-0002-1825-0097"
    assert [(link.title, link.url, link.position) for link in profile.publication_links] == [
        ("Water and peace", "https://example.org/water", 0),
        ("Borders", "http://example.org/borders", 1),
    ]
    assert profile.visibility == ProfileVisibility.PUBLIC


def test_the_form_opens_with_the_saved_values(expert_client, states):
    post_profile_form(expert_client, **typed_profile(states))

    response = expert_client.get(PROFILE_PATH)

    assert form_values(response) == {
        **shown_form(typed_profile(states)),
        "keywords": "border management, water diplomacy",
        "orcid": "0000-0002-1825-0097",
        "publication_links": "Water and peace | https://example.org/water\nBorders | http://example.org/borders",
    }


def test_a_new_profile_form_is_empty_and_visible_to_signed_in_users_only(expert_client):
    response = expert_client.get(PROFILE_PATH)

    assert form_values(response) == {
        "title": "",
        "affiliations": "",
        "biography": "",
        "dimensions": [],
        "keywords": "",
        "languages": [],
        "country": [""],
        "orcid": "",
        "publication_links": "",
        "visibility": ["signed_in"],
    }


def test_a_profile_saved_again_holds_exactly_the_new_values(expert_client, expert):
    post_profile_form(expert_client, dimensions=["human", "economic"], keywords="water, energy", languages=["ru"])

    response = post_profile_form(
        expert_client, dimensions=["economic", "military_political"], keywords="Energy, trade", languages=["ru", "zh"]
    )

    assert response.status_code == 302
    profile = profile_of(expert.id)
    assert [row.dimension for row in profile.dimensions] == ["economic", "military_political"]
    assert [row.keyword for row in profile.keywords] == ["energy", "trade"]
    assert [row.language for row in profile.languages] == ["ru", "zh"]


def test_unticking_every_choice_and_emptying_the_texts_clears_them(expert_client, expert, states):
    post_profile_form(expert_client, **typed_profile(states))

    response = post_profile_form(expert_client)

    assert response.status_code == 302
    profile = profile_of(expert.id)
    assert (profile.title, profile.biography, profile.biography_html, profile.country, profile.orcid) == (
        "", "", "", None, None
    )
    assert (profile.dimensions, profile.keywords, profile.languages, profile.publication_links) == ([], [], [], [])


def test_the_form_offers_a_link_to_the_profile_page_once_the_profile_exists(expert_client, expert):
    def profile_links():
        page = parse_html(expert_client.get(PROFILE_PATH))
        return [link.text for link in page.find("main").find_all("a", href=f"/experts/{expert.id}")]

    assert profile_links() == []
    post_profile_form(expert_client, title="Fellow")
    assert profile_links() == ["See your profile as others see it"]


def test_saving_says_so(expert_client):
    response = post_profile_form(expert_client, title="Fellow")

    page = parse_html(expert_client.get(response.headers["Location"]))
    assert page.find(class_="alert-success").text == "Your expert profile is saved."


# --- the rules -------------------------------------------------------------------------------


def test_keywords_are_trimmed_lower_cased_and_de_duplicated(expert_client, expert):
    post_profile_form(expert_client, keywords=" Water , water,, BORDER   management , ")

    assert [row.keyword for row in profile_of(expert.id).keywords] == ["border management", "water"]


def test_twenty_keywords_are_accepted(expert_client, expert):
    response = post_profile_form(expert_client, keywords=", ".join(f"topic {number}" for number in range(20)))

    assert response.status_code == 302
    assert len(profile_of(expert.id).keywords) == 20


BIOGRAPHY_TOO_LONG = "x" * 20_001
TOO_MANY_KEYWORDS = ", ".join(f"topic {number}" for number in range(21))

#: (field, typed value, message under the field) for input the form must refuse.
BAD_INPUT = [
    ("orcid", "0000-0002-1825-0098",
     "This ORCID iD is not valid: its last character does not match. Check it for a typing mistake."),
    ("biography", BIOGRAPHY_TOO_LONG, "Use at most 20000 characters (this has 20001)."),
    ("publication_links", "My site | javascript:alert(document.cookie)",
     "The address of “My site” must be a web address starting with http:// or https://."),
    ("publication_links", "Paper | https://example.org/paper\nData | ftp://example.org/data",
     "The address of “Data” must be a web address starting with http:// or https://."),
    ("publication_links", "Paper | https://example.org/paper\nhttps://example.org/data",
     "Line 2 has no “|”: write each link as Title | https://address."),
    ("publication_links", " | https://example.org/paper", "Link 1 has no title: write it before the “|”."),
    ("publication_links", "\n".join(f"Paper {number} | https://example.org/{number}" for number in range(21)),
     "Give at most 20 links (you gave 21)."),
    ("publication_links", "Paper | https://example.org/" + "a" * 481,
     "The address of “Paper” is longer than 500 characters."),
    ("publication_links", "T" * 301 + " | https://example.org/", "The title of link 1 is longer than 300 characters."),
    ("keywords", TOO_MANY_KEYWORDS, "Give at most 20 keywords (you gave 21)."),
    ("keywords", "water, " + "k" * 61, f"The keyword “{'k' * 61}” is longer than 60 characters."),
    ("title", "T" * 121, "Use at most 120 characters (this has 121)."),
    ("affiliations", "A" * 501, "Use at most 500 characters (this has 501)."),
]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    BAD_INPUT,
    ids=[f"{field}-{number}" for number, (field, _value, _message) in enumerate(BAD_INPUT)],
)
def test_bad_input_is_refused_under_its_field_and_everything_typed_is_kept(
    expert_client, expert, states, field, value, message
):
    typed = {**typed_profile(states), field: value}

    response = post_profile_form(expert_client, **typed)

    assert response.status_code == 200
    assert field_errors(response) == {field: message}
    assert form_values(response) == shown_form(typed)
    assert profile_of(expert.id) is None


def test_bad_input_leaves_a_saved_profile_unchanged(expert_client, expert, states):
    post_profile_form(expert_client, **typed_profile(states))

    response = post_profile_form(expert_client, **{**typed_profile(states), "title": "Changed", "orcid": "1234"})

    assert response.status_code == 200
    assert profile_of(expert.id).title == "Senior research fellow"


def test_a_language_that_is_not_an_iso_639_1_code_is_refused(expert_client, expert):
    response = post_profile_form(expert_client, languages=["en", "zz"])

    assert response.status_code == 200
    assert field_error(response, "languages") == "'zz' is not a valid choice for this field."
    assert profile_of(expert.id) is None


@pytest.mark.parametrize("three_letter_code", ["eng", "kaz"])
def test_only_two_letter_language_codes_are_offered(expert_client, three_letter_code):
    options = parse_html(expert_client.get(PROFILE_PATH)).find("select", id="languages").find_all("option")

    values = [option.attributes["value"] for option in options]
    assert three_letter_code not in values
    assert {len(value) for value in values} == {2}
    assert ("kk", "Kazakh") in [(option.attributes["value"], option.text) for option in options]


def test_the_country_is_a_member_or_observer_state(expert_client, expert, states):
    offered = parse_html(expert_client.get(PROFILE_PATH)).find("select", id="country").find_all("option")
    names = [option.text for option in offered]

    assert names[0] == "Not given"
    assert "Kazakhstan" in names
    assert "Japan" in names
    assert "United Nations" not in names
    response = post_profile_form(expert_client, country=str(states["United Nations"].id))
    assert field_error(response, "country") == "Not a valid choice."
    assert profile_of(expert.id) is None


def test_a_visibility_that_is_not_offered_is_refused(expert_client, expert):
    response = post_profile_form(expert_client, visibility="everybody")

    assert field_error(response, "visibility") == "Not a valid choice."
    assert profile_of(expert.id) is None


# --- Markdown --------------------------------------------------------------------------------

HOSTILE_BIOGRAPHY = (
    "# About me\n\n"
    "<script>alert('x')</script>\n\n"
    "I write on *water*. [Click](javascript:alert(1)) <img src=x onerror=alert(2)> [Site](https://example.org)"
)


def test_a_biography_is_rendered_from_markdown_and_never_carries_a_script(expert_client, expert):
    post_profile_form(expert_client, biography=HOSTILE_BIOGRAPHY, visibility="public")

    page = expert_client.get(f"/experts/{expert.id}")

    document = parse_html(page)
    assert [script.attributes.get("src") for script in document.find_all("script")] == ["/static/js/app.js"]
    biography = document.find("section", id="biography")
    assert [element.tag for element in biography.elements()] == ["h2", "h2", "p", "p", "em", "a"]
    assert biography.find_all("h2")[1].text == "About me"
    assert biography.find_all("p")[0].text == "<script>alert('x')</script>"
    assert biography.find("a").attributes == {"href": "https://example.org", "rel": "nofollow noopener noreferrer"}
    assert "<script>alert" not in page.get_data(as_text=True)
    assert "<img" not in page.get_data(as_text=True)
    assert [name for element in document.elements() for name in element.attributes if name.startswith("on")] == []
    assert profile_of(expert.id).biography_html == (
        "<h2>About me</h2>\n"
        "<p>&lt;script&gt;alert('x')&lt;/script&gt;</p>\n"
        "<p>I write on <em>water</em>. [Click](javascript:alert(1)) &lt;img src=x onerror=alert(2)&gt; "
        '<a href="https://example.org" rel="nofollow noopener noreferrer">Site</a></p>\n'
    )


def test_the_markdown_is_rendered_once_when_saved(expert_client, expert):
    post_profile_form(expert_client, biography="Plain *words*")

    profile = profile_of(expert.id)
    assert profile.biography == "Plain *words*"
    assert profile.biography_html == "<p>Plain <em>words</em></p>\n"


# --- who may ---------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(PROFILE_PATH)

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount%2Fprofile"


@pytest.mark.parametrize("roles", [(Role.RESEARCHER,), (Role.COUNCIL_MEMBER,), (Role.ADMIN,), ()])
def test_someone_who_is_neither_expert_nor_think_tank_member_gets_403(client, login, make_user, db, roles):
    person = make_user(roles=roles)
    login(person)

    assert client.get(PROFILE_PATH).status_code == 403
    assert post_profile_form(client, title="Fellow").status_code == 403
    assert db.session.query(ExpertProfile).count() == 0


def test_an_active_member_of_a_think_tank_without_the_expert_role_has_a_profile(
    client, login, make_user, make_think_tank
):
    manager = make_user(roles=(Role.THINKTANK_MANAGER,))
    make_think_tank(managers=[manager])
    login(manager)

    assert client.get(PROFILE_PATH).status_code == 200
    assert post_profile_form(client, title="Director").status_code == 302
    assert profile_of(manager.id).title == "Director"


def test_a_deactivated_member_without_the_expert_role_gets_403(client, login, make_user, make_think_tank):
    boss = make_user(roles=(Role.THINKTANK_MANAGER,))
    former = make_user(roles=(Role.THINKTANK_MANAGER,))
    think_tank = make_think_tank(managers=[boss, former])
    deactivate_membership(boss, think_tank, former)
    login(former)

    assert client.get(PROFILE_PATH).status_code == 403
