"""The API and its OpenAPI document agree (issue 15 point 7): one test for each disagreement Schemathesis
(``make test-api-contract``) or a reading of the code found, with the side that was changed and why in its
docstring. The document is read as a client reads it, from /api/v1/openapi.json."""

from __future__ import annotations

import re
from itertools import product
from string import ascii_lowercase

import pytest
from werkzeug.datastructures import MultiDict

from expert_platform.archive import params
from expert_platform.archive.params import BadParameter, search_request
from expert_platform.enums import Role, StateKind
from expert_platform.extensions import db
from expert_platform.proposals.models import REFERENCE_PATTERN
from expert_platform.reference import services as reference_services
from tests.search_corpus import publish

SEARCH = "/api/v1/proposals"
ONE = "/api/v1/proposals/{reference}"
DOCUMENT = "/api/v1/openapi.json"
WATER = "TTF-2021-001"
STEPPE = "TTF-2022-002"
EVERY_TWO_LETTERS = ["".join(pair) for pair in product(ascii_lowercase, repeat=2)]
NOT_FOUND = {"error": "No public proposal has this reference."}


@pytest.fixture
def corpus(app, states):
    publish(title="Water sharing on the Syr Darya", body="Shared rivers.", dimensions=("environmental", "economic"),
            member_states=("KZ", "UZ"), think_tanks=(("Eurasian Water Institute", "KZ"),), decided="2021-03-15",
            reference=WATER)
    publish(title="Trade across the steppe", body="Rail freight.", language="ru", dimensions=("economic",),
            member_states=("KZ",), decided="2022-05-01", reference=STEPPE)


@pytest.fixture
def document(client, corpus) -> dict:
    return client.get(DOCUMENT).get_json()


def parameter(document: dict, name: str) -> dict:
    found = [item for item in document["paths"][SEARCH]["get"]["parameters"] if item["name"] == name]
    assert len(found) == 1, name
    return found[0]


def answer(response) -> tuple[int, str, dict]:
    return response.status_code, response.content_type, response.get_json()


def accepts(query: dict) -> bool:
    """Whether the parameters' reader (the API's, the page's, the exports') takes ``query``."""
    try:
        search_request(MultiDict(query))
    except BadParameter:
        return False
    return True


EVERYTHING = {"total": 2, "references": [STEPPE, WATER]}


def found(response) -> dict:
    body = response.get_json()
    return {"total": body["total"], "references": [item["reference"] for item in body["items"]]}


# --- member_state: the member states of the reference data, listed ------------------------------------


def test_member_state_lists_the_member_states_of_the_reference_data_in_both_cases(client, document, states):
    """Was: any two letters (pattern), while the server refused codes missing from the reference data (ZZ,
    AA: Schemathesis's "schema-valid request rejected"). The document changed: it lists the codes, read
    from the same reference data the server checks against, when it is asked for."""
    members = sorted(code for code, state in states.items() if state.kind == StateKind.MEMBER_STATE)
    schema = parameter(document, "member_state")["schema"]
    assert schema == {"type": "array", "items": {"type": "string",
                                                 "enum": [*members, *(code.lower() for code in members)]}}
    assert len(members) == 28 and members[:3] == ["AE", "AF", "AZ"]
    for code in ("KZ", "kz"):
        assert found(client.get(SEARCH, query_string={"member_state": code})) == EVERYTHING
    assert answer(client.get(SEARCH, query_string={"member_state": "AA"})) == (
        400, "application/json", {"error": 'member_state "AA" is not a member state\'s code.'})


def test_a_member_state_the_secretariat_adds_is_listed_and_accepted_at_once(client, corpus, make_user):
    """The list is the reference data's, not a copy: a state that joins appears in the next document."""
    secretariat = make_user(roles=(Role.ADMIN,))
    assert client.get(SEARCH, query_string={"member_state": "OM"}).status_code == 400
    reference_services.add_state(actor=secretariat, code="OM", name="Oman", kind=StateKind.MEMBER_STATE)
    db.session.commit()
    enum = parameter(client.get(DOCUMENT).get_json(), "member_state")["schema"]["items"]["enum"]
    assert ({"OM", "om"} <= set(enum), len(enum)) == (True, 2 * 29)
    assert found(client.get(SEARCH, query_string={"member_state": "OM"})) == {"total": 0, "references": []}


def test_without_reference_data_no_member_state_may_be_given(client):
    """Before `flask seed-reference` the server refuses every code; the document says so without an empty
    enumeration (which OpenAPI 3.0 forbids)."""
    schema = parameter(client.get(DOCUMENT).get_json(), "member_state")["schema"]
    assert schema == {"type": "array", "items": {"type": "string"}, "maxItems": 0}
    assert answer(client.get(SEARCH, query_string={"member_state": "KZ"})) == (
        400, "application/json", {"error": 'member_state "KZ" is not a member state\'s code.'})


