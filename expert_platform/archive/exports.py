"""The archive in other formats: the CSV export of a search, BibTeX and RIS citations of one endorsed
proposal, and the Atom feed of newly endorsed proposals.

Like the API, these show public (endorsed) proposals only, to everyone: searches go through
``search.service`` (a public index whose hits are re-checked against permissions.py) and a citation
answers the same 404 for a missing reference and for a proposal the public may not see.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user

from ..database import utcnow
from ..enums import Dimension, ProposalState
from ..errors import render_error
from ..proposals.cards import Card, card_of
from ..proposals.models import Proposal
from ..search import service
from ..web import add_page_part
from . import serialize
from .api import public_proposal
from .params import BadParameter, SearchRequest, dimensions, search_request

bp = Blueprint("exports", __name__)

#: The most rows one export holds (issue 6): a researcher who needs more narrows the search.
MAX_ROWS = 10_000
#: How many of the most recently endorsed proposals the feed holds.
FEED_SIZE = 50
#: A spreadsheet reads a cell starting with one of these as a formula (or as the start of one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


# --- CSV -------------------------------------------------------------------------------------------


@bp.get("/archive/export.csv")
def export_csv():
    """Every proposal the search finds (at most MAX_ROWS), one row each, streamed as it is read."""
    try:
        wanted = search_request(request.args)
    except BadParameter as error:
        return render_error(400, error.message)
    rows = _csv_lines(wanted, current_user._get_current_object())
    return Response(stream_with_context(rows), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=archive.csv"})


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading quote."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _csv_lines(wanted: SearchRequest, viewer) -> Iterator[str]:
    yield _csv_line(serialize.ROW_FIELDS)
    for proposal in service.iter_hits(wanted.text, wanted.filters, viewer, sort=wanted.sort, limit=MAX_ROWS):
        values = serialize.row(proposal)
        yield _csv_line([neutralise(values[name]) for name in serialize.ROW_FIELDS])


def _csv_line(cells) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


# --- citations ------------------------------------------------------------------------------------


@bp.get("/proposals/<reference>/cite.bib")
def cite_bibtex(reference: str):
    proposal = public_proposal(reference) or abort(404)
    return _download(bibtex(proposal), "application/x-bibtex; charset=utf-8", f"{proposal.reference}.bib")


@bp.get("/proposals/<reference>/cite.ris")
def cite_ris(reference: str):
    proposal = public_proposal(reference) or abort(404)
    return _download(ris(proposal), "application/x-research-info-systems; charset=utf-8", f"{proposal.reference}.ris")


def _download(text: str, content_type: str, filename: str) -> Response:
    return Response(text, content_type=content_type,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


def _citation(proposal: Proposal) -> dict:
    """What both citation formats say, as plain one-line text: what the archive's lists say of it."""
    card = card_of(proposal)
    decided = card.decided_at
    tanks = card.think_tanks
    return {
        "title": _one_line(card.title),
        "authors": [_one_line(name) for name in card.authors],
        "institution": _one_line("; ".join(tanks) if tanks else current_app.config["ORGANISATION_NAME"]),
        "decided": decided,
        "url": serialize.absolute_url(serialize.permalink_path(proposal)),
        "note": _("Endorsed by the council on %(date)s", date=decided.date().isoformat()) if decided else "",
    }


_BIBTEX_SPECIAL = re.compile(r"[{}\\%$&#_^~]")
_BIBTEX_REPLACEMENTS = {"\\": r"\textbackslash{}", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}"}
_WORD_AND = re.compile(r"\band\b", re.IGNORECASE)


def bibtex_escape(text: str) -> str:
    """``text`` with BibTeX's special characters ``{}\\%$&#_^~`` written as LaTeX commands."""
    return _BIBTEX_SPECIAL.sub(lambda match: _BIBTEX_REPLACEMENTS.get(match.group(0), "\\" + match.group(0)), text)


def bibtex(proposal: Proposal) -> str:
    """A ``@techreport`` entry keyed by the reference. The title is double-braced so styles keep its
    capitals; an author's name holding the word "and" is braced so it stays one name."""
    cited = _citation(proposal)
    authors = [f"{{{bibtex_escape(name)}}}" if _WORD_AND.search(name) else bibtex_escape(name)
               for name in cited["authors"]]
    fields = [("title", f"{{{{{bibtex_escape(cited['title'])}}}}}")]
    if authors:
        fields.append(("author", f"{{{' and '.join(authors)}}}"))
    fields.append(("institution", f"{{{bibtex_escape(cited['institution'])}}}"))
    if cited["decided"]:
        fields += [("year", f"{{{cited['decided'].year}}}"), ("month", MONTHS[cited["decided"].month - 1])]
    fields += [("number", f"{{{proposal.reference}}}"), ("url", f"{{{cited['url']}}}")]
    if cited["note"]:
        fields.append(("note", f"{{{bibtex_escape(cited['note'])}}}"))
    lines = [f"@techreport{{{proposal.reference},"]
    lines += [f"  {name} = {value}," for name, value in fields[:-1]]
    name, value = fields[-1]
    lines += [f"  {name} = {value}", "}"]
    return "\n".join(lines) + "\n"


