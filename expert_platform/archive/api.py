"""The JSON API ``/api/v1``: search the public archive, read one endorsed proposal, and the OpenAPI
document that describes both (``OPENAPI``, kept beside the code it describes).

Only public (endorsed) proposals are ever returned, to everyone, signed in or not: searching goes
through ``search.service`` (public index, every hit re-checked against permissions.py) and the
one-proposal address answers the same 404 for a reference that does not exist and for a proposal the
public may not see. Every error under ``/api/`` is JSON ``{"error": "..."}``, routing errors (404, 405)
included.
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
    DIMENSION_SLUGS,
    MAX_PAGE,
    MAX_PER_PAGE,
    THINK_TANK_NAME_MAX_LENGTH,
    BadParameter,
    search_parameters,
)

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

API_PREFIX = "/api/"
FACET_NAMES = ("dimension", "member_state", "language", "year", "think_tank")


def error_response(status: int, message: str):
    return jsonify(error=message), status


def public_proposal(reference: str) -> Proposal | None:
    """The endorsed proposal with this reference, if the viewer may see it (everyone may); else None."""
    reference = reference.upper()
    if not REFERENCE_PATTERN.fullmatch(reference):
        return None
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
        "facets": {name: dict(results.facets.get(name, {})) for name in FACET_NAMES},
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
    return jsonify({**OPENAPI, "servers": [{"url": current_app.config["BASE_URL"]}]})


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


def _error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _counts(description: str) -> dict:
    return {"type": "object", "description": description, "additionalProperties": {"type": "integer"}}


_STRINGS = {"type": "array", "items": {"type": "string"}}

OPENAPI: dict = {
    "openapi": "3.0.3",
    "info": {
        "title": "Expert Platform archive API",
        "version": "1.0.0",
        "description": (
            "Search and read the public archive: proposals endorsed by the council (imported outcomes "
            "included). Nothing else is ever returned, whoever asks. Every error is JSON "
            "`{\"error\": \"...\"}`: 400 for a bad parameter (the message names it), 404 for an unknown "
            "address or a reference with no public proposal, 405 for a method other than GET."
        ),
    },
    "paths": {
        "/api/v1/proposals": {
            "get": {
                "operationId": "searchProposals",
                "summary": "Search the endorsed proposals, with facet counts over every match.",
                "description": (
                    "Parameters other than those listed get a 400. An empty value counts as absent. "
                    "A page past the last one is not an error: it answers 200 with `items` empty and the "
                    "true `total`. Without `q` the newest proposals come first whatever `sort` says."
                ),
                "parameters": [
                    {"name": "q", "in": "query", "required": False,
                     "description": ("Words (ANDed), \"exact phrases\", OR, NOT or a leading -, prefixes such as "
                                     "secur* (three letters at least), fields title:, author:, thinktank:, "
                                     "keyword:. Cut at 256 characters; a malformed query is searched as plain "
                                     "words; both cases explained in `notice`."),
                     "schema": {"type": "string"}},
                    {"name": "dimension", "in": "query", "required": False, "style": "form", "explode": True,
                     "description": "A dimension's slug; repeat to require several (ANDed).",
                     "schema": {"type": "array", "items": {"type": "string", "enum": list(DIMENSION_SLUGS)}}},
                    {"name": "member_state", "in": "query", "required": False, "style": "form", "explode": True,
                     "description": ("ISO 3166-1 alpha-2 code of a member state (either case); repeat to require "
                                     "several (ANDed). A code that is not in the reference data gets a 400."),
                     "schema": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z]{2}$"}}},
                    {"name": "language", "in": "query", "required": False,
                     "description": "ISO 639-1 code of the proposal's language (either case); unknown codes get a 400.",
                     "schema": {"type": "string", "pattern": "^[A-Za-z]{2}$"}},
                    {"name": "year", "in": "query", "required": False,
                     "description": "The year of the decision (of the submission when undecided).",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 9999}},
                    {"name": "think_tank", "in": "query", "required": False,
                     "description": "A think tank's exact name; a name no proposal carries matches nothing.",
                     "schema": {"type": "string", "maxLength": THINK_TANK_NAME_MAX_LENGTH}},
                    {"name": "sort", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": list(service.SORTS), "default": "relevance"}},
                    {"name": "page", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
                    {"name": "per_page", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                                "default": DEFAULT_PER_PAGE}},
                ],
                "responses": {
                    "200": {"description": "One page of results.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Results"}}}},
                    "400": _error_response("A parameter broke its rule; the message names it."),
                },
            },
        },
        "/api/v1/proposals/{reference}": {
            "get": {
                "operationId": "getProposal",
                "summary": "One endorsed proposal with its text as HTML.",
                "parameters": [
                    {"name": "reference", "in": "path", "required": True,
                     "description": "The proposal's permanent reference, such as EP-2026-0042 (either case).",
                     "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {"description": "The proposal.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Proposal"}}}},
                    "404": _error_response("No public proposal has this reference (the same answer whether a "
                                           "proposal with it exists but is not public, or none exists)."),
                },
            },
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document.",
                "responses": {"200": {"description": "The OpenAPI document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            },
        },
    },
    "components": {
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
                        "required": list(FACET_NAMES),
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
    },
}
