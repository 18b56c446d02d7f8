"""The archive page: everyone searches the endorsed proposals, with facets, sorting and pages, and
nobody finds anything that is not public."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from expert_platform import sanitize
from expert_platform.enums import ProposalState, TextStatus
from expert_platform.extensions import db
from expert_platform.proposals.models import ProposalTranslation
from tests.html_tree import form_values, parse_html
from tests.journeys import take
from tests.proposals.page_steps import signed_in
from tests.search_corpus import publish

#: Words that only proposals outside the archive hold (drafts, proposals in review...).
MARKER = "zebrafinch"
HIDDEN_WORD = "kestrel"


@pytest.fixture
def corpus(states):
    """Four endorsed outcomes with known fields: the counts below are exact."""
    return {
        "coasts": publish(
            title="Fresh water for shared coasts", body="Desalinated water for coastal towns",
            dimensions=("environmental", "economic"), member_states=("KZ", "MN"), keywords=("water",),
            think_tanks=(("Caspian Water Institute", "KZ"),), authors=("Aigerim Sadykova", "Bo Chen"),
            decided="2021-03-01", reference="TEST-2021-0001",
        ),
        "sea": publish(
            title="Морская вода для прибрежных городов", body="Проект опреснения воды", language="ru",
            dimensions=("environmental",), member_states=("RU",), think_tanks=(("Институт водных проблем", "RU"),),
            authors=("Иван Петров",), decided="2022-05-10", reference="TEST-2022-0001",
        ),
        "exercises": publish(
            title="Notice of joint exercises", body="Advance notice of military exercises near borders.",
            dimensions=("military_political",), member_states=("KZ", "CN"),
            think_tanks=(("Caspian Water Institute", "KZ"),), decided="2023-09-15", reference="TEST-2023-0001",
        ),
        "trade": publish(
            title="Trade corridors across the steppe", body="Coastal trade between inland towns.",
            dimensions=("economic",), member_states=("MN",), think_tanks=(("Steppe Trade Centre", "MN"),),
            decided="2020-01-20", reference="TEST-2020-0001",
        ),
    }


def archive(client, query: str = ""):
    return client.get("/archive" + (f"?{query}" if query else ""))


def hit_titles(response) -> list[str]:
    hits = parse_html(response).find("ol", id="hits")
    return [item.find("h3").text for item in hits.find_all("li")] if hits else []


def hit_references(response) -> list[str]:
    hits = parse_html(response).find("ol", id="hits")
    return [item.find("dd", class_="reference").text for item in hits.find_all("li")] if hits else []


def result_count(response) -> str:
    return parse_html(response).find("p", id="result-count").text


def facet(response, name: str) -> list[tuple[str, int]]:
    """(label, count) of one facet group, in the order shown."""
    group = parse_html(response).find("section", id=f"facet-{name}")
    if group is None:
        return []
    return [(item.find("a").find("strong").text if item.find("a").find("strong") else item.find("a").text,
             int(item.find("span", class_="facet-count").text)) for item in group.find_all("li")]


def facet_link(response, name: str, label: str) -> str:
    group = parse_html(response).find("section", id=f"facet-{name}")
    return next(link.attributes["href"] for link in group.find_all("a") if link.text.startswith(label))


def arguments(url: str) -> dict[str, list[str]]:
    parts = urlsplit(url)
    assert parts.path == "/archive"
    return parse_qs(parts.query)


# --- What everyone sees ---------------------------------------------------------------------------


def test_the_archive_is_in_the_main_navigation_and_marked_current_there(client, corpus):
    response = archive(client)
    assert response.status_code == 200
    navigation = parse_html(response).find("ul", class_="nav-links")
    assert [link.text for link in navigation.find_all("a")][:2] == ["Home", "Archive"]
    assert navigation.find("a", aria_current="page").attributes["href"] == "/archive"


def test_without_a_query_the_whole_archive_is_listed_newest_first(client, corpus):
    response = archive(client)
    assert result_count(response) == "4 proposals"
    assert hit_references(response) == ["TEST-2023-0001", "TEST-2022-0001", "TEST-2021-0001", "TEST-2020-0001"]


def test_each_hit_shows_its_reference_decision_dimensions_think_tanks_authors_and_language(client, corpus):
    response = archive(client, "q=desalinated")
    hit = parse_html(response).find("ol", id="hits").find("li")
    link = hit.find("h3").find("a")
    assert link.attributes["href"] == "/proposals/TEST-2021-0001"
    assert link.text == "Fresh water for shared coasts"
    details = hit.find("dl")
    assert [(term.text) for term in details.find_all("dt")] == [
        "Reference", "Decided", "Dimensions", "Think tanks", "Authors", "Language"]
    assert [value.text for value in details.find_all("dd")] == [
        "TEST-2021-0001", "2021-03-01", "Economic dimension Environmental dimension", "Caspian Water Institute",
        "Aigerim Sadykova, Bo Chen", "English"]
    assert hit.find("p", class_="snippet").text == "Desalinated water for coastal towns"


def test_a_hit_shows_the_text_that_matched_and_says_its_language(client, corpus):
    """Issue 9: a proposal with an English original and a Russian translation is found from either; the
    hit's title and snippet are of the text that matched, marked with its language."""
    body = "Прибрежная торговля между городами"
    corpus["trade"].translations.append(ProposalTranslation(
        language="ru", status=TextStatus.CHECKED_TRANSLATION, title="Торговые коридоры через степь", body=body,
        body_html=sanitize.render_markdown(body)))
    db.session.commit()

    def shown(query: str) -> list[tuple[str, str, str, str]]:
        """(title's lang, title, snippet's lang, snippet) of each hit."""
        items = parse_html(archive(client, query)).find("ol", id="hits").find_all("li")
        return [(item.find("h3").attributes["lang"], item.find("h3").text,
                 item.find("p", class_="snippet").attributes["lang"], item.find("p", class_="snippet").text)
                for item in items]

    assert shown("q=торговля") == [("ru", "Торговые коридоры через степь", "ru", body)]
    assert shown("q=steppe") == [
        ("en", "Trade corridors across the steppe", "en", "Coastal trade between inland towns.")]


