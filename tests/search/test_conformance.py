"""The same words on every search backend (issue 15): a corpus of the texts PostgreSQL's parser would read
its own way (markup-shaped text quoting ``<script>`` and ``<style>``, entities written as text, URLs,
e-mail addresses, hosts and file names, hyphenated and apostrophe words, numbers, Russian, Chinese and a
language of plain words) and a table of queries, each with the exact proposals it finds.

The corpus is published once, through the outbox of the last backend the database allows
(tests/conftest.py SEARCH_BACKENDS: Whoosh on SQLite, Whoosh and PostgreSQL on PostgreSQL), and rebuilt
into the others; every query is asked of each backend, which must give that total and that set.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, text

from expert_platform import create_app
from expert_platform.extensions import db
from expert_platform.proposals.models import Proposal
from expert_platform.reference.services import load_reference_data
from expert_platform.search import maintenance, postgres
from expert_platform.search import service as search
from expert_platform.search.documents import document_of
from expert_platform.search.schema import analyzer_of
from expert_platform.search.service import Filters
from tests.conftest import SEARCH_BACKENDS, database_settings, serving
from tests.search_corpus import publish

#: (reference, language, title, summary, body, options): the summary is indexed as written, the body as
#: the plain text of its Markdown (which keeps ``<script>`` as text and turns ``&amp;`` into ``&``).
CORPUS = [
    ("CF-01", "en", "Web standards: the <script> and <style> elements", "",
     'Browsers run <script>alert("border")</script> and apply <style>p { color: red }</style>; '
     'a <div class="notice">notice</div> wraps them.', {}),
    ("CF-02", "en", "Entities written as text: &amp; and &lt;",
     "Write &amp;amp; for an ampersand; &quot;quoted&quot; words stay words &#169;.", "Escaping rules for reports.",
     {}),
    ("CF-03", "en", "Open data portal", "",
     "The data lives at https://example.org/open-data/page?year=2026 and is mirrored at "
     "ftp://mirror.example.net/archive.", {}),
    ("CF-04", "en", "Contact point for water diplomacy", "",
     "Write to jane.doe@example.org or to info@osce-water.org before 1 March.", {}),
    ("CF-05", "en", "Confidence-building measures", "",
     "Confidence-building and well-being: a follow-up on cross-border trust.", {}),
    ("CF-06", "en", "O'Neill's note on don't-ask rules", "", "Mr O'Neill said the states' duties aren't optional.",
     {}),
    ("CF-07", "en", "Budget of 3.5 percent for 2026", "",
     "Spending rose from 1,000 to 12,500 units; version 2.0.1 of the plan; 3.50 is not 3.5.", {}),
    ("CF-08", "ru", "Меры доверия в Центральной Азии", "",
     "Меры укрепления доверия: обмен данными через https://example.org/ru и почту info@example.ru.", {}),
    ("CF-09", "ru", "Опреснение морской воды", "", "Проект опреснения воды для прибрежных городов, этап 2026-го года.",
     {}),
    ("CF-10", "zh", "区域安全合作", "", "安全合作的建议。ASEAN 与 OSCE 的 confidence-building 措施。", {}),
    ("CF-11", "zh", "水资源管理", "", "跨境河流的水资源合作。", {}),
    ("CF-12", "en", "Identifiers like snake_case and file.name.txt", "",
     "Config keys such as max_retries, the file readme.txt and the host www.example.org.", {}),
    ("CF-13", "en", "Script writing for public broadcasters", "", "A film script about borders.", {}),
    ("CF-14", "en", "Water sharing rules", "", "Shared rivers need rules.",
     {"authors": ("Seán O'Brien", "Anne-Marie Dupont"), "think_tanks": (("Caspian Water Institute", "KZ"),),
      "keywords": ("well-being",)}),
    ("CF-15", "fr", "Mesures de confiance", "", "Les mesures de confiance-sécurité à l'OSCE: l'accord d'Helsinki.",
     {}),
    ("CF-16", "en", "Style guide for reports", "", "Use the house style; cross-references in-line; see section 3.5.",
     {}),
]
EVERY_REFERENCE = {reference for reference, *_rest in CORPUS}

#: (query, the references of the proposals it finds).
QUERIES = [
    # Words inside tags and entities, which PostgreSQL's parser drops.
    ("script", {"CF-01", "CF-13"}),
    ("<script>", {"CF-01", "CF-13"}),
    ("style", {"CF-01", "CF-16"}),
    ("<style>", {"CF-01", "CF-16"}),
    ("alert", {"CF-01"}),
    ('<div class="notice">', {"CF-01"}),
    ('"color red"', {"CF-01"}),
    ('"script alert"', {"CF-01"}),
    ('"alert border"', {"CF-01"}),
    ("amp", {"CF-02"}),
    ("&amp;", {"CF-02"}),
    ("&lt;", {"CF-02"}),
    ("quot", {"CF-02"}),
    # URLs, hosts, e-mail addresses and file names: the parts the Whoosh backend cuts them into.
    ("example.org", {"CF-03", "CF-04", "CF-08"}),
    ("https", {"CF-03", "CF-08"}),
    ("page", {"CF-03"}),
    ("year", {"CF-03"}),
    ('"open data"', {"CF-03"}),
    ('"data page"', {"CF-03"}),
    ('"example.org open"', {"CF-03"}),
    ("https://example.org/open-data/page?year=2026", set()),  # "example" and "org": not the term "example.org"
    ("mirror.example.net", {"CF-03"}),
    ("jane.doe", {"CF-04"}),
    ("jane.doe@example.org", {"CF-04"}),
    ("water.org", {"CF-04"}),
    ("info", {"CF-04", "CF-08"}),
    ("example.ru", {"CF-08"}),
    ("osce", {"CF-04", "CF-10", "CF-15"}),
    ("www.example.org", {"CF-12"}),
    ("readme.txt", {"CF-12"}),
    ("file", {"CF-12"}),
    ("snake_case", {"CF-12"}),
    # Hyphenated and apostrophe words.
    ("confidence-building", {"CF-05", "CF-10"}),
    ('"confidence building"', {"CF-05", "CF-10"}),
    ('"building measures"', {"CF-05"}),
    ("cross-border", {"CF-05"}),
    ('"cross border"', {"CF-05"}),
    ('border -"cross border"', {"CF-01", "CF-13"}),
    ("well-being", {"CF-05", "CF-14"}),
    ("o'neill", {"CF-06"}),
    ("ask", {"CF-06"}),
    ("aren", {"CF-06"}),
    ("l'accord", {"CF-15"}),
    # Numbers.
    ("3.5", {"CF-07", "CF-16"}),
    ("3.50", {"CF-07"}),
    ("2.0.1", {"CF-07"}),
    ("1,000", {"CF-07"}),
    ('"12 500"', {"CF-07"}),
    # A phrase holds its words in one text, its stop words left out (as the Whoosh backend numbers them).
    ('"budget of 3.5"', {"CF-07"}),
    ('"budget 3.5"', {"CF-07"}),
    ('"rules shared"', set()),  # the end of CF-14's title, the start of its body
    ("2026", {"CF-03", "CF-07", "CF-09"}),
    # Russian, Chinese and plain words.
    ("доверия", {"CF-08"}),
    ('"укрепления доверия"', {"CF-08"}),
    ("安全", {"CF-10"}),
    ("水资源", {"CF-11"}),
    ("合作", {"CF-10", "CF-11"}),
    ("sécurité", {"CF-15"}),
    ("confiance", {"CF-15"}),
    # Prefixes, OR, NOT and the offered fields.
    ("confid*", {"CF-05", "CF-10"}),
    ("exam*", {"CF-03", "CF-04", "CF-08"}),
    ("mirror*", {"CF-03"}),
    ("script*", {"CF-01", "CF-13"}),
    ("script OR amp", {"CF-01", "CF-02", "CF-13"}),
    ("script -alert", {"CF-13"}),
    ("-style -script", EVERY_REFERENCE - {"CF-01", "CF-13", "CF-16"}),
    ("title:script", {"CF-01", "CF-13"}),
    ('title:"open data"', {"CF-03"}),
    ("title:3.5", {"CF-07"}),
    ("title:style", {"CF-01", "CF-16"}),
    ("author:o'brien", {"CF-14"}),
    ('author:"anne marie"', {"CF-14"}),
    ("anne-marie", {"CF-14"}),
    ("seán", {"CF-14"}),
    ("thinktank:caspian", {"CF-14"}),
    ("keyword:well", {"CF-14"}),
]


def publish_corpus() -> None:
    for reference, language, title, summary, body, options in CORPUS:
        publish(reference=reference, language=language, title=title, summary=summary, body=body, **options)


@pytest.fixture
def backends(shared_database, tmp_path) -> Iterator[dict]:
    """One app per search backend on one database, holding the corpus: written by the outbox of the last
    backend (on PostgreSQL, the PostgreSQL backend: incremental writes), rebuilt into the others."""
    settings = database_settings(shared_database, tmp_path / "outbox")
    apps = {name: create_app("testing", {**settings, "SEARCH_BACKEND": name}) for name in SEARCH_BACKENDS}
    writer = apps[SEARCH_BACKENDS[-1]]
    with serving(writer):
        load_reference_data()
        db.session.commit()
        publish_corpus()
        for other in apps.values():
            if other is not writer:
                with other.app_context():
                    maintenance.rebuild()
        try:
            yield apps
        finally:
            for other in apps.values():
                if other is not writer:
                    with other.app_context():
                        db.engine.dispose()


def found_on(app, query: str) -> tuple[int, set[str]]:
    """The total of a query on ``app``'s backend, and the references of its hits."""
    with app.app_context():
        results = search.search(query, Filters(), None, per_page=100)
        return results.total, {hit.proposal.reference for hit in results.hits}


