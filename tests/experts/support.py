"""Helpers shared by the expert tests: giving profiles through the services, and reading pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event, select

from expert_platform.experts import services
from expert_platform.experts.models import ExpertProfile
from expert_platform.extensions import db
from expert_platform.thinktanks import services as think_tank_services
from expert_platform.thinktanks.models import Membership
from tests import html_tree
from tests.conftest import fetch_csrf_token
from tests.html_tree import parse_html

EMPTY_PROFILE = {
    "title": "",
    "affiliations": "",
    "biography": "",
    "dimensions": [],
    "keywords": [],
    "languages": [],
    "country_id": None,
    "orcid": None,
    "publication_links": [],
    "visibility": "signed_in",
}


def give_profile(user, **values) -> ExpertProfile:
    """Save a profile for ``user`` through the services, as the expert would, and commit it."""
    profile = services.ensure_profile(user)
    services.update_profile(actor=user, profile=profile, **{**EMPTY_PROFILE, **values})
    db.session.commit()
    return profile


def profile_of(user_id: int) -> ExpertProfile | None:
    db.session.expire_all()
    return db.session.scalar(select(ExpertProfile).where(ExpertProfile.user_id == user_id))


def deactivate_membership(manager, think_tank, member) -> None:
    """The think tank's manager deactivates ``member``'s membership (the row stays)."""
    membership = db.session.scalar(
        select(Membership).where(Membership.think_tank_id == think_tank.id, Membership.user_id == member.id)
    )
    think_tank_services.deactivate_membership(actor=manager, membership=membership)
    db.session.commit()


def post_profile_form(client, **fields):
    """Submit the profile form with ``fields`` (lists for multiple values), as a browser would."""
    data = {
        "csrf_token": fetch_csrf_token(client, "/account"),
        "title": "",
        "affiliations": "",
        "biography": "",
        "keywords": "",
        "country": "",
        "orcid": "",
        "publication_links": "",
        "visibility": "signed_in",
        **fields,
    }
    return client.post("/account/profile", data=data)


def field_error(response, field_id: str) -> str | None:
    """The error text shown under a form field, or None."""
    error = parse_html(response).find(id=f"{field_id}-error")
    return error.text if error else None


def field_errors(response) -> dict[str, str]:
    """Every error shown under a field, by field id."""
    page = parse_html(response)
    return {
        element.attributes["id"].removesuffix("-error"): element.text
        for element in page.find_all(class_="field-error")
    }


def form_values(response) -> dict:
    """What the profile form shows: text of inputs and textareas, checked and selected values."""
    return html_tree.form_values(parse_html(response).find("form", class_="stacked-form"), single_select_as_list=True)


def details(response) -> dict[str, str]:
    """The first definition list of a page as {term: description text}."""
    listing = parse_html(response).find("dl")
    terms = listing.find_all("dt") if listing else []
    descriptions = listing.find_all("dd") if listing else []
    return {term.text: description.text for term, description in zip(terms, descriptions, strict=True)}


def listed_experts(response) -> list[str]:
    """The names in the directory's result list, in page order."""
    listing = parse_html(response).find("ul", id="experts")
    return [heading.text for heading in listing.find_all("h2")] if listing else []


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


class StatementCounter:
    """Counts the SQL statements sent on ``engine`` while it is active (a ``with`` block)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, _connection, _cursor, statement, _parameters, _context, _executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exception) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)