def test_an_observer_state_is_neither_listed_nor_accepted(client, document, states):
    """Was: accepted (``member_state=US`` answered 200 and an empty page) though the message calls the
    refused ones "not a member state's code" and no proposal can concern an observer. The server changed,
    to what the document lists: member states only."""
    assert states["US"].kind == StateKind.OBSERVER_STATE
    assert "US" not in parameter(document, "member_state")["schema"]["items"]["enum"]
    assert answer(client.get(SEARCH, query_string={"member_state": "US"})) == (
        400, "application/json", {"error": 'member_state "US" is not a member state\'s code.'})


def test_member_state_accepts_exactly_the_spellings_the_document_lists(client, document, app):
    """Was "either case", which an enumeration cannot list short of four spellings a code: ``Kz`` is now
    refused; ``KZ`` and ``kz`` are listed and accepted. Every two-letter value in every case is checked."""
    listed = set(parameter(document, "member_state")["schema"]["items"]["enum"])
    for letters in EVERY_TWO_LETTERS:
        for value in {letters, letters.upper(), letters.capitalize(), letters[0] + letters[1].upper()}:
            assert accepts({"member_state": value}) is (value in listed), value
    assert answer(client.get(SEARCH, query_string={"member_state": "Kz"})) == (
        400, "application/json", {"error": 'member_state "Kz" is not a member state\'s code.'})


# --- language: the codes babel names, listed ----------------------------------------------------------


def test_language_lists_exactly_the_codes_the_server_accepts(client, document):
    """Was: any two letters (pattern), while the server refused codes babel does not name (qq), and took
    any case (Ru). The document lists the codes in small letters and in capitals; the server refuses mixed
    case. Every two-letter value in every case is checked against the list."""
    schema = parameter(document, "language")["schema"]
    codes = params.language_codes()
    assert schema == {"type": "string", "enum": [*codes, *(code.upper() for code in codes)]}
    assert (len(codes), codes[:3], "en" in codes, "ru" in codes, "zh" in codes) == (184, ["aa", "ab", "ae"],
                                                                                      True, True, True)
    listed = set(schema["enum"])
    for letters in EVERY_TWO_LETTERS:
        for value in {letters, letters.upper(), letters.capitalize(), letters[0] + letters[1].upper()}:
            assert accepts({"language": value}) is (value in listed), value
    assert answer(client.get(SEARCH, query_string={"language": "Ru"})) == (
        400, "application/json", {"error": 'language must be a two-letter ISO 639-1 code such as en or ru, not "Ru".'})


# --- empty values -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*params.SEARCH_PARAMETERS, *params.PAGE_PARAMETERS])
def test_a_parameter_given_once_empty_is_documented_and_answered_as_absent(client, document, name):
    """Was: ``?language=`` (and ``dimension=``, ``sort=``, ``year=``, ...) answered 200 as if absent, as the
    description said, while each schema refused the empty string (Schemathesis's "schema-violating request
    accepted"). The document changed: every parameter has ``allowEmptyValue``. The server keeps its rule,
    for a demanding user's sake too: a search form or a URL template (``?language={language}``) sends its
    blank fields, and a 400 for them would break such clients for no gain; tests/archive/test_api.py holds
    the rule for the page, the API, the CSV export and the feed alike."""
    assert parameter(document, name)["allowEmptyValue"] is True
    response = client.get(f"{SEARCH}?{name}=")
    assert (response.status_code, found(response)) == (200, EVERYTHING)


@pytest.mark.parametrize(("query_string", "message"), [
    ("dimension=economic&dimension=", 'dimension "" is unknown; use one of: economic, environmental, human, '
                                      "military_political, new_challenges."),
    ("member_state=KZ&member_state=", 'member_state must be a two-letter ISO 3166-1 code such as KZ, not "".'),
    ("language=en&language=", "language may be given only once."),
    ("q=&q=water", "q may be given only once."),
])
def test_an_empty_value_beside_others_is_a_bad_value(client, corpus, query_string, message):
    """Was: skipped (``dimension=economic&dimension=`` searched economic), though the items' enumeration
    has no empty value and a non-repeatable parameter may be given once. The server changed: only a
    parameter given once, empty, counts as absent; anything else is held to the document."""
    assert answer(client.get(f"{SEARCH}?{query_string}")) == (400, "application/json", {"error": message})


# --- values as given ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message"), [
    ({"dimension": " economic"}, 'dimension " economic" is unknown; use one of: economic, environmental, human, '
                                 "military_political, new_challenges."),
    ({"member_state": "KZ "}, 'member_state must be a two-letter ISO 3166-1 code such as KZ, not "KZ ".'),
    ({"language": " en"}, 'language must be a two-letter ISO 639-1 code such as en or ru, not " en".'),
    ({"sort": "newest "}, "sort must be one of: relevance, newest."),
    ({"year": " 2021"}, 'year must be a whole number from 1 to 9999, not " 2021".'),
    ({"page": "1 "}, 'page must be a whole number from 1 to 10000, not "1 ".'),
    ({"per_page": " 5"}, 'per_page must be a whole number from 1 to 100, not " 5".'),
    ({"language": " "}, 'language must be a two-letter ISO 639-1 code such as en or ru, not " ".'),
])
def test_an_enumerated_or_numeric_value_is_taken_as_given(client, corpus, query, message):
    """Was: stripped first, so `` economic`` or ``KZ `` passed though no enumeration lists them and no
    integer is written with spaces. The server changed: such values are refused, naming the parameter."""
    assert answer(client.get(SEARCH, query_string=query)) == (400, "application/json", {"error": message})


