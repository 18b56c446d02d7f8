"""The home page and the layout every page shares: what the platform is, and accessibility basics."""

from __future__ import annotations

from pathlib import Path

import pytest

from expert_platform.enums import Dimension, Role
from tests.html_tree import Element, parse_html


def section(page: Element, heading_id: str) -> Element | None:
    return page.find("section", aria_labelledby=heading_id)


def card_titles(container: Element) -> list[str]:
    return [heading.text for heading in container.find_all("h3")]


def links(container: Element) -> list[tuple[str, str]]:
    return [(link.attributes.get("href"), link.text) for link in container.find_all("a")]


# --- the home page -------------------------------------------------------------------------


def test_the_home_page_explains_the_platform_to_anonymous_visitors(client):
    response = client.get("/")

    assert response.status_code == 200
    page = parse_html(response)
    assert page.find("h1").text == "Policy proposals from the region's think tanks, endorsed by consensus"
    assert card_titles(section(page, "who-heading")) == [role.label for role in Role]
    assert card_titles(section(page, "dimensions-heading")) == [dimension.label for dimension in Dimension]
    body = response.get_data(as_text=True)
    for role in Role:
        assert role.description in body
    for dimension in Dimension:
        assert dimension.description in body


def test_the_home_page_offers_anonymous_visitors_to_sign_in_or_sign_up(client):
    page = parse_html(client.get("/"))

    assert links(page.find("p", class_="actions")) == [
        ("/login", "Sign in"),
        ("/signup", "Create a researcher account"),
    ]
    assert section(page, "your-roles-heading") is None


def test_the_home_page_lists_exactly_the_roles_of_a_signed_in_user(client, login, make_user):
    login(make_user(display_name="Ann Lee", roles=(Role.EXPERT, Role.COUNCIL_MEMBER, Role.THINKTANK_MANAGER)))

    page = parse_html(client.get("/"))

    yours = section(page, "your-roles-heading")
    assert yours.find("h2").text == "What you can do here"
    assert card_titles(yours) == ["Council member", "Expert", "Think-tank manager"]
    assert links(yours) == []
    assert page.find("p", class_="actions") is None
    assert "Signed in as Ann Lee." in page.find("section", class_="hero").text


def test_the_home_page_links_an_admin_to_the_user_admin(client, login, make_user):
    login(make_user(roles=(Role.ADMIN, Role.RESEARCHER)))

    yours = section(parse_html(client.get("/")), "your-roles-heading")

    assert card_titles(yours) == ["Secretariat", "Researcher"]
    assert links(yours) == [("/admin/users", "Manage accounts and roles")]


def test_the_home_page_tells_a_user_without_roles_who_assigns_them(client, login, make_user):
    login(make_user(roles=()))

    yours = section(parse_html(client.get("/")), "your-roles-heading")

    assert card_titles(yours) == []
    assert yours.find("li").text == "Your account has no role yet. The secretariat assigns roles."


# --- accessibility and the content security policy -----------------------------------------

#: Every page of the layout checked below, with the ids of the visible inputs it must label.
PAGES = [
    ("/", False, []),
    ("/login", False, ["email", "password", "remember"]),
    ("/signup", False, ["display_name", "email", "new_password", "confirm_password"]),
    ("/reset-password", False, ["email"]),
    ("/account", True, ["display_name", "locale"]),
]
PAGE_IDS = [path for path, _, _ in PAGES]


@pytest.fixture
def open_page(client, login, make_user):
    """GET a page, signed in first when the page needs it; returns its parsed document."""

    def do_open(path: str, signed_in: bool) -> Element:
        if signed_in:
            login(make_user())
        response = client.get(path)
        assert response.status_code == 200
        return parse_html(response)

    return do_open


@pytest.mark.parametrize(("path", "signed_in", "_inputs"), PAGES, ids=PAGE_IDS)
def test_a_page_has_one_main_region_reached_by_a_skip_link_before_the_header(open_page, path, signed_in, _inputs):
    page = open_page(path, signed_in)

    assert page.find("html").attributes["lang"] == "en"
    assert [main.attributes.get("id") for main in page.find_all("main")] == ["main"]
    skip_link = page.find("a", href="#main")
    assert skip_link.text == "Skip to main content"
    in_order = list(page.elements())
    assert in_order.index(skip_link) < in_order.index(page.find("header"))


@pytest.mark.parametrize(("path", "signed_in", "inputs"), PAGES, ids=PAGE_IDS)
def test_every_visible_input_has_a_label(open_page, path, signed_in, inputs):
    page = open_page(path, signed_in)

    visible = [element for element in page.find_all("input") if element.attributes.get("type") != "hidden"]
    visible += page.find_all("select") + page.find_all("textarea")
    labelled = {label.attributes.get("for") for label in page.find_all("label")}
    assert [element.attributes.get("id") for element in visible] == inputs
    assert [element.attributes.get("id") for element in visible if element.attributes.get("id") not in labelled] == []


@pytest.mark.parametrize(("path", "signed_in", "_inputs"), PAGES, ids=PAGE_IDS)
def test_a_page_has_no_inline_script_or_style(open_page, path, signed_in, _inputs):
    page = open_page(path, signed_in)

    scripts = page.find_all("script")
    assert [script.attributes.get("src") for script in scripts] == ["/static/js/app.js"]
    assert [script.text for script in scripts] == [""]
    assert page.find_all("style") == []
    assert [element.tag for element in page.elements() if "style" in element.attributes] == []
    handlers = [name for element in page.elements() for name in element.attributes if name.startswith("on")]
    assert handlers == []


@pytest.mark.parametrize(("path", "signed_in", "_inputs"), PAGES, ids=PAGE_IDS)
def test_a_pages_stylesheets_and_script_are_served_from_static(client, open_page, path, signed_in, _inputs):
    page = open_page(path, signed_in)

    stylesheets = [link.attributes["href"] for link in page.find_all("link", rel="stylesheet")]
    scripts = [script.attributes["src"] for script in page.find_all("script")]
    assert stylesheets == ["/static/css/app.css", "/static/css/print.css"]
    assert scripts == ["/static/js/app.js"]
    assert [client.get(address).status_code for address in stylesheets + scripts] == [200, 200, 200]


@pytest.mark.parametrize("file", ["css/app.css", "js/app.js"])
def test_the_static_files_are_served(app, client, file):
    response = client.get(f"/static/{file}")

    assert response.status_code == 200
    assert response.data == (Path(app.static_folder) / file).read_bytes()
    assert response.data != b""
