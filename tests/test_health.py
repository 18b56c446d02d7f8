"""``/healthz``: 200 when the database and the search index answer, 503 with the failing check named
(and nothing of its error's message) when one does not."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from expert_platform.main import health
from expert_platform.search import index_store


def checks_of(response) -> dict:
    """Each check's result without its duration (which varies)."""
    return {name: {key: value for key, value in result.items() if key != "ms"}
            for name, result in response.get_json()["checks"].items()}


def test_a_healthy_process_answers_200_with_each_check(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["status"] == "ok"
    assert checks_of(response) == {"database": {"ok": True}, "search": {"ok": True}}
    assert all(result["ms"] >= 0 for result in response.get_json()["checks"].values())


def test_a_database_that_fails_answers_503_naming_the_check_not_the_message(client, monkeypatch):
    def broken() -> None:
        raise OperationalError("SELECT 1", {}, Exception("could not connect to server at 10.0.0.5 as secret_user"))

    monkeypatch.setitem(health.CHECKS, "database", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert checks_of(response) == {"database": {"ok": False, "error": "OperationalError"}, "search": {"ok": True}}
    assert "secret_user" not in response.get_data(as_text=True)


def test_a_search_index_that_cannot_open_answers_503(client, monkeypatch):
    def unreadable():
        raise PermissionError("/srv/index/CURRENT")

    monkeypatch.setattr(index_store, "searcher", unreadable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert checks_of(response) == {"database": {"ok": True}, "search": {"ok": False, "error": "PermissionError"}}
    assert "/srv/index" not in response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_health_check_only_reads(client, method):
    assert getattr(client, method)("/healthz").status_code == 405


def test_the_postgres_search_backend_is_checked_in_the_database(app, client, monkeypatch):
    # (Its table exists on SQLite too, empty: the check is the same query on both.)
    from expert_platform.search import postgres
    from expert_platform.search.postgres_backend import PostgresBackend

    monkeypatch.setitem(app.extensions, "search_backend", PostgresBackend())
    assert client.get("/healthz").status_code == 200

    def broken(session=None):
        raise RuntimeError("relation search_documents does not exist")

    monkeypatch.setattr(postgres, "doc_count", broken)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert checks_of(response)["search"] == {"ok": False, "error": "RuntimeError"}
    assert "search_documents" not in response.get_data(as_text=True)
