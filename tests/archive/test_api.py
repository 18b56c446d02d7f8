"""The JSON API /api/v1 (issue 6 point 6): exact results on a small corpus, bad parameters, one proposal,
JSON errors, the OpenAPI document, and nothing but endorsed proposals for anyone."""

from __future__ import annotations

import pytest

from expert_platform.archive import api, params
from expert_platform.enums import ProposalState, Role
from expert_platform.extensions import db
from expert_platform.search import service
from tests.journeys import take
from tests.search_corpus import publish

WATER = "TTF-2021-001"
COASTS = "TTF-2022-002"
RUSSIAN = "TTF-2022-003"
TRADE = "TTF-2020-004"
REJECTED = "TTF-2022-005"
SECRET = "Zephyrquux"
NOT_FOUND = {"error": "No public proposal has this reference."}


@pytest.fixture
def corpus(app, states):
    """Four endorsed outcomes and one that was not endorsed (so never public)."""
    publish(title="Water sharing on the Syr Darya", summary="Shared rivers, shared data.",
            body="Desalinated water for coastal towns.", dimensions=("environmental", "economic"),
            member_states=("KZ", "UZ"), think_tanks=(("Eurasian Water Institute", "KZ"),),
            authors=("Ann Lee", "Bo Chen"), decided="2021-03-15", submitted="2021-01-10", reference=WATER)
    publish(title="Desalination plants on shared coasts", summary="Coastal water.", body="Plants for coastal towns.",
            dimensions=("environmental",), member_states=("KZ",), think_tanks=(("Eurasian Water Institute", "KZ"),),
            authors=("Chen Wei",), decided="2022-05-01", reference=COASTS)
    publish(title="Опреснение морской воды", body="Проект опреснения воды.", language="ru",
            dimensions=("environmental", "human"), member_states=("RU",), think_tanks=(("Moscow Policy Centre", "RU"),),
            authors=("Ivan Petrov",), decided="2022-07-01", reference=RUSSIAN)
    publish(title="Trade corridors across the steppe", body="Rail freight and water tariffs.", dimensions=("economic",),
            member_states=("CN", "KZ"), think_tanks=(("Silk Road Forum", "CN"),), authors=("Li Na",),
            decided="2020-02-02", reference=TRADE)
    publish(title=f"Water rights {SECRET}", body=f"Water {SECRET}.", state=ProposalState.NOT_ENDORSED,
            decided="2022-08-01", reference=REJECTED)


def references(response) -> list[str]:
    return [item["reference"] for item in response.get_json()["items"]]


# --- searching ------------------------------------------------------------------------------------


def test_every_endorsed_proposal_is_found_newest_first_with_facets_over_all_of_them(client, corpus):
    response = client.get("/api/v1/proposals")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert {key: body[key] for key in ("total", "page", "per_page", "suggestion", "notice")} == {
        "total": 4, "page": 1, "per_page": 20, "suggestion": None, "notice": None}
    assert references(response) == [RUSSIAN, COASTS, WATER, TRADE]
    assert body["facets"] == {
        "dimension": {"environmental": 3, "economic": 2, "human": 1},
        "member_state": {"KZ": 3, "UZ": 1, "RU": 1, "CN": 1},
        "language": {"en": 3, "ru": 1},
        "year": {"2020": 1, "2021": 1, "2022": 2},
        "think_tank": {"Eurasian Water Institute": 2, "Moscow Policy Centre": 1, "Silk Road Forum": 1},
    }


def test_an_item_carries_every_field_of_the_contract(client, corpus):
    response = client.get("/api/v1/proposals", query_string={"q": "Syr"})
    assert response.get_json()["items"] == [{
        "reference": WATER,
        "title": "Water sharing on the Syr Darya",
        "summary": "Shared rivers, shared data.",
        "language": "en",
        "dimensions": ["economic", "environmental"],
        "member_states": ["KZ", "UZ"],
        "think_tanks": ["Eurasian Water Institute"],
        "authors": ["Ann Lee", "Bo Chen"],
        "state": "endorsed",
        "submitted_at": "2021-01-10T00:00:00+00:00",
        "decided_at": "2021-03-15T00:00:00+00:00",
        "url": f"/proposals/{WATER}",
        "highlights": {"title": "Water sharing on the <mark>Syr</mark> Darya",
                       "body": "Shared rivers, shared data. Desalinated water for coastal towns."},
    }]


