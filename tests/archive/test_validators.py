"""HTTP validators on what the public reads (expert_platform/conditional.py): an anonymous reader's archive
page, API answers, proposal pages and feed carry an ETag and ``Cache-Control: no-cache``; asking again with
``If-None-Match`` gets 304 without a body while nothing changed, and the new page as soon as something did.
Signed-in pages get no validator (they stay ``no-store``); the search caches and validators are counted on the
request's log line (LOG_FORMAT=json)."""

from __future__ import annotations

import pytest

from expert_platform.extensions import db
from tests.search_corpus import publish
from tests.test_request_log import log_lines  # noqa: F401, F811 - the fixture: the log lines as JSON

PUBLIC_PAGES = ("/archive?q=water", "/archive", "/api/v1/proposals?q=water", "/api/v1/proposals/TEST-2020-0001",
                "/proposals/TEST-2020-0001", "/archive/feed.atom")


@pytest.fixture
def published(states):
    first = publish(title="Water for towns", body="Water and rivers.", reference="TEST-2020-0001")
    publish(title="Water for farms", body="Water and fields.", reference="TEST-2020-0002")
    return first


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_a_public_read_carries_a_tag_and_answers_304_while_it_is_unchanged(client, published, path):
    first = client.get(path)
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert tag.startswith('"') and len(tag) > 10
    assert first.headers["Cache-Control"] == "no-cache"

    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == tag

    other = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.data == first.data


def test_a_change_to_the_proposal_changes_the_tag_of_its_page_and_of_the_archive(client, published):
    page = client.get("/proposals/TEST-2020-0001")
    search = client.get("/archive?q=water")

    proposal = db.session.merge(published)
    proposal.title = "Water for every town"
    db.session.commit()

    changed = client.get("/proposals/TEST-2020-0001", headers={"If-None-Match": page.headers["ETag"]})
    assert changed.status_code == 200
    assert "Water for every town" in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != page.headers["ETag"]
    searched = client.get("/archive?q=water", headers={"If-None-Match": search.headers["ETag"]})
    assert searched.status_code == 200
    assert "every town" in searched.get_data(as_text=True)


def test_the_language_of_the_page_is_part_of_its_tag(client, published):
    english = client.get("/archive?q=water", headers={"Accept-Language": "en"})
    russian = client.get("/archive?q=water",
                         headers={"Accept-Language": "ru", "If-None-Match": english.headers["ETag"]})
    assert russian.status_code == 200
    assert russian.headers["ETag"] != english.headers["ETag"]
    assert "Accept-Language" in russian.headers["Vary"]


def test_a_signed_in_reader_gets_no_tag_and_no_304(client, published, make_user, login):
    login(make_user())
    first = client.get("/proposals/TEST-2020-0001")
    assert first.status_code == 200
    assert "ETag" not in first.headers
    assert first.headers["Cache-Control"] == "no-store"
    again = client.get("/proposals/TEST-2020-0001", headers={"If-None-Match": "*"})
    assert again.status_code == 200


def test_errors_and_other_pages_get_no_tag(client, published):
    assert "ETag" not in client.get("/proposals/TEST-2020-9999").headers
    refused = client.get("/archive?sort=bogus")
    assert refused.status_code == 400
    assert "ETag" not in refused.headers
    assert "ETag" not in client.get("/login").headers


def test_the_search_caches_and_validators_are_counted_on_the_request_line(app, client, published,
                                                                           log_lines):  # noqa: F811
    app.config["LOG_FORMAT"] = "json"  # as production writes its log (the backends' parameter sets app_overrides)
    first = client.get("/archive?q=rivers")
    client.get("/archive?q=rivers")
    client.get("/archive?q=rivers", headers={"If-None-Match": first.headers["ETag"]})
    client.get("/proposals/TEST-2020-0001")
    client.get("/proposals/TEST-2020-0001")
    caches = [line.get("cache") for line in log_lines() if line["message"] == "request"]
    assert caches[0] == {"search results": {"hits": 0, "misses": 2}}
    assert caches[1] == {"search results": {"hits": 2, "misses": 0}}
    assert caches[2] == {"search results": {"hits": 2, "misses": 0}, "validators": {"hits": 1, "misses": 0}}
    assert caches[3] == {"more like this": {"hits": 0, "misses": 1}}
    assert caches[4] == {"more like this": {"hits": 1, "misses": 0}}
