"""Forms of the council's review workspace: they check shape (presence, choice, format, length);
the services check the rules (conflicts, deadlines, who may act)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import DateTimeLocalInput

from ..enums import Position, Recommendation, RoundKind
from ..forms import TOO_LONG, enum_choices, unix_newlines
from ..proposals.models import NOTE_MAX_LENGTH
from .models import REASON_MAX_LENGTH, WAIVER_MAX_LENGTH

#: What a browser's datetime-local input sends (seconds only when the user typed them).
DEADLINE_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_utc_deadline(text: str | None) -> datetime | None:
    """A datetime-local value ("2026-06-30T17:00") read as UTC; None when it is not one."""
    for pattern in DEADLINE_FORMATS:
        try:
            return datetime.strptime((text or "").strip(), pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


class EnumRadioField(RadioField):
    """A radio group of a LabelledEnum's members, each described under its label; a missing or unknown
    value gets ``message`` rather than WTForms' generic one."""

    def __init__(self, label, enum_class, message, **kwargs) -> None:
        super().__init__(
            label,
            choices=enum_choices(enum_class),
            validate_choice=False,
            validators=[InputRequired(message), AnyOf([member.value for member in enum_class], message=message)],
            **kwargs,
        )
        self.enum_class = enum_class

    def description_of(self, value: str) -> str:
        return self.enum_class(value).description


class ReturnForRevisionForm(FlaskForm):
    """The secretariat sends the proposal back to its authors (the workflow requires the note)."""

    note = TextAreaField(
        _l("Note to the authors"),
        validators=[Optional(), Length(max=NOTE_MAX_LENGTH, message=TOO_LONG)],
        filters=[unix_newlines],
        description=_l("Required. Say what to change; the authors read it on the proposal's timeline."),
        render_kw={"rows": 4},
        id="return-note",
    )


class OpenRoundForm(FlaskForm):
    """The kind of consensus round and its deadline, a date and a time in UTC."""

    kind = EnumRadioField(_l("Kind of round"), RoundKind, _l("Choose the kind of round."),
                          default=RoundKind.STANDARD.value)
    deadline = StringField(
        _l("Deadline (UTC)"),
        widget=DateTimeLocalInput(),
        validators=[InputRequired(_l("Enter the deadline: a date and a time."))],
        description=_l("A date and a time in UTC, at least an hour from now and within a year."),
    )

    def validate_deadline(self, field) -> None:
        if parse_utc_deadline(field.data) is None:
            raise ValidationError(_l("Enter the deadline as a date and a time, for example 2026-06-30 17:00."))

    @property
    def deadline_at(self) -> datetime | None:
        return parse_utc_deadline(self.deadline.data)


class CloseRoundForm(FlaskForm):
    """The secretariat closes a round without consensus once its deadline has passed."""

    note = TextAreaField(
        _l("Note (optional)"),
        validators=[Optional(), Length(max=NOTE_MAX_LENGTH, message=TOO_LONG)],
        filters=[unix_newlines],
        description=_l("Shown on the proposal's timeline."),
        render_kw={"rows": 2},
        id="close-note",
    )


class AssignRapporteurForm(FlaskForm):
    """A council member to make rapporteur; a conflicted member needs a waiver reason."""

    user_id = SelectField(_l("Council member"), validate_choice=False)
    waiver_reason = TextAreaField(
        _l("Waiver of a conflict of interest"),
        validators=[Optional(), Length(max=WAIVER_MAX_LENGTH, message=TOO_LONG)],
        filters=[unix_newlines],
        description=_l("Required when the member has a conflict of interest: why they may assess it anyway."),
        render_kw={"rows": 3},
    )

    def __init__(self, *args, candidates=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user_id.choices = [("", _l("Choose a council member"))] + [
            (str(candidate.user.id), candidate_label(candidate)) for candidate in candidates
        ]

    def validate_user_id(self, field) -> None:
        offered = {value for value, _label in field.choices if value}
        if field.data not in offered:
            raise ValidationError(_l("Choose a council member from the list."))


def candidate_label(candidate) -> str:
    """"Name (delegation of China)", and "conflict of interest" when one was found."""
    label = _("%(name)s (delegation of %(state)s)", name=candidate.user.display_name,
              state=candidate.seat.delegation.member_state.display_name)
    if candidate.conflicts:
        return _("%(candidate)s: conflict of interest", candidate=label)
    return label


class ReviewForm(FlaskForm):
    """A rapporteur's review of the current revision."""

    recommendation = EnumRadioField(_l("Recommendation"), Recommendation, _l("Choose a recommendation."))
    assessment = TextAreaField(
        _l("Assessment"),
        filters=[unix_newlines],
        description=_l("Markdown: ## headings, *emphasis*, lists and links. At most 100 KB."),
        render_kw={"rows": 14},
    )


class ShareReviewForm(FlaskForm):
    """Share a review with the authors: anonymised ("Rapporteur 1") unless the name is shown."""

    with_name = BooleanField(_l("Show the rapporteur's name"), default=False)


class PositionForm(FlaskForm):
    """A delegation's position in the open round; a reservation or an objection needs its reason."""

    position = EnumRadioField(_l("Position of your delegation"), Position, _l("Choose a position."))
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=REASON_MAX_LENGTH, message=TOO_LONG)],
        filters=[unix_newlines],
        description=_l("Required for a reservation or an objection; annexed to the decision record."),
        render_kw={"rows": 4},
    )
