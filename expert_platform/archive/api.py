"""The JSON API ``/api/v1``: search the public archive, read one endorsed proposal, and the OpenAPI
document that describes both (``openapi_document()``, kept beside the code it describes).

Only public (endorsed) proposals are ever returned, to everyone, signed in or not: searching goes
through ``search.service`` (public index, every hit re-checked against permissions.py) and the
one-proposal address answers the same 404 for a reference that does not exist and for a proposal the
public may not see. Every error under ``/api/`` is JSON ``{"error": "..."}``, routing errors (404, 405)
included.

The document is exact: every value it allows is accepted, every value it refuses gets a 400, and every
status an operation can answer is listed with its schema. Its enumerations come from the constants and
functions that check the parameters (``archive.params``), never from a copy. Schemathesis holds the server
to it on both search backends (``make test-api-contract``, ``.ci/schemathesis``).
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..i18n import WORKING_LANGUAGES
from ..permissions import can_view_proposal
from ..proposals.models import REFERENCE_PATTERN, Proposal
from ..search import service
from . import serialize
from .params import (
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    DIMENSION_SLUGS,
    FIRST_YEAR,
    LAST_YEAR,
    MAX_PAGE,
    MAX_PER_PAGE,
    THINK_TANK_NAME_MAX_LENGTH,
    BadParameter,
    language_codes,
    member_state_codes,
    search_parameters,
)

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

API_PREFIX = "/api/"


def error_response(status: int, message: str):
    return jsonify(error=message), status


def public_proposal(reference: str) -> Proposal | None:
    """The endorsed proposal with this reference (in either case), if the viewer may see it (everyone may);
    else None. Only ASCII can be a reference: ``"ﬀ".upper()`` is ``"FF"``, which the document's pattern denies."""
    if not reference.isascii() or not REFERENCE_PATTERN.fullmatch(reference.upper()):
        return None
    reference = reference.upper()
    proposal = db.session.scalar(select(Proposal).where(Proposal.reference == reference))
    if proposal is None or not service.is_public(proposal) or not can_view_proposal(current_user, proposal):
        return None
    return proposal


@bp.get("/api/v1/proposals")
def search_proposals():
    try:
        text, filters, sort, page, per_page = search_parameters(request.args, reject_unknown=True)
    except BadParameter as error:
        return error_response(400, error.message)
    results = service.search(text, filters, current_user, page=page, per_page=per_page, sort=sort)
    return jsonify({
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "items": [serialize.item(hit.proposal, hit.highlights) for hit in results.hits],
        "facets": {name: dict(results.facets.get(name, {})) for name in service.FACETS},
        "suggestion": results.suggestion,
        "notice": str(results.notice) if results.notice else None,
    })


@bp.get("/api/v1/proposals/<reference>")
def show_proposal(reference: str):
    proposal = public_proposal(reference)
    if proposal is None:
        return error_response(404, not_found_message())
    return jsonify({**serialize.detail(proposal), "translations": public_translations(proposal)})


def public_translations(proposal: Proposal) -> list[dict]:
    """The translations of a public proposal's text (endorsed proposals can no longer be edited, so these
    are the ones frozen with its last revision), in language order."""
    return [
        {"language": row.language, "status": row.status.value, "title": row.title, "summary": row.summary,
         "body_html": row.body_html}
        for row in proposal.translations
    ]


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify({**openapi_document(), "servers": [{"url": current_app.config["BASE_URL"]}]})


def not_found_message() -> str:
    """The one answer for a missing reference and for a proposal that is not public."""
    return _("No public proposal has this reference.")


# --- errors: JSON everywhere under /api/ ------------------------------------------------------------


@bp.before_app_request
def _routing_error_as_json():
    """A path under /api/ that matches no route (404) or not with this method (405) answers JSON too:
    blueprint error handlers never see routing errors, which happen before a blueprint is chosen."""
    failure = request.routing_exception
    if failure is None or not request.path.startswith(API_PREFIX):
        return None
    if not isinstance(failure, HTTPException) or (failure.code or 0) < 400:
        return None  # a redirect (a missing trailing slash) stays a redirect
    return _http_error(failure)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    messages = {404: _("Nothing here: see /api/v1/openapi.json for the addresses of this API."),
                405: _("This address does not accept the %(method)s method.", method=request.method)}
    response, status = error_response(error.code or 500, messages.get(error.code or 0) or error.description)
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response, status


@bp.errorhandler(Exception)
def _unexpected_error(error: Exception):
    db.session.rollback()
    log.exception("api error path=%s", request.path)
    return error_response(500, _("Something went wrong. Try again later."))


# --- the OpenAPI document ---------------------------------------------------------------------------


def openapi_document() -> dict:
    """The OpenAPI document of the API as the server stands now (without ``servers``, which the view adds).

    Built for each request, in an app context: the ``member_state`` codes are those of the reference data,
    which the secretariat may change (one query). Everything else is fixed when the module loads."""
    return {
        "openapi": "3.0.3",
        "info": _INFO,
        "paths": {
            "/api/v1/proposals": {"get": {**_SEARCH_OPERATION, "parameters": _search_parameters()}},
            "/api/v1/proposals/{reference}": {"get": _PROPOSAL_OPERATION},
            "/api/v1/openapi.json": {"get": _DOCUMENT_OPERATION},
        },
        "components": _COMPONENTS,
    }


