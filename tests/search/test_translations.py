"""A proposal is found from its original and from its translations (issue 9): each text is indexed in
its own language, a query's words may be in either text, a phrase stays within one text, an excluded
word excludes the proposal whichever text holds it, and a hit shows the text that matched.

Acceptance (issue 9): "A proposal with an English original and a Russian translation is found by an
English and by a Russian query".
"""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from whoosh import index as whoosh_index
from whoosh.fields import Schema

from expert_platform import sanitize
from expert_platform.enums import ProposalState, TextStatus
from expert_platform.extensions import db
from expert_platform.proposals.models import Proposal, ProposalTranslation
from expert_platform.search import index_store, postgres
from expert_platform.search import service as search
from expert_platform.search.schema import build_schema
from expert_platform.search.service import Filters
from tests.search_corpus import publish

FLOODS = "EN-2024-1"
DROUGHT = "EN-2024-2"
DAMS = "RU-2024-3"
GRAIN = "EN-2024-4"
CHECK_PASSES = "The index matches the database (4 public proposals).\n"
EVERYTHING = Filters()


def translate(proposal: Proposal, *, title: str, body: str, summary: str = "", language: str = "ru",
              status: TextStatus = TextStatus.CHECKED_TRANSLATION) -> ProposalTranslation:
    """Give a public proposal a translation directly (editing is closed after submission), committed."""
    translation = ProposalTranslation(language=language, status=status, title=title, summary=summary, body=body,
                                      body_html=sanitize.render_markdown(body))
    proposal.translations.append(translation)
    db.session.commit()
    return translation


@pytest.fixture
def corpus(app, states):
    """Four public proposals: two English originals with a Russian translation, one English proposal
    alone, one Russian proposal alone. Returns {reference: proposal}."""
    floods = publish(reference=FLOODS, title="Early warning of floods",
                     body="River gauges and sirens warn towns before floods arrive", decided="2024-03-01")
    translate(floods, title="Раннее оповещение о наводнениях",
              body="Речные датчики и сирены предупреждают города до прихода воды")
    drought = publish(reference=DROUGHT, title="Drought insurance", body="Insurance for farmers; sirens at noon.",
                      decided="2024-02-01")
    translate(drought, title="Страхование от засухи", body="Страхование фермеров; сирены в полдень.",
              status=TextStatus.TRANSLATION)
    dams = publish(reference=DAMS, title="Защита от наводнений", language="ru",
                   body="Дамбы защищают посёлки от наводнения.", decided="2024-01-01")
    grain = publish(reference=GRAIN, title="Grain corridors", body="Tariffs on grain and rice.", decided="2023-12-01")
    return {proposal.reference: proposal for proposal in (floods, drought, dams, grain)}


def found(text: str, filters: Filters = EVERYTHING) -> list[str]:
    """The references of every hit, in order; the total counts exactly them."""
    results = search.search(text, filters, None, per_page=100, sort="newest")
    assert results.total == len(results.hits)
    return [hit.proposal.reference for hit in results.hits]


def hit_of(text: str, reference: str) -> search.Hit:
    return next(hit for hit in search.search(text, Filters(), None, per_page=100).hits
                if hit.proposal.reference == reference)


# --- found from either text --------------------------------------------------------------------------


def test_an_english_original_with_a_russian_translation_is_found_by_an_english_word(corpus):
    assert found("gauges") == [FLOODS]
    assert found("floods") == [FLOODS]


def test_it_is_found_by_a_russian_word_stemmed_as_russian(corpus):
    # "наводнениям" (dative) and "наводнениях", "наводнений", "наводнения" share the stem "наводнен".
    assert found("наводнениям") == [FLOODS, DAMS]
    assert found("датчик") == [FLOODS]


def test_words_of_one_query_may_be_in_different_texts_of_a_proposal(corpus):
    assert found("gauges датчики") == [FLOODS]
    assert found("sirens сирены") == [FLOODS, DROUGHT]
    assert found("gauges засухи") == []


