"""The expert pages follow the layout's rules: labelled inputs, no inline script or style."""

from __future__ import annotations

import pytest

from expert_platform.enums import Role
from tests.html_tree import parse_html

from .support import give_profile

PROFILE_INPUTS = [
    "title", "dimensions-0", "dimensions-1", "dimensions-2", "dimensions-3", "dimensions-4", "keywords", "orcid",
    "visibility-0", "visibility-1", "languages", "country", "affiliations", "biography", "publication_links",
]
DIRECTORY_INPUTS = ["q", "keyword", "dimension", "member_state", "language"]


@pytest.fixture
def open_page(client, login, make_user, make_think_tank, states):
    """GET one of the expert pages as an expert with a full public profile; returns the parsed page."""
    expert = make_user(display_name="Aigerim Bekova", roles=(Role.EXPERT,))
    make_think_tank(experts=[expert])
    give_profile(expert, title="Fellow", biography="*Hello*", keywords=["water"], languages=["ru"],
                 dimensions=["human"], country_id=states["KZ"].id, orcid="0000-0002-1825-0097",
                 visibility="public")
    login(expert)
    paths = {"profile form": "/account/profile", "directory": "/experts", "profile": f"/experts/{expert.id}"}

    def do_open(name: str):
        response = client.get(paths[name])
        assert response.status_code == 200
        return parse_html(response)

    return do_open


@pytest.mark.parametrize(
    ("name", "inputs"), [("profile form", PROFILE_INPUTS), ("directory", DIRECTORY_INPUTS), ("profile", [])]
)
def test_every_visible_input_has_a_label(open_page, name, inputs):
    page = open_page(name)

    visible = [element for element in page.find_all("input") if element.attributes.get("type") != "hidden"]
    visible += page.find_all("select") + page.find_all("textarea")
    labelled = {label.attributes.get("for") for label in page.find_all("label")}
    assert [element.attributes.get("id") for element in visible] == inputs
    assert [element.attributes.get("id") for element in visible if element.attributes.get("id") not in labelled] == []


@pytest.mark.parametrize("name", ["profile form", "directory", "profile"])
def test_a_page_has_no_inline_script_or_style(open_page, name):
    page = open_page(name)

    assert [script.attributes.get("src") for script in page.find_all("script")] == ["/static/js/app.js"]
    assert page.find_all("style") == []
    assert [element.tag for element in page.elements() if "style" in element.attributes] == []
    assert [name for element in page.elements() for name in element.attributes if name.startswith("on")] == []
    assert [main.attributes.get("id") for main in page.find_all("main")] == ["main"]


def test_each_visibility_choice_explains_itself(open_page):
    page = open_page("profile form")

    fieldset = page.find("input", id="visibility-0").parent.parent.parent
    assert fieldset.find("legend").text == "Who may see your profile"
    hints = [(radio.attributes["value"], radio.attributes["aria-describedby"])
             for radio in fieldset.find_all("input", type="radio")]
    choices = [(value, hint, page.find(id=hint).text) for value, hint in hints]
    assert choices == [
        ("public", "visibility-0-hint", "Listed in the public directory and on your think tank's page."),
        ("signed_in", "visibility-1-hint", "Hidden from anonymous visitors and search engines."),
    ]