def test_a_query_counts_its_facets_over_every_match_not_one_page(client, corpus):
    response = client.get("/api/v1/proposals", query_string={"q": "water", "per_page": 1})
    body = response.get_json()
    assert (body["total"], body["per_page"], len(body["items"])) == (3, 1, 1)
    assert body["facets"] == {
        "dimension": {"environmental": 2, "economic": 2},
        "member_state": {"KZ": 3, "UZ": 1, "CN": 1},
        "language": {"en": 3},
        "year": {"2020": 1, "2021": 1, "2022": 1},
        "think_tank": {"Eurasian Water Institute": 2, "Silk Road Forum": 1},
    }


def test_repeated_dimensions_and_member_states_are_all_required(client, corpus):
    both_dimensions = client.get("/api/v1/proposals?dimension=environmental&dimension=economic")
    both_states = client.get("/api/v1/proposals?member_state=kz&member_state=CN")
    assert (both_dimensions.get_json()["total"], references(both_dimensions)) == (1, [WATER])
    assert (both_states.get_json()["total"], references(both_states)) == (1, [TRADE])


@pytest.mark.parametrize(("query", "expected"), [
    ({"language": "ru"}, [RUSSIAN]),
    ({"language": "RU"}, [RUSSIAN]),
    ({"year": "2022"}, [RUSSIAN, COASTS]),
    ({"think_tank": "Eurasian Water Institute"}, [COASTS, WATER]),
    ({"think_tank": "No Such Institute"}, []),
    ({"q": "water", "dimension": "economic", "sort": "newest"}, [WATER, TRADE]),
    ({"q": "опреснение", "year": "2022"}, [RUSSIAN]),
    ({"q": "", "dimension": "", "language": ""}, [RUSSIAN, COASTS, WATER, TRADE]),
])
def test_filters_narrow_the_search(client, corpus, query, expected):
    response = client.get("/api/v1/proposals", query_string=query)
    assert response.status_code == 200
    assert (response.get_json()["total"], references(response)) == (len(expected), expected)


def test_sort_newest_orders_matches_by_decision_date(client, corpus):
    newest = client.get("/api/v1/proposals", query_string={"q": "water", "sort": "newest"})
    assert references(newest) == [COASTS, WATER, TRADE]


def test_pages_split_the_results_and_a_page_past_the_end_is_empty(client, corpus):
    second = client.get("/api/v1/proposals", query_string={"per_page": 2, "page": 2, "sort": "newest"})
    past_the_end = client.get("/api/v1/proposals", query_string={"per_page": 2, "page": 3})
    assert (second.status_code, references(second), second.get_json()["page"]) == (200, [WATER, TRADE], 2)
    assert (past_the_end.status_code, references(past_the_end)) == (200, [])
    assert past_the_end.get_json()["total"] == 4


def test_per_page_may_be_a_hundred(client, corpus):
    response = client.get("/api/v1/proposals", query_string={"per_page": 100})
    assert (response.status_code, response.get_json()["per_page"], len(references(response))) == (200, 100, 4)


def test_highlights_escape_everything_but_the_marks(client, states):
    publish(title="Water <script>alert(1)</script> & rights", body='Keep "<b>water</b>" safe.',
            reference="TTF-2023-001")
    response = client.get("/api/v1/proposals", query_string={"q": "water"})
    # The fragments end at their last word (the final full stop is left out), on both backends.
    assert response.get_json()["items"][0]["highlights"] == {
        "title": "<mark>Water</mark> &lt;script&gt;alert(1)&lt;/script&gt; &amp; rights",
        "body": "Keep &quot;&lt;b&gt;<mark>water</mark>&lt;/b&gt;&quot; safe",
    }
    assert response.get_json()["items"][0]["title"] == "Water <script>alert(1)</script> & rights"


def test_a_misspelt_word_gets_a_suggestion_and_a_malformed_query_a_notice(client, corpus):
    misspelt = client.get("/api/v1/proposals", query_string={"q": "watr"}).get_json()
    malformed = client.get("/api/v1/proposals", query_string={"q": '"Syr Darya'}).get_json()
    assert (misspelt["total"], misspelt["suggestion"], misspelt["notice"]) == (0, "water", None)
    assert (malformed["total"], [item["reference"] for item in malformed["items"]]) == (1, [WATER])
    assert malformed["notice"] == "Your query has an unclosed quote or parenthesis: it was searched as plain words."


