"""What the Whoosh engine keeps per segment across index versions (issue 15 point 4): after a change it
reads only the segments the change wrote, and whatever the change (a new proposal, a changed one, one
that left the archive, segments merged) its results are those of an engine that kept nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from expert_platform import sanitize
from expert_platform.enums import ProposalState
from expert_platform.extensions import db
from expert_platform.proposals import workflow
from expert_platform.search import index_store, whoosh_engine, whoosh_postings
from expert_platform.search import service as search
from expert_platform.search.service import Filters
from tests.search_corpus import publish

pytestmark = pytest.mark.whoosh_only

EVERYTHING = Filters()
#: (query, filters, sort): words, phrases, prefixes, negations, fields, filters, nothing typed, a misspelling.
SEARCHES = [
    ("water", EVERYTHING, "relevance"),
    ("water security", EVERYTHING, "relevance"),
    ("security OR rivers", EVERYTHING, "relevance"),
    ('"energy grids"', EVERYTHING, "relevance"),
    ('"shared rivers"', EVERYTHING, "relevance"),
    ("water -rivers", EVERYTHING, "relevance"),
    ("rivers OR water NOT tariffs", EVERYTHING, "relevance"),
    ("secur*", EVERYTHING, "relevance"),
    ("title:water", EVERYTHING, "relevance"),
    ("безопасность", EVERYTHING, "relevance"),
    ("water", Filters(dimensions=("environmental",)), "relevance"),
    ("security", Filters(member_states=("KZ",)), "newest"),
    ("", EVERYTHING, "newest"),
    ("", Filters(dimensions=("economic",)), "newest"),
    ("coastl", EVERYTHING, "relevance"),
]
DECIDED = datetime(2022, 5, 1, tzinfo=UTC)


def outcome(text: str, filters: Filters, sort: str) -> tuple:
    """Everything a search shows: total, hits in order with their scores and highlights, facets, suggestion."""
    results = search.search(text, filters, None, per_page=100, sort=sort)
    return (results.total, [(hit.proposal.reference, hit.score, hit.highlights) for hit in results.hits],
            results.facets, results.suggestion)


def outcomes(proposals) -> list:
    return [outcome(*searched) for searched in SEARCHES] + [
        [related.reference for related in search.more_like_this(proposal, None)] for proposal in proposals]


def segment_ids() -> set[str]:
    return {reader.segment().segment_id() for reader, _offset in index_store.searcher().reader().leaf_readers()}


@pytest.fixture
def corpus(app, states, monkeypatch):
    """Eight public proposals indexed in one batch (one segment); returns {reference: proposal}."""
    with monkeypatch.context() as patched:
        patched.setattr(search, "apply_outbox", lambda proposal_ids=None: 0)  # the outbox fills up
        published = _publish_batch()
    assert search.apply_outbox() == 8
    return {proposal.reference: proposal for proposal in published}


def _publish_batch() -> list:
    return [
        publish(reference="EN-2019-1", title="Water security on shared rivers",
                body="Water water water. Security of shared rivers and coastal towns.", member_states=("KZ",),
                dimensions=("environmental",), decided="2019-05-01"),
        publish(reference="EN-2020-2", title="Energy grids", body="Security of energy grids; water for cooling. " * 3,
                member_states=("KZ", "RU"), dimensions=("economic", "environmental"), decided="2020-03-01"),
        publish(reference="EN-2020-3", title="Water tariffs", body="Tariffs on water and grain.",
                member_states=("CN",), dimensions=("economic",), decided="2020-03-01"),
        publish(reference="EN-2021-4", title="Security cooperation", body="Cooperation on security. Water.",
                member_states=("RU",), dimensions=("military_political",), decided="2021-07-01"),
        publish(reference="RU-2021-5", title="Водная безопасность", language="ru",
                body="Безопасность воды и водных ресурсов.", member_states=("RU",),
                dimensions=("environmental",), decided="2021-02-01"),
        publish(reference="EN-2022-6", title="Fiscal rules", body="Budget rules; no rivers here.",
                dimensions=("economic",), decided="2022-01-01"),
        publish(reference="EN-2022-7", title="Securing energy grids", body="Grids, energy grids and water security.",
                member_states=("KZ",), dimensions=("economic",), decided="2022-02-01"),
        publish(reference="EN-2018-8", title="Shared rivers", body="Rivers shared by two states; security.",
                member_states=("CN", "KZ"), dimensions=("environmental",), decided="2018-09-01"),
    ]


@pytest.fixture
def reads(monkeypatch):
    """The segments whose postings or field lengths are read from their files, one entry per read."""
    found: list[str] = []
    for name in ("leaf_postings", "field_lengths"):
        original = getattr(whoosh_postings, name)

        def counting(reader, *arguments, original=original, **options):
            found.append(reader.segment().segment_id())
            return original(reader, *arguments, **options)

        monkeypatch.setattr(whoosh_postings, name, counting)
    return found


def change_text(proposal, body: str) -> None:
    """Re-record an imported proposal with a new text, as the importer does: its entry is written again."""
    proposal.body = body
    proposal.body_html = sanitize.render_markdown(body)
    workflow.record_import(proposal, state=ProposalState.ENDORSED, reference=proposal.reference,
                           submitted_at=DECIDED, decided_at=DECIDED)
    db.session.commit()


def withdraw(proposal) -> None:
    workflow.record_import(proposal, state=ProposalState.WITHDRAWN, reference=proposal.reference,
                           submitted_at=DECIDED, decided_at=DECIDED)
    db.session.commit()


def merge_segments() -> None:
    """Merge every segment into one, as Whoosh's optimize does."""
    index_store.open_index().optimize()


