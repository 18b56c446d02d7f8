"""A public proposal as the archive's readers receive it: the item of the JSON API contract (issue 6
point 6), also the row of the CSV export and the source of citations and feed entries.

Only call these with proposals the viewer may see (``search.service`` hits, or a proposal checked by
the view): nothing here checks permissions.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from flask import current_app

from ..proposals.facts import author_names, decided_at
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


def permalink_path(proposal: Proposal) -> str:
    return f"/proposals/{proposal.reference}"


def absolute_url(path: str) -> str:
    """``path`` on the platform's public address (BASE_URL, never the request's Host header)."""
    return current_app.config["BASE_URL"] + path


def dimension_slugs(proposal: Proposal) -> list[str]:
    return [row.dimension.value for row in proposal.dimensions]


def member_state_codes(proposal: Proposal) -> list[str]:
    """The ISO codes of the states it concerns, in code order (organisations without a code are left out,
    as in the facets)."""
    return sorted(row.member_state.code for row in proposal.member_states if row.member_state.code)


def think_tank_names(proposal: Proposal) -> list[str]:
    return sorted((row.think_tank.name for row in proposal.think_tanks), key=lambda name: (name.casefold(), name))


def item(proposal: Proposal, highlights: dict[str, str]) -> dict:
    """The API item: ``highlights`` are the search's snippets (matches in <mark>, the rest escaped)."""
    return {**_fields(proposal), "url": permalink_path(proposal),
            "highlights": {"title": highlights.get("title", ""), "body": highlights.get("body", "")}}


def detail(proposal: Proposal) -> dict:
    """One proposal of ``/api/v1/proposals/<reference>``: the item (with no search behind it, its highlights
    are the escaped title and the escaped summary) plus ``body_html``, the cleaned HTML of its text."""
    highlights = {"title": html.escape(proposal.title), "body": html.escape(proposal.summary or "")}
    return {**item(proposal, highlights), "body_html": proposal.body_html}


def row(proposal: Proposal) -> dict:
    """The CSV row: the item's fields without highlights, lists joined with "; ", the url absolute."""
    values = _fields(proposal)
    values["url"] = absolute_url(permalink_path(proposal))
    return {name: "; ".join(value) if isinstance(value, list) else (value or "") for name, value in values.items()}


def _fields(proposal: Proposal) -> dict:
    return {
        "reference": proposal.reference,
        "title": proposal.title,
        "summary": proposal.summary or "",
        "language": proposal.language,
        "dimensions": dimension_slugs(proposal),
        "member_states": member_state_codes(proposal),
        "think_tanks": think_tank_names(proposal),
        "authors": author_names(proposal),
        "state": proposal.state.value,
        "submitted_at": iso(proposal.first_submitted_at),
        "decided_at": iso(decided_at(proposal)),
    }
