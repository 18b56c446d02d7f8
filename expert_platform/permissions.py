"""Every permission rule of the platform, one predicate each, used by views, services and templates.

Predicates take the acting user first (the anonymous visitor is an object with no roles) and
return a bool; they never query more than the objects they are given. This module imports no package of
the platform (ARCHITECTURE.md section 7.16: every package imports it): a rule needing a model or a query
takes it as an argument.
"""

from __future__ import annotations

from flask import Flask, abort
from sqlalchemy import and_, false, or_

from .enums import AuthorStatus, CommentVisibility, ProfileVisibility, ProposalState, Role, ThinkTankStatus


def is_signed_in(user) -> bool:
    """A signed-in user (anonymous visitors are not)."""
    return bool(getattr(user, "is_authenticated", False))


def can_manage_users(user) -> bool:
    """The secretariat manages accounts, roles and deactivation."""
    return is_secretariat(user)


def can_edit_own_account(user) -> bool:
    """Every signed-in user edits their own profile and password."""
    return is_signed_in(user)


def is_secretariat(user) -> bool:
    """The secretariat (admin role)."""
    return is_signed_in(user) and user.has_role(Role.ADMIN)


def can_edit_reference_data(user) -> bool:
    """The secretariat edits member states, observers and observer organisations."""
    return is_secretariat(user)


def can_review_applications(user) -> bool:
    """The secretariat approves or rejects think-tank applications."""
    return is_secretariat(user)


def can_view_think_tank(user, think_tank) -> bool:
    """Approved and archived think tanks are public; an application is seen by the secretariat and its applicant."""
    if think_tank.is_approved or think_tank.status == ThinkTankStatus.ARCHIVED or is_secretariat(user):
        return True
    return is_signed_in(user) and think_tank.applicant_id == user.id


def is_manager_of(user, think_tank) -> bool:
    """An active manager membership of this think tank."""
    if not is_signed_in(user):
        return False
    return any(m.user_id == user.id and m.is_manager for m in think_tank.memberships)


def can_manage_think_tank(user, think_tank, today) -> bool:
    """Its active managers manage an approved think tank's people until its participation ends."""
    return think_tank.is_approved and not think_tank.is_read_only_on(today) and is_manager_of(user, think_tank)


def can_view_think_tank_members(user, think_tank) -> bool:
    """Managers (also of a read-only think tank) and the secretariat see members and invitations."""
    return is_secretariat(user) or is_manager_of(user, think_tank)


def can_accept_invitation(user, invitation) -> bool:
    """Only the signed-in account with the invited email address accepts an invitation."""
    return is_signed_in(user) and user.email == invitation.email


def can_edit_profile(user, profile) -> bool:
    """Only the expert edits their own profile."""
    return is_signed_in(user) and profile.user_id == user.id


def can_have_profile(user, memberships) -> bool:
    """Experts, and people with an active membership in a think tank (among ``memberships``), have a profile."""
    if not is_signed_in(user):
        return False
    return user.has_role(Role.EXPERT) or any(m.user_id == user.id and m.is_active for m in memberships)


def can_view_profile(user, profile) -> bool:
    """Public profiles are seen by everyone, the others by signed-in users; never a deactivated account's."""
    if is_signed_in(user) and (profile.user_id == user.id or is_secretariat(user)):
        return True
    if not profile.user.is_active:
        return False
    return profile.visibility == ProfileVisibility.PUBLIC or is_signed_in(user)


def can_manage_council(user) -> bool:
    """The secretariat appoints and removes council members."""
    return is_secretariat(user)


def can_view_secretariat_pages(user) -> bool:
    """The secretariat's dashboard and audit trail."""
    return is_secretariat(user)


def is_system_actor(user, proposal=None) -> bool:
    """The platform itself (endorsement when the consensus rule is met), never a person."""
    return bool(getattr(user, "is_system", False))


def can_act_as_author(user, proposal) -> bool:
    """An accepted co-author (the lead included) submits, resubmits and withdraws."""
    return is_signed_in(user) and user.is_active and proposal.is_coauthor(user)


def can_steer_proposal(user, proposal=None) -> bool:
    """The secretariat starts reviews, returns proposals, opens and closes consensus rounds."""
    return is_secretariat(user)


