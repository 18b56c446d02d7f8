"""Pages whose SQL does not grow with the archive (issue 8 point 4): the same number of statements
with 10 and with 300 public proposals, on the archive page, the API search, a proposal page and the
expert directory. (The council dashboard has its own such test in tests/review/test_dashboard.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from expert_platform.extensions import db as _db
from tests.search_corpus import publish

PAGES = ("/archive?q=water", "/archive", "/api/v1/proposals?q=water&per_page=100", "/experts",
         "/proposals/TEST-2020-0001")


def statements_during(client, path: str) -> int:
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", remember)
    try:
        response = client.get(path)
    finally:
        event.remove(_db.engine, "before_cursor_execute", remember)
    assert response.status_code == 200, (path, response.status_code)
    return len(statements)


def publish_many(count: int, start: int) -> None:
    for number in range(start, start + count):
        publish(title=f"Water plan {number}", body=f"Water for towns, plan {number}.",
                reference=f"TEST-2020-{number:04d}",
                authors=(f"Author {number}", "Shared Author"), think_tanks=((f"Institute {number % 7}", "KZ"),),
                member_states=("KZ", "UZ"), keywords=("water", f"plan{number}"), dimensions=("environmental", "human"))


@pytest.mark.parametrize("path", PAGES)
def test_a_page_issues_as_many_statements_with_300_proposals_as_with_10(client, states, path):
    publish_many(10, 1)
    client.get(path)  # the first request of a process loads what every later one reuses
    few = statements_during(client, path)

    publish_many(290, 11)
    client.get(path)
    many = statements_during(client, path)

    assert many == few
