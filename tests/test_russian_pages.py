"""No interface text stays English on a Russian page: the demo world, read in Russian by every role.

The catalogue test proves every message has a translation; this one proves the pages use them. A text
built before the request knew its language (a label read at import time, a template Babel did not
extract, a sentence glued together in Python) shows up here as an English message of the catalogue
on a Russian page.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from expert_platform.enums import Role
from tests.conftest import sign_in
from tests.html_tree import Element, parse_html
from tests.test_translations import RUSSIAN_PO

DEMO_PASSWORDS = {
    "secretariat@demo.example": "Saffron-Harbour-Lantern-26",
    "manager@demo.example": "Copper-Meadow-Violet-26",
    "expert@demo.example": "Granite-Orchard-Willow-26",
    "council@demo.example": "Amber-Kettle-Cascade-26",
    "researcher@demo.example": "Silver-Thistle-Beacon-26",
}
#: Pages every viewer opens, then those of the menu and the proposals the viewer finds.
COMMON_PAGES = ["/", "/archive", "/archive?q=water", "/thinktanks", "/experts", "/council", "/thinktanks/apply",
                "/no-such-page"]
ANONYMOUS_PAGES = ["/login", "/signup", "/reset-password"]
SIGNED_IN_PAGES = ["/account", "/account/password", "/notifications", "/notifications/settings", "/proposals"]
ROLE_PAGES = {
    "secretariat@demo.example": ["/secretariat", "/secretariat/audit", "/secretariat/member-states",
                                 "/secretariat/member-states/new", "/admin/users", "/council/review",
                                 "/secretariat/council", "/secretariat/applications"],
    "manager@demo.example": ["/proposals/mine", "/proposals/new", "/account/profile"],
    "expert@demo.example": ["/proposals/mine", "/proposals/new", "/account/profile"],
    "council@demo.example": ["/council/review"],
    "researcher@demo.example": [],
}
#: Proposals and think tanks the viewer finds on those pages are read too (a few of each).
LINKED_PAGE = re.compile(r"^/(proposals|thinktanks)/(\d+)$")


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    app.test_cli_runner().invoke(args=["search", "sync"])
    return app


def english_messages() -> set[str]:
    """The catalogue's English messages whose Russian differs: sentences and labels a page may show whole."""
    with open(RUSSIAN_PO, "rb") as file:
        catalog = read_po(file)
    found = set()
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or "%" in message.id:
            continue
        if message.string and message.string != message.id and re.search(r"[A-Za-z]{3}", message.id):
            found.add(message.id)
    return found


def interface_texts(page: Element) -> list[str]:
    """The texts of the page's elements, leaving out what users wrote (elements marked with a language
    other than Russian: proposal texts, names of languages in the switcher) and code."""
    texts = []

    def walk(element: Element, skipped: bool) -> None:
        language = element.attributes.get("lang")
        skipped = skipped or (language not in (None, "ru")) or element.tag in ("script", "style", "code", "pre")
        own = " ".join(" ".join(child for child in element.children if isinstance(child, str)).split())
        if own and not skipped:
            texts.append(own)
        for child in element.children:
            if isinstance(child, Element):
                walk(child, skipped)
            elif not skipped and child.strip():
                texts.append(" ".join(child.split()))
        for attribute in ("aria-label", "title", "placeholder", "alt"):
            if not skipped and element.attributes.get(attribute):
                texts.append(element.attributes[attribute])

    body = page.find("body")
    walk(body, False)
    return texts


def test_no_english_message_is_left_on_any_russian_page_of_any_role(demo):
    english = english_messages()
    assert {"Sign in", "Please correct the fields marked below.", "Environmental dimension"} <= english
    leftovers: dict[str, set[str]] = {}
    visited = 0
    for email, password in [(None, None), *DEMO_PASSWORDS.items()]:
        client = demo.test_client()
        client.set_cookie("locale", "ru")
        if email:
            response = sign_in(client, email, password)
            assert response.status_code == 302, email
        pages = COMMON_PAGES + (SIGNED_IN_PAGES + ROLE_PAGES[email] if email else ANONYMOUS_PAGES)
        found = []
        for path in pages:
            response = client.get(path)
            assert response.status_code == (404 if path == "/no-such-page" else 200), (email, path)
            page = parse_html(response)
            assert page.find("html").attributes["lang"] == "ru", (email, path)
            visited += 1
            for text in interface_texts(page):
                if text in english:
                    leftovers.setdefault(text, set()).add(path)
            found += [link.attributes["href"] for link in page.find_all("a")
                      if LINKED_PAGE.match(link.attributes.get("href", ""))]
        proposals = sorted({path for path in found if path.startswith("/proposals/")})[:8]
        think_tanks = sorted({path for path in found if path.startswith("/thinktanks/")})[:3]
        for path in proposals + think_tanks:
            for page_path in (path, f"{path}/review", f"{path}/discussion", f"{path}/edit", f"{path}?text=ru",
                              f"{path}/members", f"{path}/proposals"):
                response = client.get(page_path)
                if response.status_code != 200:
                    continue
                visited += 1
                for text in interface_texts(parse_html(response)):
                    if text in english:
                        leftovers.setdefault(text, set()).add(page_path)
    assert visited > 150
    assert leftovers == {}


def test_a_refused_russian_form_has_no_english_message(client):
    from tests.conftest import fetch_csrf_token

    client.set_cookie("locale", "ru")
    english = english_messages()
    token = fetch_csrf_token(client, "/signup")
    response = client.post("/signup", data={"csrf_token": token, "display_name": "", "email": "x",
                                            "new_password": "a", "confirm_password": "b"})
    texts = interface_texts(parse_html(response))
    assert response.status_code == 200 and "Исправьте поля, отмеченные ниже." in texts
    assert [text for text in texts if text in english] == []


def test_the_check_sees_an_english_message_where_one_is_left(app, client, login, make_user):
    """The check above can fail: an English page is full of the catalogue's messages."""
    login(make_user(roles=(Role.RESEARCHER,)))
    english = english_messages()
    texts = interface_texts(parse_html(client.get("/archive")))
    assert {"Sign out", "Archive", "Search"} <= set(texts) & english
