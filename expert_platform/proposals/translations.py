"""A proposal in translation: its title, summary and body in the other working languages.

The original is the proposal's own text, in ``Proposal.language`` (any language). A translation may
exist for each working language (``i18n.WORKING_LANGUAGES``) other than the original's; its
co-authors write it with the original, under the same rules (limits, Markdown cleaned once when
saved, editable only while the proposal is, optimistic concurrency on ``Proposal.version``), and
each submission freezes it into the revision. Readers choose among the texts a proposal (or a frozen
revision) has: ``texts_of_proposal``, ``texts_of_revision`` and ``chosen_text``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

from .. import permissions, sanitize
from ..enums import TextStatus
from ..errors import NotAllowed, ValidationFailed
from ..experts.languages import language_name
from ..extensions import db
from ..i18n import LANGUAGE_NAMES, WORKING_LANGUAGES, current_language
from .models import Proposal, ProposalRevision, ProposalTranslation
from .services import EditConflict, checked_text, claim_next_version

#: The statuses a translation may carry (the original is the proposal's own text).
TRANSLATION_STATUSES = (TextStatus.TRANSLATION, TextStatus.CHECKED_TRANSLATION)


@dataclass(frozen=True)
class TranslationContent:
    """Everything an author types into the translation form."""

    title: str
    summary: str
    body: str
    status: str


@dataclass(frozen=True)
class ReadableText:
    """One text a reader may choose: the original or a translation."""

    language: str
    status: TextStatus
    title: str
    summary: str
    body_html: str

    @property
    def is_original(self) -> bool:
        return self.status == TextStatus.ORIGINAL

    @property
    def language_name(self) -> str:
        """The language named in itself for a working language ("Русский"), else in the reader's language."""
        return LANGUAGE_NAMES.get(self.language) or language_name(self.language)


def translatable_languages(proposal: Proposal) -> tuple[str, ...]:
    """The working languages the proposal may be translated into: every one but its original's."""
    return tuple(code for code in WORKING_LANGUAGES if code != proposal.language)


def translation_in(proposal: Proposal, language: str) -> ProposalTranslation | None:
    """The working copy's translation into ``language``, if it has one."""
    return next((row for row in proposal.translations if row.language == language), None)


def _checked_status(value: str) -> TextStatus:
    try:
        status = TextStatus(value)
    except ValueError:
        status = None
    if status not in TRANSLATION_STATUSES:
        raise ValidationFailed("status", _("Choose whether the translation has been checked."))
    return status


def _require_translatable(actor, proposal: Proposal, language: str) -> None:
    if not permissions.can_edit_proposal(actor, proposal):
        raise NotAllowed(_("You may not edit this proposal now."))
    if language not in translatable_languages(proposal):
        raise ValidationFailed(None, _("A proposal is translated only into a working language other than its own."))


def save_translation(*, actor, proposal: Proposal, language: str, content: TranslationContent,
                     opened_at_version: int) -> ProposalTranslation:
    """Create or update the translation into ``language`` if nobody saved the proposal since the form was
    opened at ``opened_at_version``; bumps ``Proposal.version`` and ``updated_at`` like any save.

    Raises NotAllowed unless the actor may edit the proposal now, ValidationFailed for a language that
    is not a working language or is the original's, EditConflict when the stored version is newer, and
    ValidationFailed naming the field for the limits of the original (``services.checked_text``) or a
    status other than translation and checked translation. Flushes, never commits.
    """
    _require_translatable(actor, proposal, language)
    if proposal.version != opened_at_version:
        raise EditConflict(proposal)
    title, summary, body = checked_text(title=content.title, summary=content.summary, body=content.body)
    status = _checked_status(content.status)
    claim_next_version(proposal, opened_at_version)
    translation = translation_in(proposal, language)
    if translation is None:
        translation = ProposalTranslation(language=language)
        proposal.translations.append(translation)
    translation.status = status
    translation.title = title
    translation.summary = summary
    translation.body = body
    translation.body_html = sanitize.render_markdown(body)
    translation.updated_by_id = actor.id
    translation.updated_at = proposal.updated_at
    db.session.flush()
    return translation


def remove_translation(*, actor, proposal: Proposal, language: str) -> None:
    """Delete the working copy's translation into ``language``; bumps ``Proposal.version`` and
    ``updated_at`` (a form opened before it is then stale). Frozen revisions keep theirs.

    Raises NotAllowed unless the actor may edit the proposal now, ValidationFailed for a language
    it has no translation into. Flushes, never commits.
    """
    _require_translatable(actor, proposal, language)
    translation = translation_in(proposal, language)
    if translation is None:
        raise ValidationFailed(None, _("The proposal has no translation into this language."))
    claim_next_version(proposal, proposal.version)
    proposal.translations.remove(translation)
    db.session.flush()


def frozen_translations(proposal: Proposal) -> list[dict]:
    """The working copy's translations as a revision keeps them (``content["translations"]``)."""
    return [
        {"language": row.language, "status": row.status.value, "title": row.title, "summary": row.summary,
         "body": row.body, "body_html": row.body_html}
        for row in proposal.translations
    ]


# --- Reading: the texts a reader chooses among -------------------------------------------------------


def texts_of_proposal(proposal: Proposal) -> list[ReadableText]:
    """The working copy's original, then its translations in language order."""
    original = ReadableText(proposal.language, TextStatus.ORIGINAL, proposal.title, proposal.summary,
                            proposal.body_html)
    return [original, *(ReadableText(row.language, row.status, row.title, row.summary, row.body_html)
                        for row in proposal.translations)]


def texts_of_revision(revision: ProposalRevision) -> list[ReadableText]:
    """A frozen revision's original, then the translations frozen with it (none in revisions frozen
    before translations existed)."""
    original = ReadableText(revision.language, TextStatus.ORIGINAL, revision.title, revision.summary,
                            revision.body_html)
    frozen: Iterable[Mapping] = (revision.content or {}).get("translations", [])
    return [original, *(ReadableText(item["language"], TextStatus(item["status"]), item["title"],
                                     item["summary"], item["body_html"]) for item in frozen)]


def chosen_text(texts: list[ReadableText], requested: str | None) -> ReadableText:
    """The text in the ``requested`` language (``?text=``); else the one in the interface language; else
    the original (the first). An unknown request is no error: it gets the default."""
    by_language = {text.language: text for text in texts}
    return by_language.get(requested or "") or by_language.get(current_language()) or texts[0]
