"""Proposal services: plain functions with keyword-only arguments that flush and never commit.

State changes go through ``workflow.transition()``; these functions change content and authors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import permissions, sanitize
from ..database import utcnow
from ..enums import AuthorStatus, Dimension, ProposalState, StateKind, ThinkTankStatus
from ..errors import NotAllowed, ValidationFailed
from ..extensions import db
from ..i18n import current_language
from ..reference.models import MemberState
from ..thinktanks.models import Membership, ThinkTank
from . import workflow
from .models import (
    BODY_MAX_BYTES,
    KEYWORD_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Proposal,
    ProposalAuthor,
    ProposalDimension,
    ProposalKeyword,
    ProposalMemberState,
    ProposalThinkTank,
    coauthored_by,
)

KEYWORDS_MAX_COUNT = 20

#: The outline a new proposal's text starts with, in the language of the page that starts it.
_OUTLINE = _l(
    "## Problem\n\nWhat problem does the measure address, and for whom?\n\n"
    "## Proposed measure\n\nWhat should the member states agree to do?\n\n"
    "## Implementation\n\nWho does what, in which order, by when?\n\n"
    "## Resources\n\nWhat does it cost, and who provides it?\n\n"
    "## Risks\n\nWhat could go wrong, and how is it mitigated?\n"
)


def outline() -> str:
    return str(_OUTLINE)


class EditConflict(ValidationFailed):
    """The proposal was saved by someone else after this form was opened.

    Carries the stored proposal so the page can show both texts; nothing typed is lost.
    """

    def __init__(self, proposal: Proposal) -> None:
        super().__init__(
            None,
            _(
                "A co-author saved this proposal after you opened it. Your text was not saved: compare "
                "both versions below, merge what you need into the form and save again."
            ),
        )
        self.proposal = proposal


@dataclass(frozen=True)
class Content:
    """Everything an author types into the proposal form."""

    title: str
    summary: str
    body: str
    language: str
    dimensions: Iterable[str]
    member_state_ids: Iterable[int]
    keywords: Iterable[str]


def checked_text(*, title: str, summary: str, body: str) -> tuple[str, str, str]:
    """The title (spaces collapsed), summary (stripped) and body (Unix newlines) of a proposal or of a
    translation of it. Raises ValidationFailed naming the field for a title missing or over 200
    characters, a summary over 1,500 characters or a body over 200 KB."""
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed("title", _("Enter a title."))
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationFailed("title", _("Use at most %(count)d characters.", count=TITLE_MAX_LENGTH))
    summary = (summary or "").strip()
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise ValidationFailed("summary", _("Use at most %(count)d characters.", count=SUMMARY_MAX_LENGTH))
    body = (body or "").replace("\r\n", "\n")
    if len(body.encode("utf-8")) > BODY_MAX_BYTES:
        raise ValidationFailed("body", _("The text is larger than 200 KB. Move long material into a PDF annex."))
    return title, summary, body


def _checked_content(content: Content) -> dict:
    from ..experts.languages import is_language_code
    from ..experts.services import normalize_keyword

    title, summary, body = checked_text(title=content.title, summary=content.summary, body=content.body)
    language = (content.language or "").strip().lower()
    if not is_language_code(language):
        raise ValidationFailed("language", _("Choose the language the proposal is written in."))
    try:
        dimensions = sorted({Dimension(value) for value in content.dimensions})
    except ValueError as error:
        raise ValidationFailed("dimensions", _("Choose among the five dimensions.")) from error
    state_ids = sorted({int(value) for value in content.member_state_ids})
    if state_ids:
        found = db.session.scalars(
            select(MemberState.id).where(MemberState.id.in_(state_ids), MemberState.kind == StateKind.MEMBER_STATE)
        ).all()
        if len(found) != len(state_ids):
            raise ValidationFailed("member_states", _("Choose member states from the list."))
    keywords: list[str] = []
    for raw in content.keywords:
        keyword = normalize_keyword(raw)
        if not keyword or keyword in keywords:
            continue
        if len(keyword) > KEYWORD_MAX_LENGTH:
            raise ValidationFailed(
                "keywords", _("A keyword has at most %(count)d characters.", count=KEYWORD_MAX_LENGTH)
            )
        keywords.append(keyword)
    if len(keywords) > KEYWORDS_MAX_COUNT:
        raise ValidationFailed("keywords", _("Use at most %(count)d keywords.", count=KEYWORDS_MAX_COUNT))
    return {
        "title": title,
        "summary": summary,
        "body": body,
        "language": language,
        "dimensions": dimensions,
        "member_state_ids": state_ids,
        "keywords": keywords,
    }


def _apply(proposal: Proposal, checked: dict) -> None:
    proposal.title = checked["title"]
    proposal.summary = checked["summary"]
    proposal.body = checked["body"]
    proposal.body_html = sanitize.render_markdown(checked["body"])
    proposal.language = checked["language"]
    kept = {row.dimension: row for row in proposal.dimensions}
    proposal.dimensions = [kept.get(d) or ProposalDimension(dimension=d) for d in checked["dimensions"]]
    kept_states = {row.member_state_id: row for row in proposal.member_states}
    proposal.member_states = [
        kept_states.get(i) or ProposalMemberState(member_state_id=i) for i in checked["member_state_ids"]
    ]
    kept_keywords = {row.keyword: row for row in proposal.keywords}
    proposal.keywords = [kept_keywords.get(k) or ProposalKeyword(keyword=k) for k in checked["keywords"]]


def refresh_think_tanks(proposal: Proposal) -> None:
    """The think tanks behind the proposal: those where its accepted authors are active members."""
    author_ids = [row.user_id for row in proposal.coauthors]
    tank_ids = set(
        db.session.scalars(
            select(Membership.think_tank_id)
            .join(ThinkTank, ThinkTank.id == Membership.think_tank_id)
            .where(
                Membership.user_id.in_(author_ids),
                Membership.is_active.is_(True),
                ThinkTank.status == ThinkTankStatus.APPROVED,
            )
        )
    )
    kept = {row.think_tank_id: row for row in proposal.think_tanks}
    proposal.think_tanks = [kept.get(i) or ProposalThinkTank(think_tank_id=i) for i in sorted(tank_ids)]


def new_content(*, title: str = "", language: str | None = None) -> Content:
    """The content of a proposal that is just being started: the outline as its text, both in the
    interface language unless another language is given."""
    return Content(title=title, summary="", body=outline(), language=language or current_language(), dimensions=(),
                   member_state_ids=(), keywords=())


def create_draft(*, actor, content: Content) -> Proposal:
    """Start a draft whose lead author is ``actor``. Raises NotAllowed unless the actor writes
    proposals, ValidationFailed for content that breaks a rule (see ``save_content``)."""
    if not permissions.can_write_proposals(actor):
        raise NotAllowed(_("Only experts of a think tank write proposals."))
    checked = _checked_content(content)
    now = utcnow()
    proposal = Proposal(title=checked["title"], created_by_id=actor.id, created_at=now, updated_at=now)
    proposal.authors = [
        ProposalAuthor(user_id=actor.id, is_lead=True, status=AuthorStatus.ACCEPTED, invited_at=now, responded_at=now)
    ]
    db.session.add(proposal)
    _apply(proposal, checked)
    db.session.flush()
    db.session.refresh(proposal, ["authors"])
    refresh_think_tanks(proposal)
    db.session.flush()
    workflow.record_event(proposal, actor=actor, action="created")
    return proposal


def save_content(*, actor, proposal: Proposal, content: Content, opened_at_version: int) -> None:
    """Save the working copy if nobody saved it since the form was opened at ``opened_at_version``.

    Raises NotAllowed unless the actor may edit it now, EditConflict when the stored version is
    newer than the form's (compared explicitly, and again in the UPDATE, so two saves racing
    from the same version cannot both win), and ValidationFailed naming the field for a title
    missing or over 200 characters, a summary over 1,500, a text over 200 KB, an unknown language,
    a language the proposal has a translation into, an unknown dimension or member state, a keyword
    over 60 characters or more than 20 keywords.
    """
    if not permissions.can_edit_proposal(actor, proposal):
        raise NotAllowed(_("You may not edit this proposal now."))
    if proposal.version != opened_at_version:
        raise EditConflict(proposal)
    checked = _checked_content(content)
    if checked["language"] != proposal.language and any(
        row.language == checked["language"] for row in proposal.translations
    ):
        raise ValidationFailed("language", _(
            "The proposal has a translation into this language. Remove the translation first if the original "
            "is now in this language."
        ))
    claim_next_version(proposal, opened_at_version)
    _apply(proposal, checked)
    refresh_think_tanks(proposal)
    db.session.flush()


def claim_next_version(proposal: Proposal, opened_at_version: int) -> None:
    """Bump the proposal's version and ``updated_at`` if it is still at ``opened_at_version``; raises
    EditConflict otherwise. The version is compared again in the UPDATE, so two saves racing from the
    same version cannot both win."""
    claimed = db.session.execute(
        Proposal.__table__.update()
        .where(Proposal.id == proposal.id, Proposal.version == opened_at_version)
        .values(version=opened_at_version + 1, updated_at=utcnow())
    )
    if claimed.rowcount != 1:
        db.session.refresh(proposal)
        raise EditConflict(proposal)
    db.session.refresh(proposal, ["version", "updated_at"])


def is_editable(proposal: Proposal) -> bool:
    return proposal.state in (ProposalState.DRAFT, ProposalState.CHANGES_REQUESTED)


# --- The proposal register: the database searched under the rules of who sees what ----------------

#: The longest text the register searches for (longer text is cut).
REGISTER_TEXT_MAX_LENGTH = 100


@dataclass(frozen=True)
class RegisterFilters:
    text: str = ""
    state: ProposalState | None = None
    dimension: Dimension | None = None
    only_mine: bool = False


def register_statement(*, viewer, filters: RegisterFilters):
    """The proposals ``viewer`` may see (``permissions.visible_proposals_condition``: drafts only to
    their co-authors, proposals before the council to the council and the secretariat too, endorsed
    ones to everyone) that match ``filters``, the most recently changed first.

    The text is looked for, ignoring case and with wildcards taken literally, in the title, the
    summary and the reference; ``only_mine`` keeps the proposals the viewer co-authors. Reads the
    database, never the search index (which holds public proposals only)."""
    from sqlalchemy import exists, or_
    from sqlalchemy.orm import lazyload

    from ..database import LIKE_ESCAPE, contains_pattern

    statement = (
        select(Proposal)
        .where(permissions.visible_proposals_condition(viewer, Proposal, coauthored_by))
        .options(lazyload(Proposal.authors), lazyload(Proposal.dimensions), lazyload(Proposal.member_states),
                 lazyload(Proposal.keywords), lazyload(Proposal.think_tanks))
        .order_by(Proposal.updated_at.desc(), Proposal.id.desc())
    )
    if filters.state is not None:
        statement = statement.where(Proposal.state == filters.state)
    if filters.dimension is not None:
        statement = statement.where(exists(select(ProposalDimension.proposal_id).where(
            ProposalDimension.proposal_id == Proposal.id, ProposalDimension.dimension == filters.dimension)))
    if filters.only_mine and permissions.is_signed_in(viewer):
        statement = statement.where(coauthored_by(viewer.id))
    text = " ".join(filters.text.split())[:REGISTER_TEXT_MAX_LENGTH]
    if text:
        pattern = contains_pattern(text.lower())
        statement = statement.where(or_(
            Proposal.title.ilike(pattern, escape=LIKE_ESCAPE),
            Proposal.summary.ilike(pattern, escape=LIKE_ESCAPE),
            Proposal.reference.ilike(pattern, escape=LIKE_ESCAPE),
        ))
    return statement