def test_the_search_box_has_a_label_and_a_hint_with_the_syntax(client, corpus):
    page = parse_html(archive(client, "q=water"))
    form = page.find("form", role="search")
    assert form.attributes["method"] == "get"
    assert form.find("label").text == "Search the archive"
    box = form.find("input", id="q")
    assert box.attributes["value"] == "water"
    assert box.attributes["aria-describedby"] == "q-hint"
    assert page.find("p", id="q-hint").text == (
        'Words are all required. Use "quotes" for an exact phrase, OR for either word, NOT or - to leave a word '
        "out, a star for the start of a word (secur*), and title:, author:, thinktank: or keyword: to search one "
        "field.")


# --- Finding what researchers mean ----------------------------------------------------------------


def test_a_phrase_finds_the_words_together_and_scattered_words_find_both(client, corpus):
    assert hit_references(archive(client, "q=coastal+towns&sort=newest")) == ["TEST-2021-0001", "TEST-2020-0001"]
    phrase = archive(client, "q=%22coastal+towns%22")
    assert result_count(phrase) == "1 proposal"
    assert hit_references(phrase) == ["TEST-2021-0001"]


def test_english_words_are_stemmed(client, corpus):
    response = archive(client, "q=desalination")
    assert hit_references(response) == ["TEST-2021-0001"]
    assert ('<p class="snippet" lang="en"><mark>Desalinated</mark> water for coastal towns</p>'
            in response.get_data(as_text=True))


def test_russian_words_are_stemmed(client, corpus):
    response = archive(client, "q=опреснение")
    assert hit_references(response) == ["TEST-2022-0001"]
    assert '<p class="snippet" lang="ru">Проект <mark>опреснения</mark> воды</p>' in response.get_data(as_text=True)