def test_the_table_has_enough_queries_over_a_corpus_large_enough():
    assert (len(CORPUS), len(QUERIES)) >= (15, 30)
    assert len({query for query, _expected in QUERIES}) == len(QUERIES)


def test_every_query_finds_its_proposals_with_the_same_total_on_every_backend(backends):
    wrong = []
    for query, expected in QUERIES:
        for name, app in backends.items():
            total, references = found_on(app, query)
            if (total, references) != (len(expected), expected):
                wrong.append(f"{query!r} on {name}: {total} found, {sorted(references)}, not {sorted(expected)}")

    assert wrong == []


@pytest.mark.parametrize(("value", "variant"), [
    (f"{title}\n{summary}\n{body}", variant)
    for _reference, _language, title, summary, body, _options in CORPUS
    for variant in ("en", "ru", "cjk", "any")
])
def test_the_postgresql_index_is_given_the_terms_the_whoosh_analyzer_makes(value, variant):
    whoosh = [(token.text, token.pos) for token in analyzer_of(variant)(value, positions=True)]

    # At the same distances (Whoosh numbers an English or Russian text from its first word kept).
    assert [(term, position + whoosh[0][1]) for position, term in enumerate(postgres.index_terms(value, variant))] \
        == whoosh


def test_the_words_of_markup_shaped_text_are_marked_and_escaped_on_every_backend(backends):
    for name, app in backends.items():
        with app.app_context():
            shown = {(query, hit.proposal.reference): hit.highlights for query in ("script", "notice", "page", "amp")
                     for hit in search.search(query, Filters(), None).hits}

        assert (name, shown["script", "CF-01"]["title"]) == (
            name, "Web standards: the &lt;<mark>script</mark>&gt; and &lt;style&gt; elements")
        assert "run &lt;<mark>script</mark>&gt;alert(&quot;border&quot;)&lt;/<mark>script</mark>&gt; and apply " \
               "&lt;style&gt;p { color: red }&lt;/style&gt;" in shown["script", "CF-01"]["body"], name
        assert "a &lt;div class=&quot;<mark>notice</mark>&quot;&gt;<mark>notice</mark>&lt;/div&gt; wraps" \
               in shown["notice", "CF-01"]["body"], name
        assert "https://example.org/open-data/<mark>page</mark>?year=2026" in shown["page", "CF-03"]["body"], name
        assert (name, shown["amp", "CF-02"]["title"]) == (
            name, "Entities written as text: &amp;<mark>amp</mark>; and &amp;lt;")


