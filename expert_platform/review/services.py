"""The council's review: starting it, rapporteurs and conflicts of interest, reviews, the
discussion, and returning a proposal for revision.

Writers take keyword-only arguments and an explicit actor, flush and never commit, and raise
DomainError subclasses. Consensus rounds live in ``rounds.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import permissions, sanitize
from ..accounts.models import User
from ..audit import services as audit
from ..council.models import Delegation, DelegationSeat
from ..database import utcnow
from ..enums import CommentVisibility, ProposalAction, Recommendation
from ..errors import NotAllowed, ValidationFailed
from ..extensions import db
from ..proposals import workflow
from ..proposals.models import Proposal, ProposalEvent, ProposalRevision
from ..thinktanks.models import Membership
from . import rounds
from .models import (
    ASSESSMENT_MAX_BYTES,
    COMMENT_MAX_LENGTH,
    WAIVER_MAX_LENGTH,
    Comment,
    RapporteurAssignment,
    Review,
)

_signals = Namespace()
#: Sent inside the change's transaction (a rolled-back change tells nobody); ``notifications`` listens, so
#: ``review`` does not need to know who is told (ARCHITECTURE.md section 7.16).
#: ``send(proposal, assignment=...)`` when a rapporteur is assigned.
rapporteur_assigned = _signals.signal("review-rapporteur-assigned")
#: ``send(proposal, review=...)`` when a review is first shared with the authors.
review_shared = _signals.signal("review-shared")
#: ``send(proposal, comment=..., parent=...)`` when a comment or an answer is posted.
comment_added = _signals.signal("review-comment-added")

# --- reading ------------------------------------------------------------------------------------


def current_revision_number(proposal: Proposal) -> int | None:
    """The number of the latest frozen revision (None before the first submission)."""
    return db.session.scalar(
        select(func.max(ProposalRevision.number)).where(ProposalRevision.proposal_id == proposal.id)
    )


def assignments_of(proposal: Proposal, *, include_removed: bool = False) -> list[RapporteurAssignment]:
    """The proposal's rapporteurs in the order they were assigned."""
    query = select(RapporteurAssignment).where(RapporteurAssignment.proposal_id == proposal.id)
    if not include_removed:
        query = query.where(RapporteurAssignment.removed_at.is_(None))
    return list(db.session.scalars(query.order_by(RapporteurAssignment.number)))


def assignment_of(proposal: Proposal, user) -> RapporteurAssignment | None:
    """``user``'s current assignment as rapporteur of ``proposal`` (None when they are not one)."""
    if not permissions.is_signed_in(user):
        return None
    return db.session.scalar(
        select(RapporteurAssignment).where(
            RapporteurAssignment.proposal_id == proposal.id,
            RapporteurAssignment.user_id == user.id,
            RapporteurAssignment.removed_at.is_(None),
        )
    )


def reviews_of(proposal: Proposal) -> list[Review]:
    """Every review of every revision, the latest revision first, then by rapporteur number."""
    return list(
        db.session.scalars(
            select(Review)
            .join(RapporteurAssignment, RapporteurAssignment.id == Review.assignment_id)
            .where(Review.proposal_id == proposal.id)
            .order_by(Review.revision_number.desc(), RapporteurAssignment.number)
        )
    )


def visible_reviews(proposal: Proposal, viewer) -> list[Review]:
    return [review for review in reviews_of(proposal) if permissions.can_view_review(viewer, proposal, review)]


def rapporteur_label(review: Review, viewer, proposal: Proposal) -> str:
    """Who wrote a review, as ``viewer`` may know it: the name for the council and the secretariat and
    when the secretariat shared it with the name; "Rapporteur <n>" for the authors otherwise."""
    if permissions.can_view_deliberation(viewer, proposal) or review.is_shared_with_name:
        return review.assignment.user.display_name
    return _("Rapporteur %(number)d", number=review.assignment.number)


@dataclass
class Candidate:
    """A council member who could be rapporteur, with the conflicts of interest found."""

    user: User
    seat: DelegationSeat
    conflicts: list[str] = field(default_factory=list)
    is_assigned: bool = False