def test_sort_newest_orders_the_hits_by_decision_date_and_relevance_is_the_default(client, corpus):
    newest = archive(client, "q=water&sort=newest")
    assert result_count(newest) == "2 proposals"
    assert hit_references(newest) == ["TEST-2023-0001", "TEST-2021-0001"]
    sort = parse_html(newest).find("ul", id="sort-links")
    assert sort.find("strong", aria_current="true").text == "Newest first"
    assert sort.find("a").text == "Most relevant first"
    assert sort.find("a").attributes["href"] == "/archive?q=water"
    relevance = archive(client, "q=water")
    assert parse_html(relevance).find("ul", id="sort-links").find("a").attributes["href"] == (
        "/archive?q=water&sort=newest")
    assert sorted(hit_references(relevance)) == ["TEST-2021-0001", "TEST-2023-0001"]


def test_a_misspelt_word_gets_a_did_you_mean_link_to_the_corrected_search(client, corpus):
    response = archive(client, "q=coastel&dimension=economic&sort=newest")
    assert result_count(response) == "0 proposals"
    suggestion = parse_html(response).find("p", id="search-suggestion")
    assert suggestion.text == "Did you mean coastal ?"
    assert suggestion.find("a").attributes["href"] == "/archive?q=coastal&dimension=economic&sort=newest"
    corrected = client.get(suggestion.find("a").attributes["href"])
    assert result_count(corrected) == "2 proposals"
    assert hit_references(corrected) == ["TEST-2021-0001", "TEST-2020-0001"]


def test_an_unclosed_quote_is_searched_as_plain_words_with_a_notice(client, corpus):
    response = archive(client, "q=%22coastal+towns")
    assert response.status_code == 200
    assert parse_html(response).find("p", id="search-notice").text == (
        "Your query has an unclosed quote or parenthesis: it was searched as plain words.")
    assert result_count(response) == "2 proposals"


def test_highlights_escape_the_text_and_mark_only_the_matches(client, states):
    publish(title="<b>Border</b> crossings & bridges", body="Open <script>alert(1)</script> border posts.",
            reference="TEST-2024-0001")
    response = archive(client, "q=border")
    html = response.get_data(as_text=True)
    assert '>&lt;b&gt;<mark>Border</mark>&lt;/b&gt; crossings &amp; bridges</a>' in html
    assert "<b>Border</b>" not in html
    assert "<script>alert(1)</script>" not in html
    assert parse_html(response).find("p", class_="snippet").find("mark").text == "border"


# --- Facets and filters ---------------------------------------------------------------------------


def test_facets_count_every_matching_proposal_with_readable_names(client, corpus):
    response = archive(client)
    assert facet(response, "dimension") == [
        ("Economic dimension", 2), ("Environmental dimension", 2), ("Military-political dimension", 1)]
    assert facet(response, "member_state") == [("Kazakhstan", 2), ("Mongolia", 2), ("China", 1),
                                               ("Russian Federation", 1)]
    assert facet(response, "language") == [("English", 3), ("Russian", 1)]
    assert facet(response, "year") == [("2020", 1), ("2021", 1), ("2022", 1), ("2023", 1)]
    assert facet(response, "think_tank") == [("Caspian Water Institute", 2), ("Steppe Trade Centre", 1),
                                             ("Институт водных проблем", 1)]


def test_facets_combine_with_the_query(client, corpus):
    response = archive(client, "q=water")
    assert facet(response, "dimension") == [
        ("Economic dimension", 1), ("Environmental dimension", 1), ("Military-political dimension", 1)]
    assert facet(response, "think_tank") == [("Caspian Water Institute", 2)]
    assert facet(response, "year") == [("2021", 1), ("2023", 1)]


def test_a_facet_link_adds_its_filter_to_the_query_and_the_other_filters(client, corpus):
    response = archive(client, "q=water&member_state=KZ&sort=newest")
    link = facet_link(response, "dimension", "Military-political dimension")
    assert arguments(link) == {"q": ["water"], "dimension": ["military_political"], "member_state": ["KZ"],
                               "sort": ["newest"]}
    narrowed = client.get(link)
    assert hit_references(narrowed) == ["TEST-2023-0001"]
    assert parse_html(narrowed).find("ul", id="active-filters").find_all("li")[0].text.startswith(
        "Dimension: Military-political dimension Remove")


