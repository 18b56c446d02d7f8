"""The security baseline: headers, caching, CSRF, redirect targets, size limits, form lengths, cookies."""

from __future__ import annotations

import inspect
import io
import re
import secrets
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import pytest
from flask import Request
from flask_wtf import FlaskForm
from werkzeug.test import EnvironBuilder
from wtforms import StringField
from wtforms.validators import Length

import config
from expert_platform import create_app
from expert_platform.accounts import forms as account_forms
from expert_platform.accounts import services as account_services
from expert_platform.enums import Role
from expert_platform.extensions import db as _db
from expert_platform.security import CONTENT_SECURITY_POLICY, safe_next_url
from tests.conftest import (
    DEFAULT_PASSWORD,
    csrf_token_from,
    database_settings,
    fetch_csrf_token,
    serving,
    sign_in,
)

SECURITY_TOKEN_EXPLANATION = (
    "The form could not be accepted because its security token is missing or has expired. "
    "Go back, reload the page and send it again."
)
FOURTEEN_DAYS = timedelta(days=14)


def register_failing_route(app) -> None:
    """A page that raises, for checking what a 500 looks like; Flask accepts routes only before the first request."""

    def failing_page():
        raise RuntimeError("failure for the security header test")

    app.add_url_rule("/test-failing-page", "test_failing_page", failing_page)


def page_title(response) -> str:
    match = re.search(r"<h1>(.*?)</h1>", response.get_data(as_text=True), re.S)
    assert match, response.get_data(as_text=True)
    return match.group(1).strip()


# --- Security headers on every response --------------------------------------------------------

REQUESTS_OF_EVERY_KIND = {
    "home page": (lambda client, app: client.get("/"), 200),
    "login page": (lambda client, app: client.get("/login"), 200),
    "missing page": (lambda client, app: client.get("/no-such-page"), 404),
    "wrong method": (lambda client, app: client.get("/logout"), 405),
    "missing csrf token": (
        lambda client, app: client.post("/login", data={"email": "a@example.org", "password": "x"}),
        400,
    ),
    "body too large": (
        lambda client, app: client.post(
            "/login",
            data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
            content_type="application/x-www-form-urlencoded",
        ),
        413,
    ),
    "server error": (lambda client, app: client.get("/test-failing-page"), 500),
}


@pytest.mark.parametrize("kind", list(REQUESTS_OF_EVERY_KIND))
def test_every_response_carries_the_security_headers(app, client, kind):
    register_failing_route(app)
    send, expected_status = REQUESTS_OF_EVERY_KIND[kind]

    response = send(client, app)

    assert response.status_code == expected_status
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_content_security_policy_allows_no_inline_script_or_style():
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_strict_transport_security_is_absent_in_testing(client):
    response = client.get("/")

    assert "Strict-Transport-Security" not in response.headers


class TestWhenStrictTransportSecurityIsEnabled:
    @pytest.fixture
    def app_overrides(self):
        return {"HSTS_ENABLED": True}

    def test_every_page_asks_browsers_to_use_https_for_a_year(self, client):
        for path in ("/", "/login", "/no-such-page"):
            response = client.get(path)

            assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


