"""Account forms: they check shape (presence, length, matching fields); services check the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SearchField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..enums import Role
from ..forms import MultiCheckboxField, enum_choices
from ..i18n import LANGUAGE_NAMES, WORKING_LANGUAGES
from .models import DISPLAY_NAME_MAX_LENGTH, EMAIL_MAX_LENGTH
from .passwords import PASSWORD_MAX_LENGTH


def _email_field(label=None) -> EmailField:
    return EmailField(
        label or _l("Email address"),
        validators=[DataRequired(), Length(max=EMAIL_MAX_LENGTH)],
        render_kw={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "none"},
    )


def _password_field(label, autocomplete: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": autocomplete},
    )


def _new_password_pair(first_label):
    new = PasswordField(
        first_label,
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        description=_l("At least 12 characters. A few unrelated words make a strong password."),
        render_kw={"autocomplete": "new-password", "minlength": 12},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH),
                    EqualTo("new_password", message=_l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )
    return new, confirm


class LoginForm(FlaskForm):
    email = _email_field()
    password = _password_field(_l("Password"), "current-password")
    remember = BooleanField(_l("Keep me signed in on this device for 14 days"))
    next = HiddenField(validators=[Optional(), Length(max=2048)])


class SignUpForm(FlaskForm):
    display_name = StringField(
        _l("Your name"),
        validators=[DataRequired(), Length(max=DISPLAY_NAME_MAX_LENGTH)],
        render_kw={"autocomplete": "name"},
    )
    email = _email_field()
    new_password, confirm_password = _new_password_pair(_l("Password"))


class EmailOnlyForm(FlaskForm):
    email = _email_field()


class ResetPasswordForm(FlaskForm):
    new_password, confirm_password = _new_password_pair(_l("New password"))


class ChangePasswordForm(FlaskForm):
    current_password = _password_field(_l("Current password"), "current-password")
    new_password, confirm_password = _new_password_pair(_l("New password"))


class ProfileForm(FlaskForm):
    display_name = StringField(
        _l("Display name"),
        validators=[DataRequired(), Length(max=DISPLAY_NAME_MAX_LENGTH)],
        render_kw={"autocomplete": "name"},
    )
    locale = SelectField(
        _l("Language of pages and emails"),
        choices=[SelectChoice(value="", label=_l("The language of my browser"))]
        + [SelectChoice(value=code, label=LANGUAGE_NAMES[code]) for code in WORKING_LANGUAGES],
        validators=[Optional()],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.locale.data is None:
            self.locale.data = ""



class UserAdminForm(FlaskForm):
    roles = MultiCheckboxField(_l("Roles"), choices=enum_choices(Role))
    is_active = BooleanField(_l("Account is active (the person can sign in)"))


class UserSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = SearchField(_l("Name or email"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Role"), choices=enum_choices(Role, blank_label=_l("Any role")), validators=[Optional()])