def _search_parameters() -> list[dict]:
    """The parameters of ``searchProposals``, in the order of ``params.SEARCH_PARAMETERS + PAGE_PARAMETERS``."""
    return [
        _query_parameter("q", {"type": "string"}, (
            "Words (ANDed), \"exact phrases\", OR, NOT or a leading -, prefixes such as secur* (three letters at "
            "least), fields title:, author:, thinktank:, keyword:. Surrounding spaces are ignored. Any length is "
            f"accepted: the query is cut at {service.MAX_QUERY_LENGTH} characters, and a malformed one is searched "
            "as plain words; `notice` explains either.")),
        _query_parameter("dimension", _repeatable(list(DIMENSION_SLUGS)),
                         "A dimension's slug; repeat to require several (ANDed)."),
        _query_parameter("member_state", _repeatable(_in_both_cases(member_state_codes())), (
            "The ISO 3166-1 alpha-2 code of a member state in the platform's reference data, in capitals or in "
            "small letters (KZ or kz; not Kz); repeat to require several (ANDed). Observer states are not listed: "
            "no proposal concerns one.")),
        _query_parameter("language", {"type": "string", "enum": _in_both_cases(language_codes())}, (
            "The ISO 639-1 code of the proposal's original language, in small letters or in capitals (ru or RU; "
            "not Ru).")),
        _query_parameter("year", {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR},
                         "The year of the decision (of the submission when undecided); digits only."),
        _query_parameter("think_tank", {"type": "string", "maxLength": THINK_TANK_NAME_MAX_LENGTH}, (
            "A think tank's exact name (surrounding spaces are ignored); a name no proposal carries matches "
            "nothing.")),
        _query_parameter("sort", {"type": "string", "enum": list(service.SORTS), "default": DEFAULT_SORT},
                         "The order of the matches. Without `q` the newest come first whatever `sort` says."),
        _query_parameter("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}, (
            "The page of results; digits only. A page past the last one is not an error: it answers 200 with "
            "`items` empty and the true `total`.")),
        _query_parameter("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                                      "default": DEFAULT_PER_PAGE}, "How many items a page holds; digits only."),
    ]


def _query_parameter(name: str, schema: dict, description: str) -> dict:
    """An optional query parameter; sent once with an empty value (``?name=``), it counts as absent."""
    parameter = {"name": name, "in": "query", "required": False, "allowEmptyValue": True,
                 "description": description, "schema": schema}
    if schema["type"] == "array":
        parameter.update(style="form", explode=True)
    return parameter


def _repeatable(values: list[str]) -> dict:
    if not values:  # no reference data yet: the server refuses every value, so none may be given
        return {"type": "array", "items": {"type": "string"}, "maxItems": 0}
    return {"type": "array", "items": {"type": "string", "enum": values}}


def _in_both_cases(codes: list[str]) -> list[str]:
    """Each code as given, then each in the other case: the two spellings ``archive.params`` accepts."""
    return [*codes, *(code.swapcase() for code in codes)]


def _error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _responses(success: dict, *errors: str) -> dict:
    """``success`` as 200, each of ``errors`` (statuses) with its meaning, then the two every operation may give."""
    return {"200": success, **{status: _ERROR_RESPONSES[status] for status in (*errors, "413", "500")}}