def test_two_dimensions_are_both_required(client, corpus):
    response = archive(client, "dimension=environmental&dimension=economic")
    assert result_count(response) == "1 proposal"
    assert hit_references(response) == ["TEST-2021-0001"]
    assert result_count(archive(client, "dimension=environmental")) == "2 proposals"


def test_member_state_language_year_and_think_tank_filters_combine(client, corpus):
    assert hit_references(archive(client, "member_state=kz")) == ["TEST-2023-0001", "TEST-2021-0001"]
    assert hit_references(archive(client, "member_state=KZ&member_state=MN")) == ["TEST-2021-0001"]
    assert hit_references(archive(client, "language=ru")) == ["TEST-2022-0001"]
    assert hit_references(archive(client, "year=2020")) == ["TEST-2020-0001"]
    assert hit_references(archive(client, "think_tank=Caspian+Water+Institute&year=2023")) == ["TEST-2023-0001"]
    assert result_count(archive(client, "think_tank=Nowhere+Institute")) == "0 proposals"


def test_each_active_filter_can_be_removed_on_its_own(client, corpus):
    response = archive(client, "q=water&dimension=environmental&dimension=economic&year=2021")
    filters = parse_html(response).find("ul", id="active-filters")
    assert [item.text for item in filters.find_all("li")] == [
        "Dimension: Environmental dimension Remove Dimension: Environmental dimension",
        "Dimension: Economic dimension Remove Dimension: Economic dimension",
        "Year: 2021 Remove Year: 2021",
    ]
    assert [arguments(link.attributes["href"]) for link in filters.find_all("a")] == [
        {"q": ["water"], "dimension": ["economic"], "year": ["2021"]},
        {"q": ["water"], "dimension": ["environmental"], "year": ["2021"]},
        {"q": ["water"], "dimension": ["environmental", "economic"]},
    ]
    active = parse_html(response).find("section", id="facet-dimension").find("a", aria_current="true")
    assert arguments(active.attributes["href"]) == {"q": ["water"], "dimension": ["environmental"], "year": ["2021"]}


def test_a_new_query_in_the_search_box_keeps_the_filters_in_use(client, corpus):
    form = parse_html(archive(client, "q=water&dimension=economic&sort=newest")).find("form", role="search")
    hidden = [(field.attributes["name"], field.attributes["value"]) for field in form.find_all("input", type="hidden")]
    assert hidden == [("dimension", "economic"), ("sort", "newest")]
    response = client.get(form.attributes["action"], query_string={**form_values(form), "q": "towns"})
    assert hit_references(response) == ["TEST-2021-0001", "TEST-2020-0001"]


# --- Pages ----------------------------------------------------------------------------------------


def test_twenty_hits_a_page_and_the_twenty_first_on_page_two(client, states):
    for number in range(21):
        publish(title=f"Bridge number {number + 1}", decided=f"2020-01-{number + 1:02d}",
                reference=f"TEST-2020-{number + 1:04d}")
    first = archive(client, "q=bridge&sort=newest")
    assert result_count(first) == "21 proposals"
    assert hit_references(first) == [f"TEST-2020-{number:04d}" for number in range(21, 1, -1)]
    pages = parse_html(first).find("nav", class_="pagination")
    assert pages.text == "Page 1 of 2 Next"
    assert pages.find("a", rel="next").attributes["href"] == "/archive?page=2&q=bridge&sort=newest"
    second = client.get(pages.find("a", rel="next").attributes["href"])
    assert hit_references(second) == ["TEST-2020-0001"]
    assert parse_html(second).find("nav", class_="pagination").text == "Previous Page 2 of 2"
    assert archive(client, "q=bridge&page=3").status_code == 404


def test_a_page_past_the_end_is_not_found(client, corpus):
    assert archive(client, "page=2").status_code == 404
    assert archive(client, "q=nothingatall&page=2").status_code == 404


