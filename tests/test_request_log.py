"""Structured logs (LOG_FORMAT=json): one JSON object a line, with the request's id, the user's id,
the path, and one line per request with its status and duration; the request id in the response."""

from __future__ import annotations

import io
import json
import logging

import pytest

import config
from expert_platform.request_log import JsonFormatter, RequestContextFilter, note_cache


@pytest.fixture
def app_overrides() -> dict:
    return {"LOG_FORMAT": "json"}


@pytest.fixture
def log_lines(app):
    """The platform's log lines as JSON objects, as production writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("expert_platform")
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)


def test_a_request_is_logged_as_one_json_line_with_its_id_user_path_status_and_duration(client, login, make_user,
                                                                                       log_lines):
    person = make_user(email="reader@example.org")
    login(person)

    response = client.get("/proposals/mine", headers={"X-Request-ID": "lb-7f3a.1"})

    assert response.headers["X-Request-ID"] == "lb-7f3a.1"
    request_line = [line for line in log_lines() if line["message"] == "request"][-1]
    assert {key: value for key, value in request_line.items() if key not in ("time", "duration_ms")} == {
        "level": "INFO", "logger": "expert_platform.request", "message": "request", "request_id": "lb-7f3a.1",
        "user_id": person.id, "method": "GET", "path": "/proposals/mine", "status": 200,
    }
    assert request_line["duration_ms"] >= 0


def test_an_anonymous_request_has_no_user_and_an_odd_request_id_is_replaced(client, log_lines):
    response = client.get("/no-such-page", headers={"X-Request-ID": "not a token; " + "x" * 80})

    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32 and all(character in "0123456789abcdef" for character in request_id)
    request_line = [line for line in log_lines() if line["message"] == "request"][-1]
    assert (request_line["request_id"], request_line["status"], "user_id" in request_line) == (request_id, 404, False)


def test_every_line_logged_inside_a_request_carries_its_id(app, client, log_lines, make_user):
    make_user(email="taken@example.org")
    with app.test_request_context("/login"):
        from flask import g

        g.request_id = "abc123"
        logging.getLogger("expert_platform.auth").warning("login.failure reason=%s", "wrong password")

    line = log_lines()[-1]
    assert {key: line[key] for key in ("level", "logger", "message", "request_id", "path")} == {
        "level": "WARNING", "logger": "expert_platform.auth", "message": "login.failure reason=wrong password",
        "request_id": "abc123", "path": "/login"}


def test_the_caches_a_request_looked_in_are_counted_on_its_line(app, log_lines):
    @app.get("/cache-probe")
    def cache_probe():
        note_cache("search", hit=False)
        note_cache("search", hit=True)
        note_cache("search", hit=True)
        note_cache("page", hit=False)
        return "probed"

    client = app.test_client()
    client.get("/cache-probe")
    client.get("/no-such-page")

    probe, other = [line for line in log_lines() if line["message"] == "request"][-2:]
    assert (probe["path"], probe["cache"]) == ("/cache-probe", {"search": {"hits": 2, "misses": 1},
                                                                "page": {"hits": 0, "misses": 1}})
    assert (other["path"], "cache" in other) == ("/no-such-page", False)


def test_a_cache_lookup_outside_a_request_is_ignored(app):
    note_cache("search", hit=True)
    with app.app_context():
        note_cache("search", hit=False)
        from flask import g

        assert "cache_lookups" not in g


def test_production_logs_json_by_default_and_a_wrong_format_is_refused(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("BASE_URL", "https://platform.example.org")
    assert (config.ProductionConfig().LOG_FORMAT, config.TestingConfig().LOG_FORMAT) == ("json", "text")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(config.ConfigurationError, match="LOG_FORMAT must be json or text, not 'xml'."):
        config.TestingConfig()
