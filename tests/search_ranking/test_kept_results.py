"""What each process keeps of a PostgreSQL search for the index version (``PostgresBackend.find``): a query
asked again reads no match, count or facet again, answers exactly what it answered, and what is kept is
dropped when another session's write commits, not before and never later."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from expert_platform.extensions import db
from expert_platform.search import postgres
from expert_platform.search import service as search
from expert_platform.search.documents import document_of
from expert_platform.search.service import Filters
from tests.search_corpus import publish

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def proposals(app, states):
    found = [publish(reference=f"KR-2020-{number}", title=f"Glacier study {number}",
                     body="Glacier melt. " * number, dimensions=("environmental",), member_states=("KZ",))
             for number in range(1, 8)]
    found.append(publish(reference="KR-2020-8", title="Desalination", body="Plants on the coast."))
    db.session.commit()
    return found


def statements_of(action) -> tuple[object, list[str]]:
    seen = []

    def keep(_connection, _cursor, statement, *_rest) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        return action(), seen
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


def answer(results) -> tuple:
    return (results.total, results.facets, [(hit.proposal.reference, hit.score, hit.highlights)
                                            for hit in results.hits])


def reads_matches(statements: list[str]) -> list[str]:
    """The statements that count, facet or rank matches (all of them ask a tsquery of a text column)."""
    return [statement for statement in statements if "AS tsquery" in statement]


def test_a_query_asked_again_reads_no_match_and_answers_the_same(proposals):
    first, asked = statements_of(lambda: search.search("glacier", Filters(), None, per_page=3))
    again, asked_again = statements_of(lambda: search.search("glacier", Filters(), None, per_page=3))
    second_page, asked_for_page = statements_of(lambda: search.search("glacier", Filters(), None, per_page=3, page=2))

    assert first.total == 7 and len(first.hits) == 3
    assert len(reads_matches(asked)) == 2  # count with facets, then the ranked matches
    assert answer(again) == answer(first)
    assert reads_matches(asked_again) == [] and reads_matches(asked_for_page) == []
    search.active_backend().forget()
    assert answer(search.search("glacier", Filters(), None, per_page=3, page=2)) == answer(second_page)
    shown = [hit.proposal.reference for hit in [*first.hits, *second_page.hits]]
    assert len(set(shown)) == 6 and set(shown) < {f"KR-2020-{number}" for number in range(1, 8)}


def test_a_page_past_the_kept_matches_is_ranked_as_before(proposals, monkeypatch):
    monkeypatch.setattr(postgres, "RANKED_CANDIDATES", 4)
    kept = [hit.proposal.reference for page in (1, 2) for hit in search.search("glacier", Filters(), None,
                                                                                per_page=2, page=page).hits]
    later, asked = statements_of(lambda: search.search("glacier", Filters(), None, per_page=2, page=3))

    assert len(reads_matches(asked)) == 1  # the page itself; the count came from what was kept
    search.active_backend().forget()
    assert [hit.proposal.reference for page in (1, 2, 3) for hit in search.search(
        "glacier", Filters(), None, per_page=2, page=page).hits] == [*kept, *(hit.proposal.reference
                                                                           for hit in later.hits)]


def test_another_sessions_write_is_seen_once_it_commits_and_not_before(proposals):
    template = document_of(proposals[0])
    document = {**template, "proposal_id": "900001", "reference": "KR-NEW"}
    assert search.search("glacier", Filters(), None).total == 7
    db.session.commit()

    with Session(db.engine) as writer:
        postgres.write(writer, [(document, template["body_en"])])
        writer.flush()
        during = search.search("glacier", Filters(), None).total
        db.session.commit()
        writer.commit()
    after = search.search("glacier", Filters(), None).total
    db.session.commit()
    with Session(db.engine) as writer:
        postgres.remove(writer, [900001])
        writer.commit()

    assert (during, after, search.search("glacier", Filters(), None).total) == (7, 8, 7)


def test_removing_what_the_index_does_not_hold_keeps_what_is_kept(proposals):
    search.search("glacier", Filters(), None)
    db.session.commit()
    with Session(db.engine) as writer:
        postgres.remove(writer, [900002])
        writer.commit()

    found, asked = statements_of(lambda: search.search("glacier", Filters(), None))

    assert found.total == 7 and reads_matches(asked) == []
