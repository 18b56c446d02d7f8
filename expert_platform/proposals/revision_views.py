"""Revisions, word-level diffs and annexes of a proposal.

Whoever may see a proposal (``permissions.can_view_proposal``) reads every revision, every diff
between two of them and every annex they list; to everyone else these pages do not exist (404).
Co-authors also compare the working copy with the revisions, and add and remove annexes while
the proposal can be edited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import HiddenField

from ..enums import Dimension
from ..errors import render_error
from ..experts.languages import language_name
from ..extensions import db
from ..forms import ActionForm
from ..permissions import can_edit_proposal, require
from ..security import accepts_body_up_to, safe_next_url
from ..web import act, actor, check_button
from . import annexes, translations
from .diff import word_diff_html
from .loading import visible_proposal
from .models import Annex, Proposal, ProposalRevision

bp = Blueprint("revisions", __name__)
log = logging.getLogger(__name__)

#: The working copy's key among the versions to compare (revisions are keyed by their number).
CURRENT = "current"
#: The largest id a route accepts: PostgreSQL's integer; SQLite cannot even bind much larger numbers.
_MAX_ID = 2**31 - 1


class ReturningForm(ActionForm):
    """A button form that brings the user back to the page it was on (a local path only)."""

    next = HiddenField()


class AnnexUploadForm(ReturningForm):
    file = FileField(_l("PDF file"), validators=[FileRequired(_l("Choose a PDF file to upload."))])


@dataclass(frozen=True)
class Version:
    """One side of a comparison: a frozen revision, or the working copy."""

    key: str
    label: str
    title: str
    summary: str
    body: str


# --- Loading -----------------------------------------------------------------------------------


def _revision_of(proposal: Proposal, number: int) -> ProposalRevision:
    revision = None
    if 0 < number <= _MAX_ID:
        revision = db.session.scalar(
            select(ProposalRevision).where(ProposalRevision.proposal_id == proposal.id,
                                           ProposalRevision.number == number)
        )
    if revision is None:
        abort(404)
    return revision


def _annex_of(proposal: Proposal, annex_id: int) -> Annex:
    """The proposal's annex (on the working copy or in a revision), or 404, like any other's."""
    annex = db.session.get(Annex, annex_id) if 0 < annex_id <= _MAX_ID else None
    if annex is None or not annexes.is_listed(annex, proposal):
        abort(404)
    return annex


def _back_to(form: ReturningForm, proposal: Proposal) -> str:
    return safe_next_url(form.next.data, url_for(".annexes", proposal_id=proposal.id))


# --- Template helpers --------------------------------------------------------------------------


@bp.app_template_global()
def proposal_annexes(proposal: Proposal) -> list[Annex]:
    """The annexes of the proposal's working copy (for ``proposals/_annexes.html``)."""
    return annexes.current_annexes(proposal)


@bp.app_template_filter("file_size")
def file_size_filter(size_bytes: int) -> str:
    return annexes.file_size(size_bytes)


@bp.app_template_filter("dimension_label")
def dimension_label(value: str) -> str:
    """The label of a dimension stored by value in a revision (the value itself if it is unknown)."""
    try:
        return Dimension(value).label
    except ValueError:
        return value


# --- Revisions and diffs -----------------------------------------------------------------------


@bp.get("/proposals/<int:proposal_id>/revisions/<int:number>")
def show(proposal_id: int, number: int):
    proposal = visible_proposal(proposal_id)
    revision = _revision_of(proposal, number)
    texts = translations.texts_of_revision(revision)
    return render_template(
        "revisions/show.html",
        proposal=proposal,
        revision=revision,
        texts=texts,
        shown=translations.chosen_text(texts, request.args.get("text")),
        text_link=lambda code: url_for("revisions.show", proposal_id=proposal.id, number=revision.number, text=code),
        revision_count=len(proposal.revisions),
        annexes=annexes.annexes_of_revision(revision),
        language=language_name(revision.language),
    )


@bp.app_template_global()
def comparable_versions(proposal: Proposal) -> list[Version]:
    """Every revision, oldest first, then the working copy for the co-authors while they can edit it
    (otherwise its title, summary and text are those of the last revision)."""
    versions = [
        Version(str(revision.number), _("Revision %(number)d", number=revision.number),
                revision.title, revision.summary, revision.body)
        for revision in proposal.revisions
    ]
    if can_edit_proposal(current_user, proposal):
        versions.append(Version(CURRENT, _("Working copy"), proposal.title, proposal.summary, proposal.body))
    return versions


