"""The search engine (``search.service.search``) on a corpus with exact known counts: the query syntax,
languages, fields, facets with filters, suggestions and highlights. Only public proposals can be found.
"""

from __future__ import annotations

import pytest

from expert_platform.enums import ProposalState
from expert_platform.search import service as search
from expert_platform.search.service import Filters
from tests.search_corpus import publish

CUT_NOTICE = "Your query was cut to its first 256 characters."
PLAIN_WORDS_NOTICE = "Your query has an unclosed quote or parenthesis: it was searched as plain words."


@pytest.fixture
def corpus(app, states):
    """Seven public proposals in three languages and one not endorsed; returns {short name: reference}."""
    publish(reference="EN-2019-1", title="Desalination plants on shared coasts",
            body="Desalinated water for coastal towns along the sea", keywords=("water",),
            authors=("Aigerim Sadykova",), think_tanks=(("Caspian Water Institute", "KZ"),),
            member_states=("KZ", "RU"), dimensions=("environmental",), submitted="2018-12-01", decided="2019-05-01")
    publish(reference="EN-2020-2", title="Water security in Central Asia",
            body="Shared rivers need security cooperation; coastal regions and their towns need water. OSCE",
            keywords=("security", "rivers"), authors=("John Smith",), think_tanks=(("Almaty Policy Centre", "KZ"),),
            member_states=("KZ",), dimensions=("environmental", "military_political"), decided="2020-03-01")
    publish(reference="EN-2021-3", title="Cyber security of energy grids", body="Securing grids against attacks",
            keywords=("cyber",), authors=("Li Wei",), think_tanks=(("Beijing Security Forum", "CN"),),
            member_states=("CN", "RU"), dimensions=("new_challenges",), decided="2021-07-01")
    publish(reference="RU-2020-4", title="Опреснение морской воды", language="ru",
            body="Проект опреснения воды для прибрежных городов. OSCE", authors=("Иван Петров",),
            member_states=("RU",), dimensions=("environmental",), decided="2020-11-01")
    publish(reference="ZH-2021-5", title="区域安全合作", language="zh", body="安全合作的建议。ASEAN",
            authors=("Li Wei",), member_states=("CN",), dimensions=("military_political",), decided="2021-02-01")
    publish(reference="EN-2022-7", title="Trade <b>corridors</b> & tariffs",
            body="Tariffs on <script>alert(1)</script> grain & rice", dimensions=("economic",), decided="2022-01-01")
    publish(reference="EN-2018-8", title="A draft state budget rule", body="Fiscal rules for the budget.",
            dimensions=("economic",), decided="2018-06-01")
    publish(reference="EN-2019-6", title="Desalination subsidies", body="Water HIDDENMARKER coastal towns.",
            keywords=("water",), dimensions=("environmental",), state=ProposalState.NOT_ENDORSED, decided="2019-09-01")


EVERYTHING = Filters()


def found(text: str, filters: Filters = EVERYTHING, **options) -> list[str]:
    """The references of the hits, in order."""
    return [hit.proposal.reference for hit in search.search(text, filters, None, **options).hits]


def found_set(text: str, filters: Filters = EVERYTHING) -> set[str]:
    results = search.search(text, filters, None, per_page=100)
    assert results.total == len(results.hits)
    return {hit.proposal.reference for hit in results.hits}


# --- totals and what is public ---------------------------------------------------------------------


def test_an_empty_query_finds_every_public_proposal_newest_first(corpus):
    results = search.search("", Filters(), None)

    assert results.total == 7
    assert [hit.proposal.reference for hit in results.hits] == [
        "EN-2022-7", "EN-2021-3", "ZH-2021-5", "RU-2020-4", "EN-2020-2", "EN-2019-1", "EN-2018-8"]
    assert (results.suggestion, results.notice) == (None, None)


def test_a_proposal_that_is_not_endorsed_is_never_found(corpus):
    assert search.search("HIDDENMARKER", Filters(), None).total == 0
    assert found_set("subsidies") == set()