def test_a_russian_phrase_is_found_within_the_translation(corpus):
    assert found('"речные датчики"') == [FLOODS]
    assert found('"датчики речные"') == []


def test_a_phrase_never_spans_the_original_and_the_translation(corpus):
    # The English body ends with "arrive" and the Russian title begins with "Раннее"; each word alone
    # finds the proposal.
    assert found("arrive") == [FLOODS]
    assert found("раннее") == [FLOODS]
    assert found('"arrive раннее"') == []
    assert found('"воды early"') == []


@pytest.mark.parametrize(("query", "expected"), [
    ("sirens -датчики", [DROUGHT]),  # the excluded word is in the translation
    ("сирены -gauges", [DROUGHT]),  # ... in the original
    ("sirens NOT датчики", [DROUGHT]),
    ("-датчики", [DROUGHT, DAMS, GRAIN]),
    ("-засухи -gauges", [DAMS, GRAIN]),
    ("(sirens OR tariffs) -полдень", [FLOODS, GRAIN]),
    ('сирены -"gauges river"', [FLOODS, DROUGHT]),
    ('сирены -"river gauges"', [DROUGHT]),
])
def test_an_excluded_word_or_phrase_excludes_a_proposal_whichever_text_holds_it(corpus, query, expected):
    assert found(query) == expected


def test_a_title_query_and_a_prefix_look_in_the_translation_too(corpus):
    assert found("title:засухи") == [DROUGHT]
    assert found("title:фермеров") == []
    assert found("страхов*") == [DROUGHT]
    assert found("датч* author:archive") == [FLOODS]


def test_the_language_facet_and_filter_keep_to_the_original(corpus):
    results = search.search("наводнениям", Filters(), None)

    assert results.facets["language"] == {"en": 1, "ru": 1}
    assert found("наводнениям", Filters(language="en")) == [FLOODS]
    assert found("наводнениям", Filters(language="ru")) == [DAMS]


def test_did_you_mean_knows_the_words_of_the_translations(corpus):
    results = search.search("датчеки", Filters(), None)

    assert (results.total, results.suggestion) == (0, "датчики")


# --- what a hit shows --------------------------------------------------------------------------------


def test_a_hit_found_by_a_russian_word_shows_the_russian_text_marked(corpus):
    hit = hit_of("наводнениям", FLOODS)

    assert hit.language == "ru"
    assert hit.highlights == {"title": "Раннее оповещение о <mark>наводнениях</mark>",
                              "body": "Речные датчики и сирены предупреждают города до прихода воды"}


def test_a_hit_found_by_an_english_word_shows_the_original_marked(corpus):
    hit = hit_of("gauges", FLOODS)

    assert hit.language == "en"
    assert hit.highlights == {"title": "Early warning of floods",
                              "body": "River <mark>gauges</mark> and sirens warn towns before floods arrive"}


def test_when_both_texts_match_the_hit_shows_the_interface_language_else_the_original(corpus, app):
    with force_locale("ru"):
        russian = hit_of("sirens OR сирены", FLOODS)
    with force_locale("en"):
        english = hit_of("sirens OR сирены", FLOODS)
    with force_locale("kk"):
        other = hit_of("sirens OR сирены", FLOODS)

    assert (russian.language, russian.highlights["body"]) == (
        "ru", "Речные датчики и <mark>сирены</mark> предупреждают города до прихода воды")
    assert (english.language, english.highlights["body"]) == (
        "en", "River gauges and <mark>sirens</mark> warn towns before floods arrive")
    assert (other.language, other.highlights["body"]) == (
        "en", "River gauges and <mark>sirens</mark> warn towns before floods arrive")


def test_a_hit_found_by_its_authors_shows_its_original(corpus):
    with force_locale("ru"):
        hit = hit_of("author:archive", FLOODS)

    assert hit.language == "en"
    assert hit.highlights == {"title": "Early warning of floods",
                              "body": "River gauges and sirens warn towns before floods arrive"}


