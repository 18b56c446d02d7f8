"""The search parameters of the archive, read from a query string and checked once for every reader
of the archive: the JSON API, the CSV export, the Atom feed and the archive page.

The rules (the OpenAPI document of ``archive.api`` states each of them, from the same constants and
functions, and Schemathesis checks the server against it: ``make test-api-contract``):

- ``q``: the query text (the syntax of ``search.query``); the service cuts it at 256 characters.
- ``dimension`` (may repeat, ANDed): one of the slugs of ``enums.Dimension``.
- ``member_state`` (may repeat, ANDed): the ISO 3166-1 alpha-2 code of a member state of the reference data
  (``member_state_codes()``; observers concern no proposal), in capitals or in small letters (``KZ``, ``kz``).
- ``language``: an ISO 639-1 code that babel names (``language_codes()``), in small letters or in capitals.
- ``year``: a year from 1 to 9999, digits only.
- ``think_tank``: a think tank's exact name, at most 200 characters (an unknown name simply matches nothing).
- ``sort``: ``relevance`` (the default) or ``newest``.
- ``page`` (from 1 to MAX_PAGE, default 1) and ``per_page`` (from 1 to MAX_PER_PAGE, default 20):
  digits only. A page past the last one is not an error: it holds no items.

A parameter given once with an empty value counts as absent (``?dimension=&q=`` is every proposal), so a
search form may send its blank fields; an empty value beside others (``?dimension=economic&dimension=``) is
a bad value. The free texts (``q``, ``think_tank``) are read without their surrounding spaces; every other
value must be exactly one of those listed (`` economic`` is refused, as the document's enumerations say).
``dimension`` and ``member_state`` may be given several times, every other parameter at most once. Any
rule broken raises ``BadParameter``, whose message names the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from ..enums import Dimension
from ..experts.languages import is_language_code, language_choices
from ..reference.services import member_states
from ..search.service import MAX_PER_PAGE, SORTS, Filters

#: The parameters of a search, in the order the API documents them.
SEARCH_PARAMETERS = ("q", "dimension", "member_state", "language", "year", "think_tank", "sort")
#: The parameters that choose a page of results (the API and the archive page; not the exports).
PAGE_PARAMETERS = ("page", "per_page")
REPEATABLE_PARAMETERS = frozenset({"dimension", "member_state"})
DEFAULT_SORT = "relevance"
DEFAULT_PER_PAGE = 20
#: Deep pages cost the index a sort of page * per_page hits: the API stops at a million hits.
MAX_PAGE = 10_000
THINK_TANK_NAME_MAX_LENGTH = 200
FIRST_YEAR, LAST_YEAR = 1, 9999
DIMENSION_SLUGS = tuple(dimension.value for dimension in Dimension)

_DIGITS = re.compile(r"[0-9]{1,9}")
_STATE_CODE = re.compile(r"[A-Za-z]{2}")


class BadParameter(ValueError):
    """A search parameter broke its rule; ``message`` names the parameter and is safe to show."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter


@dataclass(frozen=True)
class SearchRequest:
    """What to search for: the query text, the facet filters and the order."""

    text: str
    filters: Filters
    sort: str


def search_parameters(args, *, reject_unknown: bool = False) -> tuple[str, Filters, str, int, int]:
    """``(text, filters, sort, page, per_page)`` read from ``args`` (a MultiDict, such as ``request.args``).

    Raises BadParameter for a value that breaks its rule, and (with ``reject_unknown``) for a parameter
    that is not one of SEARCH_PARAMETERS and PAGE_PARAMETERS.
    """
    if reject_unknown:
        _reject_unknown(args, SEARCH_PARAMETERS + PAGE_PARAMETERS)
    wanted = search_request(args)
    page = _whole_number(args, "page", default=1, lowest=1, highest=MAX_PAGE)
    per_page = _whole_number(args, "per_page", default=DEFAULT_PER_PAGE, lowest=1, highest=MAX_PER_PAGE)
    return wanted.text, wanted.filters, wanted.sort, page, per_page


