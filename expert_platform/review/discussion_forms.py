"""Discussion forms: they carry what was typed; ``services.add_comment`` checks the text and the visibility
(so an empty, too long or unchosen answer gets the service's own message under its field)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField

from ..enums import CommentVisibility
from ..forms import enum_choices, unix_newlines

BODY_HINT = _l("Markdown: *emphasis*, lists, block quotes and links. No images and no HTML. At most 20,000 characters.")


class CommentForm(FlaskForm):
    """A new thread (the council and the secretariat) or, with ``parent_id``, an answer in a thread.

    ``visibility`` has no default: whoever starts a thread chooses who reads it. A reply ignores it
    (it is read by whoever reads its thread).
    """

    body = TextAreaField(_l("Comment"), filters=[unix_newlines], description=BODY_HINT, render_kw={"rows": 6})
    # The service refuses a missing or unknown choice with a message better than "Not a valid choice".
    visibility = RadioField(_l("Who reads it"), choices=enum_choices(CommentVisibility), validate_choice=False)
    parent_id = HiddenField()