def test_the_api_finds_a_proposal_by_a_word_of_its_translation(corpus, client):
    response = client.get("/api/v1/proposals?q=наводнениям&sort=newest")

    assert response.status_code == 200
    assert response.json["total"] == 2
    assert [item["reference"] for item in response.json["items"]] == [FLOODS, DAMS]
    assert response.json["items"][0]["highlights"]["title"] == "Раннее оповещение о <mark>наводнениях</mark>"


def test_the_translation_of_a_proposal_that_is_not_public_is_never_found(corpus):
    hidden = publish(reference="EN-2024-5", title="Glacier lakes", body="Outburst floods from glacier lakes",
                     state=ProposalState.NOT_ENDORSED, decided="2024-04-01")
    translate(hidden, title="Ледниковые озёра", body="Прорывные паводки ледниковых озёр")

    assert found("ледниковые") == []
    assert found("паводки OR glacier") == []
    assert search.indexed_count() == 4


def test_more_like_this_still_works_for_a_proposal_with_a_translation(corpus):
    assert [proposal.reference for proposal in search.more_like_this(corpus[FLOODS], None)] == [DROUGHT]


# --- keeping the index in step -----------------------------------------------------------------------


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        db.session.commit()
        return runner.invoke(args=list(args))

    return invoke


def test_saving_a_translation_of_an_endorsed_proposal_reindexes_it_and_check_passes(corpus, run):
    grain = corpus[GRAIN]
    assert found("зерновые") == []

    translation = translate(grain, title="Зерновые коридоры", body="Пошлины на зерно и рис.")

    assert found("зерновые") == [GRAIN]
    assert hit_of("зерновые", GRAIN).highlights["title"] == "<mark>Зерновые</mark> коридоры"
    assert search.pending_count() == 0
    assert run("search", "check").output == CHECK_PASSES

    # The command ran in this app context and let go of the objects it read: fetch the translation again.
    translation = db.session.get(ProposalTranslation, translation.id)
    translation.title = "Торговые коридоры"
    db.session.commit()

    assert found("зерновые") == []
    assert found("торговые") == [GRAIN]
    assert run("search", "check").output == CHECK_PASSES


def test_a_proposal_whose_translation_is_removed_is_no_longer_found_by_its_words(corpus, run):
    floods = corpus[FLOODS]
    floods.translations.clear()
    db.session.commit()

    assert found("датчики") == []
    assert found("наводнениям") == [DAMS]
    assert found("gauges") == [FLOODS]
    assert found("-датчики") == [FLOODS, DROUGHT, DAMS, GRAIN]
    assert run("search", "check").output == CHECK_PASSES


def test_check_notices_an_entry_whose_translation_is_stale(corpus, run):
    floods = db.session.scalar(select(Proposal).where(Proposal.reference == FLOODS))
    document = search.document_of(floods)
    document["stored_translations"] = [["ru", "Старый заголовок", document["stored_translations"][0][2]]]
    if search.backend() == "postgres":
        postgres.write(db.session, [(document, document["stored_body"])])
        db.session.commit()
    else:
        writer = index_store.writer()
        writer.update_document(**document)
        writer.commit()

    result = run("search", "check")

    assert (result.exit_code, result.stdout) == (1, f"{FLOODS}: stored_translations differs in the index\n")


@pytest.mark.whoosh_only
def test_sync_rebuilds_an_index_written_without_the_translations_fields(corpus, run, app):
    old_fields = {name: field for name, field in build_schema().items() if name != "stored_translations"}
    root = index_store.index_root()
    old = index_store.current_generation(root)
    (root / "older").mkdir()
    whoosh_index.create_in(str(root / "older"), Schema(**old_fields))
    index_store.make_current("older", root)
    index_store.forget_searchers()
    search.forget_engine_caches()
    assert index_store.is_stale() is True

    result = run("search", "sync")

    assert result.output == ("Search index: 0 proposals brought up to date.\n"
                             "The index was empty or out of date: rebuilt with 4 public proposals.\n")
    assert index_store.is_stale() is False
    assert index_store.current_generation(root) not in ("older", old)
    assert found("датчики") == [FLOODS]
    assert run("search", "check").output == CHECK_PASSES
