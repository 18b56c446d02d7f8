"""Notification forms: the email settings (shape only; ``save_email_settings`` ignores unknown kinds)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from ..enums import NotificationKind
from ..forms import MultiCheckboxField, enum_choices


class EmailSettingsForm(FlaskForm):
    """One "Email me" checkbox per kind of notification; an unticked kind is shown in the app only."""

    emailed = MultiCheckboxField(_l("Email me about"), choices=enum_choices(NotificationKind))

    @classmethod
    def prefilled(cls, settings: dict[NotificationKind, bool]) -> EmailSettingsForm:
        """The form ticked as ``settings`` (from ``services.email_settings``) say."""
        return cls(data={"emailed": [kind.value for kind, is_emailed in settings.items() if is_emailed]})