def ris(proposal: Proposal) -> str:
    """A RIS record of type RPRT (report), lines ending in CRLF as the format asks."""
    cited = _citation(proposal)
    tags = [("TY", "RPRT"), ("TI", cited["title"])]
    tags += [("AU", name) for name in cited["authors"]]
    if cited["decided"]:
        tags += [("PY", str(cited["decided"].year)), ("DA", cited["decided"].strftime("%Y/%m/%d/"))]
    tags += [("PB", cited["institution"]), ("UR", cited["url"]), ("ID", proposal.reference)]
    if cited["note"]:
        tags.append(("N1", cited["note"]))
    tags.append(("ER", ""))
    return "".join(f"{tag}  - {value}\r\n" for tag, value in tags)


def citation_text(proposal: Proposal) -> str:
    """The citation shown on the proposal page: authors (year). Title. Institution, reference. URL."""
    cited = _citation(proposal)
    parts = []
    if cited["authors"]:
        parts.append("; ".join(cited["authors"]))
    if cited["decided"]:
        parts.append(f"({cited['decided'].year}).")
    elif parts:
        parts[-1] += "."
    parts += [f"{cited['title']}.", f"{cited['institution']}, {proposal.reference}.", cited["url"]]
    return " ".join(parts)


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


# --- Atom feed ------------------------------------------------------------------------------------


@bp.get("/archive/feed.atom")
def feed():
    """The FEED_SIZE most recently endorsed proposals, newest first, optionally of given dimensions."""
    try:
        slugs = dimensions(request.args)
    except BadParameter as error:
        return render_error(400, error.message)
    results = service.search(None, service.Filters(dimensions=slugs), current_user, per_page=FEED_SIZE,
                             sort="newest", with_facets=False)
    return Response(atom([hit.proposal for hit in results.hits], slugs),
                    content_type="application/atom+xml; charset=utf-8")


#: Characters XML 1.0 forbids even escaped: a stray one in imported text must not break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _element(parent, tag: str, text: str | None = None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, {name: _NOT_XML.sub("", value) for name, value in attributes.items()})
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def atom(proposals: list[Card], slugs: tuple[str, ...] = ()) -> str:
    """An Atom 1.0 document of ``proposals`` (already in order); ElementTree escapes every value."""
    config = current_app.config
    query = f"?{urlencode([('dimension', slug) for slug in slugs])}" if slugs else ""
    title = _("%(platform)s: endorsed proposals", platform=config["PLATFORM_NAME"])
    if slugs:
        title = _("%(title)s (%(dimensions)s)", title=title,
                  dimensions=", ".join(Dimension(slug).label for slug in slugs))
    newest = proposals[0].decided_at if proposals else None
    root = ET.Element("feed", {"xmlns": ATOM_NAMESPACE})
    _element(root, "id", serialize.absolute_url(f"/archive/feed.atom{query}"))
    _element(root, "title", title, type="text")
    _element(root, "updated", serialize.iso(newest or utcnow()))
    _element(root, "link", rel="self", type="application/atom+xml",
             href=serialize.absolute_url(f"/archive/feed.atom{query}"))
    _element(root, "link", rel="alternate", type="text/html", href=serialize.absolute_url(f"/archive{query}"))
    # Entries without authors (some imports) take the feed's, as Atom requires one for each entry.
    _element(_element(root, "author"), "name", config["ORGANISATION_NAME"])
    for proposal in proposals:
        permalink = serialize.absolute_url(serialize.permalink_path(proposal))
        entry = _element(root, "entry")
        _element(entry, "id", permalink)
        _element(entry, "title", proposal.title, type="text")
        _element(entry, "updated", serialize.iso(proposal.decided_at or proposal.updated_at))
        _element(entry, "link", rel="alternate", type="text/html", href=permalink)
        if proposal.summary:
            _element(entry, "summary", proposal.summary, type="text")
        for name in proposal.authors:
            _element(_element(entry, "author"), "name", name)
        for dimension in proposal.dimensions:
            _element(entry, "category", term=dimension.value, label=dimension.label)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- On the proposal page --------------------------------------------------------------------------

# An endorsed proposal's page shows its citation and the archive's proposals most like it (registered here:
# ``proposals`` never imports the archive or search).
add_page_part("proposals.show", "related", lambda *, proposal, viewer: (
    service.more_like_this(proposal, viewer) if proposal.state == ProposalState.ENDORSED else []))
add_page_part("proposals.show", "citation", lambda *, proposal, viewer: (
    citation_text(proposal) if proposal.state == ProposalState.ENDORSED and proposal.reference else None))
