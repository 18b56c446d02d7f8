"""The archive page: full-text search of the endorsed proposals, with facets, sorting and pages.

Everyone may search the archive, signed in or not, and everyone sees the same thing: the index holds
public proposals only and the search service re-checks every hit against ``permissions.py``.
Parameters are read by ``archive.params`` (as for the JSON API, the export and the feed): one that
cannot mean anything answers 400 with the reason; a page past the last one answers 404. The page
only reads: no commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..enums import Dimension
from ..experts.languages import language_name
from ..i18n import number_text
from ..proposals.cards import Card
from ..reference.services import all_states
from ..search import service as search_service
from ..web import Page
from .forms import PER_PAGE, ArchiveSearch, ArchiveSearchForm
from .params import BadParameter, search_parameters

bp = Blueprint("archive", __name__)

@dataclass(frozen=True)
class ArchiveHit:
    """One hit as the page shows it; ``*_html`` are the service's highlights (escaped, matches in <mark>)."""

    proposal: Card
    title_html: str
    snippet_html: str
    #: The language of the text the title and snippet come from (the original, or a translation that matched).
    language: str = ""


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    is_active: bool
    #: The search with this option added, or removed when it is active; the count as the language writes it.
    href: str
    count_text: str


@dataclass(frozen=True)
class FacetGroup:
    name: str
    heading: str
    options: list[FacetOption]
    #: How many values the group has in all (``options`` may show only the most frequent), and the link
    #: that shows them all, or the fewer again (None when every value is shown anyway).
    total: int = 0
    toggle_href: str | None = None
    is_expanded: bool = False


#: The values a facet group shows, most frequent first (with any in use): the rest behind "Show all".
#: A search of common words has some 150 think tanks and 20 years; listing them all made the sidebar a
#: few screens long and cost a third of the page's time.
FACET_VALUES_SHOWN = 10


@bp.get("/archive")
def index():
    form = ArchiveSearchForm(request.args)
    try:
        # The page shows PER_PAGE hits whatever ``per_page`` says (it is still checked, as for the API).
        text, filters, sort, page, _per_page = search_parameters(request.args)
    except BadParameter as error:
        return _refused(form, error.message)
    expanded = request.args.get("expand", "")
    if expanded and expanded not in search_service.FACETS:
        return _refused(form, _("expand must be one of: %(choices)s.", choices=", ".join(search_service.FACETS)))
    search = ArchiveSearch.of(text, filters, sort, page)
    results = search_service.search(text, filters, current_user, page=page, per_page=PER_PAGE, sort=sort)
    if page > results.pages:
        abort(404)
    state_names = {state.code: state.display_name for state in all_states() if state.code}
    return render_template(
        "archive/index.html",
        form=form,
        errors=[],
        search=search,
        results=results,
        hits=[_hit(hit) for hit in results.hits],
        facets=_facet_groups(results.facets, search, state_names, expanded),
        filter_labels=_filter_labels(search, state_names),
        page=Page(page=search.page, pages=results.pages),
        language_name=language_name,
    )


def _refused(form: ArchiveSearchForm, message: str):
    """The page with the search box as typed and why the search cannot run (400)."""
    return render_template("archive/index.html", form=form, errors=[message], search=None, results=None), 400


def _hit(hit: search_service.Hit) -> ArchiveHit:
    return ArchiveHit(
        proposal=hit.proposal,
        title_html=hit.highlights["title"],
        snippet_html=hit.highlights["body"],
        language=hit.language,
    )


def _label(name: str, value: str, state_names: dict[str, str]) -> str:
    """How a reader knows a facet value: a dimension's label, a state's or a language's name."""
    if name == "dimension":
        return Dimension(value).label if value in Dimension._value2member_map_ else value
    if name == "member_state":
        return state_names.get(value, value)
    if name == "language":
        return language_name(value)
    return value


def _facet_groups(facets: dict[str, dict[str, int]], search: ArchiveSearch,
                  state_names: dict[str, str], expanded: str = "") -> list[FacetGroup]:
    """The groups as the sidebar lists them: each group's FACET_VALUES_SHOWN most frequent values and those in
    use (all of the ``expanded`` group), each with its link, label and count."""
    headings = {
        "dimension": _("Dimension"),
        "member_state": _("Member state"),
        "language": _("Language"),
        "year": _("Year of the decision"),
        "think_tank": _("Think tank"),
    }
    active = set(search.active_filters())
    links = search.links(url_for("archive.index"))
    here = search.arguments(page=search.page if search.page > 1 else None)
    groups = []
    for name, heading in headings.items():
        values = facets.get(name, {})
        is_expanded = name == expanded
        shown = [(value, count) for rank, (value, count) in enumerate(values.items())
                 if is_expanded or rank < FACET_VALUES_SHOWN or (name, value) in active]
        options = [
            FacetOption(value=value, label=_label(name, value, state_names), count=count,
                        is_active=(name, value) in active,
                        href=links.removing(name, value) if (name, value) in active else links.adding(name, value),
                        count_text=number_text(count))
            for value, count in shown
        ]
        if not options:
            continue
        toggle = None
        if len(values) > FACET_VALUES_SHOWN:
            toggle = url_for("archive.index", **here, **({} if is_expanded else {"expand": name}),
                             _anchor=f"facet-{name}")
        groups.append(FacetGroup(name=name, heading=heading, options=options, total=len(values),
                                 toggle_href=toggle, is_expanded=is_expanded))
    return groups


def _filter_labels(search: ArchiveSearch, state_names: dict[str, str]) -> list[tuple[str, str, str]]:
    """(parameter, value, "Kind: label") of each filter in use, for the "remove" links."""
    kinds = {
        "dimension": _("Dimension"),
        "member_state": _("Member state"),
        "language": _("Language"),
        "year": _("Year"),
        "think_tank": _("Think tank"),
    }
    return [(name, value, f"{kinds[name]}: {_label(name, value, state_names)}")
            for name, value in search.active_filters()]