def conflicts_of(*, proposal: Proposal, user: User, seat: DelegationSeat | None,
                 memberships: list[Membership]) -> list[str]:
    """Why ``user`` may not be impartial on ``proposal`` (empty when nothing is found): a co-author (or
    invited one), a member of an authoring think tank, or a seat in the delegation of an authoring
    think tank's member state. A pure function of what it is given."""
    reasons = []
    if proposal.author_row(user) is not None:
        reasons.append(_("is an author of the proposal"))
    authoring = {row.think_tank_id: row.think_tank for row in proposal.think_tanks}
    for membership in memberships:
        if membership.user_id == user.id and membership.is_active and membership.think_tank_id in authoring:
            reasons.append(_("belongs to %(think_tank)s, an authoring think tank",
                             think_tank=authoring[membership.think_tank_id].name))
    if seat is not None and seat.is_current:
        states = {tank.member_state_id: tank.member_state.display_name for tank in authoring.values()}
        if seat.delegation.member_state_id in states:
            reasons.append(_("sits in the delegation of %(state)s, the member state of an authoring think tank",
                             state=states[seat.delegation.member_state_id]))
    return reasons


def candidates_for(proposal: Proposal) -> list[Candidate]:
    """Every current council member, by name, with the conflicts of interest found (three queries)."""
    seats = db.session.scalars(
        select(DelegationSeat)
        .join(User, User.id == DelegationSeat.user_id)
        .where(DelegationSeat.removed_at.is_(None), User.is_active.is_(True))
        .options(selectinload(DelegationSeat.delegation).selectinload(Delegation.member_state))
        .order_by(User.display_name, User.id)
    ).all()
    user_ids = [seat.user_id for seat in seats]
    memberships = db.session.scalars(
        select(Membership).where(Membership.user_id.in_(user_ids), Membership.is_active.is_(True))
    ).all() if user_ids else []
    assigned = {row.user_id for row in assignments_of(proposal)}
    return [
        Candidate(
            user=seat.user, seat=seat,
            conflicts=conflicts_of(proposal=proposal, user=seat.user, seat=seat, memberships=list(memberships)),
            is_assigned=seat.user_id in assigned,
        )
        for seat in seats
    ]


def comments_of(proposal: Proposal, viewer) -> list[Comment]:
    """The comments ``viewer`` may read, oldest first (threads are built by the page)."""
    comments = db.session.scalars(
        select(Comment).where(Comment.proposal_id == proposal.id).order_by(Comment.created_at, Comment.id)
    ).all()
    return [comment for comment in comments if permissions.can_view_comment(viewer, proposal, comment)]


# --- starting and returning ---------------------------------------------------------------------


def start_review(*, actor, proposal: Proposal) -> ProposalEvent:
    """The secretariat starts the council's review of a submitted proposal (see ``transition``)."""
    return workflow.transition(proposal, ProposalAction.START_REVIEW, actor=actor)


def return_for_revision(*, actor, proposal: Proposal, note: str | None) -> ProposalEvent:
    """Send the proposal back to its authors with a note; an open consensus round is cancelled.

    Raises what ``transition`` raises (a note is required).
    """
    rounds.lock_proposal(proposal)
    event = workflow.transition(proposal, ProposalAction.RETURN_FOR_REVISION, actor=actor, note=note)
    rounds.cancel_open_round(proposal=proposal, actor=actor)
    return event


# --- rapporteurs --------------------------------------------------------------------------------