def test_after_a_new_proposal_only_its_segment_is_read(corpus, reads):
    outcomes(corpus.values())
    before = segment_ids()
    reads.clear()

    publish(reference="EN-2023-9", title="Rivers and water security", body="Shared rivers; water security.",
            member_states=("KZ",), dimensions=("environmental",), decided="2023-01-01")
    outcomes(corpus.values())

    new = segment_ids() - before
    assert len(new) == 1 and segment_ids() > before  # the batch's segment is untouched, one was added
    assert set(reads) == new


def test_after_a_changed_proposal_only_the_new_segment_is_read_and_the_old_entry_is_gone(corpus, reads):
    outcomes(corpus.values())
    before = segment_ids()
    reads.clear()

    change_text(corpus["EN-2020-3"], "Budget rules.")  # was "Tariffs on water and grain."
    outcomes(corpus.values())

    new = segment_ids() - before
    assert len(new) == 1 and segment_ids() > before  # the old entry is deleted in the untouched segment
    assert set(reads) == new
    assert outcome("grain", EVERYTHING, "relevance")[0] == 0
    assert outcome("tariffs", EVERYTHING, "relevance")[0] == 1  # its title still says it


def test_a_proposal_that_leaves_the_archive_leaves_totals_facets_and_the_newest_first(corpus):
    assert outcome("grids", EVERYTHING, "relevance")[0] == 2
    assert outcome("", EVERYTHING, "newest")[0] == 8

    withdraw(corpus["EN-2020-2"])  # only a deletion in the batch's segment

    total, hits, facets, _suggestion = outcome("grids", EVERYTHING, "newest")
    assert (total, [reference for reference, _score, _highlights in hits]) == (1, ["EN-2022-7"])
    assert facets["member_state"] == {"KZ": 1}
    assert outcome("", EVERYTHING, "newest")[0] == 7


def test_a_segment_read_for_one_version_is_not_read_again_for_the_next(corpus, reads):
    outcomes(corpus.values())
    publish(reference="EN-2023-9", title="Grain corridors", body="Grain and water.", decided="2023-01-01")
    outcomes(corpus.values())
    before = segment_ids()
    reads.clear()

    publish(reference="EN-2023-10", title="Grain silos", body="Grain and rivers.", decided="2023-01-02")
    outcomes(corpus.values())

    assert len(before) == 2 and segment_ids() > before
    assert set(reads) == segment_ids() - before


