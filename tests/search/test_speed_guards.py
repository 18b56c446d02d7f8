"""What the search's speed-ups rely on: results computed once per index version are never served for
another version; totals, ranks, scores and snippets are Whoosh's own, character for character; facet
counts agree whichever way they are counted; big batches indexed by several processes are complete.
"""

from __future__ import annotations

import html
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from whoosh import highlight, query

from expert_platform import sanitize
from expert_platform.enums import ProposalState
from expert_platform.extensions import db
from expert_platform.proposals import workflow
from expert_platform.search import highlighting, index_store, maintenance, whoosh_engine
from expert_platform.search import service as search
from expert_platform.search.query import parse
from expert_platform.search.schema import analyzer_of, token_pattern
from expert_platform.search.service import Filters
from tests.search_corpus import publish

EVERYTHING = Filters()


@pytest.fixture
def corpus(app, states):
    """Six public proposals whose words repeat with different frequencies (so scores differ) and one
    not endorsed; returns {reference: proposal}."""
    published = [
        publish(reference="EN-2019-1", title="Water security on shared rivers",
                body="Water water water. Security of rivers and coastal towns.", member_states=("KZ",),
                dimensions=("environmental",), decided="2019-05-01"),
        publish(reference="EN-2020-2", title="Energy grids",
                body="Security of energy grids; water for cooling. " * 3, member_states=("KZ", "RU"),
                dimensions=("economic", "environmental"), decided="2020-03-01"),
        publish(reference="EN-2020-3", title="Water tariffs", body="Tariffs on water and grain.",
                member_states=("CN",), dimensions=("economic",), decided="2020-03-01"),
        publish(reference="EN-2021-4", title="Security cooperation", body="Cooperation on security. Water.",
                member_states=("RU",), dimensions=("military_political",), decided="2021-07-01"),
        publish(reference="RU-2021-5", title="Водная безопасность", language="ru",
                body="Безопасность воды и водных ресурсов.", member_states=("RU",),
                dimensions=("environmental",), decided="2021-02-01"),
        publish(reference="EN-2022-6", title="Fiscal rules", body="Budget rules; no rivers here.",
                dimensions=("economic",), decided="2022-01-01"),
        publish(reference="EN-2019-7", title="Water HIDDENMARKER", body="Water security.",
                state=ProposalState.NOT_ENDORSED, decided="2019-09-01"),
    ]
    return {proposal.reference: proposal for proposal in published}


def references(results) -> list[str]:
    return [hit.proposal.reference for hit in results.hits]


def whoosh_order(text: str, **sort) -> list[tuple[str, float]]:
    """(reference, score) of every match, in the order of Whoosh's own search scoring every match."""
    searcher = index_store.searcher()
    found = searcher.search(parse(text).query, limit=None, **sort)
    return [(hit["reference"], hit.score) for hit in found]


# --- results belong to one index version -----------------------------------------------------------


def test_a_search_after_the_index_changed_sees_the_change(corpus):
    assert search.search("rivers", EVERYTHING, None).total == 2
    assert search.search("rivers", EVERYTHING, None).facets["member_state"] == {"KZ": 1}

    publish(reference="EN-2023-8", title="Rivers of Central Asia", body="Rivers.", member_states=("KZ", "CN"),
            decided="2023-01-01")

    results = search.search("rivers", EVERYTHING, None)
    assert (results.total, references(results)[0]) == (3, "EN-2023-8")
    assert results.facets["member_state"] == {"KZ": 2, "CN": 1}


def test_a_proposal_that_leaves_the_archive_or_changes_is_no_longer_found_by_its_old_words(corpus):
    assert search.search("tariffs", EVERYTHING, None).total == 1
    assert search.search("rivers", EVERYTHING, None).total == 2
    decided = datetime(2022, 5, 1, tzinfo=UTC)

    withdrawn = corpus["EN-2020-3"]
    workflow.record_import(withdrawn, state=ProposalState.WITHDRAWN, reference=withdrawn.reference,
                           submitted_at=decided, decided_at=decided)
    renamed = corpus["EN-2022-6"]  # re-imported with a new text, as the importer records it
    renamed.body = "Budget rules."
    renamed.body_html = sanitize.render_markdown(renamed.body)
    workflow.record_import(renamed, state=ProposalState.ENDORSED, reference=renamed.reference,
                           submitted_at=decided, decided_at=decided)
    db.session.commit()

    assert search.search("tariffs", EVERYTHING, None).total == 0
    assert references(search.search("rivers", EVERYTHING, None)) == ["EN-2019-1"]
    assert search.check() == []