def _counts(description: str) -> dict:
    return {"type": "object", "description": description, "additionalProperties": {"type": "integer"}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


#: The error answers of the API, by status: every operation lists those it can give.
_ERROR_RESPONSES = {
    "400": _error_response("A parameter broke its rule, or was not one of this address; the message names it."),
    "404": _error_response("No public proposal has this reference (the same answer whether a proposal with it "
                           "exists but is not public, or none exists)."),
    "413": _error_response("The request carried a chunked body larger than the server accepts; these "
                           "operations read no body, so send none."),
    "500": _error_response("The server failed (the failure is logged); try again later."),
}

_STRINGS = {"type": "array", "items": {"type": "string"}}

_INFO = {
    "title": "Expert Platform archive API",
    "version": "1.0.0",
    "description": (
        "Search and read the public archive: proposals endorsed by the council (imported outcomes included). "
        "Nothing else is ever returned, whoever asks. Every error is JSON `{\"error\": \"...\"}`: 400 for a bad "
        "parameter (the message names it), 404 for an unknown address or a reference with no public proposal, "
        "405 (with an `Allow` header) for a method other than GET, HEAD or OPTIONS, 413 for a request body over "
        "the server's limit, 500 when the server fails. No answer is rate-limited. The enumerations of this "
        "document are those the server checks, the member states read from its reference data when the "
        "document is asked for."
    ),
}

_SEARCH_OPERATION = {
    "operationId": "searchProposals",
    "summary": "Search the endorsed proposals, with facet counts over every match.",
    "description": (
        "A parameter not listed gets a 400, and so does one given twice unless it may repeat (`dimension`, "
        "`member_state`). A parameter given once with an empty value (`?dimension=`) counts as absent, so a "
        "search form may send its blank fields; an empty value beside others (`?dimension=economic&dimension=`) "
        "is a bad value. Values are matched as given: ` economic` (with a space) is refused."
    ),
    "responses": _responses(_json({"$ref": "#/components/schemas/Results"}, "One page of results."), "400"),
}

_PROPOSAL_OPERATION = {
    "operationId": "getProposal",
    "summary": "One endorsed proposal with its text as HTML.",
    "parameters": [
        {"name": "reference", "in": "path", "required": True,
         "description": ("The proposal's permanent reference, such as EP-2026-0042 or TTF-2019-003, in either case "
                         "(ep-2026-0042). A string that cannot be a reference gets the 404 too."),
         # The server's REFERENCE_PATTERN, which it matches against the reference in capitals.
         "schema": {"type": "string", "pattern": "^" + REFERENCE_PATTERN.pattern.replace("A-Z", "A-Za-z") + "$"}},
    ],
    "responses": _responses(_json({"$ref": "#/components/schemas/Proposal"}, "The proposal."), "404"),
}

_DOCUMENT_OPERATION = {
    "operationId": "getOpenApi",
    "summary": "This document.",
    "description": "Query parameters are ignored.",
    "responses": _responses(_json({"type": "object"}, "The OpenAPI document.")),
}

_COMPONENTS = {
    "schemas": {
        "Item": {
            "type": "object",
            "required": ["reference", "title", "summary", "language", "dimensions", "member_states",
                         "think_tanks", "authors", "state", "submitted_at", "decided_at", "url", "highlights"],
            "properties": {
                "reference": {"type": "string", "example": "EP-2026-0042"},
                "title": {"type": "string"},
                "summary": {"type": "string"},
                "language": {"type": "string", "description": "ISO 639-1 code."},
                "dimensions": {**_STRINGS, "description": "Dimension slugs."},
                "member_states": {**_STRINGS, "description": "ISO 3166-1 alpha-2 codes, in code order."},
                "think_tanks": {**_STRINGS, "description": "Think-tank names, in name order."},
                "authors": {**_STRINGS, "description": "Author names, the lead author first."},
                "state": {"type": "string", "enum": ["endorsed"]},
                "submitted_at": {"type": "string", "format": "date-time", "nullable": True},
                "decided_at": {"type": "string", "format": "date-time", "nullable": True,
                               "description": "When the council endorsed it (ISO 8601, UTC)."},
                "url": {"type": "string", "description": "The permalink's path: /proposals/<reference>."},
                "highlights": {
                    "type": "object",
                    "required": ["title", "body"],
                    "description": ("HTML snippets: matches wrapped in <mark>, every other character escaped. "
                                    "From /api/v1/proposals/{reference}: the escaped title and summary."),
                    "properties": {"title": {"type": "string"}, "body": {"type": "string"}},
                },
            },
        },
        "Proposal": {
            "allOf": [
                {"$ref": "#/components/schemas/Item"},
                {"type": "object", "required": ["body_html", "translations"],
                 "properties": {
                     "body_html": {"type": "string",
                                   "description": "The text, rendered from Markdown and cleaned."},
                     "translations": {
                         "type": "array",
                         "description": ("The title, summary and text in other working languages than the "
                                         "original's (`language`), in language order; empty when there is none."),
                         "items": {"$ref": "#/components/schemas/Translation"},
                     },
                 }},
            ],
        },
        "Translation": {
            "type": "object",
            "required": ["language", "status", "title", "summary", "body_html"],
            "properties": {
                "language": {"type": "string", "enum": list(WORKING_LANGUAGES),
                             "description": "ISO 639-1 code of a working language."},
                "status": {"type": "string", "enum": ["translation", "checked_translation"],
                           "description": ("checked_translation: a second person has read it against the "
                                           "original.")},
                "title": {"type": "string"},
                "summary": {"type": "string"},
                "body_html": {"type": "string", "description": "The translated text, rendered and cleaned."},
            },
        },
        "Results": {
            "type": "object",
            "required": ["total", "page", "per_page", "items", "facets", "suggestion", "notice"],
            "properties": {
                "total": {"type": "integer", "description": "How many proposals match, on every page."},
                "page": {"type": "integer"},
                "per_page": {"type": "integer"},
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                "facets": {
                    "type": "object",
                    "description": "Counts over every matching proposal (not one page); values with no match "
                                   "are left out.",
                    "required": list(service.FACETS),
                    "properties": {
                        "dimension": _counts("Dimension slug -> count."),
                        "member_state": _counts("ISO 3166-1 alpha-2 code -> count."),
                        "language": _counts("ISO 639-1 code -> count."),
                        "year": _counts("YYYY -> count."),
                        "think_tank": _counts("Think-tank name -> count."),
                    },
                },
                "suggestion": {"type": "string", "nullable": True,
                               "description": "A corrected query when nothing matched and a correction does."},
                "notice": {"type": "string", "nullable": True,
                           "description": "Why the query was changed (cut, or searched as plain words)."},
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
    },
}
