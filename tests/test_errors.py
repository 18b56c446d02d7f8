"""Error pages are friendly, show no internals and leak nothing; a failed request saves nothing."""

from __future__ import annotations

import re

import pytest
from flask import after_this_request
from sqlalchemy import select

from expert_platform.accounts import services as account_services
from expert_platform.accounts.models import User
from expert_platform.enums import Role
from expert_platform.extensions import db as _db
from tests.conftest import DEFAULT_PASSWORD

HALF_SAVED_EMAIL = "half-saved@example.org"


def page_title(response) -> str:
    match = re.search(r"<h1>(.*?)</h1>", response.get_data(as_text=True), re.S)
    assert match, response.get_data(as_text=True)
    return match.group(1).strip()


def register_route_that_fails_after_a_flush(app) -> list:
    """A page that adds a user, flushes it, then fails (Flask accepts routes only before the first request).

    Returns a list that receives, once the error page is built, what the request's own session
    then finds under the half-saved address.
    """
    found_after_the_error_page = []

    def fails_after_a_flush():
        @after_this_request
        def look_for_the_half_saved_user(response):
            found_after_the_error_page.append(
                _db.session.scalar(select(User.email).where(User.email == HALF_SAVED_EMAIL))
            )
            return response

        account_services.create_user(email=HALF_SAVED_EMAIL, display_name="Half Saved", password=DEFAULT_PASSWORD)
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/test-fails-after-a-flush", "test_fails_after_a_flush", fails_after_a_flush)
    return found_after_the_error_page


def test_a_missing_page_gets_the_friendly_not_found_page(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert page_title(response) == "Page not found"
    assert "The page you asked for does not exist or is not available to you." in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_researcher_on_the_user_list_gets_not_allowed_and_sees_no_email_address(client, make_user, login):
    others = [
        make_user(email="secretariat@example.org", roles={Role.ADMIN}),
        make_user(email="expert@example.org", roles={Role.EXPERT}),
    ]
    login(make_user(email="researcher@example.org", roles={Role.RESEARCHER}))

    response = client.get("/admin/users")

    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert page_title(response) == "Not allowed"
    assert "You do not have permission to see this page." in body
    assert [user.email for user in others if user.email in body] == []


def test_the_secretariat_sees_the_email_addresses_on_the_user_list(client, make_user, login):
    # The counterpart of the test above: the same page does show addresses to those allowed.
    make_user(email="expert@example.org", roles={Role.EXPERT})
    login(make_user(email="secretariat@example.org", roles={Role.ADMIN}))

    response = client.get("/admin/users")

    assert response.status_code == 200
    assert "expert@example.org" in response.get_data(as_text=True)


def test_an_unexpected_error_gets_a_page_without_internals(app, client):
    register_route_that_fails_after_a_flush(app)

    response = client.get("/test-fails-after-a-flush")

    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert page_title(response) == "Something went wrong"
    assert "secret internal detail" not in body
    assert "Traceback" not in body
    assert "RuntimeError" not in body


def test_an_unexpected_error_rolls_back_what_the_request_flushed(app, client, db):
    found_after_the_error_page = register_route_that_fails_after_a_flush(app)

    response = client.get("/test-fails-after-a-flush")

    assert response.status_code == 500
    assert found_after_the_error_page == [None]
    assert db.session.scalar(select(User).where(User.email == HALF_SAVED_EMAIL)) is None


def test_a_client_asking_for_json_gets_the_error_as_json(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})

    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "error": {
            "status": 404,
            "title": "Page not found",
            "message": "The page you asked for does not exist or is not available to you.",
        }
    }


def test_the_eleventh_sign_up_in_an_hour_from_one_address_gets_the_friendly_too_many_attempts_page(
    client, csrf_token
):
    token = csrf_token("/signup")

    def sign_up(number: int):
        return client.post(
            "/signup",
            data={
                "csrf_token": token,
                "display_name": f"Newcomer {number}",
                "email": f"newcomer{number}@example.org",
                "new_password": DEFAULT_PASSWORD,
                "confirm_password": DEFAULT_PASSWORD,
            },
        )

    first_ten = [sign_up(number).status_code for number in range(1, 11)]
    eleventh = sign_up(11)

    assert first_ten == [302] * 10
    assert eleventh.status_code == 429
    assert page_title(eleventh) == "Too many attempts"
    assert "Too many attempts in a short time. Wait a minute and try again." in eleventh.get_data(as_text=True)
    assert "Traceback" not in eleventh.get_data(as_text=True)



@pytest.mark.parametrize(
    "path",
    [
        "/thinktanks/99999999999999999999",
        "/experts/99999999999999999999",
        "/proposals/99999999999999999999",
        "/proposals/1/revisions/99999999999999999999",
    ],
)
def test_an_id_too_large_for_the_database_is_a_404_not_a_crash(client, path):
    assert client.get(path).status_code == 404