def test_a_rebuilt_index_is_searched_afresh(corpus):
    assert search.search("water", EVERYTHING, None).total == 4
    # Behind the outbox's back (plain SQL writes no outbox row): only a rebuild brings it in.
    db.session.execute(text("UPDATE proposals SET title = 'Water fiscal rules' WHERE reference = 'EN-2022-6'"))
    db.session.commit()

    assert search.search("water", EVERYTHING, None).total == 4
    maintenance.rebuild()

    assert search.search("water", EVERYTHING, None).total == 5


@pytest.mark.whoosh_only
def test_results_stay_right_when_the_engine_cache_is_tiny(corpus, monkeypatch):
    monkeypatch.setattr(whoosh_engine, "ENGINE_CACHE_ENTRIES", 3)
    for _ in range(2):
        assert search.search("water security", EVERYTHING, None).total == 3
        assert search.search("rivers", EVERYTHING, None).total == 2
        assert search.search("grids OR tariffs", EVERYTHING, None).total == 2


# --- ranks, scores and snippets are Whoosh's -------------------------------------------------------


@pytest.mark.whoosh_only
@pytest.mark.parametrize("text", ["water", "water security", "security OR rivers", '"energy grids"',
                                  "water -rivers", "безопасность", "title:water", "rivers OR water NOT tariffs"])
def test_relevance_ranks_and_scores_are_those_of_whoosh_scoring_every_match(corpus, text):
    results = search.search(text, EVERYTHING, None, per_page=100)
    expected = whoosh_order(text)

    assert references(results) == [reference for reference, _score in expected]
    assert [hit.score for hit in results.hits] == pytest.approx([score for _reference, score in expected])


def test_paging_through_a_search_shows_every_match_exactly_once(app, states, monkeypatch):
    # Enough proposals for posting lists of several blocks: Whoosh's own top-N search skipped blocks
    # it wrongly judged unable to reach the top, so its pages repeated some matches and never showed others.
    words = random.Random(1)
    monkeypatch.setattr(search, "apply_outbox", lambda proposal_ids=None: 0)
    vocabulary = ["security", "water", "rivers", "trade", "grain"]
    bodies = []
    for number in range(320):
        body = " ".join(words.choice(vocabulary) for _ in range(words.randint(3, 60)))
        bodies.append(body)
        title = f"Proposal {number}" + (" security" if number % 7 == 0 else "")
        publish(reference=f"EN-2020-{number + 1}", title=title, body=body,
                member_states=("RU",) if number % 2 else ("KZ",), decided="2020-01-01")
    monkeypatch.undo()
    assert search.apply_outbox() == 320

    listed = []
    for page in range(1, 9):
        listed += references(search.search("security", Filters(member_states=("RU",)), None, page=page))
    assert len(listed) == len(set(listed)) == search.search("security", Filters(member_states=("RU",)), None).total
    if search.backend() == "whoosh":
        expected = [reference for reference, _score in whoosh_order("security")
                    if int(reference.split("-")[2]) % 2 == 0]
        assert listed == expected
    else:
        expected = [f"EN-2020-{number + 1}" for number in range(1, 320, 2)
                    if number % 7 == 0 or "security" in bodies[number]]
        assert sorted(listed) == sorted(expected)


@pytest.mark.whoosh_only
def test_newest_first_is_whooshs_sort_on_the_decided_column(corpus):
    results = search.search("water", EVERYTHING, None, sort="newest")
    expected = whoosh_order("water", sortedby="decided", reverse=True)

    assert [(hit.proposal.reference, hit.score) for hit in results.hits] == expected
    assert references(results) == ["EN-2021-4", "EN-2020-3", "EN-2020-2", "EN-2019-1"]


