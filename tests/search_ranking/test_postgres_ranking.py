"""PostgreSQL ranking through the RUM index (issue 15 point 3): where the extension is there, the text
vectors have RUM indexes instead of GIN ones, a page ranks the matches nearest in the index's order instead
of every match, and the results are those of the GIN fallback (the same totals and facets always, the same
order while the matches are no more than the candidates ranked)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from expert_platform.extensions import db
from expert_platform.proposals.models import Proposal
from expert_platform.search import postgres, postgres_ranking, similar
from expert_platform.search import service as search
from expert_platform.search.service import Filters
from tests.search_corpus import publish

pytestmark = pytest.mark.postgres_only

QUERIES = ["water", "water security", '"security cooperation"', "rivers OR grids", "water -rivers", "secur*",
           "title:water", "author:smith", "безопасность", "安全", "energy"]


@pytest.fixture
def archive(app, states):
    """Forty proposals about water and security, different in length and in how often they say it."""
    for number in range(40):
        words = ["water"] * (1 + number % 5) + ["security"] * (number % 3) + ["rivers"] * (number % 4 == 0)
        subject = "water" if number % 7 else "grids"
        publish(reference=f"RK-2020-{number + 1}", title=f"Proposal {number} on {subject}",
                body=" ".join(words + ["cooperation", "energy"] * (number % 2) + ["filler"] * number),
                authors=("John Smith",) if number % 6 == 0 else ("Aigerim Sadykova",),
                member_states=("KZ",) if number % 2 else ("RU",), decided=f"20{10 + number % 12}-01-01")
    publish(reference="RU-2020-41", title="Безопасность водных ресурсов", language="ru", body="Безопасность рек.")
    publish(reference="ZH-2021-42", title="区域安全合作", language="zh", body="安全合作的建议。")


def results(text_, **options):
    found = search.search(text_, Filters(), None, per_page=100, **options)
    return found.total, found.facets, [hit.proposal.reference for hit in found.hits]


def use_rum(value: bool) -> bool:
    db.session.commit()  # the test's own reads end first: changing an index waits for every open transaction
    with db.engine.begin() as connection:
        installed = postgres_ranking.install(connection, use_rum=value)
    search.forget_engine_caches()
    return installed


def test_the_text_vectors_have_rum_indexes_where_the_extension_is_installed(app):
    with db.engine.connect() as connection:
        names = set(connection.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents' "
            "AND schemaname = current_schema()")).scalars())
        schema = postgres_ranking.ranking_schema(connection)

    assert schema == "public"
    assert names >= {"ix_search_documents_english_rum", "ix_search_documents_russian_rum",
                     "ix_search_documents_simple_rum", "ix_search_documents_people"}
    assert not names & {"ix_search_documents_english", "ix_search_documents_russian", "ix_search_documents_simple"}


def test_without_rum_the_text_vectors_get_gin_indexes_and_back(app):
    try:
        assert use_rum(False) is False
        with db.engine.connect() as connection:
            assert postgres_ranking.ranking_schema(connection) is None
            names = set(connection.execute(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents' "
                "AND schemaname = current_schema()")).scalars())
        assert names >= {"ix_search_documents_english", "ix_search_documents_russian", "ix_search_documents_simple"}
        assert not {name for name in names if name.endswith("_rum")}
    finally:
        assert use_rum(True) is True


@pytest.mark.parametrize("query", QUERIES)
def test_rum_ranking_gives_the_fallbacks_results_while_the_matches_are_fewer_than_the_candidates(archive, query):
    with_rum = results(query)
    try:
        use_rum(False)
        without = results(query)
    finally:
        use_rum(True)

    assert with_rum == without
    assert with_rum[0] > 0


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_with_more_matches_than_candidates_the_totals_and_facets_stay_and_each_page_holds_distinct_matches(
        archive, monkeypatch, sort):
    monkeypatch.setattr(postgres, "RANKED_CANDIDATES", 15)
    total, facets, _ = results("water")
    listed = []
    for page in range(1, 5):
        found = search.search("water", Filters(), None, page=page, per_page=10, sort=sort)
        assert (found.total, found.facets) == (total, facets)
        listed += [hit.proposal.reference for hit in found.hits]

    assert total == 40
    assert len(listed) == len(set(listed)) == 40


def test_a_page_of_common_words_reads_no_match_outside_the_candidates(archive, monkeypatch):
    """The statement that ranks a page asks RUM's order for the candidates: it never computes ts_rank_cd
    for a match that is not one of them (its plan ranks at most the candidates)."""
    monkeypatch.setattr(postgres, "RANKED_CANDIDATES", 5)
    statements = []

    def keep(_connection, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        found = search.search("water", Filters(), None, per_page=3)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)

    ranking = [statement for statement in statements if "ts_rank_cd" in statement]
    assert found.total == 40 and len(found.hits) == 3
    assert len(ranking) == 1
    assert "OPERATOR(public.<=>)" in ranking[0] and "LIMIT 5)" in ranking[0] and "LEFT JOIN" not in ranking[0]


def test_more_like_this_in_index_order_lists_similar_public_proposals(archive):
    proposal = db.session.scalar(db.select(Proposal).where(Proposal.reference == "RK-2020-5"))
    related = [row.reference for row in search.more_like_this(proposal, None)]

    assert len(related) == 5
    assert "RK-2020-5" not in related
    assert all(reference.startswith("RK-2020-") for reference in related)


@pytest.fixture
def common_words(app, states, monkeypatch):
    """Proposals whose every word is held by more proposals than "more like this" may read (a budget of one
    posting), and at most two candidates among the newest holders of the rarest word."""
    monkeypatch.setattr(similar, "RELATED_MIN_POSTINGS", 1)
    monkeypatch.setattr(similar, "RELATED_POSTINGS_SHARE", 0.0)
    monkeypatch.setattr(postgres, "RELATED_NEWEST_CANDIDATES", 2)
    texts = {"CW-1": ("glacier melt flood", "2020"), "CW-2": ("glacier melt flood", "2019"),
             "CW-3": ("glacier", "2024"), "CW-4": ("glacier melt", "2023"), "CW-5": ("glacier melt flood", "2022"),
             "CW-6": ("melt flood", "2021"), "CW-7": ("glacier melt", "2018")}
    for reference, (words, year) in texts.items():
        publish(reference=reference, title=words, body=words, decided=f"{year}-01-01")
    db.session.commit()
    postgres.analyze(db.session)
    db.session.commit()


@pytest.mark.parametrize("rum", [True, False], ids=["rum", "gin"])
def test_a_text_of_common_words_is_related_to_the_newest_holders_of_its_rarest_word_that_share_most(
        common_words, rum):
    if not rum:
        assert use_rum(False) is False
    proposal = db.session.scalar(db.select(Proposal).where(Proposal.reference == "CW-1"))
    try:
        related = [row.reference for row in search.more_like_this(proposal, None)]
    finally:
        if not rum:
            assert use_rum(True) is True

    # "flood" is held by four proposals, the fewest: of the two decided last besides CW-1 (CW-5, 2022 and
    # CW-6, 2021), the one holding all three words first. CW-2 holds them all too, but is older.
    assert related == ["CW-5", "CW-6"]