# --- the PostgreSQL backend's writes ------------------------------------------------------------------

VECTORS = text("SELECT proposal_id, english::text, russian::text, simple::text, people::text, words::text "
               "FROM search_documents ORDER BY proposal_id")


@pytest.mark.postgres_only
def test_a_rebuild_writes_the_vectors_the_outbox_wrote(backends):
    with backends["postgres"].app_context():
        written = db.session.execute(VECTORS).all()
        maintenance.rebuild()
        rebuilt = db.session.execute(VECTORS).all()

    assert len(written) == len(CORPUS)
    assert rebuilt == written


@pytest.mark.postgres_only
def test_a_batch_of_500_entries_or_of_one_is_written_in_three_statements(backends):
    with backends["postgres"].app_context():
        proposal = db.session.scalar(db.select(Proposal).where(Proposal.reference == "CF-03"))
        template = document_of(proposal)  # three facets: its dimension, language and year

        def entry(number: int, reference: str) -> tuple[dict, str]:
            return {**template, "proposal_id": str(number), "reference": reference}, template["body_en"]

        # Given twice in one batch, a proposal's last entry is the one written.
        batch = [entry(100_000 + number, f"BATCH-{number}") for number in range(500)] + [entry(100_000, "LAST")]
        statements = []

        def count(_connection, _cursor, statement, *_rest) -> None:
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            postgres.write(db.session, batch)
            postgres.write(db.session, [entry(100_001, "ONE")])
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        written = db.session.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE english @@ CAST('''mirror.example.net''' AS tsquery)), "
            "sum(cardinality(facets)), "
            "string_agg(reference, ' ' ORDER BY proposal_id) FILTER (WHERE proposal_id < 100002) "
            "FROM search_documents WHERE proposal_id >= 100000")).one()
        db.session.rollback()

    assert len(statements) == 6  # each: the index version, the documents, the translations
    assert tuple(written) == (500, 500, 1500, "LAST ONE")


@pytest.mark.postgres_only
def test_the_index_version_moves_with_every_write_removal_and_rebuild_and_not_with_a_search(backends):
    with backends["postgres"].app_context():
        proposal = db.session.scalar(db.select(Proposal).where(Proposal.reference == "CF-03"))
        versions = [postgres.index_version()]
        search.search("water", Filters(), None)
        versions.append(postgres.index_version())
        postgres.remove(db.session, [999_999])  # not in the index: nothing changes
        versions.append(postgres.index_version())
        postgres.write(db.session, [(document_of(proposal), "")])
        versions.append(postgres.index_version())
        postgres.remove(db.session, [proposal.id])
        versions.append(postgres.index_version())
        db.session.rollback()
        versions.append(postgres.index_version())
        maintenance.rebuild()
        versions.append(postgres.index_version())

    numbers = [version[-1] for version in versions]
    assert numbers[0] == numbers[1] == numbers[2]
    assert numbers[2] < numbers[3] < numbers[4]
    assert numbers[5] == numbers[0]  # a rolled-back write leaves it where it was, as it leaves the rows
    assert numbers[6] > numbers[4]  # and a number is never given twice (the clock: see SearchIndexState)