def can_view_proposal(user, proposal) -> bool:
    """ARCHITECTURE.md section 5: drafts and returned proposals only to their co-authors; proposals
    before the council to co-authors, council members and the secretariat; endorsed ones to everyone."""
    if proposal.state == ProposalState.ENDORSED:
        return True
    if can_act_as_author(user, proposal):
        return True
    if proposal.state in (ProposalState.DRAFT, ProposalState.CHANGES_REQUESTED):
        return False
    if proposal.first_submitted_at is None:
        return False  # a draft withdrawn before it was ever submitted stays its authors' own
    return is_secretariat(user) or (is_signed_in(user) and user.has_role(Role.COUNCIL_MEMBER))


def visible_proposals_condition(user, Proposal, coauthored_by):
    """``can_view_proposal`` as a SQL condition on ``Proposal`` (the model, given with ``coauthored_by``,
    its condition "this user is an accepted co-author", both from ``proposals.models``), for lists that
    filter and search the database (ARCHITECTURE.md section 6): the same rule, row by row (tests hold the
    two to agreement)."""
    visible = [Proposal.state == ProposalState.ENDORSED]
    if is_signed_in(user) and user.is_active:
        visible.append(coauthored_by(user.id))
    if is_secretariat(user) or (is_signed_in(user) and user.has_role(Role.COUNCIL_MEMBER)):
        visible.append(and_(Proposal.state.not_in([ProposalState.DRAFT, ProposalState.CHANGES_REQUESTED]),
                            Proposal.first_submitted_at.is_not(None)))
    return or_(*visible) if visible else false()


def can_view_event(user, proposal, event) -> bool:
    """Workflow steps are part of the record for every reader; the authors' working events
    (invitations, declined or removed co-authors, annexes) are for its co-authors only."""
    return event.to_state is not None or can_act_as_author(user, proposal)


def can_edit_proposal(user, proposal) -> bool:
    """Co-authors edit the working copy while it is a draft or returned for revision."""
    return proposal.state in (ProposalState.DRAFT, ProposalState.CHANGES_REQUESTED) and can_act_as_author(
        user, proposal
    )


def can_manage_coauthors(user, proposal) -> bool:
    """The lead author invites and removes co-authors and hands on the lead, while it can be edited."""
    return can_edit_proposal(user, proposal) and proposal.is_lead_author(user)


def can_answer_coauthor_invitation(user, proposal) -> bool:
    """The invited person accepts or declines (the proposal itself stays hidden until they accept)."""
    row = proposal.author_row(user) if is_signed_in(user) else None
    return row is not None and row.status == AuthorStatus.INVITED


def can_write_proposals(user) -> bool:
    """Experts (and think-tank managers, who are experts of their institution) start proposals."""
    return is_signed_in(user) and user.has_role(Role.EXPERT, Role.THINKTANK_MANAGER)


# --- the council's review (ARCHITECTURE.md section 5) ----------------------------------------------

#: States in which the council deliberates on a proposal (comments, reviews).
def _before_the_council(proposal) -> bool:
    return proposal.state in (ProposalState.SUBMITTED, ProposalState.IN_REVIEW, ProposalState.CONSENSUS)


def is_council_member(user) -> bool:
    """A person with the council-member role (a current seat in a delegation)."""
    return is_signed_in(user) and user.is_active and user.has_role(Role.COUNCIL_MEMBER)


def can_view_council_dashboard(user) -> bool:
    """Council members and the secretariat have the council's dashboard."""
    return is_secretariat(user) or is_council_member(user)


def can_view_deliberation(user, proposal) -> bool:
    """Reviews, rapporteurs, council-internal comments and live positions: council members and the
    secretariat, never the proposal's own co-authors (a council member who co-wrote it included)."""
    if not can_view_proposal(user, proposal) or proposal.is_coauthor(user):
        return False
    return is_secretariat(user) or is_council_member(user)


def can_assign_rapporteurs(user, proposal) -> bool:
    """The secretariat assigns and removes rapporteurs of a submitted proposal or one in review."""
    return is_secretariat(user) and proposal.state in (ProposalState.SUBMITTED, ProposalState.IN_REVIEW)


