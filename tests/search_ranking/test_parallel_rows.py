"""A large write of the PostgreSQL backend has worker processes analyse its texts (``postgres.rows_of``) while
this process reads the next chunk: the tables end exactly as a write in this process leaves them, removals and
writes in their order, and a failure in a worker reaches the writer."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest
from sqlalchemy import text

from expert_platform import workers
from expert_platform.extensions import db
from expert_platform.search import outbox, postgres_backend
from expert_platform.search import service as search
from expert_platform.search.backend import REMOVE, WRITE
from tests.search_corpus import publish

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def proposals(app, states):
    """Seven public proposals in three languages, with a translation: each vector column gets a text."""
    made = [publish(reference=f"PR-2021-{number}", title=f"Glacier report {number}",
                    body=f"Meltwater <script> and flood {number}. See https://example.org/{number}.",
                    authors=(f"Author {number}",), keywords=("water",), think_tanks=(("Water Institute", "KZ"),))
            for number in range(1, 6)]
    made.append(publish(reference="PR-2021-6", title="Ледники", body="Ледник тает быстро.", language="ru"))
    made.append(publish(reference="PR-2021-7", title="区域安全合作", body="安全合作的建议。", language="zh"))
    db.session.commit()
    return made


@pytest.fixture
def pools(monkeypatch):
    """The executors the writes used, by type name."""
    used = []
    original = workers.pool

    def recording(**options):
        context = original(**options)
        executor = context.__enter__()
        used.append(type(executor).__name__)

        class Entered:
            def __enter__(self):
                return executor

            def __exit__(self, *exc):
                return context.__exit__(*exc)

        return Entered()

    monkeypatch.setattr(postgres_backend.workers, "pool", recording)
    return used


def tables() -> dict:
    """Every row of both search tables, vectors as text, without the time of writing."""
    db.session.commit()
    documents = db.session.execute(text(
        "SELECT proposal_id, reference, variant, language, year, decided, title, body, authors, think_tanks, "
        "keywords, text_count, english::text, russian::text, simple::text, people::text, words::text, facets "
        "FROM search_documents ORDER BY proposal_id")).all()
    translations = db.session.execute(text(
        "SELECT proposal_id, language, variant, title, body FROM search_translations ORDER BY proposal_id, language"
    )).all()
    return {"documents": [tuple(row) for row in documents], "translations": [tuple(row) for row in translations]}


def rewrite_all(proposals) -> None:
    """Every proposal's entry removed, then all written again through the outbox, in one write."""
    for proposal in proposals:
        search.remove_proposal(proposal.id)
    outbox.enqueue(db.session(), {proposal.id for proposal in proposals})
    db.session.commit()


def test_a_write_from_the_threshold_on_is_analysed_by_worker_processes_with_the_same_rows(
        proposals, pools, monkeypatch):
    monkeypatch.setattr(postgres_backend, "PARALLEL_ROWS_FROM", 8)
    rewrite_all(proposals)
    in_process = tables()
    assert pools[-1] == "InProcess"
    assert len(in_process["documents"]) == 7
    assert len(in_process["translations"]) == 0
    assert "'meltwat'" in in_process["documents"][0][12]

    monkeypatch.setattr(postgres_backend, "PARALLEL_ROWS_FROM", 7)
    monkeypatch.setattr(postgres_backend, "INDEXING_CHUNK", 2)
    monkeypatch.setattr(postgres_backend, "ROWS_PER_TASK", 1)
    rewrite_all(proposals)

    assert pools[-1] == ProcessPoolExecutor.__name__
    assert tables() == in_process
    assert search.pending_count() == 0


def test_removals_and_writes_keep_their_order_across_the_chunks_in_the_workers(proposals, pools, monkeypatch):
    monkeypatch.setattr(postgres_backend, "PARALLEL_ROWS_FROM", 1)
    monkeypatch.setattr(postgres_backend, "INDEXING_CHUNK", 2)
    first, second, *others = proposals
    expected = tables()
    document = search.document_of(first)

    # The first proposal written, then removed two chunks later; the second removed, then written again.
    changes = [(WRITE, document), (REMOVE, str(second.id)), (WRITE, search.document_of(others[0])),
               (REMOVE, str(first.id)), (WRITE, search.document_of(second)), (WRITE, search.document_of(others[1]))]
    assert search.active_backend().write(iter(changes), expected=6, session=db.session) == 4
    db.session.commit()

    assert pools == [ProcessPoolExecutor.__name__]
    found = tables()
    assert [row[0] for row in found["documents"]] == sorted(p.id for p in proposals if p is not first)
    assert found["documents"] == [row for row in expected["documents"] if row[0] != first.id]


def test_a_failure_in_a_worker_reaches_the_writer_and_nothing_is_written(proposals, monkeypatch):
    monkeypatch.setattr(postgres_backend, "PARALLEL_ROWS_FROM", 1)
    before = tables()
    broken = dict(search.document_of(proposals[0]), variant="xx")  # a variant no vector column has

    with pytest.raises(KeyError, match="xx"):
        search.active_backend().write(iter([(WRITE, broken)]), expected=1, session=db.session)
    db.session.rollback()

    assert tables() == before
