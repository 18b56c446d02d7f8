"""HTTP validators for what the public reads: an anonymous reader's archive pages, API answers, proposal pages
and the feed carry an ``ETag`` (a digest of the body as sent) and ``Cache-Control: no-cache`` (keep it, but
ask before using it again); a request whose ``If-None-Match`` names the current tag is answered ``304 Not
Modified`` without the body.

The tag is a digest of the body itself, so it can never be stale: an endorsement, a rename or a withdrawal
changes the page, hence its tag, and the next request gets the new page. It saves the transfer and the
reader's parsing, not the server's work. Pages of a signed-in user stay ``no-store`` (``security.py``) and get
no tag; nor does an answer that sets a cookie, or anything but a 200.
"""

from __future__ import annotations

from flask import Flask, request

from .request_log import note_cache
from .security import is_signed_in_now

#: The endpoints whose anonymous answers carry a validator.
PUBLIC_READS = frozenset({
    "archive.index",
    "api.search_proposals",
    "api.show_proposal",
    "proposals.show",
    "proposals.permalink",
    "exports.feed",
})


def add_validator(response):
    if (request.method not in ("GET", "HEAD") or response.status_code != 200 or request.endpoint not in PUBLIC_READS
            or response.is_streamed or "Set-Cookie" in response.headers or is_signed_in_now()):
        return response
    response.add_etag()
    response.cache_control.no_cache = True
    asked = bool(request.if_none_match)
    response.make_conditional(request)
    if asked:
        note_cache("validators", response.status_code == 304)
    return response


def init_conditional(app: Flask) -> None:
    app.after_request(add_validator)