@pytest.mark.parametrize(("query_string", "message"), [
    ("per_page=101", 'per_page must be a whole number from 1 to 100, not "101".'),
    ("per_page=0", 'per_page must be a whole number from 1 to 100, not "0".'),
    ("per_page=ten", 'per_page must be a whole number from 1 to 100, not "ten".'),
    ("page=0", 'page must be a whole number from 1 to 10000, not "0".'),
    ("page=-1", 'page must be a whole number from 1 to 10000, not "-1".'),
    ("page=10001", 'page must be a whole number from 1 to 10000, not "10001".'),
    ("year=20x1", 'year must be a whole number from 1 to 9999, not "20x1".'),
    ("sort=oldest", "sort must be one of: relevance, newest."),
    ("dimension=economy", 'dimension "economy" is unknown; use one of: economic, environmental, human, '
                          "military_political, new_challenges."),
    ("dimension=economic&dimension=Human", 'dimension "Human" is unknown; use one of: economic, environmental, '
                                           "human, military_political, new_challenges."),
    ("member_state=ZZ", 'member_state "ZZ" is not a member state\'s code.'),
    ("member_state=KAZ", 'member_state must be a two-letter ISO 3166-1 code such as KZ, not "KAZ".'),
    ("language=english", 'language must be a two-letter ISO 639-1 code such as en or ru, not "english".'),
    ("language=qq", 'language must be a two-letter ISO 639-1 code such as en or ru, not "qq".'),
    ("language=en&language=ru", "language may be given only once."),
    ("think_tank=" + "x" * 201, "think_tank must be at most 200 characters."),
    ("dimensions=economic", '"dimensions" is not a parameter of this address; use: q, dimension, member_state, '
                            "language, year, think_tank, sort, page, per_page."),
])
def test_a_bad_parameter_gets_400_naming_it(client, corpus, query_string, message):
    response = client.get(f"/api/v1/proposals?{query_string}")
    assert (response.status_code, response.content_type, response.get_json()) == (
        400, "application/json", {"error": message})


# --- one proposal ---------------------------------------------------------------------------------


def test_one_proposal_is_its_item_with_its_html(client, corpus):
    publish(title="Rivers & <dams>", summary="Gauges <now>.", body="## Plan\n\nShare **data**.",
            reference="TTF-2023-009", authors=(), decided="2023-01-02")
    response = client.get("/api/v1/proposals/ttf-2023-009")
    assert (response.status_code, response.content_type) == (200, "application/json")
    assert response.get_json() == {
        "reference": "TTF-2023-009",
        "title": "Rivers & <dams>",
        "summary": "Gauges <now>.",
        "language": "en",
        "dimensions": ["economic"],
        "member_states": [],
        "think_tanks": [],
        "authors": [],
        "state": "endorsed",
        "submitted_at": "2023-01-02T00:00:00+00:00",
        "decided_at": "2023-01-02T00:00:00+00:00",
        "url": "/proposals/TTF-2023-009",
        "highlights": {"title": "Rivers &amp; &lt;dams&gt;", "body": "Gauges &lt;now&gt;."},
        "body_html": "<h2>Plan</h2>\n<p>Share <strong>data</strong>.</p>\n",
        "translations": [],
    }


def test_a_proposal_that_is_not_public_and_one_that_does_not_exist_get_the_same_404(client, corpus):
    hidden = client.get(f"/api/v1/proposals/{REJECTED}")
    missing = client.get("/api/v1/proposals/TTF-1999-999")
    nonsense = client.get("/api/v1/proposals/not-a-reference")
    for response in (hidden, missing, nonsense):
        assert (response.status_code, response.content_type, response.get_json()) == (
            404, "application/json", NOT_FOUND)
    assert hidden.data == missing.data == nonsense.data
    assert SECRET not in hidden.get_data(as_text=True)


# --- only the public archive, whoever asks ----------------------------------------------------------


@pytest.fixture
def secretariat(make_user):
    return make_user(email="secretariat@example.org", display_name="Secretariat Officer", roles=(Role.ADMIN,))


@pytest.fixture
def proposals_in_the_workflow(make_proposal, make_user, make_think_tank, secretariat):
    """Proposals holding SECRET in every state before a decision, and one closed without consensus;
    their lead author is returned with them."""
    author = make_user(email="author@example.org", display_name="Ann Author", roles=(Role.EXPERT,))
    make_think_tank(experts=[author])
    steps = {
        "draft": (),
        "submitted": ("submit",),
        "in_review": ("submit", "start_review"),
        "consensus": ("submit", "start_review", "open_consensus"),
        "not_endorsed": ("submit", "start_review", "open_consensus", "close_without_consensus"),
    }
    made = {}
    for state, actions in steps.items():
        proposal = make_proposal(author=author, title=f"{SECRET} {state}", summary=f"{SECRET} summary",
                                 body=f"{SECRET} body")
        for action in actions:
            take(proposal, action, author if action == "submit" else secretariat)
            db.session.commit()
        assert proposal.state.value == state
        made[state] = proposal
    return author, made


