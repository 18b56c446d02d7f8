"""A bulk write of the PostgreSQL backend: a write of BULK_BUILD_FROM entries or more into a table that holds
fewer rows than it brings, and a rebuild, drop the text vectors' RUM indexes before their rows and make them
again after them, in their transaction; the same names and definitions come back, the searches find what they
found, a rollback leaves the indexes and the rows as they were, and any other write leaves the indexes alone,
as does every write to GIN indexes (their pending list makes the bulk path gain nothing there)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from expert_platform.extensions import db
from expert_platform.search import maintenance, outbox, postgres, postgres_backend, postgres_ranking
from expert_platform.search import service as search
from expert_platform.search.backend import WRITE
from expert_platform.search.service import Filters
from tests.search_corpus import publish

pytestmark = pytest.mark.postgres_only

#: The indexes of search_documents a bulk write keeps, and the text indexes of each kind, by access method.
KEPT = {"pk_search_documents": "btree", "ix_search_documents_people": "gin", "ix_search_documents_decided": "btree"}
TEXT_INDEXES = {
    "rum": {"ix_search_documents_english_rum": "rum", "ix_search_documents_russian_rum": "rum",
            "ix_search_documents_simple_rum": "rum"},
    "gin": {"ix_search_documents_english": "gin", "ix_search_documents_russian": "gin",
            "ix_search_documents_simple": "gin"},
}
#: Each query and the references it finds in ``proposals``: one through each text column.
SEARCHED = {"glacier": ["BB-2020-1", "BB-2020-3"], "desalination": ["BB-2020-2"], "ледник": ["BB-2020-4"],
            "安全": ["BB-2020-5"], "author:smith": ["BB-2020-3"]}


@pytest.fixture
def bulk_from_three(monkeypatch):
    monkeypatch.setattr(postgres_backend, "BULK_BUILD_FROM", 3)


@pytest.fixture(params=["rum", "gin"])
def kind(request, app):
    """The text indexes' kind for the test: RUM (the test database's), or GIN, RUM again after."""
    if request.param == "gin":
        switch_to_rum(False)
        request.addfinalizer(lambda: switch_to_rum(True))
    return request.param


def switch_to_rum(value: bool) -> None:
    db.session.commit()  # the test's own reads end first: changing an index waits for every open transaction
    with db.engine.begin() as connection:
        assert postgres_ranking.install(connection, use_rum=value) is value
    search.forget_engine_caches()


@pytest.fixture
def proposals(app, states):
    """Five public proposals, indexed as they were published; the words of ``SEARCHED``."""
    return [
        publish(reference="BB-2020-1", title="Glacier monitoring", body="Glacier melt in the mountains."),
        publish(reference="BB-2020-2", title="Shared coasts", body="Desalination plants for coastal towns."),
        publish(reference="BB-2020-3", title="Glacier lakes", body="Outburst floods.", authors=("John Smith",)),
        publish(reference="BB-2020-4", title="Горные ледники", body="Ледник тает.", language="ru"),
        publish(reference="BB-2020-5", title="区域安全合作", body="安全合作的建议。", language="zh"),
    ]


def indexes() -> dict[str, tuple[int, str, str]]:
    """Each index of search_documents: (oid, access method, definition), as committed."""
    db.session.commit()
    with db.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT c.relname, c.oid, a.amname, pg_get_indexdef(c.oid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "WHERE i.indrelid = to_regclass('search_documents')")).all()
    return {name: (oid, method, definition) for name, oid, method, definition in rows}


def methods(found: dict[str, tuple[int, str, str]]) -> dict[str, str]:
    return {name: method for name, (_oid, method, _definition) in found.items()}


def oids(found: dict[str, tuple[int, str, str]]) -> dict[str, int]:
    return {name: oid for name, (oid, _method, _definition) in found.items()}


def unindex(proposals, keep: int = 0) -> None:
    """The index entries of all but the first ``keep`` proposals removed (one small write each)."""
    for proposal in proposals[keep:]:
        search.remove_proposal(proposal.id)
    db.session.commit()


def searched() -> dict[str, list[str]]:
    return {query: sorted(hit.proposal.reference for hit in search.search(query, Filters(), None).hits)
            for query in SEARCHED}


def test_the_outbox_writing_a_whole_import_into_an_empty_table_builds_the_rum_indexes_after_its_rows(
        bulk_from_three, kind, proposals):
    unindex(proposals)
    before = indexes()
    assert postgres.doc_count() == 0

    outbox.enqueue(db.session(), {proposal.id for proposal in proposals})
    db.session.commit()  # the outbox applies the transaction's five proposals: one write, in a session of its own

    after = indexes()
    assert methods(after) == {**KEPT, **TEXT_INDEXES[kind]}
    assert {name: definition for name, (_oid, _method, definition) in after.items()} == {
        name: definition for name, (_oid, _method, definition) in before.items()}
    assert {name: oid for name, oid in oids(after).items() if name in KEPT} == {
        name: oid for name, oid in oids(before).items() if name in KEPT}
    rebuilt = {name for name, oid in oids(after).items() if name in TEXT_INDEXES[kind] and oid != oids(before)[name]}
    assert rebuilt == (set(TEXT_INDEXES["rum"]) if kind == "rum" else set())
    assert search.pending_count() == 0
    assert postgres.doc_count() == 5
    assert searched() == SEARCHED
    with db.engine.connect() as connection:
        assert postgres_ranking.ranking_schema(connection) == ("public" if kind == "rum" else None)


def test_a_rebuild_of_enough_documents_builds_rum_indexes_after_its_rows(bulk_from_three, kind, proposals):
    """As ``flask search rebuild`` always did, a GIN table gets RUM indexes where the extension is there."""
    before = indexes()

    assert maintenance.rebuild() == 5

    after = indexes()
    assert methods(after) == {**KEPT, **TEXT_INDEXES["rum"]}
    assert {name: oid for name, oid in oids(after).items() if name in KEPT} == {
        name: oid for name, oid in oids(before).items() if name in KEPT}
    assert not set(oids(after).items()) & {(name, oids(before).get(name)) for name in TEXT_INDEXES["rum"]}
    assert postgres.doc_count() == 5
    assert searched() == SEARCHED


def test_a_rebuild_of_fewer_documents_keeps_the_rum_indexes(monkeypatch, proposals):
    monkeypatch.setattr(postgres_backend, "BULK_BUILD_FROM", 6)
    before = indexes()

    assert maintenance.rebuild() == 5

    assert indexes() == before
    assert searched() == SEARCHED


def test_an_exception_in_the_middle_of_a_bulk_write_leaves_the_indexes_and_the_rows_as_they_were(
        bulk_from_three, kind, proposals, monkeypatch):
    monkeypatch.setattr(postgres_backend, "INDEXING_CHUNK", 2)
    unindex(proposals, keep=1)
    before, entries = indexes(), postgres.stored_entries()
    seen = {}

    def changes():
        for proposal in proposals[1:]:
            yield WRITE, search.document_of(proposal)
        # Four documents written, two at a time, into the table without its text indexes.
        seen["rows"] = postgres.doc_count()
        seen["indexes"] = set(db.session.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents' "
            "AND schemaname = current_schema()")).scalars())
        raise RuntimeError("the archive went away")

    with pytest.raises(RuntimeError, match="the archive went away"):
        search.active_backend().write(changes(), expected=4, session=db.session)
    db.session.rollback()

    assert seen == {"rows": 5, "indexes": set(KEPT) | (set(TEXT_INDEXES["gin"]) if kind == "gin" else set())}
    assert indexes() == before
    assert methods(before) == {**KEPT, **TEXT_INDEXES[kind]}
    assert postgres.stored_entries() == entries
    assert list(entries) == [str(proposals[0].id)]


@pytest.mark.parametrize(("indexed", "written"), [(0, 2), (3, 3), (5, 3), (5, 5)],
                         ids=["below-the-threshold", "as-many-as-it-holds", "fewer-than-it-holds", "all-of-them-again"])
def test_any_other_write_keeps_the_text_indexes(bulk_from_three, kind, proposals, indexed, written):
    """The first ``indexed`` proposals in the table, the first ``written`` written again (or anew)."""
    unindex(proposals, keep=indexed)
    before = indexes()

    assert search.index_proposals(proposals[:written]) == written
    db.session.commit()

    assert indexes() == before
    assert methods(before) == {**KEPT, **TEXT_INDEXES[kind]}
    assert postgres.doc_count() == max(indexed, written)
    assert searched() == {query: [reference for reference in references
                                  if int(reference.rsplit("-", 1)[1]) <= max(indexed, written)]
                          for query, references in SEARCHED.items()}
