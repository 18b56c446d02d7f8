"""Word-level differences between two texts (Markdown source), as escaped HTML.

A pure function of its two texts: no database, no request. The texts are cut into words, runs of
whitespace and runs of punctuation, and ``difflib.SequenceMatcher`` aligns them. Deleted text is
wrapped in ``<del>``, inserted text in ``<ins>``; each starts with a visually hidden marker
("deleted:", "inserted:"), so screen readers announce the change and it never relies on colour
alone. Every piece of either text is HTML-escaped: a ``<script>`` in a proposal shows as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

#: A word, a run of whitespace, or a run of other characters (punctuation, Markdown marks).
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]+")

INSERTED_MARKER = _l("inserted:")
DELETED_MARKER = _l("deleted:")


@dataclass(frozen=True)
class Change:
    """One stretch of the comparison: equal when ``old == new``, else what was replaced by what."""

    old: str
    new: str

    @property
    def is_equal(self) -> bool:
        return self.old == self.new


def tokenise(text: str) -> list[str]:
    """``text`` cut into words, whitespace runs and punctuation runs; joined they give ``text`` back."""
    return _TOKEN.findall(text or "")


def word_changes(old: str, new: str) -> list[Change]:
    """The stretches of ``old`` and ``new``, in order: equal ones, and replacements.

    A replacement never has equal texts. Whitespace alone between two replacements is folded
    into one replacement, so "a b" to "x y" reads as one change rather than two split by a space.
    """
    old_tokens, new_tokens = tokenise(old), tokenise(new)
    opcodes = SequenceMatcher(None, old_tokens, new_tokens, autojunk=False).get_opcodes()
    pieces = [(tag == "equal", "".join(old_tokens[i1:i2]), "".join(new_tokens[j1:j2]))
              for tag, i1, i2, j1, j2 in opcodes]
    merged: list[list] = []
    for index, (is_equal, old_text, new_text) in enumerate(pieces):
        lone_whitespace = (
            is_equal and not old_text.strip() and index + 1 < len(pieces) and not pieces[index + 1][0]
        )
        if merged and not merged[-1][0] and (not is_equal or lone_whitespace):
            merged[-1][1] += old_text
            merged[-1][2] += new_text
        else:
            merged.append([is_equal, old_text, new_text])
    return [Change(old_text, new_text) for _is_equal, old_text, new_text in merged]


def word_diff_html(old: str, new: str) -> Markup:
    """``old`` and ``new`` as one escaped HTML text, deletions in ``<del>`` and insertions in ``<ins>``."""
    parts: list[str] = []
    for change in word_changes(old, new):
        if change.is_equal:
            parts.append(escape(change.old))
            continue
        if change.old:
            parts.append(_marked("del", DELETED_MARKER, change.old))
        if change.new:
            parts.append(_marked("ins", INSERTED_MARKER, change.new))
    return Markup("".join(parts))


def _marked(tag: str, marker, text: str) -> Markup:
    return Markup('<{tag}><span class="visually-hidden">{marker} </span>{text}</{tag}>').format(
        tag=Markup(tag), marker=str(marker), text=text
    )