def test_proposals_in_the_workflow_are_in_no_api_answer_csv_or_feed_for_anyone(
        app, client, login, secretariat, proposals_in_the_workflow):
    author, made = proposals_in_the_workflow
    assert service.pending_count() == 0
    anonymous = app.test_client()
    login(secretariat)
    for visitor in (anonymous, client):
        found = visitor.get("/api/v1/proposals", query_string={"q": SECRET})
        everything = visitor.get("/api/v1/proposals")
        export = visitor.get("/archive/export.csv", query_string={"q": SECRET})
        feed = visitor.get("/archive/feed.atom")
        assert (found.status_code, found.get_json()) == (200, {
            "total": 0, "page": 1, "per_page": 20, "items": [], "suggestion": None, "notice": None,
            "facets": {"dimension": {}, "member_state": {}, "language": {}, "year": {}, "think_tank": {}}})
        assert (everything.get_json()["total"], everything.get_json()["facets"]["dimension"]) == (0, {})
        assert export.get_data(as_text=True) == ("reference,title,summary,language,dimensions,member_states,"
                                                 "think_tanks,authors,state,submitted_at,decided_at,url\r\n")
        assert "<entry>" not in feed.get_data(as_text=True)
        for proposal in made.values():
            if proposal.reference:
                one = visitor.get(f"/api/v1/proposals/{proposal.reference}")
                assert (one.status_code, one.get_json()) == (404, NOT_FOUND)
        for response in (found, everything, export, feed):
            assert SECRET not in response.get_data(as_text=True)


def test_the_author_of_a_submitted_proposal_gets_the_public_404_too(app, proposals_in_the_workflow):
    author, made = proposals_in_the_workflow
    from tests.proposals.page_steps import signed_in

    response = signed_in(app, author).get(f"/api/v1/proposals/{made['submitted'].reference}")
    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


def test_a_proposal_endorsed_on_the_platform_lists_its_accepted_authors_lead_first(
        client, make_proposal, make_user, make_think_tank, secretariat):
    lead = make_user(display_name="Lena Lead", roles=(Role.EXPERT,))
    other = make_user(display_name="Omar Other", roles=(Role.EXPERT,))
    make_think_tank(name="Steppe Institute", experts=[lead, other])
    proposal = make_proposal(author=lead, coauthors=[other], title="Flood gauges everywhere")
    for action in ("submit", "start_review", "open_consensus", "endorse"):
        take(proposal, action, lead if action == "submit" else secretariat)
        db.session.commit()
    item = client.get("/api/v1/proposals", query_string={"q": "gauges"}).get_json()["items"][0]
    assert (item["reference"], item["authors"], item["think_tanks"], item["state"]) == (
        proposal.reference, ["Lena Lead", "Omar Other"], ["Steppe Institute"], "endorsed")
    assert item["decided_at"] == proposal.endorsed_at.replace(microsecond=0).isoformat()
    assert item["submitted_at"] == proposal.first_submitted_at.replace(microsecond=0).isoformat()


# --- errors are JSON --------------------------------------------------------------------------------