def test_pages_split_the_hits_and_the_total_counts_them_all(corpus):
    second = search.search("", Filters(), None, page=2, per_page=3)
    last = search.search("", Filters(), None, page=3, per_page=3)

    assert (second.total, second.pages) == (7, 3)
    assert [hit.proposal.reference for hit in second.hits] == ["RU-2020-4", "EN-2020-2", "EN-2019-1"]
    assert [hit.proposal.reference for hit in last.hits] == ["EN-2018-8"]


def test_words_are_anded(corpus):
    assert found_set("water") == {"EN-2019-1", "EN-2020-2"}
    assert found_set("water rivers") == {"EN-2020-2"}
    assert found_set("water cyber") == set()


# --- query syntax ----------------------------------------------------------------------------------


def test_a_phrase_needs_its_words_together_where_scattered_words_do_not(corpus):
    assert found_set('"coastal towns"') == {"EN-2019-1"}
    assert found_set("coastal towns") == {"EN-2019-1", "EN-2020-2"}
    assert found_set('"towns coastal"') == set()


def test_or_finds_either_word(corpus):
    assert found_set("cyber OR desalination") == {"EN-2019-1", "EN-2021-3"}


def test_not_and_a_leading_minus_exclude_a_word(corpus):
    assert found_set("security") == {"EN-2020-2", "EN-2021-3"}
    assert found_set("security NOT cyber") == {"EN-2020-2"}
    assert found_set("security -cyber") == {"EN-2020-2"}
    assert found_set("-cyber security") == {"EN-2020-2"}
    assert found_set('water -"coastal towns"') == {"EN-2020-2"}


def test_a_query_of_only_exclusions_finds_everything_else(corpus):
    assert search.search("-water", Filters(), None).total == 5


def test_a_prefix_of_three_letters_or_more_matches_the_words_it_starts(corpus):
    assert found_set("secur*") == {"EN-2020-2", "EN-2021-3"}
    assert found_set("desal*") == {"EN-2019-1"}


def test_a_prefix_longer_than_the_stem_of_its_words_still_finds_them(corpus):
    # "desalination" and "desalinated" are both indexed as "desalin"; "опреснения" as "опреснен".
    assert found_set("desalination*") == {"EN-2019-1"}
    assert found_set("title:desalination*") == {"EN-2019-1"}
    assert found_set("опреснени*") == {"RU-2020-4"}
    # As the word itself does, a prefix finds what shares its words' stem ("securing": "secur", as "security").
    assert found_set("securing*") == {"EN-2020-2", "EN-2021-3"}


def test_a_prefix_longer_than_the_stem_is_marked_in_every_word_it_found(corpus):
    hit = search.search("desalination*", Filters(), None).hits[0]

    assert hit.highlights == {"title": "<mark>Desalination</mark> plants on shared coasts",
                              "body": "<mark>Desalinated</mark> water for coastal towns along the sea"}


def test_a_prefix_of_fewer_than_three_letters_is_searched_as_the_word(corpus):
    assert search.search("se*", Filters(), None).total == 0
    assert found_set("wa*") == set()


def test_the_offered_fields_search_their_own_text_only(corpus):
    assert found_set("title:water") == {"EN-2020-2"}
    assert found_set("author:smith") == {"EN-2020-2"}
    assert found_set("author:петров") == {"RU-2020-4"}
    assert found_set('author:"li wei"') == {"EN-2021-3", "ZH-2021-5"}
    assert found_set("thinktank:caspian") == {"EN-2019-1"}
    assert found_set("keyword:rivers") == {"EN-2020-2"}
    assert found_set("keyword:water") == {"EN-2019-1"}


def test_a_field_that_is_not_offered_is_searched_as_words(corpus):
    assert found_set("state:draft") == {"EN-2018-8"}
    assert found_set("state:endorsed") == set()
    assert found_set("reference:EN") == set()


