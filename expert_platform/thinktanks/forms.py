"""Think-tank forms: they check shape (presence, length, choice); services check the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional

from ..accounts.forms import SignUpForm
from ..accounts.models import EMAIL_MAX_LENGTH
from ..enums import MembershipRole, Participation, ThinkTankStatus
from ..forms import TOO_LONG, enum_choices
from .models import (
    CONTACT_NAME_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    REASON_MAX_LENGTH,
    THINK_TANK_NAME_MAX_LENGTH,
    WEBSITE_MAX_LENGTH,
)


def _participation_field() -> SelectField:
    return SelectField(
        _l("Participation"),
        choices=enum_choices(Participation),
        default=Participation.PERMANENT.value,
        description=_l("One lead think tank per member state; a temporary participation ends on its end date."),
    )


def _ends_on_field(label) -> DateField:
    return DateField(
        label,
        validators=[Optional()],
        description=_l("Only for a temporary participation: after this day the institution becomes read-only."),
    )


class ApplicationForm(FlaskForm):
    name = StringField(
        _l("Name of the institution"),
        validators=[DataRequired(_l("Enter the institution's name.")),
                    Length(max=THINK_TANK_NAME_MAX_LENGTH, message=TOO_LONG)],
        render_kw={"autocomplete": "organization"},
    )
    member_state = SelectField(
        _l("Member state"),
        choices=[],  # the view fills in the member states of the reference data
        validators=[DataRequired(_l("Choose one of the member states."))],
    )
    website = URLField(
        _l("Website (optional)"),
        validators=[Optional(), Length(max=WEBSITE_MAX_LENGTH, message=TOO_LONG)],
        description=_l("A full address such as https://example.org."),
        render_kw={"autocomplete": "url", "spellcheck": "false", "autocapitalize": "none"},
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=DESCRIPTION_MAX_LENGTH, message=TOO_LONG)],
        description=_l("What the institution works on. Markdown: *emphasis*, lists, links. At most 5000 characters."),
        render_kw={"rows": 8},
    )
    contact_name = StringField(
        _l("Contact person"),
        validators=[DataRequired(_l("Enter the contact person's name.")),
                    Length(max=CONTACT_NAME_MAX_LENGTH, message=TOO_LONG)],
        description=_l("The contact person becomes the manager of the think tank on the platform."),
        render_kw={"autocomplete": "name"},
    )
    contact_email = EmailField(
        _l("Contact person's email address"),
        validators=[DataRequired(_l("Enter the contact person's email address.")),
                    Length(max=EMAIL_MAX_LENGTH, message=TOO_LONG)],
        render_kw={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "none"},
    )
    participation = _participation_field()
    ends_on = _ends_on_field(_l("End of a temporary participation"))


#: The review page holds both forms; its two buttons send ``decision`` with one of these values.
DECISION_APPROVE = "approve"
DECISION_REJECT = "reject"


class ApproveForm(FlaskForm):
    participation = _participation_field()
    ends_on = _ends_on_field(_l("End of the participation"))


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(_l("Give the reason for the rejection: the applicant receives it.")),
                    Length(max=REASON_MAX_LENGTH, message=TOO_LONG)],
        description=_l("Emailed to the contact person."),
        render_kw={"rows": 5},
    )


class ApplicationFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    status = SelectField(
        _l("Status"), choices=enum_choices(ThinkTankStatus, blank_label=_l("Any status")), validators=[Optional()]
    )


class InvitationForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter the email address to invite.")),
                    Length(max=EMAIL_MAX_LENGTH, message=TOO_LONG)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    role = SelectField(_l("Role"), choices=enum_choices(MembershipRole), default=MembershipRole.EXPERT.value)


class MembershipRoleForm(FlaskForm):
    """The buttons "Make manager" and "Make expert" send the new role as the button's value."""

    role = SelectField(choices=enum_choices(MembershipRole))


class InvitationAccountForm(SignUpForm):
    """A new account for an invited address: the address comes from the invitation."""

    email = None
