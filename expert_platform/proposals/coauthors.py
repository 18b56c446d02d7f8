"""Co-authors: the lead author invites active experts, who accept or decline; accepted co-authors
have equal edit rights; the lead removes co-authors or hands the lead to another.

Every change writes a timeline event; the think tanks behind the proposal follow its authors.
"""

from __future__ import annotations

from flask_babel import gettext as _

from .. import mail, permissions
from ..database import utcnow
from ..enums import AuthorStatus, Role
from ..errors import InvalidTransition, NotAllowed, ValidationFailed
from ..extensions import db
from ..i18n import in_language_of
from . import workflow
from .models import Proposal, ProposalAuthor
from .services import refresh_think_tanks


def invite(*, actor, proposal: Proposal, user) -> ProposalAuthor:
    """Invite ``user`` to co-author. Raises NotAllowed unless the actor is the lead author of an
    editable proposal; ValidationFailed when the person is not an active expert, or is already an
    author or invited (someone who declined may be invited again)."""
    if not permissions.can_manage_coauthors(actor, proposal):
        raise NotAllowed(_("Only the lead author invites co-authors, while the proposal can be edited."))
    if user is None or not user.is_active or not user.has_role(Role.EXPERT, Role.THINKTANK_MANAGER):
        raise ValidationFailed("email", _("Co-authors are active experts of the platform: no such expert."))
    row = proposal.author_row(user)
    if row is not None and row.status != AuthorStatus.DECLINED:
        raise ValidationFailed("email", _("%(name)s is already an author or invited.", name=user.display_name))
    now = utcnow()
    if row is None:
        row = ProposalAuthor(user_id=user.id, status=AuthorStatus.INVITED, invited_by_id=actor.id, invited_at=now)
        proposal.authors.append(row)
    else:
        row.status, row.invited_by_id, row.invited_at, row.responded_at = AuthorStatus.INVITED, actor.id, now, None
    db.session.flush()
    workflow.record_event(proposal, actor=actor, action="coauthor_invited", note=user.display_name)
    with in_language_of(user):
        mail.queue(to=user.email, subject=_("Invitation to co-author a proposal"), template="coauthor_invitation",
                   user=user, inviter=actor, proposal=proposal)
    return row


def respond(*, actor, proposal: Proposal, accept: bool) -> None:
    """The invited person accepts (becoming a co-author with equal edit rights) or declines.
    Raises NotAllowed when the actor has no open invitation to this proposal."""
    if not permissions.can_answer_coauthor_invitation(actor, proposal):
        raise NotAllowed(_("You have no open invitation to this proposal."))
    row = proposal.author_row(actor)
    row.status = AuthorStatus.ACCEPTED if accept else AuthorStatus.DECLINED
    row.responded_at = utcnow()
    db.session.flush()
    refresh_think_tanks(proposal)
    db.session.flush()
    workflow.record_event(proposal, actor=actor, action="coauthor_accepted" if accept else "coauthor_declined",
                          note=actor.display_name)


def remove(*, actor, proposal: Proposal, author: ProposalAuthor) -> None:
    """The lead author removes a co-author or withdraws an invitation. Raises NotAllowed unless the
    actor is the lead of an editable proposal; InvalidTransition for the lead's own row."""
    if not permissions.can_manage_coauthors(actor, proposal):
        raise NotAllowed(_("Only the lead author removes co-authors, while the proposal can be edited."))
    if author.proposal_id != proposal.id:
        raise NotAllowed(_("This person is not an author of this proposal."))
    if author.is_lead:
        raise InvalidTransition(_("Hand the lead to another co-author before leaving the proposal."))
    name = author.user.display_name
    proposal.authors.remove(author)
    db.session.flush()
    refresh_think_tanks(proposal)
    db.session.flush()
    workflow.record_event(proposal, actor=actor, action="coauthor_removed", note=name)


def hand_lead(*, actor, proposal: Proposal, to: ProposalAuthor) -> None:
    """The lead author makes an accepted co-author the lead. Raises NotAllowed unless the actor is
    the lead of an editable proposal, ValidationFailed when ``to`` has not accepted."""
    if not permissions.can_manage_coauthors(actor, proposal):
        raise NotAllowed(_("Only the lead author hands on the lead."))
    if to.proposal_id != proposal.id or to.status != AuthorStatus.ACCEPTED:
        raise ValidationFailed(None, _("The lead goes to a co-author who has accepted."))
    current = proposal.author_row(actor)
    current.is_lead = False
    db.session.flush()  # the one-lead index allows a single lead at any moment
    to.is_lead = True
    db.session.flush()
    workflow.record_event(proposal, actor=actor, action="lead_handed", note=to.user.display_name)
