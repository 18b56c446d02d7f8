"""PDF annexes of a proposal: added and removed by its co-authors while it can be edited.

A file is an annex only when its content is a PDF (it starts with ``%PDF-``); its name and declared
type prove nothing. It is stored in UPLOAD_DIR, outside the web root, under a random name, with its
size and SHA-256; the name it was uploaded with is kept, cleaned, for display and as the download
name only. Removing an annex from the working copy sets ``removed_at`` and keeps the file: frozen
revisions that list it (``content["annex_ids"]``) still offer it for download.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
from pathlib import Path
from typing import BinaryIO

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from .. import permissions
from ..database import utcnow
from ..errors import InvalidTransition, NotAllowed, ValidationFailed
from ..extensions import db
from . import workflow
from .models import Annex, Proposal, ProposalRevision

PDF_SIGNATURE = b"%PDF-"
#: Room for the rest of the upload form around the file (boundaries, part headers, CSRF token).
UPLOAD_FORM_MARGIN_BYTES = 64 * 1024
NAME_MAX_LENGTH = 255
DEFAULT_NAME = "annex.pdf"
_READ_CHUNK_BYTES = 64 * 1024
_STORED_NAME_BYTES = 32  # 64 hex characters: the width of Annex.stored_name


class AnnexTooLarge(ValidationFailed):
    """The file is larger than ANNEX_MAX_BYTES (the page answers 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__("file", too_large_message(max_bytes))
        self.max_bytes = max_bytes


def too_large_message(max_bytes: int) -> str:
    return _(
        "An annex can be at most %(size)s. This file is larger: make it smaller (for example by "
        "reducing image quality) or split it into several annexes.",
        size=file_size(max_bytes),
    )


def file_size(size_bytes: int) -> str:
    """A size for people: bytes, KB or MB (1 MB = 1,048,576 bytes, as the limits are set)."""
    if size_bytes < 1024:
        return ngettext("%(num)d byte", "%(num)d bytes", size_bytes)
    if size_bytes < 1024 * 1024:
        return _("%(size)s KB", size=_one_decimal(size_bytes / 1024))
    return _("%(size)s MB", size=_one_decimal(size_bytes / (1024 * 1024)))


def _one_decimal(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def clean_file_name(raw: str | None) -> str:
    """The uploaded name, safe to show and to offer as a download name; always ends in ``.pdf``.

    Keeps the last path component only, drops control and format characters (a right-to-left
    override could disguise the extension), collapses whitespace, drops leading dots, and fits in
    255 characters.
    """
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(character for character in name if unicodedata.category(character)[0] != "C")
    name = " ".join(name.split()).lstrip(". ")
    if not name.lower().endswith(".pdf"):
        name = f"{name}.pdf" if name else DEFAULT_NAME
    if len(name) > NAME_MAX_LENGTH:
        name = name[: NAME_MAX_LENGTH - 4].rstrip() + ".pdf"
    return name


def stored_path(folder: str | Path, annex: Annex) -> Path:
    """Where the annex's file lives in ``folder`` (UPLOAD_DIR)."""
    return Path(folder) / annex.stored_name


def add_annex(*, actor, proposal: Proposal, stream: BinaryIO, file_name: str | None, folder: str | Path,
              max_bytes: int) -> Annex:
    """Store the PDF read from ``stream`` in ``folder`` (created when missing) and attach it to the
    working copy; flushes, never commits.

    Raises NotAllowed unless the actor may edit the proposal now (checked again under the
    proposal's row lock, so a submission at the same moment either freezes the annex or refuses
    it), ValidationFailed("file") for an empty file or one that is not a PDF, and AnnexTooLarge for
    more than ``max_bytes``. Nothing is left on disk when it raises; after a rollback the caller
    removes the file with ``discard_file``.
    """
    if not permissions.can_edit_proposal(actor, proposal):
        raise NotAllowed(_("Annexes can be added only by co-authors, while the proposal can be edited."))
    directory = Path(folder)
    directory.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(_STORED_NAME_BYTES)
    path = directory / stored_name
    # Exclusive creation, readable by the platform's user only; never another file's name.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as target:
            size_bytes, sha256 = _copy_pdf(stream, target, max_bytes)
        _lock_editable(actor, proposal)
        annex = Annex(
            proposal_id=proposal.id,
            original_name=clean_file_name(file_name),
            stored_name=stored_name,
            size_bytes=size_bytes,
            sha256=sha256,
            uploaded_by_id=actor.id,
            created_at=utcnow(),
        )
        db.session.add(annex)
        db.session.flush()
        workflow.record_event(proposal, actor=actor, action="annex_added", note=annex.original_name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return annex


def remove_annex(*, actor, proposal: Proposal, annex: Annex) -> None:
    """Take ``annex`` off the working copy (``removed_at``); its file and row stay for the revisions
    that list it. Flushes, never commits.

    Raises NotAllowed unless the actor may edit the proposal now and the annex belongs to it,
    InvalidTransition when it was already removed.
    """
    if not permissions.can_edit_proposal(actor, proposal) or annex.proposal_id != proposal.id:
        raise NotAllowed(_("Annexes can be removed only by co-authors, while the proposal can be edited."))
    _lock_editable(actor, proposal)
    db.session.refresh(annex)
    if annex.removed_at is not None:
        raise InvalidTransition(_("This annex was already removed."))
    annex.removed_at = utcnow()
    db.session.flush()
    workflow.record_event(proposal, actor=actor, action="annex_removed", note=annex.original_name)


def discard_file(folder: str | Path, annex: Annex) -> None:
    """Delete the file of an annex whose row was never committed (the transaction failed)."""
    stored_path(folder, annex).unlink(missing_ok=True)


def current_annexes(proposal: Proposal) -> list[Annex]:
    """The annexes of the working copy, oldest first."""
    return list(
        db.session.scalars(
            select(Annex).where(Annex.proposal_id == proposal.id, Annex.removed_at.is_(None)).order_by(Annex.id)
        )
    )


def annexes_of_revision(revision: ProposalRevision) -> list[Annex]:
    """The annexes frozen with ``revision``, in the order it lists them."""
    annex_ids = [int(annex_id) for annex_id in (revision.content or {}).get("annex_ids", [])]
    if not annex_ids:
        return []
    found = {
        annex.id: annex
        for annex in db.session.scalars(
            select(Annex).where(Annex.proposal_id == revision.proposal_id, Annex.id.in_(annex_ids))
        )
    }
    return [found[annex_id] for annex_id in annex_ids if annex_id in found]


def is_listed(annex: Annex, proposal: Proposal) -> bool:
    """The annex is part of the proposal: on its working copy, or frozen in one of its revisions.

    Whoever may see the proposal may download it (a removed annex that no revision lists is gone).
    """
    if annex.proposal_id != proposal.id:
        return False
    if annex.removed_at is None:
        return True
    return any(annex.id in (revision.content or {}).get("annex_ids", []) for revision in proposal.revisions)


def _copy_pdf(stream: BinaryIO, target: BinaryIO, max_bytes: int) -> tuple[int, str]:
    """Copy ``stream`` to ``target`` while checking it is a PDF of at most ``max_bytes``: its size and SHA-256."""
    digest = hashlib.sha256()
    size_bytes = 0
    head = b""
    while chunk := stream.read(_READ_CHUNK_BYTES):
        if len(head) < len(PDF_SIGNATURE):
            head += chunk[: len(PDF_SIGNATURE) - len(head)]
            if len(head) == len(PDF_SIGNATURE) and head != PDF_SIGNATURE:
                raise _not_a_pdf()
        size_bytes += len(chunk)
        if size_bytes > max_bytes:
            raise AnnexTooLarge(max_bytes)
        digest.update(chunk)
        target.write(chunk)
    if size_bytes == 0:
        raise ValidationFailed("file", _("The file is empty. Choose a PDF file."))
    if head != PDF_SIGNATURE:
        raise _not_a_pdf()
    target.flush()
    os.fsync(target.fileno())
    return size_bytes, digest.hexdigest()


def _not_a_pdf() -> ValidationFailed:
    return ValidationFailed(
        "file",
        _("This file is not a PDF. Annexes must be PDF documents: save or export the file as PDF and upload it again."),
    )


def _lock_editable(actor, proposal: Proposal) -> None:
    """Lock the proposal's row (PostgreSQL; SQLite's write transaction already excludes other writers)
    and re-read its state, so a submission at the same moment cannot miss or outrun the change."""
    db.session.refresh(proposal, with_for_update=True)
    if not permissions.can_edit_proposal(actor, proposal):
        raise NotAllowed(_("The proposal was sent a moment ago and can no longer be changed."))