def test_no_result_shows_a_helpful_empty_state(client, corpus):
    response = archive(client, "q=glaciers&dimension=human")
    assert response.status_code == 200
    assert result_count(response) == "0 proposals"
    empty = parse_html(response).find("div", id="empty-state")
    assert [paragraph.text for paragraph in empty.find_all("p")] == [
        "No endorsed proposal matches this search.",
        "To widen the search, remove a filter above.",
        "Check the spelling, use fewer words, or start a word and end it with a star (secur*).",
        "Browse the whole archive",
    ]
    assert empty.find("a").attributes["href"] == "/archive"
    assert parse_html(response).find("aside", id="facets") is None


def test_the_csv_export_and_the_feed_are_linked_with_the_same_search(client, corpus):
    page = parse_html(archive(client, "q=water&dimension=economic&member_state=KZ&sort=newest&page=1"))
    assert page.find("a", id="export-csv").attributes["href"] == (
        "/archive/export.csv?q=water&dimension=economic&member_state=KZ&sort=newest")
    assert page.find("a", id="feed").attributes["href"] == "/archive/feed.atom"


# --- Bad parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message"), [
    ("dimension=military", 'dimension "military" is unknown; use one of: economic, environmental, human, '
                           "military_political, new_challenges."),
    ("member_state=XX", 'member_state "XX" is not a member state\'s code.'),
    ("member_state=K1", 'member_state must be a two-letter ISO 3166-1 code such as KZ, not "K1".'),
    ("language=zz", 'language must be a two-letter ISO 639-1 code such as en or ru, not "zz".'),
    ("year=last", 'year must be a whole number from 1 to 9999, not "last".'),
    ("year=-2020", 'year must be a whole number from 1 to 9999, not "-2020".'),
    ("sort=oldest", "sort must be one of: relevance, newest."),
    ("page=0", 'page must be a whole number from 1 to 10000, not "0".'),
    ("page=two", 'page must be a whole number from 1 to 10000, not "two".'),
    ("page=" + "9" * 50, f'page must be a whole number from 1 to 10000, not "{"9" * 40}…".'),
    ("q=coasts", "q may be given only once."),
])
def test_a_parameter_that_means_nothing_is_refused_with_the_reason(client, corpus, query, message):
    response = archive(client, f"q=water&{query}")
    assert response.status_code == 400
    errors = parse_html(response).find("div", id="search-errors")
    assert [item.text for item in errors.find_all("li")] == [message]
    assert errors.find("a").attributes["href"] == "/archive"
    assert parse_html(response).find("input", id="q").attributes["value"] == "water"
    assert parse_html(response).find("ol", id="hits") is None


def test_a_refused_parameter_is_shown_escaped(client, corpus):
    response = archive(client, "dimension=%3Cscript%3Ealert(1)%3C/script%3E")
    assert response.status_code == 400
    assert "<script>alert(1)" not in response.get_data(as_text=True)
    assert parse_html(response).find("div", id="search-errors").find("li").text == (
        'dimension "<script>alert(1)</script>" is unknown; use one of: economic, environmental, human, '
        "military_political, new_challenges.")


def test_a_long_query_is_cut_with_a_notice_not_refused(client, corpus):
    response = archive(client, "q=" + "water+" * 60)
    assert response.status_code == 200
    assert parse_html(response).find("p", id="search-notice").text == (
        "Your query was cut to its first 256 characters.")


# --- Nothing that is not public ------------------------------------------------------------------


