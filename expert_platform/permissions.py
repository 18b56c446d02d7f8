"""Every permission rule of the platform, one predicate each, used by views, services and templates.

Predicates take the acting user first (the anonymous visitor is an object with no roles) and
return a bool; they never query more than the objects they are given.
"""

from __future__ import annotations

from flask import Flask, abort

from .enums import Role


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
    """Approved think tanks are public; an application is seen by the secretariat and its applicant."""
    if think_tank.is_approved or is_secretariat(user):
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
    from .enums import ProfileVisibility

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
    from .enums import ProposalState

    if proposal.state == ProposalState.ENDORSED:
        return True
    if can_act_as_author(user, proposal):
        return True
    if proposal.state in (ProposalState.DRAFT, ProposalState.CHANGES_REQUESTED):
        return False
    if proposal.first_submitted_at is None:
        return False  # a draft withdrawn before it was ever submitted stays its authors' own
    return is_secretariat(user) or (is_signed_in(user) and user.has_role(Role.COUNCIL_MEMBER))


def can_view_event(user, proposal, event) -> bool:
    """Workflow steps are part of the record for every reader; the authors' working events
    (invitations, declined or removed co-authors, annexes) are for its co-authors only."""
    return event.to_state is not None or can_act_as_author(user, proposal)


def can_edit_proposal(user, proposal) -> bool:
    """Co-authors edit the working copy while it is a draft or returned for revision."""
    from .enums import ProposalState

    return proposal.state in (ProposalState.DRAFT, ProposalState.CHANGES_REQUESTED) and can_act_as_author(
        user, proposal
    )


def can_manage_coauthors(user, proposal) -> bool:
    """The lead author invites and removes co-authors and hands on the lead, while it can be edited."""
    return can_edit_proposal(user, proposal) and proposal.is_lead_author(user)


def can_answer_coauthor_invitation(user, proposal) -> bool:
    """The invited person accepts or declines (the proposal itself stays hidden until they accept)."""
    from .enums import AuthorStatus

    row = proposal.author_row(user) if is_signed_in(user) else None
    return row is not None and row.status == AuthorStatus.INVITED


def can_write_proposals(user) -> bool:
    """Experts (and think-tank managers, who are experts of their institution) start proposals."""
    return is_signed_in(user) and user.has_role(Role.EXPERT, Role.THINKTANK_MANAGER)


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