def whoosh_snippet(text: str, variant: str, terms: set[str], *, whole: bool) -> str:
    """What Whoosh's own ``highlight()`` makes of ``text``: the reference the fast snippets must equal."""
    fragmenter = highlight.WholeFragmenter() if whole else highlight.ContextFragmenter(
        maxchars=highlighting.SNIPPET_CHARACTERS, surround=highlighting.SNIPPET_SURROUND)
    return highlight.highlight(text, frozenset(terms), analyzer_of(variant), fragmenter, highlighting.MarkFormatter(),
                               top=highlighting.SNIPPET_FRAGMENTS)


LONG = " ".join(["Water and security of shared rivers.", "Nothing to see in this sentence at all."] * 900)


@pytest.mark.whoosh_only
@pytest.mark.parametrize(("text", "variant", "query_text"), [
    ("Desalinated water for coastal towns. <script>x</script>", "en", "desalination"),
    (LONG, "en", "rivers security"),  # many fragments; past Whoosh's 32,768-character limit
    ("Water, water & WATER!!! " * 40 + "and one security at the end", "en", "water security"),
    ("Проект опреснения воды для прибрежных городов и опреснение морской воды.", "ru", "опреснение"),
    ("区域安全合作的建议。安全合作与区域对话。", "cjk", "安全合作"),
    ("Securing grids; secure rivers, the security of all", "en", "secur*"),
    ("a" * 300 + " water " + "b" * 30 + " water", "en", "water"),  # tokens longer than a fragment
])
def test_snippets_are_whooshs_highlights_character_for_character(app, text, variant, query_text):
    parsed = parse(query_text).query
    terms = highlighting.terms_by_variant(parsed)
    prefixes = highlighting.prefixes(parsed)
    for group, whole in (("title", True), ("body", False)):
        fieldname = f"{group}_{variant}"
        wanted = set(terms.get(fieldname, ()))
        wanted |= {token.text for token in analyzer_of(variant)(text)
                   if any(field == fieldname and token.text.startswith(prefix) for field, prefix in prefixes)}
        expected = whoosh_snippet(text, variant, wanted, whole=whole)
        assert expected  # the query matches the text

        assert highlighting.snippet(text, fieldname, variant, terms, prefixes, whole=whole) == expected


@pytest.mark.parametrize("variant", ["en", "ru", "cjk", "any"])
def test_the_fast_token_pattern_cuts_the_tokens_the_analyzer_cuts(variant):
    text = ("U.S.A. e.g. x.y.z.. a..b .5 3.14 *star* wild*card a.*b Ёлка ёж 区域安全 ..dots.. end. "
            "under_score it's co-operation ... tab\tnew\nline São Paulo İstanbul ﬁne 2,500.00")
    tokenizer = analyzer_of(variant).items[0]
    expected = [text[token.startchar:token.endchar] for token in tokenizer(text, chars=True)]

    assert token_pattern(analyzer_of(variant)).findall(text) == expected


@pytest.mark.whoosh_only
def test_a_text_without_matches_gets_its_escaped_start(app):
    text = "<b>Budget</b> rules " * 40
    snippet = highlighting.snippet(text, "body_en", "en", {"body_en": {"water"}}, [], whole=False)

    assert snippet == html.escape(highlighting.shorten(text))


# --- facets, suggestions, batches --------------------------------------------------------------------


@pytest.mark.whoosh_only
@pytest.mark.parametrize("text", ["water", "security", "rivers OR grids", "-fiscal"])
def test_facets_counted_one_by_one_or_with_bit_masks_agree(corpus, monkeypatch, text):
    by_document = search.search(text, EVERYTHING, None).facets
    monkeypatch.setattr(whoosh_engine, "FACET_COUNT_BY_DOCUMENT", 0)

    assert search.search(text, EVERYTHING, None).facets == by_document


def test_facet_counts_are_exact_with_filters(corpus):
    results = search.search("water", Filters(dimensions=("environmental",)), None)

    assert results.total == 2
    assert results.facets == {"dimension": {"environmental": 2, "economic": 1}, "member_state": {"KZ": 2, "RU": 1},
                              "language": {"en": 2}, "year": {"2019": 1, "2020": 1}, "think_tank": {}}