def test_an_unclosed_quote_is_searched_as_plain_words_with_a_notice(corpus):
    results = search.search('"coastal towns', Filters(), None)

    assert {hit.proposal.reference for hit in results.hits} == {"EN-2019-1", "EN-2020-2"}
    assert results.notice == PLAIN_WORDS_NOTICE


def test_an_unclosed_parenthesis_is_searched_as_plain_words_with_a_notice(corpus):
    results = search.search("(water -cyber", Filters(), None)

    assert {hit.proposal.reference for hit in results.hits} == set()
    assert results.notice == PLAIN_WORDS_NOTICE
    assert search.search("water OR cyber)", Filters(), None).notice == PLAIN_WORDS_NOTICE


def test_a_cut_inside_a_word_leaves_the_whole_word_out(corpus):
    text = "water " + "towns " * 41 + "coastal"
    assert text[:256].endswith(" coas")

    results = search.search(text, Filters(), None)

    # "coas" alone would find nothing: the half word is left out, "water towns" is searched.
    assert results.notice == CUT_NOTICE
    assert {hit.proposal.reference for hit in results.hits} == {"EN-2019-1", "EN-2020-2"}


def test_a_query_longer_than_256_characters_is_cut_with_a_notice(corpus):
    text = "water" + " " * 260 + "cyber"
    assert len(text) == 270

    results = search.search(text, Filters(), None)

    assert {hit.proposal.reference for hit in results.hits} == {"EN-2019-1", "EN-2020-2"}
    assert results.notice == CUT_NOTICE


def test_a_prefix_beyond_the_fourth_is_searched_as_a_word(corpus):
    assert found_set("wat* sec* coa* tow*") == {"EN-2020-2"}
    assert found_set("wat* sec* coa* tow* riv*") == set()
    assert found_set("wat* sec* coa* tow* rivers*") == {"EN-2020-2"}


# --- languages --------------------------------------------------------------------------------------


def test_english_is_stemmed(corpus):
    assert found_set("desalination") == {"EN-2019-1"}
    assert found_set("desalinated") == {"EN-2019-1"}
    assert found_set("securing") == {"EN-2020-2", "EN-2021-3"}


def test_russian_is_stemmed(corpus):
    assert found_set("опреснение") == {"RU-2020-4"}
    assert found_set("опреснения") == {"RU-2020-4"}
    assert found_set("воды") == {"RU-2020-4"}


def test_chinese_is_searched_by_character_pairs(corpus):
    assert found_set("安全合作") == {"ZH-2021-5"}
    assert found_set("合作") == {"ZH-2021-5"}
    assert found_set("安全合作的建议") == {"ZH-2021-5"}
    assert found_set("合作安全") == set()


def test_a_query_matches_every_languages_fields(corpus):
    assert found_set("osce") == {"EN-2020-2", "RU-2020-4"}
    assert found_set("author:wei") == {"EN-2021-3", "ZH-2021-5"}
    assert found_set("osce OR 合作 OR опреснение") == {"EN-2020-2", "RU-2020-4", "ZH-2021-5"}


def test_latin_words_in_a_chinese_text_are_found(corpus):
    assert found_set("asean") == {"ZH-2021-5"}
    assert found_set("asean 合作") == {"ZH-2021-5"}
    assert search.search("asean", Filters(), None).hits[0].highlights["body"] == "安全合作的建议。<mark>ASEAN</mark>"


# --- facets and filters ----------------------------------------------------------------------------


def test_facets_count_every_matching_proposal_not_one_page(corpus):
    results = search.search("", Filters(), None, per_page=1)

    assert results.facets == {
        "dimension": {"environmental": 3, "economic": 2, "military_political": 2, "new_challenges": 1},
        "member_state": {"RU": 3, "CN": 2, "KZ": 2},
        "language": {"en": 5, "ru": 1, "zh": 1},
        "year": {"2020": 2, "2021": 2, "2018": 1, "2019": 1, "2022": 1},
        "think_tank": {"Almaty Policy Centre": 1, "Beijing Security Forum": 1, "Caspian Water Institute": 1},
    }


