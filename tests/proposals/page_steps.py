"""What people do on the proposal pages, one function per form, and how tests read those pages.

Shared by test_pages, test_editing, test_coauthors and test_actions.
"""

from __future__ import annotations

import re

from expert_platform.enums import Role
from expert_platform.extensions import db
from expert_platform.proposals.models import Proposal
from tests import html_tree
from tests.conftest import fetch_csrf_token, sign_in
from tests.html_tree import parse_html

#: A page with a form (so a CSRF token) for signed-in and anonymous visitors alike.
FORM_PAGE = "/thinktanks/apply"


def token(client) -> str:
    return fetch_csrf_token(client, FORM_PAGE)


def signed_in(app, user):
    """A new client signed in as ``user`` (several people can act in one test)."""
    client = app.test_client()
    response = sign_in(client, user.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def new_expert(make_user, make_think_tank, **user_values):
    """An expert with an active membership in a new approved think tank."""
    person = make_user(roles=(Role.EXPERT,), **user_values)
    make_think_tank(experts=[person])
    return person


def proposal_fields(**changes) -> dict:
    """The fields of a complete, valid proposal form; ``changes`` replace some."""
    fields = {
        "title": "Early warning for flash floods",
        "summary": "Member states share river gauge data.",
        "body": "## Problem\n\nFloods cross borders faster than warnings.",
        "dimensions": ["environmental"],
        "member_states": [],
        "keywords": "water, floods",
        "language": "en",
    }
    fields.update(changes)
    return fields


def start_proposal(client, **changes):
    return client.post("/proposals/new", data={"csrf_token": token(client), **proposal_fields(**changes)})


def save(client, proposal_id: int, values: dict, **changes):
    """Press "Save" on the edit form holding ``values`` (as read from the page), with ``changes`` typed."""
    data = {**values, **changes}
    data.setdefault("csrf_token", token(client))
    return client.post(f"/proposals/{proposal_id}/edit", data=data)


def edit_form(client, proposal_id: int) -> dict:
    """The edit form's values as the page shows them (opened_at_version included)."""
    response = client.get(f"/proposals/{proposal_id}/edit")
    assert response.status_code == 200
    return form_values(response, f"/proposals/{proposal_id}/edit")


def press(client, path: str, **data):
    """Press a button that POSTs to ``path``."""
    return client.post(path, data={"csrf_token": token(client), **data})


def act(client, proposal_id: int, action: str, note: str = ""):
    return press(client, f"/proposals/{proposal_id}/actions/{action}", note=note)


def invite(client, proposal_id: int, email: str):
    return press(client, f"/proposals/{proposal_id}/coauthors", email=email)


def answer(client, proposal_id: int, reply: str):
    return press(client, f"/proposals/{proposal_id}/invitation", answer=reply)


def page_without_tokens(response) -> str:
    """The page's HTML with its CSRF tokens blanked: they carry a timestamp, so two pages differ by them."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', response.get_data(as_text=True))


def stored(proposal_id: int) -> Proposal:
    """The proposal as the database holds it now."""
    db.session.expire_all()
    return db.session.get(Proposal, proposal_id)


def form_values(response, action: str) -> dict:
    """What the form posting to ``action`` holds (the CSRF token left out)."""
    form = parse_html(response).find("form", action=action)
    assert form is not None, f"no form posting to {action}"
    return html_tree.form_values(form)


def field_error(response, field_id: str) -> str | None:
    """The error shown under a form field, or None."""
    error = parse_html(response).find(id=f"{field_id}-error")
    return error.text if error else None


def form_errors(response) -> list[str]:
    """The messages shown at the top of the forms of a page."""
    return [alert.text for alert in parse_html(response).find_all("div", class_="alert-error")]


def flashes(response) -> list[str]:
    container = parse_html(response).find("div", class_="flashes")
    return [alert.text for alert in container.find_all("div")] if container else []


def timeline(response) -> list[str]:
    """The timeline's sentences, oldest first."""
    listing = parse_html(response).find("ol", class_="timeline")
    return [item.text for item in listing.find_all("span", class_="event-text")]


def timeline_notes(response) -> list[str]:
    listing = parse_html(response).find("ol", class_="timeline")
    return [note.text for note in listing.find_all("blockquote")]


def details(response) -> dict[str, str]:
    """The proposal page's definition list as {term: description text}."""
    listing = parse_html(response).find("dl", class_="details")
    terms, descriptions = listing.find_all("dt"), listing.find_all("dd")
    return {term.text: description.text for term, description in zip(terms, descriptions, strict=True)}


def button_labels(response, path_prefix: str) -> list[str]:
    """The labels of the buttons of forms whose action starts with ``path_prefix``."""
    page = parse_html(response)
    return [
        button.text
        for form in page.find_all("form")
        if form.attributes.get("action", "").startswith(path_prefix)
        for button in form.find_all("button")
    ]