def assign_rapporteur(*, actor, proposal: Proposal, user: User,
                      waiver_reason: str | None = None) -> RapporteurAssignment:
    """Make a council member rapporteur of a proposal. A member with a conflict of interest is
    assigned only with a waiver: the secretariat's written reason, kept with the assignment.

    Raises NotAllowed unless the actor is the secretariat and the proposal is submitted or in review;
    ValidationFailed when the person holds no current seat, is rapporteur already, or has a conflict
    and no waiver reason is given.
    """
    if not permissions.can_assign_rapporteurs(actor, proposal):
        raise NotAllowed(_("Only the secretariat assigns rapporteurs, while the proposal is submitted or in review."))
    rounds.lock_proposal(proposal)
    seat = db.session.scalar(
        select(DelegationSeat).where(DelegationSeat.user_id == user.id, DelegationSeat.removed_at.is_(None))
    )
    if seat is None or not user.is_active:
        raise ValidationFailed("user_id", _("Only a current council member can be rapporteur."))
    if assignment_of(proposal, user) is not None:
        raise ValidationFailed(
            "user_id", _("%(name)s is a rapporteur of this proposal already.", name=user.display_name)
        )
    memberships = list(db.session.scalars(select(Membership).where(Membership.user_id == user.id)))
    conflicts = conflicts_of(proposal=proposal, user=user, seat=seat, memberships=memberships)
    waiver = (waiver_reason or "").strip() or None
    if waiver is not None and len(waiver) > WAIVER_MAX_LENGTH:
        raise ValidationFailed("waiver_reason", _("Use at most %(count)d characters.", count=WAIVER_MAX_LENGTH))
    if conflicts and waiver is None:
        raise ValidationFailed(
            "waiver_reason",
            _("%(name)s has a conflict of interest: %(reasons)s. Record a waiver with a reason to assign them anyway.",
              name=user.display_name, reasons="; ".join(conflicts)),
        )
    number = (db.session.scalar(
        select(func.max(RapporteurAssignment.number)).where(RapporteurAssignment.proposal_id == proposal.id)
    ) or 0) + 1
    assignment = RapporteurAssignment(
        proposal_id=proposal.id, user_id=user.id, number=number, has_conflict=bool(conflicts),
        conflicts=[str(reason) for reason in conflicts], waiver_reason=waiver if conflicts else None,
        assigned_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(assignment)
            db.session.flush()
    except IntegrityError as error:
        raise ValidationFailed(
            "user_id", _("Someone assigned this rapporteur a moment ago. Reload the page.")
        ) from error
    audit.record(
        actor=actor, action="review.rapporteur_assigned", object_id=assignment.id,
        summary=f"{user.display_name} made rapporteur {number} of {proposal.reference}"
        + (" with a waiver" if conflicts else ""),
        details={"proposal": proposal.reference, "conflicts": assignment.conflicts, "waiver": assignment.waiver_reason},
    )
    rapporteur_assigned.send(proposal, assignment=assignment)
    return assignment


def remove_rapporteur(*, actor, proposal: Proposal, assignment: RapporteurAssignment) -> None:
    """End an assignment; its reviews stay. Raises NotAllowed unless the secretariat may assign
    rapporteurs now, ValidationFailed for an assignment ended already."""
    if not permissions.can_assign_rapporteurs(actor, proposal):
        raise NotAllowed(_("Only the secretariat removes rapporteurs, while the proposal is submitted or in review."))
    rounds.lock_proposal(proposal)
    db.session.refresh(assignment)
    if not assignment.is_current:
        raise ValidationFailed(None, _("This rapporteur was removed already."))
    assignment.removed_at = utcnow()
    assignment.removed_by_id = actor.id
    db.session.flush()
    audit.record(
        actor=actor, action="review.rapporteur_removed", object_id=assignment.id,
        summary=f"{assignment.user.display_name} no longer rapporteur of {proposal.reference}",
        details={"proposal": proposal.reference},
    )


# --- reviews ------------------------------------------------------------------------------------


def save_review(*, actor, proposal: Proposal, recommendation: Recommendation | str, assessment: str) -> Review:
    """Write or revise the actor's review of the current revision (one per rapporteur and revision).

    Raises NotAllowed unless the actor is a current rapporteur and the proposal is in review or in a
    round; ValidationFailed for an empty or too long assessment or an unknown recommendation.
    """
    assignment = assignment_of(proposal, actor)
    if not permissions.can_write_review(actor, proposal, assignment):
        raise NotAllowed(_("Only a rapporteur of this proposal writes its review, while it is before the council."))
    try:
        recommendation = Recommendation(recommendation)
    except ValueError as error:
        raise ValidationFailed("recommendation", _("Choose a recommendation.")) from error
    text = (assessment or "").strip()
    if not text:
        raise ValidationFailed("assessment", _("Write your assessment."))
    if len(text.encode()) > ASSESSMENT_MAX_BYTES:
        raise ValidationFailed("assessment", _("The assessment is too long: at most %(count)d KB.",
                                               count=ASSESSMENT_MAX_BYTES // 1024))
    revision_number = current_revision_number(proposal) or 1
    review = db.session.scalar(
        select(Review).where(Review.assignment_id == assignment.id, Review.revision_number == revision_number)
    )
    now = utcnow()
    if review is None:
        review = Review(proposal_id=proposal.id, assignment_id=assignment.id, revision_number=revision_number,
                        created_at=now)
        db.session.add(review)
    review.recommendation = recommendation
    review.assessment = text
    review.assessment_html = sanitize.render_markdown(text)
    review.updated_at = now
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        raise ValidationFailed(
            None, _("Your review was saved from another window a moment ago. Reload the page.")
        ) from error
    return review


def share_review(*, actor, proposal: Proposal, review: Review, with_name: bool = False) -> Review:
    """Share a review with the authors, as "Rapporteur <n>" unless ``with_name``. Sharing again
    changes only how it is signed. Raises NotAllowed unless the actor is the secretariat."""
    if not permissions.can_share_review(actor, proposal):
        raise NotAllowed(_("Only the secretariat shares reviews with the authors."))
    if review.proposal_id != proposal.id:
        raise ValidationFailed(None, _("This review belongs to another proposal."))
    first_time = review.shared_at is None
    if first_time:
        review.shared_at = utcnow()
        review.shared_by_id = actor.id
    review.is_shared_with_name = bool(with_name)
    db.session.flush()
    audit.record(
        actor=actor, action="review.review_shared", object_id=review.id,
        summary=f"Review by rapporteur {review.assignment.number} of {proposal.reference} shared with the authors"
        + (" with the rapporteur's name" if with_name else " anonymised"),
        details={"proposal": proposal.reference, "with_name": bool(with_name)},
    )
    if first_time:
        review_shared.send(proposal, review=review)
    return review


def unshare_review(*, actor, proposal: Proposal, review: Review) -> Review:
    """Stop sharing a review with the authors. Raises NotAllowed unless the actor is the secretariat."""
    if not permissions.can_share_review(actor, proposal):
        raise NotAllowed(_("Only the secretariat shares reviews with the authors."))
    review.shared_at = None
    review.shared_by_id = None
    review.is_shared_with_name = False
    db.session.flush()
    audit.record(
        actor=actor, action="review.review_unshared", object_id=review.id,
        summary=f"Review by rapporteur {review.assignment.number} of {proposal.reference} no longer shared",
        details={"proposal": proposal.reference},
    )
    return review


# --- discussion ---------------------------------------------------------------------------------


def add_comment(*, actor, proposal: Proposal, body: str, visibility: CommentVisibility | str | None = None,
                parent: Comment | None = None) -> Comment:
    """Add a comment, or a reply to ``parent`` (which sets the visibility: a reply is read by whoever
    reads its parent). The council and the secretariat choose the visibility of a new thread; the
    co-authors only answer comments shared with them.

    Raises NotAllowed when the actor may not comment here; ValidationFailed for an empty or too long
    text or an unknown visibility.
    """
    if parent is not None and parent.proposal_id != proposal.id:
        raise ValidationFailed(None, _("This comment belongs to another proposal."))
    if parent is not None and parent.parent_id is not None:
        parent = db.session.get(Comment, parent.parent_id) or parent  # threads are one level deep
    is_author = permissions.can_act_as_author(actor, proposal)
    if parent is not None:
        allowed = (permissions.can_answer_comment(actor, proposal, parent) if is_author
                   else permissions.can_reply_in_council(actor, proposal, parent))
        chosen = parent.visibility
    else:
        allowed = permissions.can_comment_as_council(actor, proposal)
        try:
            chosen = CommentVisibility(visibility) if visibility else None
        except ValueError:
            chosen = None
        if allowed and chosen is None:
            raise ValidationFailed("visibility", _("Choose who reads the comment."))
    if not allowed:
        raise NotAllowed(_("You may not comment on this proposal."))
    text = (body or "").strip()
    if not text:
        raise ValidationFailed("body", _("Write the comment."))
    if len(text) > COMMENT_MAX_LENGTH:
        raise ValidationFailed("body", _("Use at most %(count)d characters.", count=COMMENT_MAX_LENGTH))
    comment = Comment(
        proposal_id=proposal.id, parent_id=parent.id if parent is not None else None, author_id=actor.id,
        visibility=chosen, is_by_proposal_author=is_author, body=text, body_html=sanitize.render_markdown(text),
        revision_number=current_revision_number(proposal),
    )
    db.session.add(comment)
    db.session.flush()
    comment_added.send(proposal, comment=comment, parent=parent)
    return comment


def commenter_label(comment: Comment, viewer, proposal: Proposal) -> str:
    """Who wrote a comment, as ``viewer`` may know it: names among the council and the secretariat;
    the co-authors see "The council" (or "The secretariat") for council comments and names for their own."""
    if comment.is_by_proposal_author or permissions.can_view_deliberation(viewer, proposal):
        return comment.author.display_name if comment.author is not None else _("A former user")
    if comment.author is not None and permissions.is_secretariat(comment.author):
        return _("The secretariat")
    return _("The council")