def test_facets_combine_with_a_filter(corpus):
    results = search.search("", Filters(dimensions=("environmental",)), None)

    assert results.total == 3
    assert results.facets == {
        "dimension": {"environmental": 3, "military_political": 1},
        "member_state": {"KZ": 2, "RU": 2},
        "language": {"en": 2, "ru": 1},
        "year": {"2020": 2, "2019": 1},
        "think_tank": {"Almaty Policy Centre": 1, "Caspian Water Institute": 1},
    }


def test_facets_combine_with_a_query_and_filters(corpus):
    results = search.search("water", Filters(member_states=("RU",)), None)

    assert [hit.proposal.reference for hit in results.hits] == ["EN-2019-1"]
    assert results.facets["member_state"] == {"KZ": 1, "RU": 1}


def test_repeated_dimensions_and_member_states_are_anded(corpus):
    assert found_set("", Filters(dimensions=("environmental", "military_political"))) == {"EN-2020-2"}
    assert found_set("", Filters(member_states=("KZ", "RU"))) == {"EN-2019-1"}
    assert found_set("", Filters(member_states=("CN", "RU"))) == {"EN-2021-3"}


def test_language_think_tank_and_year_filter(corpus):
    assert found_set("", Filters(language="ru")) == {"RU-2020-4"}
    assert found_set("", Filters(think_tank="Beijing Security Forum")) == {"EN-2021-3"}
    assert found_set("", Filters(think_tank="Nobody's Institute")) == set()
    assert found_set("security", Filters(year=2021)) == {"EN-2021-3"}


def test_the_year_is_the_year_of_the_decision(corpus):
    assert found_set("", Filters(year=2019)) == {"EN-2019-1"}
    assert found_set("desalination", Filters(year=2018)) == set()


# --- suggestions and highlights ----------------------------------------------------------------------


def test_a_misspelt_word_gets_a_suggestion_that_finds_something(corpus):
    results = search.search("desalinaton", Filters(), None)

    assert (results.total, results.suggestion) == (0, "desalination")
    assert search.search("watr securty", Filters(), None).suggestion == "water security"


def test_no_suggestion_when_something_was_found_or_nothing_is_close(corpus):
    assert search.search("water", Filters(), None).suggestion is None
    assert search.search("zzzzqqq", Filters(), None).suggestion is None


def test_matches_are_marked_and_every_other_character_escaped(corpus):
    hit = search.search("tariffs", Filters(), None).hits[0]

    assert hit.highlights == {
        "title": "Trade &lt;b&gt;corridors&lt;/b&gt; &amp; <mark>tariffs</mark>",
        "body": "<mark>Tariffs</mark> on &lt;script&gt;alert(1)&lt;/script&gt; grain &amp; rice",
    }


def test_stemmed_and_prefix_matches_are_marked_in_their_own_form(corpus):
    stemmed = search.search("desalinated", Filters(), None).hits[0]
    prefixed = search.search("secur*", Filters(), None, sort="newest").hits[0]

    assert stemmed.highlights["title"] == "<mark>Desalination</mark> plants on shared coasts"
    assert stemmed.highlights["body"] == "<mark>Desalinated</mark> water for coastal towns along the sea"
    assert prefixed.highlights["title"] == "Cyber <mark>security</mark> of energy grids"
    assert prefixed.highlights["body"] == "<mark>Securing</mark> grids against attacks"


def test_a_hit_without_a_match_in_its_text_shows_the_text_escaped(corpus):
    hit = search.search("keyword:water", Filters(), None).hits[0]

    assert hit.highlights == {"title": "Desalination plants on shared coasts",
                              "body": "Desalinated water for coastal towns along the sea"}


def test_relevance_puts_a_title_match_first_and_newest_sorts_by_decision(corpus):
    assert found("desalination OR rivers") == ["EN-2019-1", "EN-2020-2"]
    assert found("desalination OR rivers", sort="newest") == ["EN-2020-2", "EN-2019-1"]