def test_an_unknown_api_address_and_a_wrong_method_answer_json(client, corpus):
    unknown = client.get("/api/v1/nothing/here")
    posted = client.post("/api/v1/proposals")
    assert (unknown.status_code, unknown.content_type, unknown.get_json()) == (
        404, "application/json", {"error": "Nothing here: see /api/v1/openapi.json for the addresses of this API."})
    assert (posted.status_code, posted.content_type, posted.get_json()) == (
        405, "application/json", {"error": "This address does not accept the POST method."})
    assert posted.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_a_failure_inside_the_api_answers_json_500(client, corpus, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("index unreadable")

    monkeypatch.setattr(service, "search", broken)
    response = client.get("/api/v1/proposals")
    assert (response.status_code, response.get_json()) == (500, {"error": "Something went wrong. Try again later."})


def test_pages_outside_the_api_keep_their_html_errors(client):
    response = client.get("/no/such/page")
    assert (response.status_code, response.content_type) == (404, "text/html; charset=utf-8")


# --- the OpenAPI document ---------------------------------------------------------------------------


def resolve(schema: dict, document: dict) -> dict:
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        return document["components"]["schemas"][name]
    return schema


def validate(value, schema: dict, document: dict, where: str = "$") -> None:
    """The parts of JSON Schema the document uses: $ref, allOf, type, nullable, enum, required,
    properties, items and additionalProperties. Raises AssertionError naming the place that differs."""
    schema = resolve(schema, document)
    for part in schema.get("allOf", ()):
        validate(value, part, document, where)
    if value is None:
        assert schema.get("nullable") or "type" not in schema, f"{where} is null"
        return
    kinds = {"object": dict, "array": list, "string": str, "integer": int}
    if "type" in schema:
        assert isinstance(value, kinds[schema["type"]]), f"{where} is not {schema['type']}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            assert key in value, f"{where} lacks {key}"
        for key, item in value.items():
            if key in schema.get("properties", {}):
                validate(item, schema["properties"][key], document, f"{where}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                validate(item, schema["additionalProperties"], document, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            validate(item, schema["items"], document, f"{where}[{index}]")


def response_schema(document: dict, path: str, status: str) -> dict:
    return document["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]


def test_the_openapi_document_documents_exactly_the_parameters_the_code_accepts(client):
    response = client.get("/api/v1/openapi.json")
    document = response.get_json()
    assert (response.status_code, document["openapi"], document["servers"]) == (
        200, "3.0.3", [{"url": "http://platform.test"}])
    search = document["paths"]["/api/v1/proposals"]["get"]
    assert [parameter["name"] for parameter in search["parameters"]] == [*params.SEARCH_PARAMETERS,
                                                                          *params.PAGE_PARAMETERS]
    assert {parameter["in"] for parameter in search["parameters"]} == {"query"}
    documented = {parameter["name"]: parameter["schema"] for parameter in search["parameters"]}
    assert documented["dimension"]["items"]["enum"] == list(params.DIMENSION_SLUGS)
    assert documented["sort"]["enum"] == list(service.SORTS)
    assert (documented["per_page"]["maximum"], documented["page"]["maximum"]) == (params.MAX_PER_PAGE,
                                                                                  params.MAX_PAGE)
    assert [parameter["name"] for parameter in
            document["paths"]["/api/v1/proposals/{reference}"]["get"]["parameters"]] == ["reference"]
    assert set(document["paths"]) == {rule.rule.replace("<reference>", "{reference}")
                                      for rule in client.application.url_map.iter_rules()
                                      if rule.endpoint.startswith("api.")}


def test_every_documented_parameter_is_accepted_with_a_documented_value(client, corpus):
    examples = {"q": "water", "dimension": "economic", "member_state": "KZ", "language": "en", "year": "2021",
                "think_tank": "Eurasian Water Institute", "sort": "newest", "page": "1", "per_page": "5"}
    document = client.get("/api/v1/openapi.json").get_json()
    names = [parameter["name"] for parameter in document["paths"]["/api/v1/proposals"]["get"]["parameters"]]
    assert sorted(names) == sorted(examples)
    response = client.get("/api/v1/proposals", query_string=examples)
    assert (response.status_code, references(response)) == (200, [WATER])


def test_actual_answers_validate_against_the_documented_schemas(client, corpus):
    document = client.get("/api/v1/openapi.json").get_json()
    answers = [
        (client.get("/api/v1/proposals?q=water"), "/api/v1/proposals", "200"),
        (client.get("/api/v1/proposals?q=watr"), "/api/v1/proposals", "200"),
        (client.get("/api/v1/proposals?per_page=500"), "/api/v1/proposals", "400"),
        (client.get(f"/api/v1/proposals/{WATER}"), "/api/v1/proposals/{reference}", "200"),
        (client.get(f"/api/v1/proposals/{REJECTED}"), "/api/v1/proposals/{reference}", "404"),
    ]
    for response, path, status in answers:
        assert str(response.status_code) == status
        validate(response.get_json(), response_schema(document, path, status), document)
    item_schema = document["components"]["schemas"]["Item"]
    first_item = answers[0][0].get_json()["items"][0]
    assert sorted(item_schema["required"]) == sorted(first_item) == sorted(item_schema["properties"])
    assert sorted(answers[0][0].get_json()) == sorted(document["components"]["schemas"]["Results"]["required"])


def test_the_document_served_is_the_one_built_from_the_reference_data(app, client):
    served = client.get("/api/v1/openapi.json").get_json()
    with app.test_request_context():
        built = api.openapi_document()
    assert {key: value for key, value in served.items() if key != "servers"} == built