def search_request(args, *, reject_unknown: bool = False) -> SearchRequest:
    """The search of ``args`` without its page (the exports take every page). Raises BadParameter."""
    if reject_unknown:
        _reject_unknown(args, SEARCH_PARAMETERS)
    text = _single(args, "q").strip()
    sort = _single(args, "sort") or DEFAULT_SORT
    if sort not in SORTS:
        raise BadParameter(_("sort must be one of: %(choices)s.", choices=", ".join(SORTS)), "sort")
    language = _language(args)
    year = _whole_number(args, "year", default=None, lowest=FIRST_YEAR, highest=LAST_YEAR)
    think_tank = _single(args, "think_tank")
    if len(think_tank) > THINK_TANK_NAME_MAX_LENGTH:
        raise BadParameter(_("think_tank must be at most %(count)d characters.", count=THINK_TANK_NAME_MAX_LENGTH),
                           "think_tank")
    filters = Filters(dimensions=dimensions(args), member_states=_member_states(args), language=language or None,
                      year=year, think_tank=think_tank.strip() or None)
    return SearchRequest(text=text, filters=filters, sort=sort)


def dimensions(args) -> tuple[str, ...]:
    """The ``dimension`` slugs of ``args``, each once, in the order given. Raises BadParameter."""
    slugs = _repeated(args, "dimension")
    for slug in slugs:
        if slug not in DIMENSION_SLUGS:
            raise BadParameter(_("dimension %(value)s is unknown; use one of: %(choices)s.", value=_quoted(slug),
                                 choices=", ".join(DIMENSION_SLUGS)), "dimension")
    return slugs


def member_state_codes() -> list[str]:
    """The codes ``member_state`` accepts, in capitals and in code order: those of the member states of the
    reference data (``reference.services.member_states``). Observer states are left out: no proposal concerns
    one (a proposal's states are member states), so filtering by one could only ever match nothing."""
    return sorted(state.code for state in member_states() if state.code)


def language_codes() -> list[str]:
    """The codes ``language`` accepts, in small letters and in code order: the ISO 639-1 codes that babel names
    (``experts.languages``, as ``is_language_code`` checks them)."""
    return sorted(code for code, _name in language_choices())


def _member_states(args) -> tuple[str, ...]:
    values = _repeated(args, "member_state")
    for value in values:
        if not _STATE_CODE.fullmatch(value):
            raise BadParameter(_("member_state must be a two-letter ISO 3166-1 code such as KZ, not %(value)s.",
                                 value=_quoted(value)), "member_state")
    if not values:
        return ()
    known = set(member_state_codes())
    for value in values:
        if not _in_one_case(value) or value.upper() not in known:
            raise BadParameter(_("member_state %(value)s is not a member state's code.", value=_quoted(value)),
                               "member_state")
    return tuple(dict.fromkeys(value.upper() for value in values))


def _language(args) -> str:
    """The ``language`` code in small letters, or "" when absent. Raises BadParameter."""
    value = _single(args, "language")
    if value and not (_in_one_case(value) and is_language_code(value.lower())):
        raise BadParameter(_("language must be a two-letter ISO 639-1 code such as en or ru, not %(value)s.",
                             value=_quoted(value)), "language")
    return value.lower()


def _in_one_case(code: str) -> bool:
    """True for a code written all in capitals or all in small letters (``KZ``, ``kz``; not ``Kz``): the two
    spellings the OpenAPI document lists for each code."""
    return code in (code.upper(), code.lower())


def _reject_unknown(args, accepted: tuple[str, ...]) -> None:
    for name in args:
        if name not in accepted:
            raise BadParameter(_("%(name)s is not a parameter of this address; use: %(accepted)s.",
                                 name=_quoted(name), accepted=", ".join(accepted)), name)


def _single(args, name: str) -> str:
    """The value of ``name`` as given, or "" when absent or empty. Raises BadParameter when it is given twice."""
    values = args.getlist(name)
    if len(values) > 1:
        raise BadParameter(_("%(name)s may be given only once.", name=name), name)
    return values[0] if values else ""


def _repeated(args, name: str) -> tuple[str, ...]:
    """The values of ``name`` as given, each once, in the order given; none when it is absent or given once
    empty. An empty value beside others stays, for the caller to refuse."""
    values = args.getlist(name)
    return () if values == [""] else tuple(dict.fromkeys(values))


def _whole_number(args, name: str, *, default, lowest: int, highest: int):
    raw = _single(args, name)
    if not raw:
        return default
    if not _DIGITS.fullmatch(raw) or not lowest <= int(raw) <= highest:
        raise BadParameter(_("%(name)s must be a whole number from %(lowest)d to %(highest)d, not %(value)s.",
                             name=name, lowest=lowest, highest=highest, value=_quoted(raw)), name)
    return int(raw)


def _quoted(value: str) -> str:
    """A value as a message repeats it: quoted and cut, so a long or odd value cannot flood the message."""
    value = value if len(value) <= 40 else value[:40] + "…"
    return f'"{value}"'
