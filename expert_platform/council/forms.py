"""Council forms: they check shape only; council.services checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..accounts.models import EMAIL_MAX_LENGTH
from ..enums import DelegationRole
from ..forms import enum_choices


class AppointForm(FlaskForm):
    """Appoint the holder of an existing account to a member state's delegation.

    The view fills ``member_state`` with the member states (values are their ids, as strings).
    """

    email = EmailField(
        _l("Email address of the person's account"),
        validators=[DataRequired(), Length(max=EMAIL_MAX_LENGTH)],
        description=_l("The person needs an account on the platform first."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    member_state = SelectField(_l("Member state"), validators=[DataRequired()])
    role = SelectField(_l("Seat"), choices=enum_choices(DelegationRole), default=DelegationRole.ALTERNATE.value)

    def set_member_states(self, states) -> None:
        self.member_state.choices = [SelectChoice(value="", label=_l("Choose a member state"))] + [
            SelectChoice(value=str(state.id), label=state.name) for state in states
        ]
