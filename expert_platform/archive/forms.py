"""The archive page's search box, and the search it runs as links can write it.

The parameters themselves (``q``, ``dimension`` and ``member_state`` repeatable and ANDed, ``language``,
``year``, ``think_tank``, ``sort``, ``page``) are read and checked by ``archive.params``, the one reader
shared with the JSON API, the CSV export and the feed, so every reader refuses the same things.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField

from ..search.service import Filters

PER_PAGE = 20
REPEATABLE = frozenset({"dimension", "member_state"})
#: The parameters in the order links write them (``ArchiveSearch.arguments``).
ORDER = ("q", "dimension", "member_state", "language", "year", "think_tank", "sort")
#: What ``url_for`` leaves unquoted in a query string (werkzeug's ``_urlencode``): links built here read the same.
QUERY_SAFE = "!$'()*,/:;?@"

SYNTAX_HINT = _l(
    'Words are all required. Use "quotes" for an exact phrase, OR for either word, NOT or - to leave a word out, '
    "a star for the start of a word (secur*), and title:, author:, thinktank: or keyword: to search one field."
)


def _strip(text: str | None) -> str | None:
    return text.strip() if text else text


@dataclass(frozen=True)
class ArchiveSearch:
    """One valid search of the archive: what to ask ``search.service.search`` and how to link to it."""

    text: str = ""
    dimensions: tuple[str, ...] = ()
    member_states: tuple[str, ...] = ()
    language: str | None = None
    year: int | None = None
    think_tank: str | None = None
    sort: str = "relevance"
    page: int = 1

    @classmethod
    def of(cls, text: str, filters: Filters, sort: str, page: int) -> ArchiveSearch:
        """The search that ``archive.params.search_parameters`` read."""
        return cls(text=text, dimensions=filters.dimensions, member_states=filters.member_states,
                   language=filters.language, year=filters.year, think_tank=filters.think_tank, sort=sort, page=page)

    def active_filters(self) -> list[tuple[str, str]]:
        """(parameter, value) of every filter in use: dimensions, member states, language, year, think tank."""
        found = [("dimension", value) for value in self.dimensions]
        found += [("member_state", value) for value in self.member_states]
        found += [(name, str(getattr(self, name))) for name in ("language", "year", "think_tank")
                  if getattr(self, name)]
        return found

    def arguments(self, **changes) -> dict:
        """The query-string arguments of this search's first page, with ``changes`` (``None`` drops a
        parameter): for ``url_for`` and for the export link."""
        values = {
            "q": self.text or None,
            "dimension": list(self.dimensions) or None,
            "member_state": list(self.member_states) or None,
            "language": self.language,
            "year": self.year,
            "think_tank": self.think_tank,
            "sort": self.sort if self.sort != "relevance" else None,
        }
        values.update(changes)
        return {name: value for name, value in values.items() if value not in (None, "", [])}

    def adding(self, name: str, value: str) -> dict:
        """The arguments with the filter ``name`` set to ``value`` (added, for a repeatable one)."""
        if name in REPEATABLE:
            current = self.dimensions if name == "dimension" else self.member_states
            return self.arguments(**{name: [*current, value] if value not in current else list(current)})
        return self.arguments(**{name: value})

    def links(self, base: str) -> Links:
        """Addresses of this search with one parameter changed, for pages that write many (the facets):
        each as ``url_for(endpoint, **arguments)`` writes it, without building a URL from the route each time."""
        return Links(base, self)

    def removing(self, name: str, value: str) -> dict:
        """The arguments without the filter ``name`` (only ``value`` of it, for a repeatable one)."""
        if name in REPEATABLE:
            current = self.dimensions if name == "dimension" else self.member_states
            return self.arguments(**{name: [item for item in current if item != value]})
        return self.arguments(**{name: None})


class Links:
    """``base`` + the query string of a search's arguments, with one parameter changed: the encoded part of
    every other parameter is computed once, so a page of 200 facet links costs one join each."""

    def __init__(self, base: str, search: ArchiveSearch) -> None:
        self.base, self.search = base, search
        self.parts = {name: self._encoded(name, value) for name, value in search.arguments().items()}

    @staticmethod
    def _encoded(name: str, value) -> str:
        values = value if isinstance(value, list) else [value]
        return urlencode([(name, item) for item in values], safe=QUERY_SAFE)

    def _with(self, arguments: dict, name: str) -> str:
        parts = dict(self.parts)
        if name in arguments:
            parts[name] = self._encoded(name, arguments[name])
        else:
            parts.pop(name, None)
        query = "&".join(parts[key] for key in ORDER if key in parts)
        return f"{self.base}?{query}" if query else self.base

    def adding(self, name: str, value: str) -> str:
        return self._with(self.search.adding(name, value), name)

    def removing(self, name: str, value: str) -> str:
        return self._with(self.search.removing(name, value), name)


class ArchiveSearchForm(FlaskForm):
    """The search box of the archive page (its filters travel as links and hidden fields)."""

    class Meta:
        csrf = False  # a GET search form changes nothing

    q = SearchField(_l("Search the archive"), filters=[_strip], description=SYNTAX_HINT)