def test_the_free_texts_ignore_surrounding_spaces_and_think_tank_counts_its_length_as_given(client, corpus):
    """Was: think_tank's 200 characters counted after stripping, so a 201-character value the document's
    maxLength refuses was accepted. The server changed: the length is the value's as given; its spaces
    are still ignored for the match, as the document now says (for ``q`` too)."""
    assert "Surrounding spaces are ignored" in parameter(client.get(DOCUMENT).get_json(), "q")["description"]
    padded = client.get(SEARCH, query_string={"think_tank": "  Eurasian Water Institute ", "q": " Syr "})
    blank = client.get(SEARCH, query_string={"think_tank": "   "})
    assert (found(padded), found(blank)) == ({"total": 1, "references": [WATER]}, EVERYTHING)
    too_long = client.get(SEARCH, query_string={"think_tank": "x" * 200 + " "})
    assert answer(too_long) == (400, "application/json", {"error": "think_tank must be at most 200 characters."})


# --- one proposal's reference -------------------------------------------------------------------------


def test_the_reference_is_documented_by_the_servers_pattern_in_either_case(document):
    """Was: any string. The document now gives the server's REFERENCE_PATTERN, in either case since the
    server reads the reference in capitals."""
    schema = document["paths"][ONE]["get"]["parameters"][0]["schema"]
    assert schema == {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]{1,9}-[0-9]{4}-[0-9]{1,6}$"}
    assert REFERENCE_PATTERN.pattern == "[A-Z][A-Z0-9]{1,9}-[0-9]{4}-[0-9]{1,6}"


@pytest.mark.parametrize(("reference", "is_documented", "status"), [
    ("TFF-2021-001", True, 200),
    ("tff-2021-001", True, 200),
    ("Tff-2021-001", True, 200),
    ("Tﬀ-2021-001", False, 404),
    ("TFF-2021-0001x", False, 404),
    ("T-2021-1", False, 404),
    ("TFF-2021-002", True, 404),
])
def test_a_reference_outside_the_pattern_gets_the_404(client, document, reference, is_documented, status):
    """Was: ``Tﬀ-2021-001`` (a ligature) found TFF-2021-001, since ``"ﬀ".upper()`` is "FF", though the
    pattern refuses it. The server changed: only ASCII can be a reference, so the document's pattern and
    the server agree on every string; the others get the one 404 of a missing reference."""
    publish(title="Ligatures", reference="TFF-2021-001")
    pattern = document["paths"][ONE]["get"]["parameters"][0]["schema"]["pattern"]
    assert (re.search(pattern, reference) is not None) is is_documented
    response = client.get(f"/api/v1/proposals/{reference}")
    assert response.status_code == status
    if status == 404:
        assert response.get_json() == NOT_FOUND


# --- every status an operation can answer -------------------------------------------------------------


def test_each_operation_lists_every_status_it_can_answer_each_with_the_error_schema(document):
    """Was: 200 and 400 (search), 200 and 404 (one proposal), 200 (the document); 500 (a failure, JSON)
    and 413 (a chunked body over the limit, JSON) were missing. The document changed. None answers 304
    (no validators are sent), 429 (no rate limit applies to /api/) or 405 (that is the answer of the
    methods that are not operations, stated in info.description)."""
    statuses = {path: sorted(operation["get"]["responses"]) for path, operation in document["paths"].items()}
    assert statuses == {SEARCH: ["200", "400", "413", "500"], ONE: ["200", "404", "413", "500"],
                        DOCUMENT: ["200", "413", "500"]}
    for operation in document["paths"].values():
        for status, response in operation["get"]["responses"].items():
            if status != "200":
                assert response["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def test_a_chunked_body_over_the_limit_answers_the_documented_json_413(app, client, corpus):
    app.config["MAX_CONTENT_LENGTH"] = 10
    response = client.get(SEARCH, data=b"x" * 11, headers={"Transfer-Encoding": "chunked"},
                          environ_overrides={"wsgi.input_terminated": True})
    assert answer(response) == (413, "application/json",
                                {"error": "The data value transmitted exceeds the capacity limit."})


def test_the_document_says_where_the_query_is_cut(document):
    """The query's length cap was stated as a number typed into the description; it is the search's own."""
    from expert_platform.search.query import MAX_QUERY_LENGTH

    assert f"cut at {MAX_QUERY_LENGTH} characters" in parameter(document, "q")["description"]