# --- Caching -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/account"])
def test_pages_seen_by_a_signed_in_user_are_never_stored(client, make_user, login, path):
    login(make_user())

    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_the_home_page_of_an_anonymous_visitor_is_not_marked_no_store(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


# --- CSRF --------------------------------------------------------------------------------------

CONVERTER_SAMPLES = {"int": "1", "default": "x", "string": "x"}
RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def sample_path(rule) -> str:
    """The rule's path with a sample value for each argument (1 for int, "x" for string)."""

    def sample(match: re.Match) -> str:
        converter = match.group("converter") or "default"
        assert converter in CONVERTER_SAMPLES, f"no sample value for converter {converter!r} in {rule.rule}"
        return CONVERTER_SAMPLES[converter]

    return RULE_ARGUMENT.sub(sample, rule.rule)


def post_rules(app) -> list:
    return sorted((rule for rule in app.url_map.iter_rules() if "POST" in rule.methods), key=lambda rule: rule.rule)


def test_the_app_has_post_routes_including_login_and_logout(app):
    paths = [rule.rule for rule in post_rules(app)]

    assert "/login" in paths
    assert "/logout" in paths


def test_every_post_route_refuses_a_request_without_a_csrf_token(app, client, make_user, login):
    login(make_user(roles={Role.ADMIN}))
    refused = {}

    for rule in post_rules(app):
        response = client.post(sample_path(rule), data={"email": "a@example.org", "display_name": "A"})
        refused[rule.rule] = (response.status_code, SECURITY_TOKEN_EXPLANATION in response.get_data(as_text=True))

    assert refused
    assert refused == {path: (400, True) for path in refused}


def test_a_login_with_a_valid_csrf_token_is_accepted(client, make_user):
    user = make_user()

    response = sign_in(client, user.email)

    assert response.status_code == 302


# --- Redirect targets from `next` --------------------------------------------------------------

FOREIGN_TARGETS = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "https://evil.example/",
    "/\t/evil.example",
]


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_signing_in_with_a_foreign_next_target_lands_on_the_home_page(client, make_user, target):
    user = make_user()

    response = sign_in(client, user.email, next_url=target)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_signing_in_with_a_local_next_target_goes_there(client, make_user):
    user = make_user()

    response = sign_in(client, user.email, next_url="/account")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/home"),
        ("", "/home"),
        ("/account", "/account"),
        ("/admin/users?q=ann&page=2#results", "/admin/users?q=ann&page=2#results"),
        ("/" + "a" * 2047, "/" + "a" * 2047),
        ("/" + "a" * 2048, "/home"),
        ("account", "/home"),
        ("//evil.example", "/home"),
        ("///evil.example", "/home"),
        ("/\\evil.example", "/home"),
        ("\\\\evil.example", "/home"),
        ("/\t/evil.example", "/home"),
        ("/\n/evil.example", "/home"),
        ("/\r\n/evil.example", "/home"),
        ("/\x00/evil.example", "/home"),
        ("https:evil.example", "/home"),
        ("https://evil.example/", "/home"),
        ("javascript:alert(1)", "/home"),
        ("JavaScript:alert(1)", "/home"),
        ("data:text/html,<script>alert(1)</script>", "/home"),
    ],
)
def test_safe_next_url_accepts_only_local_paths(target, expected):
    assert safe_next_url(target, "/home") == expected


# --- Request size limits -----------------------------------------------------------------------

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def post_chunked(client, path: str, body: bytes, *, server_terminates_input: bool):
    """POST ``body`` as a chunked request without Content-Length, as a WSGI server hands it over.

    Werkzeug's test client always derives a Content-Length from a seekable input stream, so the
    environ is built here and the header removed before the request is sent.
    """
    builder = EnvironBuilder(
        path=path,
        method="POST",
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", **FORM_HEADERS},
        environ_overrides={"wsgi.input_terminated": True} if server_terminates_input else None,
    )
    environ = builder.get_environ()
    del environ["CONTENT_LENGTH"]
    return client.open(Request(environ))


class TestWithASmallSizeLimit:
    @pytest.fixture
    def app_overrides(self):
        return {"MAX_CONTENT_LENGTH": 1000}

    def test_a_body_with_a_content_length_over_the_limit_gets_the_too_large_page(self, client):
        response = client.post("/login", data=b"email=" + b"x" * 4994, headers=FORM_HEADERS)

        assert response.request.headers["Content-Length"] == "5000"
        assert response.status_code == 413
        assert page_title(response) == "Too large"
        assert "<title>Too large · Expert Platform</title>" in response.get_data(as_text=True)

    def test_a_terminated_chunked_body_over_the_limit_is_refused_as_too_large(self, client):
        response = post_chunked(client, "/login", b"x" * 5000, server_terminates_input=True)

        assert "CONTENT_LENGTH" not in response.request.environ
        assert response.status_code == 413
        assert page_title(response) == "Too large"

    def test_a_terminated_chunked_body_within_the_limit_is_read(self, client, make_user):
        user = make_user()
        body = urlencode({"csrf_token": fetch_csrf_token(client), "email": user.email, "password": DEFAULT_PASSWORD})

        response = post_chunked(client, "/login", body.encode(), server_terminates_input=True)

        assert "CONTENT_LENGTH" not in response.request.environ
        assert response.status_code == 302
        assert response.headers["Location"] == "/"

    def test_a_chunked_body_the_server_does_not_terminate_is_refused_not_truncated(self, client):
        response = post_chunked(client, "/login", b"x" * 5000, server_terminates_input=False)

        assert "CONTENT_LENGTH" not in response.request.environ
        assert response.status_code == 411
        assert page_title(response) == "Length required"