@bp.get("/proposals/<int:proposal_id>/diff")
def diff(proposal_id: int):
    """Compare ``from`` with ``to`` (revision numbers, or ``current``); by default the last two."""
    proposal = visible_proposal(proposal_id)
    versions = comparable_versions(proposal)
    by_key = {version.key: version for version in versions}
    if len(versions) < 2:
        return render_template("revisions/diff.html", proposal=proposal, versions=versions, older=None,
                               newer=None, fields=[])
    older = by_key.get(request.args.get("from") or versions[-2].key)
    newer = by_key.get(request.args.get("to") or versions[-1].key)
    if older is None or newer is None:
        abort(404)
    fields = [
        (_("Title"), older.title != newer.title, word_diff_html(older.title, newer.title)),
        (_("Summary"), older.summary != newer.summary, word_diff_html(older.summary, newer.summary)),
        (_("Text"), older.body != newer.body, word_diff_html(older.body, newer.body)),
    ]
    return render_template("revisions/diff.html", proposal=proposal, versions=versions, older=older, newer=newer,
                           fields=fields)


# --- Annexes -----------------------------------------------------------------------------------


def _annexes_page(proposal: Proposal, form: AnnexUploadForm):
    return render_template("revisions/annexes.html", proposal=proposal, annex_form=form,
                           can_edit=can_edit_proposal(current_user, proposal))


@bp.get("/proposals/<int:proposal_id>/annexes", endpoint="annexes")
def annexes_page(proposal_id: int):
    """The working copy's annexes, and for co-authors the upload form (also shown again after a refusal)."""
    proposal = visible_proposal(proposal_id)
    return _annexes_page(proposal, AnnexUploadForm())


@bp.post("/proposals/<int:proposal_id>/annexes")
@accepts_body_up_to("ANNEX_MAX_BYTES", margin=annexes.UPLOAD_FORM_MARGIN_BYTES)
def upload_annex(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_edit_proposal(current_user, proposal))
    form = AnnexUploadForm()
    if not form.validate_on_submit():
        return _annexes_page(proposal, form), 400
    folder = current_app.config["UPLOAD_DIR"]
    answer = act(
        lambda: annexes.add_annex(actor=actor(), proposal=proposal, stream=form.file.data.stream,
                                  file_name=form.file.data.filename, folder=folder,
                                  max_bytes=current_app.config["ANNEX_MAX_BYTES"]),
        form=form,
        refusals={annexes.AnnexTooLarge: lambda error: render_error(413, error.message)},
        undo=lambda annex: annexes.discard_file(folder, annex),
        done=lambda annex: _("The annex %(name)s was added.", name=annex.original_name),
        then=lambda _annex: _back_to(form, proposal),
    )
    if answer is not None:
        return answer
    return _annexes_page(proposal, form), 400


@bp.errorhandler(413)
def upload_too_large(error):
    """A body over the upload route's own limit: say how large an annex may be."""
    if request.endpoint == "revisions.upload_annex":
        return render_error(413, annexes.too_large_message(current_app.config["ANNEX_MAX_BYTES"]))
    return render_error(413)


@bp.post("/proposals/<int:proposal_id>/annexes/<int:annex_id>/remove")
def remove_annex(proposal_id: int, annex_id: int):
    proposal = visible_proposal(proposal_id)
    annex = _annex_of(proposal, annex_id)
    require(can_edit_proposal(current_user, proposal))
    form = check_button(ReturningForm())
    return act(
        lambda: annexes.remove_annex(actor=actor(), proposal=proposal, annex=annex),
        done=lambda _result: _("The annex %(name)s was removed.", name=annex.original_name),
        then=lambda _result: _back_to(form, proposal),
    )


@bp.get("/proposals/<int:proposal_id>/annexes/<int:annex_id>")
def download_annex(proposal_id: int, annex_id: int):
    """The PDF as an attachment (never shown inline), under the name it was uploaded with."""
    proposal = visible_proposal(proposal_id)
    annex = _annex_of(proposal, annex_id)
    path = annexes.stored_path(current_app.config["UPLOAD_DIR"], annex)
    if not path.is_file():
        log.error("annex.missing_file annex=%s stored_name=%s", annex.id, annex.stored_name)
        abort(404)
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=annex.original_name)
