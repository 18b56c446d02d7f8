"""Secretariat forms: the audit filter (GET) and the membership entry form. They check shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SearchField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..accounts.models import EMAIL_MAX_LENGTH
from ..audit.services import ACTIONS
from ..enums import StateKind
from ..forms import enum_choices
from ..reference.models import STATE_NAME_MAX_LENGTH


def _choices(values, blank_label) -> list[SelectChoice]:
    """Choices whose labels are their values (dotted action names, object types), led by an empty one."""
    return [SelectChoice(value="", label=blank_label)] + [SelectChoice(value=value, label=value) for value in values]


class AuditFilterForm(FlaskForm):
    """Filters of the audit trail; every one optional. A GET form: it changes nothing."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), choices=_choices(ACTIONS, _l("Any action")), validators=[Optional()])
    object_type = SelectField(
        _l("Object type"),
        choices=_choices(sorted(set(ACTIONS.values())), _l("Any object type")),
        validators=[Optional()],
    )
    actor = SearchField(_l("Actor's email contains"), validators=[Optional(), Length(max=EMAIL_MAX_LENGTH)])
    date_from = DateField(_l("From (date, UTC)"), validators=[Optional()])
    date_to = DateField(_l("To (date, UTC, inclusive)"), validators=[Optional()])

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def query_arguments(self) -> dict[str, str]:
        """The filters as sent, to carry over to the other pages of the result."""
        return {name: field.raw_data[0] for name, field in self._fields.items() if field.raw_data and field.raw_data[0]}


class MemberStateForm(FlaskForm):
    """A member state, observer state or observer organisation; reference.services checks the rules."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=STATE_NAME_MAX_LENGTH)])
    name_ru = StringField(
        _l("Name in Russian"),
        validators=[Optional(), Length(max=STATE_NAME_MAX_LENGTH)],
        description=_l("Shown on Russian pages. Left empty, they show the name above."),
    )
    code = StringField(
        _l("ISO 3166-1 alpha-2 code"),
        validators=[Optional(), Length(max=2)],
        description=_l("Two letters, such as KZ. Leave it empty for an organisation."),
        render_kw={"autocapitalize": "characters", "spellcheck": "false"},
    )
    kind = SelectField(_l("Kind"), choices=enum_choices(StateKind))
