"""Fixtures and helpers for the secretariat's pages (the council tests use them too)."""

from __future__ import annotations

import pytest

from expert_platform.council.models import DelegationSeat
from expert_platform.enums import Role
from tests.conftest import fetch_csrf_token
from tests.html_tree import parse_html

NON_SECRETARIAT_ROLES = (Role.RESEARCHER, Role.EXPERT, Role.COUNCIL_MEMBER, Role.THINKTANK_MANAGER)
COUNCIL_PAGE = "/secretariat/council"


@pytest.fixture
def admin(make_user):
    return make_user(email="ada@example.org", display_name="Ada Admin", roles=(Role.ADMIN,))


@pytest.fixture
def admin_client(client, login, admin):
    login(admin)
    return client


def post_form(client, path: str, data: dict, *, token_page: str | None = None):
    """POST ``data`` to ``path`` with a CSRF token read from ``token_page`` (the home page by default)."""
    return client.post(path, data={"csrf_token": fetch_csrf_token(client, token_page or "/"), **data})


def appoint(client, person, state, role: str = "alternate"):
    """Submit the appoint form of the council page as the secretariat would."""
    return post_form(
        client,
        f"{COUNCIL_PAGE}/appoint",
        {"email": person.email, "member_state": str(state.id), "role": role},
        token_page=COUNCIL_PAGE,
    )


def change_seat(client, seat_id: int, action: str):
    """Press "Remove" (``remove``) or "Make head" (``make-head``) on a seat."""
    return post_form(client, f"{COUNCIL_PAGE}/seats/{seat_id}/{action}", {}, token_page=COUNCIL_PAGE)


def current_seat_id(db, person) -> int:
    db.session.expire_all()
    return db.session.scalars(
        db.select(DelegationSeat.id).where(DelegationSeat.user_id == person.id, DelegationSeat.removed_at.is_(None))
    ).one()


def table_rows(response, table_id: str) -> list[tuple[str, ...]]:
    """The text of every cell (th and td) of each body row of the table with ``table_id``."""
    table = parse_html(response).find("table", id=table_id)
    if table is None:
        return []
    return [
        tuple(cell.text for cell in row.elements() if cell.tag in {"th", "td"} and cell.parent is row)
        for row in table.find("tbody").find_all("tr")
    ]


def field_error(response, field_id: str) -> str | None:
    error = parse_html(response).find(id=f"{field_id}-error")
    return error.text if error else None


def flash_messages(response) -> list[str]:
    flashes = parse_html(response).find(class_="flashes")
    return [box.text for box in flashes.find_all(class_="alert")] if flashes else []