@pytest.fixture
def hidden_proposals(states, people, make_proposal):
    """The marker in proposals at every step before or beside the archive, and in imported outcomes
    that were not endorsed; one endorsed proposal without it."""
    secretariat, author = people["secretariat"], people["author"]
    steps = {
        "draft": [],
        "submitted": [("submit", author)],
        "changes_requested": [("submit", author), ("return_for_revision", secretariat)],
        "in_review": [("submit", author), ("start_review", secretariat)],
        "consensus": [("submit", author), ("start_review", secretariat), ("open_consensus", secretariat)],
        "not_endorsed": [("submit", author), ("start_review", secretariat), ("open_consensus", secretariat),
                         ("close_without_consensus", secretariat)],
        "withdrawn": [("submit", author), ("withdraw", author)],
    }
    made = {}
    for state, actions in steps.items():
        proposal = make_proposal(author=author, title=f"Water {MARKER} {state}",
                                 body=f"Shared water, {HIDDEN_WORD} and {MARKER}.", summary=f"{MARKER} summary.")
        for action, actor in actions:
            take(proposal, action, actor, note="Please revise." if action == "return_for_revision" else None)
            db.session.commit()
        assert proposal.state == ProposalState(state)
        made[state] = proposal
    for state in (ProposalState.NOT_ENDORSED, ProposalState.WITHDRAWN):
        publish(title=f"Water {MARKER} {state.value}", body=f"{HIDDEN_WORD} {MARKER}", state=state,
                decided="2018-01-01")
    publish(title="Public water", body="Shared water.", decided="2019-06-01", reference="TEST-2019-0001")
    return made


@pytest.mark.parametrize("viewer", [None, "author", "secretariat"])
def test_a_query_matching_only_proposals_outside_the_archive_finds_nothing_for_anyone(
        app, client, people, hidden_proposals, viewer):
    browser = client if viewer is None else signed_in(app, people[viewer])
    for query, found in ((f"q={HIDDEN_WORD}", []), ("q=zebra*", []), ("q=water", ["TEST-2019-0001"]),
                         ("q=water&sort=newest", ["TEST-2019-0001"]), ("", ["TEST-2019-0001"])):
        response = archive(browser, query)
        assert response.status_code == 200
        assert MARKER not in response.get_data(as_text=True).lower()
        assert hit_references(response) == found
    assert facet(archive(browser), "year") == [("2019", 1)]
    assert facet(archive(browser), "think_tank") == []
    # What was typed comes back in the search box and the export link, and nowhere else.
    typed = archive(browser, f"q=title:{MARKER}")
    assert result_count(typed) == "0 proposals"
    page = parse_html(typed)
    assert page.find("input", id="q").attributes["value"] == f"title:{MARKER}"
    assert page.find("a", id="export-csv").attributes["href"] == f"/archive/export.csv?q=title:{MARKER}"
    assert typed.get_data(as_text=True).lower().count(MARKER) == 2


# --- Long facet groups ------------------------------------------------------------------------------


def test_a_long_facet_group_shows_its_ten_most_frequent_values_and_a_link_to_all_of_them(client, states):
    # Twelve years: 2011 twice, the others once.
    for year in range(2001, 2013):
        publish(title=f"Water plan {year}", decided=f"{year}-06-01")
    publish(title="Water plan 2011 again", decided="2011-07-01")

    response = archive(client, "q=water")
    years = facet(response, "year")
    assert len(years) == 10
    assert years[0] == ("2011", 2)
    assert sum(count for _label, count in years) == 11
    group = parse_html(response).find("section", id="facet-year")
    toggle = group.find("p", class_="facet-toggle").find("a")
    assert toggle.text == "Show all 12 (Year of the decision)"
    assert arguments(toggle.attributes["href"].split("#")[0]) == {"q": ["water"], "expand": ["year"]}
    assert parse_html(response).find("section", id="facet-dimension").find("p", class_="facet-toggle") is None

    expanded = client.get(toggle.attributes["href"].split("#")[0])
    assert expanded.status_code == 200
    assert len(facet(expanded, "year")) == 12
    back = parse_html(expanded).find("section", id="facet-year").find("p", class_="facet-toggle").find("a")
    assert back.text == "Show the most frequent only"
    assert arguments(back.attributes["href"].split("#")[0]) == {"q": ["water"]}


def test_expand_names_a_facet_group_or_the_page_says_what_it_accepts(client, states):
    publish(title="Water plan")
    response = archive(client, "q=water&expand=colour")
    assert response.status_code == 400
    assert "expand must be one of: dimension, member_state, language, year, think_tank." in response.get_data(
        as_text=True)
