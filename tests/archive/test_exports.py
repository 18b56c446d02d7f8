"""The archive's exports (issue 6 point 7): the CSV of a search, BibTeX and RIS citations, the Atom feed."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from expert_platform.archive import exports
from expert_platform.enums import ProposalState, Role
from expert_platform.extensions import db
from expert_platform.search import service
from tests.journeys import take
from tests.search_corpus import publish

HEADER = ("reference,title,summary,language,dimensions,member_states,think_tanks,authors,state,submitted_at,"
          "decided_at,url\r\n")
ATOM = {"atom": "http://www.w3.org/2005/Atom"}
SECRET = "Quillonquux"
ORGANISATION = "Conference on Interaction and Confidence-Building Measures in Asia"


@pytest.fixture
def corpus(app, states):
    publish(title="Water sharing on the Syr Darya", summary="Shared rivers, shared data.", body="Water for towns.",
            dimensions=("environmental", "economic"), member_states=("UZ", "KZ"),
            think_tanks=(("Eurasian Water Institute", "KZ"), ("Aral Centre", "UZ")), authors=("Ann Lee", "Bo Chen"),
            decided="2021-03-15", submitted="2021-01-10", reference="TTF-2021-001")
    publish(title="Опреснение морской воды", body="Проект опреснения воды.", language="ru",
            dimensions=("human",), member_states=("RU",), authors=("Ivan Petrov",), decided="2022-07-01",
            reference="TTF-2022-002")
    publish(title="Trade corridors", summary="Rail & <freight>.", body="Rail freight and water tariffs.",
            dimensions=("economic",), authors=(), decided="2020-02-02", reference="TTF-2020-003")
    publish(title=f"Water {SECRET}", body=f"Water {SECRET}.", state=ProposalState.NOT_ENDORSED,
            decided="2023-01-01", reference="TTF-2023-004")


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


# --- CSV -------------------------------------------------------------------------------------------


def test_the_csv_holds_every_match_of_the_search_with_the_item_fields(client, corpus):
    response = client.get("/archive/export.csv", query_string={"q": "water", "sort": "newest"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=archive.csv"
    assert response.get_data(as_text=True) == HEADER + (
        'TTF-2021-001,Water sharing on the Syr Darya,"Shared rivers, shared data.",en,economic; environmental,'
        "KZ; UZ,Aral Centre; Eurasian Water Institute,Ann Lee; Bo Chen,endorsed,2021-01-10T00:00:00+00:00,"
        "2021-03-15T00:00:00+00:00,http://platform.test/proposals/TTF-2021-001\r\n"
        "TTF-2020-003,Trade corridors,Rail & <freight>.,en,economic,,,,endorsed,2020-02-02T00:00:00+00:00,"
        "2020-02-02T00:00:00+00:00,http://platform.test/proposals/TTF-2020-003\r\n"
    )


def test_the_csv_takes_the_filters_of_the_search_and_ignores_paging(client, corpus):
    russian = client.get("/archive/export.csv?language=ru&page=7&per_page=1")
    economic = client.get("/archive/export.csv?dimension=economic&sort=newest")
    assert [row[0] for row in rows_of(russian)] == ["reference", "TTF-2022-002"]
    assert [row[0] for row in rows_of(economic)] == ["reference", "TTF-2021-001", "TTF-2020-003"]


def test_the_csv_reads_every_page_of_the_service(client, corpus, monkeypatch):
    monkeypatch.setattr(service, "MAX_PER_PAGE", 1)
    response = client.get("/archive/export.csv")
    assert [row[0] for row in rows_of(response)] == ["reference", "TTF-2022-002", "TTF-2021-001", "TTF-2020-003"]


def test_the_csv_stops_at_its_cap(client, states, monkeypatch):
    for number in range(1, 6):
        publish(title=f"Outcome {number}", decided=f"2020-01-0{number}", reference=f"TTF-2020-00{number}")
    monkeypatch.setattr(exports, "MAX_ROWS", 3)
    monkeypatch.setattr(service, "MAX_PER_PAGE", 2)
    response = client.get("/archive/export.csv")
    assert [row[0] for row in rows_of(response)] == ["reference", "TTF-2020-005", "TTF-2020-004", "TTF-2020-003"]


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(client, states):
    publish(title='=HYPERLINK("http://evil.example","click")', summary="+1+1", authors=("@admin", "-minus", "Plain"),
            think_tanks=(("\tTabbed Institute", "KZ"),), body="Text.", decided="2021-05-05", reference="TTF-2021-009")
    publish(title="\rCarriage return first", summary="Fine = not first", decided="2021-04-04",
            reference="TTF-2021-008")
    rows = rows_of(client.get("/archive/export.csv", query_string={"sort": "newest"}))
    assert rows[1][:8] == ["TTF-2021-009", "'=HYPERLINK(\"http://evil.example\",\"click\")", "'+1+1", "en", "economic",
                           "", "'\tTabbed Institute", "'@admin; -minus; Plain"]
    assert rows[2][:3] == ["TTF-2021-008", "'\rCarriage return first", "Fine = not first"]


@pytest.mark.parametrize(("cell", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("a=1", "a=1"), ("", ""), ("'quoted", "'quoted"),
])
def test_neutralise_prefixes_exactly_the_formula_starts(cell, expected):
    assert exports.neutralise(cell) == expected


def test_a_bad_parameter_of_the_csv_is_a_400_naming_it(client, corpus):
    response = client.get("/archive/export.csv?member_state=XX")
    assert response.status_code == 400
    assert "member_state &#34;XX&#34; is not a member state&#39;s code." in response.get_data(as_text=True)


# --- citations ------------------------------------------------------------------------------------


@pytest.fixture
def special(app, states):
    return publish(title="Water & 100% {safe} rivers_#1 ~ ^ $ \\ now", summary="Why.", body="Text.",
                   think_tanks=(("Eurasian Water Institute", "KZ"), ("R&D Centre", "UZ")),
                   authors=("Ann Lee", "Research and Policy Team", "Zoë Müller_Smith"),
                   decided="2021-03-15", submitted="2021-01-10", reference="TTF-2021-007")


def test_bibtex_cites_a_techreport_with_special_characters_escaped(client, special):
    response = client.get("/proposals/ttf-2021-007/cite.bib")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-bibtex; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=TTF-2021-007.bib"
    assert response.get_data(as_text=True) == (
        "@techreport{TTF-2021-007,\n"
        "  title = {{Water \\& 100\\% \\{safe\\} rivers\\_\\#1 \\textasciitilde{} \\textasciicircum{} \\$ "
        "\\textbackslash{} now}},\n"
        "  author = {Ann Lee and {Research and Policy Team} and Zoë Müller\\_Smith},\n"
        "  institution = {Eurasian Water Institute; R\\&D Centre},\n"
        "  year = {2021},\n"
        "  month = mar,\n"
        "  number = {TTF-2021-007},\n"
        "  url = {http://platform.test/proposals/TTF-2021-007},\n"
        "  note = {Endorsed by the council on 2021-03-15}\n"
        "}\n"
    )


def test_the_proposal_page_shows_the_citation_its_authors_and_links_to_both_formats(client, special):
    page = client.get("/proposals/TTF-2021-007").get_data(as_text=True)

    assert ('<p class="citation">Ann Lee; Research and Policy Team; Zoë Müller_Smith (2021). '
            "Water &amp; 100% {safe} rivers_#1 ~ ^ $ \\ now. Eurasian Water Institute; R&amp;D Centre, "
            "TTF-2021-007. http://platform.test/proposals/TTF-2021-007</p>") in page
    assert 'href="/proposals/TTF-2021-007/cite.bib" download>BibTeX</a>' in page
    assert 'href="/proposals/TTF-2021-007/cite.ris" download>RIS (EndNote, Zotero, Mendeley)</a>' in page
    assert '<ul class="authors"><li>Ann Lee</li><li>Research and Policy Team</li><li>Zoë Müller_Smith</li></ul>' in page


def test_a_proposal_that_is_not_endorsed_offers_no_citation(client, states, make_user, login):
    publish(title="Closed", reference="TTF-2021-009", state=ProposalState.NOT_ENDORSED)
    login(make_user(roles=(Role.ADMIN,)))

    page = client.get("/proposals/TTF-2021-009")

    assert page.status_code == 200
    assert "Cite this proposal" not in page.get_data(as_text=True)
    assert "cite.bib" not in page.get_data(as_text=True)


def test_ris_cites_a_report_line_by_line(client, special):
    response = client.get("/proposals/TTF-2021-007/cite.ris")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-research-info-systems; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=TTF-2021-007.ris"
    assert response.get_data(as_text=True) == (
        "TY  - RPRT\r\n"
        "TI  - Water & 100% {safe} rivers_#1 ~ ^ $ \\ now\r\n"
        "AU  - Ann Lee\r\n"
        "AU  - Research and Policy Team\r\n"
        "AU  - Zoë Müller_Smith\r\n"
        "PY  - 2021\r\n"
        "DA  - 2021/03/15/\r\n"
        "PB  - Eurasian Water Institute; R&D Centre\r\n"
        "UR  - http://platform.test/proposals/TTF-2021-007\r\n"
        "ID  - TTF-2021-007\r\n"
        "N1  - Endorsed by the council on 2021-03-15\r\n"
        "ER  - \r\n"
    )


def test_a_proposal_without_think_tanks_or_authors_is_cited_under_the_organisation(client, corpus):
    bib = client.get("/proposals/TTF-2020-003/cite.bib").get_data(as_text=True)
    ris = client.get("/proposals/TTF-2020-003/cite.ris").get_data(as_text=True)
    assert bib == (
        "@techreport{TTF-2020-003,\n  title = {{Trade corridors}},\n"
        f"  institution = {{{ORGANISATION}}},\n  year = {{2020}},\n  month = feb,\n  number = {{TTF-2020-003}},\n"
        "  url = {http://platform.test/proposals/TTF-2020-003},\n"
        "  note = {Endorsed by the council on 2020-02-02}\n}\n"
    )
    assert "AU  -" not in ris
    assert f"PB  - {ORGANISATION}\r\n" in ris


@pytest.fixture
def secretariat(make_user):
    return make_user(email="secretariat@example.org", display_name="Secretariat Officer", roles=(Role.ADMIN,))


@pytest.fixture
def in_consensus(make_proposal, make_user, make_think_tank, secretariat):
    author = make_user(email="author@example.org", roles=(Role.EXPERT,))
    make_think_tank(experts=[author])
    proposal = make_proposal(author=author, title=f"{SECRET} in consensus", summary=f"{SECRET} summary")
    for action in ("submit", "start_review", "open_consensus"):
        take(proposal, action, author if action == "submit" else secretariat)
        db.session.commit()
    return proposal


@pytest.mark.parametrize("suffix", ["bib", "ris"])
def test_citations_of_proposals_that_are_not_public_are_the_404_of_a_missing_one(
        app, client, login, corpus, secretariat, in_consensus, suffix):
    anonymous = app.test_client()
    login(secretariat)
    missing = anonymous.get(f"/proposals/TTF-1999-001/cite.{suffix}")
    assert missing.status_code == 404
    for visitor in (anonymous, client):
        for reference in ("TTF-2023-004", in_consensus.reference):
            response = visitor.get(f"/proposals/{reference}/cite.{suffix}")
            assert (response.status_code, response.content_type) == (404, "text/html; charset=utf-8")
            assert SECRET not in response.get_data(as_text=True)
            assert "The page you asked for does not exist or is not available to you." in response.get_data(
                as_text=True)
    assert anonymous.get(f"/proposals/TTF-2023-004/cite.{suffix}").data == missing.data


# --- Atom feed ------------------------------------------------------------------------------------


def entries_of(response) -> list[dict]:
    root = ET.fromstring(response.data)
    return [{
        "id": entry.findtext("atom:id", namespaces=ATOM),
        "title": entry.findtext("atom:title", namespaces=ATOM),
        "updated": entry.findtext("atom:updated", namespaces=ATOM),
        "link": entry.find("atom:link", ATOM).get("href"),
        "summary": entry.findtext("atom:summary", namespaces=ATOM),
        "authors": [name.text for name in entry.findall("atom:author/atom:name", ATOM)],
        "categories": [category.get("term") for category in entry.findall("atom:category", ATOM)],
    } for entry in root.findall("atom:entry", ATOM)]


def test_the_feed_lists_endorsed_proposals_newest_first(client, corpus):
    response = client.get("/archive/feed.atom")
    assert (response.status_code, response.headers["Content-Type"]) == (200, "application/atom+xml; charset=utf-8")
    root = ET.fromstring(response.data)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert [root.findtext(f"atom:{name}", namespaces=ATOM) for name in ("id", "title", "updated")] == [
        "http://platform.test/archive/feed.atom", "Expert Platform: endorsed proposals", "2022-07-01T00:00:00+00:00"]
    assert [(link.get("rel"), link.get("href")) for link in root.findall("atom:link", ATOM)] == [
        ("self", "http://platform.test/archive/feed.atom"), ("alternate", "http://platform.test/archive")]
    assert root.findtext("atom:author/atom:name", namespaces=ATOM) == ORGANISATION
    assert entries_of(response) == [
        {"id": "http://platform.test/proposals/TTF-2022-002", "title": "Опреснение морской воды",
         "updated": "2022-07-01T00:00:00+00:00", "link": "http://platform.test/proposals/TTF-2022-002",
         "summary": None, "authors": ["Ivan Petrov"], "categories": ["human"]},
        {"id": "http://platform.test/proposals/TTF-2021-001", "title": "Water sharing on the Syr Darya",
         "updated": "2021-03-15T00:00:00+00:00", "link": "http://platform.test/proposals/TTF-2021-001",
         "summary": "Shared rivers, shared data.", "authors": ["Ann Lee", "Bo Chen"],
         "categories": ["economic", "environmental"]},
        {"id": "http://platform.test/proposals/TTF-2020-003", "title": "Trade corridors",
         "updated": "2020-02-02T00:00:00+00:00", "link": "http://platform.test/proposals/TTF-2020-003",
         "summary": "Rail & <freight>.", "authors": [], "categories": ["economic"]},
    ]
    assert b"Rail &amp; &lt;freight&gt;." in response.data
    assert SECRET.encode() not in response.data


def test_the_feed_filters_by_dimension(client, corpus):
    response = client.get("/archive/feed.atom?dimension=economic")
    root = ET.fromstring(response.data)
    assert [entry["id"] for entry in entries_of(response)] == ["http://platform.test/proposals/TTF-2021-001",
                                                               "http://platform.test/proposals/TTF-2020-003"]
    assert (root.findtext("atom:id", namespaces=ATOM), root.findtext("atom:title", namespaces=ATOM)) == (
        "http://platform.test/archive/feed.atom?dimension=economic",
        "Expert Platform: endorsed proposals (Economic dimension)")
    assert root.findtext("atom:updated", namespaces=ATOM) == "2021-03-15T00:00:00+00:00"


def test_the_feed_holds_the_fifty_newest_only(client, corpus, monkeypatch):
    monkeypatch.setattr(exports, "FEED_SIZE", 2)
    response = client.get("/archive/feed.atom")
    assert [entry["id"] for entry in entries_of(response)] == ["http://platform.test/proposals/TTF-2022-002",
                                                               "http://platform.test/proposals/TTF-2021-001"]


def test_an_empty_feed_is_still_a_valid_feed(client, app):
    response = client.get("/archive/feed.atom?dimension=military_political")
    root = ET.fromstring(response.data)
    assert (response.status_code, entries_of(response)) == (200, [])
    assert root.findtext("atom:updated", namespaces=ATOM).endswith("+00:00")


def test_a_bad_dimension_for_the_feed_is_a_400_naming_it(client, corpus):
    response = client.get("/archive/feed.atom?dimension=economy")
    assert response.status_code == 400
    assert ("dimension &#34;economy&#34; is unknown; use one of: economic, environmental, human, military_political, "
            "new_challenges.") in response.get_data(as_text=True)


def test_characters_xml_forbids_are_dropped_from_the_feed(client, states):
    publish(title="Bell\x07 and form\x0cfeed", summary="Start\x01 here", reference="TTF-2021-005")
    response = client.get("/archive/feed.atom")
    assert [(entry["title"], entry["summary"]) for entry in entries_of(response)] == [("Bell and formfeed",
                                                                                       "Start here")]
