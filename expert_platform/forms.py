"""Form classes and fields shared by every domain package."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, widgets
from wtforms.fields.choices import SelectChoice

#: The message of every ``Length(max=...)`` validator.
TOO_LONG = _l("Use at most %(max)d characters.")


def unix_newlines(text: str | None) -> str | None:
    """A form filter: browsers send a textarea's line breaks as CRLF; count and store each as one character."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if text else text


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a group of checkboxes (accessible: each has its own label)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def enum_choices(enum_class, *, blank_label=None) -> list[SelectChoice]:
    """Choices for a select or checkbox group from a LabelledEnum, optionally led by an empty choice."""
    choices = [SelectChoice(value=member.value, label=member.lazy_label) for member in enum_class]
    if blank_label is not None:
        choices.insert(0, SelectChoice(value="", label=blank_label))
    return choices


class ActionForm(FlaskForm):
    """A form with no fields: a button that POSTs with a CSRF token (sign out, remove, revoke...)."""
