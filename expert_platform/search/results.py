"""What a search asks and answers, the same for every backend: the facet filters, a backend's page of
matches (``Page`` of ``Row``), and the results the facade hands to the pages (``Results`` of ``Hit``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import get_locale
from sqlalchemy import select

from ..extensions import db
from ..proposals.cards import Card
from ..thinktanks.models import ThinkTank

SORTS = ("relevance", "newest")
FACETS = ("dimension", "member_state", "language", "year", "think_tank")
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Filters:
    """Facet filters; ``dimensions`` and ``member_states`` are ANDed when several are given."""

    dimensions: tuple[str, ...] = ()
    member_states: tuple[str, ...] = ()
    language: str | None = None
    year: int | None = None
    think_tank: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.dimensions or self.member_states or self.language or self.year or self.think_tank)


#: No filter: every public proposal.
NO_FILTERS = Filters()


@dataclass(frozen=True)
class ShownText:
    """One text of a hit as it may be shown: its language and its highlighted title and snippet (matches
    in <mark>, every other character HTML-escaped)."""

    language: str
    title: str
    body: str

    @property
    def matched(self) -> bool:
        # Everything but the marks is escaped: "<mark>" in the HTML is a match.
        return "<mark>" in self.title or "<mark>" in self.body


@dataclass
class Row:
    """A match as a backend ranks it: the proposal's id, its score (the sort key when sorted by date), and
    each of its texts highlighted, the original first."""

    proposal_id: int
    score: float | None
    texts: list[ShownText]


@dataclass
class Page:
    """A backend's answer to a search: how many proposals match, per facet how many of them hold each value
    (think tanks by id), and the rows asked for."""

    total: int
    facets: dict[str, dict[str, int]]
    rows: list[Row]


@dataclass
class Hit:
    #: What a list shows of the proposal (``proposals.cards``).
    proposal: Card
    score: float | None
    #: "title" and "body": snippets with matches in <mark>, everything else HTML-escaped, both of one text
    #: of the proposal (``shown``).
    highlights: dict[str, str]
    #: The language of that text (the original's or a translation's), for the page's ``lang``.
    language: str = ""


@dataclass
class Results:
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    suggestion: str | None = None
    notice: str | None = None

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def _interface_language() -> str | None:
    locale = get_locale()
    return locale.language if locale is not None else None


def shown(texts: list[ShownText]) -> ShownText:
    """The text a hit shows (``texts``: the original first): the one the query matched; of several, the
    one in the interface language, else the original (else the first translation that matched); the
    original when none matched (the proposal was found by its authors, think tanks or keywords)."""
    matched = [text for text in texts if text.matched]
    if not matched:
        return texts[0]
    if len(matched) > 1:
        wanted = _interface_language()
        for text in matched:
            if text.language == wanted:
                return text
    return matched[0]


def think_tank_ids(filters: Filters) -> list[int] | None:
    """The ids of the think tanks named by the filter (namesakes included); None: no such filter."""
    if not filters.think_tank:
        return None
    if "\x00" in filters.think_tank:
        return []  # no name holds one, and PostgreSQL refuses it in a parameter
    return list(db.session.scalars(select(ThinkTank.id).where(ThinkTank.name == filters.think_tank)))


def named_facets(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Facet counts as the archive shows them: think tanks by name, each facet most frequent first."""
    counts = dict(counts)
    # Think tanks are indexed by id (names may hold commas): name them, summing namesakes.
    ids = [int(value) for value in counts["think_tank"]]
    names = {}
    if ids:
        names = dict(db.session.execute(select(ThinkTank.id, ThinkTank.name).where(ThinkTank.id.in_(ids))).all())
    by_name: dict[str, int] = {}
    for value, count in counts["think_tank"].items():
        name = names.get(int(value))
        if name is not None:
            by_name[name] = by_name.get(name, 0) + count
    counts["think_tank"] = by_name
    return {facet: dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))
            for facet, values in counts.items()}