def test_a_misspelt_word_found_only_in_a_body_gets_its_suggestion(corpus):
    results = search.search("coastl", EVERYTHING, None)

    assert (results.total, results.suggestion) == (0, "coastal")


def test_a_misspelt_word_is_corrected_to_the_closest_word_before_a_more_frequent_one(corpus):
    publish(reference="EN-2023-9", title="A bad harvest", body="Bad.", decided="2023-01-01")
    for number in range(3):
        publish(reference=f"EN-2023-{number + 10}", title="The bard", body="Bard.", decided="2023-01-01")

    assert search.search("baa", EVERYTHING, None).suggestion == "bad"  # one edit; "bard" is two


def test_a_query_asked_again_gives_the_same_results_and_its_notice_again(corpus):
    first = search.search('"water security', EVERYTHING, None)
    second = search.search('"water security', EVERYTHING, None)

    assert references(first) == references(second) != []
    assert first.notice == second.notice == (
        "Your query has an unclosed quote or parenthesis: it was searched as plain words.")


@pytest.mark.whoosh_only
def test_a_big_batch_is_indexed_by_several_processes_in_chunks_and_completely(app, states, monkeypatch):
    monkeypatch.setattr(search, "apply_outbox", lambda proposal_ids=None: 0)  # the outbox fills up
    for number in range(7):
        publish(reference=f"EN-2020-{number + 10}", title=f"Batch proposal {number}", body="Rivers and water.",
                decided="2020-01-01")
    monkeypatch.undo()
    monkeypatch.setattr(index_store, "PARALLEL_INDEXING", 2)
    monkeypatch.setattr(search, "INDEXING_CHUNK", 3)

    assert search.apply_outbox() == 7

    assert search.pending_count() == 0
    assert search.search("rivers", EVERYTHING, None).total == 7
    assert search.check() == []


@pytest.mark.whoosh_only
def test_a_rebuild_by_several_processes_holds_every_public_proposal(corpus, monkeypatch):
    monkeypatch.setattr(index_store, "PARALLEL_INDEXING", 2)

    assert maintenance.rebuild() == 6
    assert search.check() == []
    assert search.search("water", EVERYTHING, None).total == 4


@pytest.mark.whoosh_only
def test_more_like_this_ranks_as_whooshs_own_search_would(corpus):
    searcher = index_store.searcher()
    related = 0
    for proposal in corpus.values():
        if proposal.state != ProposalState.ENDORSED:
            continue
        variant = "ru" if proposal.language == "ru" else "en"
        text = "\n".join(part for part in (proposal.title, proposal.summary,
                                           sanitize.html_to_text(proposal.body_html)) if part)
        key_terms = searcher.key_terms_from_text(f"body_{variant}", text, numterms=12)
        similar = query.Or([query.Term(f"body_{variant}", word, boost=weight) for word, weight in key_terms])
        expected = [hit["reference"] for hit in searcher.search(
            similar, limit=6, mask=query.Term("proposal_id", str(proposal.id)))][:5]

        assert [found.reference for found in search.more_like_this(proposal, None)] == expected
        related += len(expected)
    assert related >= 10  # the six public proposals share words: each has related ones


@pytest.mark.whoosh_only
def test_key_terms_read_once_per_version_weigh_as_whooshs_own(corpus):
    from expert_platform.search.whoosh_backend import key_terms
    from expert_platform.search.whoosh_engine import cache_of

    searcher = index_store.searcher()
    statistics = cache_of(searcher).term_statistics
    compared = 0
    for proposal in corpus.values():
        variant = "ru" if proposal.language == "ru" else "en"
        field = f"body_{variant}"
        text = "\n".join(part for part in (proposal.title, proposal.summary,
                                           sanitize.html_to_text(proposal.body_html)) if part)
        expected = [(word, weight, searcher.doc_frequency(field, word))
                    for word, weight in searcher.key_terms_from_text(field, text, numterms=12)]
        # Twice: from the index, then from what the first call kept.
        assert key_terms(searcher, variant, text, 12) == expected
        assert key_terms(searcher, variant, text, 12) == expected
        compared += len(expected)
    assert compared == 25  # the corpus's texts give 25 key terms in all: the comparison compared something
    assert statistics and all(key[0].startswith("body_") for key in statistics)
