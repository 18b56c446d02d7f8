"""Proposal forms: they check shape (presence, length, choice); services check the rules.

The proposal form names exactly the fields an author may change: ``content()`` hands only those to
the service, so nothing else posted (state, version, reference, authors...) can reach a proposal.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ..accounts.models import EMAIL_MAX_LENGTH
from ..enums import Dimension, ProposalState, TextStatus
from ..experts.languages import language_choices
from ..forms import TOO_LONG, MultiCheckboxField, enum_choices, unix_newlines
from ..reference.services import by_display_name
from .models import BODY_MAX_BYTES, KEYWORD_MAX_LENGTH, NOTE_MAX_LENGTH, SUMMARY_MAX_LENGTH, TITLE_MAX_LENGTH
from .services import KEYWORDS_MAX_COUNT, REGISTER_TEXT_MAX_LENGTH, Content, RegisterFilters
from .translations import TRANSLATION_STATUSES, TranslationContent

# Room for the most keywords the service accepts, with their separators.
KEYWORDS_TEXT_MAX_LENGTH = KEYWORDS_MAX_COUNT * (KEYWORD_MAX_LENGTH + 2) * 2


class ProposalTextForm(FlaskForm):
    """The title, summary and text: of the original (``ProposalForm``) and of a translation."""

    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Enter a title.")), Length(max=TITLE_MAX_LENGTH, message=TOO_LONG)],
        description=_l("At most 200 characters."),
    )
    summary = TextAreaField(
        _l("Summary"),
        validators=[Length(max=SUMMARY_MAX_LENGTH, message=TOO_LONG)],
        filters=[unix_newlines],
        description=_l("Plain text, at most 1500 characters: what the measure is and why it matters."),
        render_kw={"rows": 5},
    )
    body = TextAreaField(
        _l("Text"),
        # The service counts the 200 KB limit in bytes; this only stops absurd input early.
        validators=[Length(max=BODY_MAX_BYTES, message=_l("The text is larger than 200 KB. Move long material "
                                                          "into a PDF annex."))],
        filters=[unix_newlines],
        description=_l("Markdown: ## headings, *emphasis*, lists, tables and links. No images and no HTML. "
                       "At most 200 KB."),
        render_kw={"rows": 24, "spellcheck": "true"},
    )


class ProposalForm(ProposalTextForm):
    """What an author types: the same form starts a draft and edits one."""

    dimensions = MultiCheckboxField(_l("Dimensions"), choices=enum_choices(Dimension))
    member_states = SelectMultipleField(
        _l("Member states concerned"),
        coerce=int,
        description=_l("Hold Ctrl (or Cmd on a Mac) to choose several."),
        render_kw={"size": 8},
    )
    keywords = StringField(
        _l("Keywords"),
        validators=[Length(max=KEYWORDS_TEXT_MAX_LENGTH, message=TOO_LONG)],
        description=_l("Separate keywords with commas, for example: water diplomacy, early warning. "
                       "At most 20, each up to 60 characters."),
    )
    # The service names an unknown language itself, with a message better than "Not a valid choice".
    language = SelectField(_l("Language of the proposal"), default="en", validate_choice=False)

    def __init__(self, *args, member_states=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.member_states.choices = [(state.id, state.display_name) for state in by_display_name(member_states)]
        self.language.choices = language_choices()

    @staticmethod
    def initial_data(content: Content) -> dict:
        """The form's values for stored (or new) content."""
        return {
            "title": content.title,
            "summary": content.summary,
            "body": content.body,
            "dimensions": [str(value) for value in content.dimensions],
            "member_states": list(content.member_state_ids),
            "keywords": ", ".join(content.keywords),
            "language": content.language,
        }

    def content(self) -> Content:
        """Exactly the fields an author may change, as the service takes them."""
        return Content(
            title=self.title.data or "",
            summary=self.summary.data or "",
            body=self.body.data or "",
            language=self.language.data or "",
            dimensions=self.dimensions.data or [],
            member_state_ids=self.member_states.data or [],
            keywords=(self.keywords.data or "").split(","),
        )


class EditProposalForm(ProposalForm):
    #: The proposal's version when the form was opened: a save from an older one is a conflict.
    opened_at_version = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,9}$")])


class TranslationForm(ProposalTextForm):
    """A translation of the proposal's title, summary and text, and whether it has been checked."""

    status = RadioField(
        _l("Status"),
        default=TextStatus.TRANSLATION.value,
        # The service names a status that is not offered itself.
        validate_choice=False,
        description=_l("Mark the translation as checked once a second person has read it against the original."),
    )
    #: The proposal's version when the form was opened: a save from an older one is a conflict.
    opened_at_version = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,9}$")])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Labels read when the form is built, in the request's language.
        self.status.choices = [(status.value, status.label) for status in TRANSLATION_STATUSES]

    def content(self) -> TranslationContent:
        return TranslationContent(
            title=self.title.data or "",
            summary=self.summary.data or "",
            body=self.body.data or "",
            status=self.status.data or "",
        )


class ActionNoteForm(FlaskForm):
    """A workflow button with an optional note for the timeline."""

    note = TextAreaField(
        _l("Note (optional)"),
        validators=[Optional(), Length(max=NOTE_MAX_LENGTH, message=TOO_LONG)],
        filters=[unix_newlines],
        description=_l("Shown on the proposal's timeline."),
        render_kw={"rows": 2},
    )


class InviteCoauthorForm(FlaskForm):
    email = EmailField(
        _l("Email address of the expert"),
        validators=[DataRequired(_l("Enter the email address of the expert to invite.")),
                    Length(max=EMAIL_MAX_LENGTH, message=TOO_LONG)],
        description=_l("Co-authors are experts with an account on the platform."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )


#: The two buttons of an invitation send ``answer`` with one of these values.
ANSWER_ACCEPT = "accept"
ANSWER_DECLINE = "decline"


class RegisterFilterForm(FlaskForm):
    """The proposal register's search (GET): text, state, dimension, only my own."""

    class Meta:
        csrf = False  # a GET search form changes nothing

    q = SearchField(
        _l("Title, summary or reference"),
        filters=[lambda text: text[:REGISTER_TEXT_MAX_LENGTH] if text else text],
        validators=[Optional(), Length(max=REGISTER_TEXT_MAX_LENGTH)],
        render_kw={"maxlength": REGISTER_TEXT_MAX_LENGTH},
    )
    state = SelectField(
        _l("State"), choices=enum_choices(ProposalState, blank_label=_l("Any state")), validators=[Optional()]
    )
    dimension = SelectField(
        _l("Dimension"), choices=enum_choices(Dimension, blank_label=_l("Any dimension")), validators=[Optional()]
    )
    mine = BooleanField(_l("Only proposals I co-author"))

    def register_filters(self) -> RegisterFilters:
        """The filters to apply (after ``validate()``): a choice that is not offered is left out."""

        def chosen(field) -> str | None:
            return field.data if field.data and not field.errors else None

        state = chosen(self.state)
        dimension = chosen(self.dimension)
        return RegisterFilters(
            text=self.q.data or "",
            state=ProposalState(state) if state else None,
            dimension=Dimension(dimension) if dimension else None,
            only_mine=bool(self.mine.data),
        )

    def query_arguments(self) -> dict[str, str]:
        """The filters as query-string arguments, for the pagination links."""
        arguments = {name: self[name].data for name in ("q", "state", "dimension") if self[name].data}
        if self.mine.data:
            arguments["mine"] = "y"
        return arguments