# --- Form field lengths ------------------------------------------------------------------------


def account_form_classes() -> list[type[FlaskForm]]:
    return [
        member
        for _, member in inspect.getmembers(account_forms, inspect.isclass)
        if issubclass(member, FlaskForm) and member.__module__ == account_forms.__name__
    ]


def test_every_text_field_of_every_account_form_has_a_maximum_length(app):
    checked = {}
    with app.test_request_context():
        for form_class in account_form_classes():
            form = form_class()
            for field in form:
                # StringField is the base of EmailField, PasswordField, SearchField, HiddenField and
                # TextAreaField. The CSRF token is compared exactly, so it needs no length rule.
                if not isinstance(field, StringField) or field.name == form.meta.csrf_field_name:
                    continue
                maxima = [rule.max for rule in field.validators if isinstance(rule, Length) and rule.max >= 0]
                checked[f"{form_class.__name__}.{field.name}"] = maxima[0] if maxima else None

    assert [name for name, maximum in checked.items() if maximum is None] == []
    assert checked["LoginForm.email"] == 254
    assert checked["LoginForm.password"] == 256
    assert checked["LoginForm.next"] == 2048
    assert checked["SignUpForm.display_name"] == 120
    assert checked["UserSearchForm.q"] == 100


# --- Cookies in production ---------------------------------------------------------------------

PRODUCTION_BASE_URL = "https://localhost"


@pytest.fixture
def production_app(shared_database, tmp_path, monkeypatch):
    """The app as production builds it (Secure cookies, HSTS), on the test database."""
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(36))  # 48 characters
    monkeypatch.setenv("BASE_URL", "https://experts.example.org")
    settings = {**database_settings(shared_database, tmp_path / "production-outbox"), "MAIL_BACKEND": "file"}
    with serving(create_app(config.get_config("production"), settings)) as application:
        yield application


def set_cookie_attributes(response, name: str) -> dict[str, str | bool]:
    """The attributes of the Set-Cookie header for cookie ``name`` (keys in lower case)."""
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        if first.split("=", 1)[0] == name:
            parsed: dict[str, str | bool] = {}
            for attribute in attributes:
                key, has_value, value = attribute.partition("=")
                parsed[key.lower()] = value if has_value else True
            return parsed
    raise AssertionError(f"no Set-Cookie for {name!r} in {response.headers.getlist('Set-Cookie')}")


def sign_in_over_https(client, email: str, *, remember: bool):
    token = fetch_csrf_token_over_https(client)
    data = {"csrf_token": token, "email": email, "password": DEFAULT_PASSWORD, "next": ""}
    if remember:
        data["remember"] = "y"
    # Over HTTPS, CSRF protection also checks that the Referer is this site.
    return client.post(
        "/login", data=data, base_url=PRODUCTION_BASE_URL, headers={"Referer": f"{PRODUCTION_BASE_URL}/login"}
    )


def fetch_csrf_token_over_https(client) -> str:
    return csrf_token_from(client.get("/login", base_url=PRODUCTION_BASE_URL).get_data(as_text=True))


def create_confirmed_user(email: str):
    user = account_services.create_user(
        email=email, display_name="Production Person", password=DEFAULT_PASSWORD, is_email_confirmed=True
    )
    _db.session.commit()
    return user


def test_production_session_cookie_is_secure_http_only_and_same_site_lax(production_app):
    user = create_confirmed_user("production@example.org")
    client = production_app.test_client()

    response = sign_in_over_https(client, user.email, remember=False)

    assert response.status_code == 302
    cookie = set_cookie_attributes(response, "ep_session")
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_production_remember_me_cookie_lasts_fourteen_days_and_is_secure(production_app):
    user = create_confirmed_user("remembered@example.org")
    client = production_app.test_client()
    before = datetime.now(UTC).replace(microsecond=0)

    response = sign_in_over_https(client, user.email, remember=True)

    after = datetime.now(UTC)
    assert response.status_code == 302
    cookie = set_cookie_attributes(response, "ep_remember")
    expires = parsedate_to_datetime(cookie["expires"])
    assert before + FOURTEEN_DAYS <= expires <= after + FOURTEEN_DAYS
    # Browsers prefer Max-Age to Expires, so a Max-Age (when one is sent) must not be longer either.
    assert int(cookie.get("max-age", 0)) <= FOURTEEN_DAYS.total_seconds()
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
