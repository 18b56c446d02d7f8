"""A public proposal as the archive's readers receive it: the item of the JSON API contract (issue 6
point 6), also the row of the CSV export and the source of citations and feed entries. Each reads the
proposal's card (``proposals.cards``): the search's hits are cards, a proposal's own page makes its own.

Only call these with proposals the viewer may see (``search.service`` hits, or a proposal checked by
the view): nothing here checks permissions.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from flask import current_app

from ..proposals.cards import Card, card_of
from ..proposals.models import Proposal

#: The fields of an item, in the order of the contract; the CSV export's columns are all but highlights.
ITEM_FIELDS = ("reference", "title", "summary", "language", "dimensions", "member_states", "think_tanks", "authors",
               "state", "submitted_at", "decided_at", "url", "highlights")
ROW_FIELDS = ITEM_FIELDS[:-1]


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second (``2020-06-01T00:00:00+00:00``), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def permalink_path(proposal: Proposal | Card) -> str:
    return f"/proposals/{proposal.reference}"


def absolute_url(path: str) -> str:
    """``path`` on the platform's public address (BASE_URL, never the request's Host header)."""
    return current_app.config["BASE_URL"] + path


def item(proposal: Card, highlights: dict[str, str]) -> dict:
    """The API item: ``highlights`` are the search's snippets (matches in <mark>, the rest escaped)."""
    return {**_fields(proposal), "url": permalink_path(proposal),
            "highlights": {"title": highlights.get("title", ""), "body": highlights.get("body", "")}}


def detail(proposal: Proposal) -> dict:
    """One proposal of ``/api/v1/proposals/<reference>``: the item (with no search behind it, its highlights
    are the escaped title and the escaped summary) plus ``body_html``, the cleaned HTML of its text."""
    highlights = {"title": html.escape(proposal.title), "body": html.escape(proposal.summary or "")}
    return {**item(card_of(proposal), highlights), "body_html": proposal.body_html}


def row(proposal: Card) -> dict:
    """The CSV row: the item's fields without highlights, lists joined with "; ", the url absolute."""
    values = _fields(proposal)
    values["url"] = absolute_url(permalink_path(proposal))
    return {name: "; ".join(value) if isinstance(value, list) else (value or "") for name, value in values.items()}


def _fields(card: Card) -> dict:
    return {
        "reference": card.reference,
        "title": card.title,
        "summary": card.summary,
        "language": card.language,
        "dimensions": [dimension.value for dimension in card.dimensions],
        "member_states": list(card.member_states),
        "think_tanks": list(card.think_tanks),
        "authors": list(card.authors),
        "state": card.state.value,
        "submitted_at": iso(card.first_submitted_at),
        "decided_at": iso(card.decided_at),
    }
