"""What the Whoosh backend keeps of a search for the index version (``WhooshBackend.find``): a query asked
again runs no query through the engine and answers exactly what it answered; a page past the kept matches is
ranked as before; a change of the index makes the next search see it. (tests/search_ranking/test_kept_results.py
holds the PostgreSQL backend to the same.)"""

from __future__ import annotations

import pytest

from expert_platform.extensions import db
from expert_platform.search import cache, whoosh_engine
from expert_platform.search import service as search
from expert_platform.search.service import Filters
from tests.search_corpus import publish

pytestmark = pytest.mark.whoosh_only


@pytest.fixture
def proposals(app, states):
    found = [publish(reference=f"KW-2020-{number}", title=f"Glacier study {number}", body="Glacier melt. " * number,
                     dimensions=("environmental",), member_states=("KZ",)) for number in range(1, 8)]
    db.session.commit()
    return found


@pytest.fixture
def engine_runs(monkeypatch) -> list:
    runs = []
    original = whoosh_engine.Engine.matches

    def counted(self, node):
        runs.append(node)
        return original(self, node)

    monkeypatch.setattr(whoosh_engine.Engine, "matches", counted)
    return runs


def answer(results) -> tuple:
    return (results.total, results.facets, [(hit.proposal.reference, hit.score, hit.highlights)
                                            for hit in results.hits])


def test_a_query_asked_again_runs_nothing_through_the_engine_and_answers_the_same(proposals, engine_runs):
    first = search.search("glacier", Filters(dimensions=("environmental",)), None, per_page=3)
    assert engine_runs
    engine_runs.clear()

    again = search.search("glacier", Filters(dimensions=("environmental",)), None, per_page=3)
    second_page = search.search("glacier", Filters(dimensions=("environmental",)), None, per_page=3, page=2)

    assert engine_runs == []
    assert answer(again) == answer(first) and first.total == 7 and len(first.hits) == 3
    search.forget_engine_caches()
    assert answer(search.search("glacier", Filters(dimensions=("environmental",)), None, per_page=3,
                                page=2)) == answer(second_page)


def test_a_page_past_the_kept_matches_is_ranked_as_before(proposals, monkeypatch):
    monkeypatch.setattr(cache, "KEPT_RANKS", 4)
    monkeypatch.setattr("expert_platform.search.whoosh_backend.KEPT_RANKS", 4)
    shown = [hit.proposal.reference for page in (1, 2, 3, 4) for hit in search.search(
        "glacier", Filters(), None, per_page=2, page=page).hits]

    search.forget_engine_caches()
    monkeypatch.setattr("expert_platform.search.whoosh_backend.KEPT_RANKS", 100)
    assert shown == [hit.proposal.reference for hit in search.search("glacier", Filters(), None, per_page=8).hits]
    assert len(set(shown)) == 7


def test_a_change_of_the_index_is_seen_by_the_next_search(proposals):
    assert search.search("glacier", Filters(), None).total == 7
    publish(reference="KW-2020-8", title="Glacier lakes", body="Outburst floods.")
    db.session.commit()

    assert search.search("glacier", Filters(), None).total == 8
