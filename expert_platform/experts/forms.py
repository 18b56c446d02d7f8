"""Expert forms: they check shape (lengths, choices, one "Title | address" per line); services check the rules."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SearchField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from ..enums import Dimension, ProfileVisibility
from ..forms import MultiCheckboxField, enum_choices, unix_newlines
from ..reference.services import by_display_name
from .languages import language_choices
from .models import (
    AFFILIATIONS_MAX_LENGTH,
    BIOGRAPHY_MAX_LENGTH,
    KEYWORD_MAX_LENGTH,
    LINK_TITLE_MAX_LENGTH,
    LINK_URL_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from .services import KEYWORDS_MAX_COUNT, LINKS_MAX_COUNT, SEARCH_TEXT_MAX_LENGTH, DirectoryFilters, LinkInput

# Room for the most keywords and links the services accept, with their separators.
KEYWORDS_TEXT_MAX_LENGTH = KEYWORDS_MAX_COUNT * (KEYWORD_MAX_LENGTH + 2) * 2
LINKS_TEXT_MAX_LENGTH = LINKS_MAX_COUNT * (LINK_TITLE_MAX_LENGTH + LINK_URL_MAX_LENGTH + 5)
ORCID_TEXT_MAX_LENGTH = 60
LINK_SEPARATOR = "|"


def _at_most(maximum: int) -> Length:
    return Length(max=maximum, message=_l("Use at most %(max)d characters (this has %(length)d)."))


def _cap_search_text(text: str | None) -> str | None:
    return text[:SEARCH_TEXT_MAX_LENGTH] if text else text


def parse_link_lines(text: str | None) -> list[LinkInput]:
    """One link per non-blank line, written "Title | https://address" (the last "|" separates them).

    Raises ValueError with the line number when a line has no "|".
    """
    links = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        title, separator, url = line.rpartition(LINK_SEPARATOR)
        if not separator:
            raise ValueError(number)
        links.append(LinkInput(title=title.strip(), url=url.strip()))
    return links


class ExpertProfileForm(FlaskForm):
    title = StringField(
        _l("Title or position"),
        validators=[_at_most(TITLE_MAX_LENGTH)],
        description=_l("For example: Senior research fellow."),
    )
    affiliations = TextAreaField(
        _l("Affiliations"),
        validators=[_at_most(AFFILIATIONS_MAX_LENGTH)],
        filters=[unix_newlines],
        render_kw={"rows": 3},
    )
    biography = TextAreaField(
        _l("Biography"),
        validators=[_at_most(BIOGRAPHY_MAX_LENGTH)],
        filters=[unix_newlines],
        description=_l("Markdown: *italic*, **bold**, lists, links and headings. No images and no HTML."),
        render_kw={"rows": 12},
    )
    dimensions = MultiCheckboxField(_l("Expertise across the dimensions"), choices=enum_choices(Dimension))
    keywords = StringField(
        _l("Keywords"),
        validators=[_at_most(KEYWORDS_TEXT_MAX_LENGTH)],
        description=_l("Separate keywords with commas, for example: water diplomacy, border management. "
                       "At most 20, each up to 60 characters."),
    )
    languages = SelectMultipleField(
        _l("Languages you speak"),
        description=_l("Hold Ctrl (or Cmd on a Mac) to choose several."),
        render_kw={"size": 8},
    )
    country = SelectField(_l("Country"), default="", validators=[Optional()])
    orcid = StringField(
        _l("ORCID iD"),
        validators=[_at_most(ORCID_TEXT_MAX_LENGTH)],
        description=_l("Optional. For example 0000-0002-1825-0097 or https://orcid.org/0000-0002-1825-0097."),
        render_kw={"spellcheck": "false", "autocapitalize": "none"},
    )
    publication_links = TextAreaField(
        _l("Publications"),
        validators=[_at_most(LINKS_TEXT_MAX_LENGTH)],
        filters=[unix_newlines],
        description=_l("One link per line, written as: Title | https://address. At most 20."),
        render_kw={"rows": 5, "spellcheck": "false"},
    )
    visibility = RadioField(
        _l("Who may see your profile"),
        choices=enum_choices(ProfileVisibility),
        default=ProfileVisibility.SIGNED_IN.value,
    )

    def __init__(self, *args, countries=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.languages.choices = language_choices()
        self.country.choices = [("", _l("Not given"))] + [
            (str(state.id), state.display_name) for state in by_display_name(countries)
        ]

    @staticmethod
    def initial_data(profile) -> dict:
        """The form's values for a saved profile (or the defaults when there is none yet)."""
        if profile is None:
            return {}
        return {
            "title": profile.title,
            "affiliations": profile.affiliations,
            "biography": profile.biography,
            "dimensions": [row.dimension.value for row in profile.dimensions],
            "keywords": ", ".join(row.keyword for row in profile.keywords),
            "languages": [row.language for row in profile.languages],
            "country": str(profile.country_id) if profile.country_id else "",
            "orcid": profile.orcid or "",
            "publication_links": "\n".join(
                f"{link.title} {LINK_SEPARATOR} {link.url}" for link in profile.publication_links
            ),
            "visibility": profile.visibility.value,
        }

    @staticmethod
    def visibility_description(value: str) -> str:
        """What choosing this visibility means, shown under its radio button."""
        return ProfileVisibility(value).description

    def validate_publication_links(self, field) -> None:
        try:
            parse_link_lines(field.data)
        except ValueError as error:
            raise ValidationError(
                _("Line %(number)d has no “|”: write each link as Title | https://address.", number=error.args[0])
            ) from error

    def profile_values(self) -> dict:
        """The keyword arguments of ``services.update_profile`` (after ``validate()`` passed)."""
        return {
            "title": self.title.data or "",
            "affiliations": self.affiliations.data or "",
            "biography": self.biography.data or "",
            "dimensions": self.dimensions.data or [],
            "keywords": (self.keywords.data or "").split(","),
            "languages": self.languages.data or [],
            "country_id": int(self.country.data) if self.country.data else None,
            "orcid": self.orcid.data or "",
            "publication_links": parse_link_lines(self.publication_links.data),
            "visibility": self.visibility.data,
        }


class DirectoryFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = SearchField(
        _l("Name, keyword or biography"),
        filters=[_cap_search_text],
        validators=[Optional(), Length(max=SEARCH_TEXT_MAX_LENGTH)],
        render_kw={"maxlength": SEARCH_TEXT_MAX_LENGTH},
    )
    dimension = SelectField(
        _l("Dimension"), choices=enum_choices(Dimension, blank_label=_l("Any dimension")), validators=[Optional()]
    )
    member_state = SelectField(_l("Member state of the think tank"), validators=[Optional()])
    language = SelectField(_l("Language"), validators=[Optional()])
    keyword = StringField(_l("Keyword"), validators=[Optional(), Length(max=KEYWORD_MAX_LENGTH)])

    def __init__(self, *args, member_states=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.member_state.choices = [("", _l("Any member state"))] + [
            (str(state.id), state.display_name) for state in by_display_name(member_states)
        ]
        self.language.choices = [("", _l("Any language"))] + language_choices()

    def directory_filters(self) -> DirectoryFilters:
        """The filters to apply (after ``validate()``): a choice that is not offered is left out."""

        def chosen(field) -> str | None:
            return field.data if field.data and not field.errors else None

        dimension = chosen(self.dimension)
        member_state = chosen(self.member_state)
        return DirectoryFilters(
            dimension=Dimension(dimension) if dimension else None,
            member_state_id=int(member_state) if member_state else None,
            language=chosen(self.language),
            keyword=self.keyword.data or "",
            text=self.q.data or "",
        )

    def query_arguments(self) -> dict[str, str]:
        """The filters as typed, for links to other pages of the same results."""
        return {field.name: field.data for field in self if field.data}