def can_write_review(user, proposal, assignment) -> bool:
    """A current rapporteur writes and revises their review while the proposal is in review or in a round."""
    return (
        assignment is not None
        and assignment.is_current
        and is_signed_in(user)
        and assignment.user_id == user.id
        and not proposal.is_coauthor(user)
        and proposal.state in (ProposalState.IN_REVIEW, ProposalState.CONSENSUS)
    )


def can_share_review(user, proposal) -> bool:
    """The secretariat shares a review with the authors (anonymised unless it names the rapporteur)."""
    return is_secretariat(user) and can_view_proposal(user, proposal)


def can_view_review(user, proposal, review) -> bool:
    """The council and the secretariat read every review; the co-authors only the shared ones."""
    if can_view_deliberation(user, proposal):
        return True
    return review.is_shared and can_act_as_author(user, proposal) and can_view_proposal(user, proposal)


def can_view_discussion(user, proposal) -> bool:
    """The discussion page: the council and the secretariat, and the co-authors (who see the shared part)."""
    return can_view_deliberation(user, proposal) or (
        can_act_as_author(user, proposal) and proposal.first_submitted_at is not None
    )


def can_view_comment(user, proposal, comment) -> bool:
    """Council-internal comments: council and secretariat only; shared ones also the co-authors."""
    if can_view_deliberation(user, proposal):
        return True
    return comment.visibility == CommentVisibility.AUTHORS and can_act_as_author(user, proposal)


def can_comment_as_council(user, proposal) -> bool:
    """Council members and the secretariat comment while the proposal is before the council."""
    return can_view_deliberation(user, proposal) and _before_the_council(proposal)


def can_answer_comment(user, proposal, comment) -> bool:
    """The co-authors answer a comment shared with them, until the council has decided."""
    return (
        comment.visibility == CommentVisibility.AUTHORS
        and can_act_as_author(user, proposal)
        and (_before_the_council(proposal) or proposal.state == ProposalState.CHANGES_REQUESTED)
    )


def can_reply_in_council(user, proposal, comment) -> bool:
    """The council and the secretariat reply to any comment they read while the proposal is before them."""
    return can_comment_as_council(user, proposal)


def can_reply_to_comment(user, proposal, comment) -> bool:
    """The co-authors answer shared threads; the council and the secretariat reply in any thread they read."""
    return can_answer_comment(user, proposal, comment) or can_reply_in_council(user, proposal, comment)


def can_take_part_in_rounds(user, proposal) -> bool:
    """A council member states their delegation's positions on proposals they did not co-write."""
    return is_council_member(user) and not proposal.is_coauthor(user)


def can_record_position(user, proposal) -> bool:
    """A council member records their delegation's position while a round is open (not on their own proposal)."""
    return can_take_part_in_rounds(user, proposal) and proposal.state == ProposalState.CONSENSUS


def can_view_decision_record(user, proposal) -> bool:
    """An endorsed proposal's decision record is public, as the proposal is."""
    return proposal.state == ProposalState.ENDORSED


def can_view_round_details(user, proposal) -> bool:
    """Who took which position (objections included) while a round is open or after it closed
    without consensus: the council and the secretariat only."""
    return can_view_deliberation(user, proposal)


def can_close_rounds(user) -> bool:
    """The secretariat closes rounds without consensus and sees which can be closed."""
    return is_secretariat(user)


def can_receive_notifications(user) -> bool:
    """Every signed-in user has a notification centre and email settings."""
    return is_signed_in(user)


def can_view_notification(user, notification) -> bool:
    """A notification is its recipient's alone."""
    return is_signed_in(user) and notification.user_id == user.id


def require(allowed: bool) -> None:
    """Abort with 403 unless ``allowed``: call it after loading the object (404 when invisible)."""
    if not allowed:
        abort(403)


PREDICATES = {
    name: value
    for name, value in dict(globals()).items()
    if callable(value) and (name.startswith("can_") or name.startswith("is_"))
}


def register_template_globals(app: Flask) -> None:
    """Expose the predicates to Jinja, so templates show only what the user may do."""
    app.jinja_env.globals.update(PREDICATES)