@pytest.mark.parametrize("change", ["a new proposal", "a changed proposal", "a withdrawn proposal",
                                    "segments merged", "several changes then segments merged"])
def test_results_after_a_change_are_those_of_an_engine_that_kept_nothing(corpus, change):
    outcomes(corpus.values())  # everything kept for the first version

    if change == "a new proposal":
        publish(reference="EN-2023-9", title="Water security of shared rivers", body="Rivers. Water. Security.",
                member_states=("KZ", "CN"), dimensions=("environmental",), decided="2023-01-01")
    elif change == "a changed proposal":
        change_text(corpus["EN-2019-1"], "Coastal towns and energy grids.")
    elif change == "a withdrawn proposal":
        withdraw(corpus["EN-2020-2"])
    elif change == "segments merged":
        publish(reference="EN-2023-9", title="Water", body="Water.", decided="2023-01-01")
        outcomes(corpus.values())
        merge_segments()
    else:
        for number in range(6):  # more than four segments: Whoosh merges the small ones as it writes
            publish(reference=f"EN-2023-{number + 10}", title=f"Water security {number}", body="Rivers " * number,
                    member_states=("RU",), decided=f"2023-0{number + 1}-01")
            outcomes(corpus.values())
        withdraw(corpus["EN-2021-4"])
        change_text(corpus["EN-2022-7"], "Energy grids.")
        outcomes(corpus.values())
        merge_segments()
    kept_across_versions = outcomes(corpus.values())

    search.forget_engine_caches()  # a new searcher, nothing kept of any version or segment

    assert kept_across_versions == outcomes(corpus.values())


def test_segments_no_longer_in_the_index_are_forgotten_with_the_versions_that_held_them(corpus):
    for number in range(3):
        publish(reference=f"EN-2023-{number + 10}", title=f"Water {number}", body="Water.", decided="2023-01-01")
        outcomes(corpus.values())
    merged_away = segment_ids()
    merge_segments()

    for number in range(whoosh_engine.ENGINE_CACHE_VERSIONS):
        publish(reference=f"EN-2024-{number + 10}", title=f"Rivers {number}", body="Rivers.", decided="2024-01-01")
        outcomes(corpus.values())

    kept = {segment_id for _folder, segment_id in whoosh_engine.cached_segments()}
    assert kept and not kept & merged_away
    assert kept <= segment_ids()


def test_results_stay_right_when_the_segment_cache_is_tiny(corpus, monkeypatch):
    expected = outcomes(corpus.values())
    search.forget_engine_caches()
    monkeypatch.setattr(whoosh_engine._segment_terms, "capacity", 3)
    monkeypatch.setattr(whoosh_engine._segment_tables, "capacity", 2)

    assert outcomes(corpus.values()) == expected
    publish(reference="EN-2023-9", title="Water", body="Water.", decided="2023-01-01")
    changed = outcomes(corpus.values())
    monkeypatch.undo()
    search.forget_engine_caches()

    assert changed == outcomes(corpus.values())


def test_a_searcher_refreshed_while_a_writer_removes_files_opens_the_index_afresh(corpus, monkeypatch):
    outcomes(corpus.values())
    publish(reference="EN-2023-9", title="Water", body="Water.", decided="2023-01-01")
    read = whoosh_postings.TOC.read
    failures = []

    def failing_once(*arguments, **options):
        if not failures:
            failures.append(arguments)
            raise FileNotFoundError("MAIN_1.toc")
        return read(*arguments, **options)

    monkeypatch.setattr(whoosh_postings.TOC, "read", failing_once)
    changed = outcomes(corpus.values())

    assert len(failures) == 1
    monkeypatch.undo()
    search.forget_engine_caches()
    assert changed == outcomes(corpus.values())
