"""Think-tank services: applications and their review, invitations, memberships.

Plain functions with keyword-only arguments and an explicit actor; they flush and never commit,
and refuse with DomainError subclasses. Emails are queued here and leave only when the caller's
transaction commits.

Invariants kept here and in the database:
- at most one approved lead think tank per member state (checked under a lock on the member
  state's row; the partial unique index ``uq_think_tanks_one_lead_per_state`` is the last line);
- a think tank keeps at least one active manager;
- an invitation is used once: acceptance is a conditional UPDATE;
- every member has an expert profile: ``member_joined`` tells ``experts``, which creates it (this
  package never imports ``experts``, which builds on it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from .. import database, mail, permissions, sanitize
from ..accounts import services as accounts
from ..accounts.models import User
from ..accounts.tokens import TOKEN_MAX_LENGTH, digest
from ..audit import services as audit
from ..enums import MembershipRole, Participation, Role, StateKind, ThinkTankStatus
from ..errors import InvalidTransition, NotAllowed, ValidationFailed
from ..extensions import db
from ..i18n import in_language_of
from ..reference.models import MemberState
from .models import (
    CONTACT_NAME_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    REASON_MAX_LENGTH,
    THINK_TANK_NAME_MAX_LENGTH,
    WEBSITE_MAX_LENGTH,
    Invitation,
    Membership,
    ThinkTank,
)

#: How long an emailed invitation can be accepted.
INVITATION_LIFETIME = timedelta(days=7)

#: The global role that goes with each role inside a think tank.
GLOBAL_ROLE = {MembershipRole.EXPERT: Role.EXPERT, MembershipRole.MANAGER: Role.THINKTANK_MANAGER}

_signals = Namespace()
#: ``send(think_tank, user=...)``, inside the change's transaction, when ``user`` becomes an active member
#: of ``think_tank`` or one of its experts: ``experts`` listens and gives them a profile if they have none.
member_joined = _signals.signal("think-tank-member-joined")


def utcnow() -> datetime:
    """This module's clock (tests move it forward to expire invitations)."""
    return database.utcnow()


def today() -> date:
    """The current date in UTC: participation end dates are compared with it."""
    return utcnow().date()


# --- Validation helpers ------------------------------------------------------------------------


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())


def _required_text(value: str | None, *, field: str, max_length: int, missing: str) -> str:
    cleaned = _one_line(value)
    if not cleaned:
        raise ValidationFailed(field, missing)
    if len(cleaned) > max_length:
        raise ValidationFailed(field, _("Use at most %(count)d characters.", count=max_length))
    return cleaned


def _checked_website(raw: str | None) -> str | None:
    """A full http or https address, or None when left empty."""
    website = (raw or "").strip()
    if not website:
        return None
    if len(website) > WEBSITE_MAX_LENGTH:
        raise ValidationFailed("website", _("Use at most %(count)d characters.", count=WEBSITE_MAX_LENGTH))
    try:
        parts = urlsplit(website)
    except ValueError:
        parts = None
    has_host = parts is not None and bool(parts.hostname) and "." in (parts.hostname or "")
    if parts is None or parts.scheme not in {"http", "https"} or not has_host or any(c.isspace() for c in website):
        raise ValidationFailed(
            "website", _("Enter a full web address that starts with http:// or https://, such as https://example.org.")
        )
    return website


def _checked_member_state(member_state_id: int | None) -> MemberState:
    state = db.session.get(MemberState, member_state_id) if member_state_id else None
    if state is None or state.kind != StateKind.MEMBER_STATE:
        raise ValidationFailed("member_state", _("Choose one of the member states."))
    return state


def _checked_participation(participation, ends_on: date | None) -> tuple[Participation, date | None]:
    """A temporary participation needs an end date after today; the others have none."""
    try:
        chosen = Participation(participation)
    except ValueError as error:
        raise ValidationFailed("participation", _("Choose how the institution takes part.")) from error
    if chosen != Participation.TEMPORARY:
        return chosen, None
    if ends_on is None:
        raise ValidationFailed("ends_on", _("A temporary participation needs an end date."))
    if ends_on <= today():
        raise ValidationFailed("ends_on", _("The end date must be in the future."))
    return chosen, ends_on


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotAllowed(message)


# --- Applications ------------------------------------------------------------------------------


def apply(
    *,
    actor,
    name: str,
    member_state_id: int | None,
    website: str | None,
    description: str | None,
    contact_name: str,
    contact_email: str,
    participation: str,
    ends_on: date | None,
) -> ThinkTank:
    """Register an institution's application; anyone may apply, signed in or not.

    The contact person becomes the manager on approval. Raises ValidationFailed for a missing or
    overlong field, an address that is not http(s), a state that is not a member state, a
    temporary participation without a future end date, or a name already registered (or awaiting
    a decision) in the same member state.
    """
    cleaned_name = _required_text(
        name, field="name", max_length=THINK_TANK_NAME_MAX_LENGTH, missing=_("Enter the institution's name.")
    )
    state = _checked_member_state(member_state_id)
    cleaned_website = _checked_website(website)
    cleaned_description = (description or "").strip()
    if len(cleaned_description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationFailed(
            "description", _("Use at most %(count)d characters.", count=DESCRIPTION_MAX_LENGTH)
        )
    cleaned_contact = _required_text(
        contact_name,
        field="contact_name",
        max_length=CONTACT_NAME_MAX_LENGTH,
        missing=_("Enter the contact person's name."),
    )
    try:
        address = accounts.checked_email(contact_email)
    except ValidationFailed as error:
        raise ValidationFailed("contact_email", error.message) from error
    chosen, end_date = _checked_participation(participation, ends_on)
    taken = db.session.scalar(
        select(ThinkTank.id).where(
            ThinkTank.member_state_id == state.id,
            func.lower(ThinkTank.name) == cleaned_name.lower(),
            ThinkTank.status.in_([ThinkTankStatus.PENDING, ThinkTankStatus.APPROVED]),
        )
    )
    if taken is not None:
        raise ValidationFailed(
            "name",
            _("An institution with this name in this member state is registered or awaiting a decision already."),
        )
    think_tank = ThinkTank(
        name=cleaned_name,
        member_state=state,
        website=cleaned_website,
        description=cleaned_description,
        description_html=sanitize.render_markdown(cleaned_description),
        contact_name=cleaned_contact,
        contact_email=address,
        status=ThinkTankStatus.PENDING,
        participation=chosen,
        participation_ends_on=end_date,
        applicant_id=actor.id if permissions.is_signed_in(actor) else None,
        created_at=utcnow(),
    )
    db.session.add(think_tank)
    db.session.flush()
    audit.record(
        actor=actor,
        action="thinktank.applied",
        object_id=think_tank.id,
        summary=f"{think_tank.name} ({state.name}) applied",
        details={"participation": chosen.value, "ends_on": _iso(end_date), "member_state_id": state.id},
    )
    mail.queue(
        to=address,
        subject=_("We received the application of %(name)s", name=think_tank.name),
        template="thinktank_received",
        think_tank=think_tank,
    )
    return think_tank


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _lock_member_state(think_tank: ThinkTank) -> None:
    """Serialise every decision about think tanks of one member state, then re-read the think tank.

    PostgreSQL queues the second decision on the member state's row; SQLite's writing transactions
    are serialised already (BEGIN IMMEDIATE). Re-reading afterwards sees a decision that committed
    while this one waited.
    """
    db.session.execute(select(MemberState.id).where(MemberState.id == think_tank.member_state_id).with_for_update())
    db.session.refresh(think_tank)


def _require_pending(think_tank: ThinkTank) -> None:
    if think_tank.status != ThinkTankStatus.PENDING:
        raise InvalidTransition(
            _("This application was decided already: it is %(status)s.", status=think_tank.status.label.lower())
        )


def _lead_taken_message(state: MemberState, holder_name: str | None) -> str:
    if holder_name:
        return _(
            "%(state)s has a lead think tank already (%(name)s). Approve this one as permanent or temporary.",
            state=state.display_name,
            name=holder_name,
        )
    return _("%(state)s has a lead think tank already. Approve this one as permanent or temporary.",
             state=state.display_name)


def approved_lead_of(state: MemberState, *, besides: ThinkTank | None = None) -> ThinkTank | None:
    """The approved lead think tank of ``state`` other than ``besides``, if there is one."""
    statement = select(ThinkTank).where(
        ThinkTank.member_state_id == state.id,
        ThinkTank.participation == Participation.LEAD,
        ThinkTank.status == ThinkTankStatus.APPROVED,
    )
    if besides is not None:
        statement = statement.where(ThinkTank.id != besides.id)
    return db.session.scalar(statement)


@dataclass(frozen=True)
class Approval:
    """What an approval did for the contact person: a membership, or an emailed invitation."""

    think_tank: ThinkTank
    membership: Membership | None
    invitation: Invitation | None


def approve(*, actor, think_tank: ThinkTank, participation: str, ends_on: date | None) -> Approval:
    """Approve a pending application with the participation the secretariat decides.

    The contact person becomes its manager: at once when the address has an active account (with
    the global think-tank manager role), else through an emailed manager invitation. Raises
    NotAllowed unless the actor reviews applications, InvalidTransition unless it is pending, and
    ValidationFailed for a temporary participation without a future end date or a second lead
    think tank for the member state.
    """
    _require(permissions.can_review_applications(actor), _("Only the secretariat decides on applications."))
    _lock_member_state(think_tank)
    _require_pending(think_tank)
    chosen, end_date = _checked_participation(participation, ends_on)
    state = think_tank.member_state
    if chosen == Participation.LEAD:
        holder = approved_lead_of(state, besides=think_tank)
        if holder is not None:
            raise ValidationFailed("participation", _lead_taken_message(state, holder.name))
    try:
        with db.session.begin_nested():
            think_tank.status = ThinkTankStatus.APPROVED
            think_tank.participation = chosen
            think_tank.participation_ends_on = end_date
            think_tank.decided_by_id = actor.id
            think_tank.decided_at = utcnow()
            think_tank.rejection_reason = None
            db.session.flush()
    except IntegrityError as error:
        # Only the one-lead index can fail here: another lead committed between our check and flush.
        db.session.refresh(think_tank)
        raise ValidationFailed("participation", _lead_taken_message(state, None)) from error

    membership = invitation = token = None
    contact = accounts.find_user_by_email(think_tank.contact_email)
    if contact is not None and contact.is_active:
        membership = _join(think_tank, contact, MembershipRole.MANAGER)
    else:
        invitation, token = _new_invitation(
            actor=actor, think_tank=think_tank, email=think_tank.contact_email, role=MembershipRole.MANAGER
        )
    with in_language_of(think_tank.applicant):
        mail.queue(
            to=think_tank.contact_email,
            subject=_("%(name)s is approved", name=think_tank.name),
            template="thinktank_approved",
            think_tank=think_tank,
            token=token,
            days=INVITATION_LIFETIME.days,
        )
    audit.record(
        actor=actor,
        action="thinktank.approved",
        object_id=think_tank.id,
        summary=f"{think_tank.name} approved as {chosen.value}",
        details={
            "participation": chosen.value,
            "ends_on": _iso(end_date),
            "manager_user_id": contact.id if membership else None,
            "invitation_id": invitation.id if invitation else None,
        },
    )
    return Approval(think_tank=think_tank, membership=membership, invitation=invitation)


def reject(*, actor, think_tank: ThinkTank, reason: str) -> None:
    """Reject a pending application with a reason, which is emailed to the contact person.

    Raises NotAllowed unless the actor reviews applications, InvalidTransition unless it is
    pending, and ValidationFailed when the reason is missing or longer than 2000 characters.
    """
    _require(permissions.can_review_applications(actor), _("Only the secretariat decides on applications."))
    cleaned = (reason or "").strip()
    if not cleaned:
        raise ValidationFailed("reason", _("Give the reason for the rejection: the applicant receives it."))
    if len(cleaned) > REASON_MAX_LENGTH:
        raise ValidationFailed("reason", _("Use at most %(count)d characters.", count=REASON_MAX_LENGTH))
    _lock_member_state(think_tank)
    _require_pending(think_tank)
    think_tank.status = ThinkTankStatus.REJECTED
    think_tank.rejection_reason = cleaned
    think_tank.decided_by_id = actor.id
    think_tank.decided_at = utcnow()
    db.session.flush()
    audit.record(
        actor=actor,
        action="thinktank.rejected",
        object_id=think_tank.id,
        summary=f"{think_tank.name} rejected",
        details={"reason": cleaned},
    )
    with in_language_of(think_tank.applicant):
        mail.queue(
            to=think_tank.contact_email,
            subject=_("The application of %(name)s", name=think_tank.name),
            template="thinktank_rejected",
            think_tank=think_tank,
        )


# --- Memberships -------------------------------------------------------------------------------


def _join(think_tank: ThinkTank, user: User, role: MembershipRole) -> Membership:
    """Make ``user`` an active member with at least ``role`` (a manager invited as expert stays
    manager), with the global role that goes with it and an expert profile (every member has one)."""
    membership = db.session.scalar(
        select(Membership).where(Membership.think_tank_id == think_tank.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(think_tank=think_tank, user=user, role=role, is_active=True, joined_at=utcnow())
        db.session.add(membership)
    else:
        if not membership.is_active:
            membership.is_active = True
            membership.role = role
            membership.deactivated_at = None
            membership.deactivated_by_id = None
        elif role == MembershipRole.MANAGER:
            membership.role = role
    accounts.grant_role(user=user, role=GLOBAL_ROLE[membership.role])
    member_joined.send(think_tank, user=user)
    db.session.flush()
    return membership


def add_member(*, actor, think_tank: ThinkTank, user: User, role) -> Membership:
    """The secretariat puts an existing account into a think tank directly, without an invitation
    (demo data, corrections), with the global role and profile that go with the role.

    Idempotent: an active member who holds the role already is left as is, without an audit record.
    Raises NotAllowed unless the actor is the secretariat, InvalidTransition unless the think tank
    is approved and taking part, ValidationFailed for an unknown role or a deactivated account.
    """
    _require(permissions.is_secretariat(actor), _("Only the secretariat adds members directly."))
    try:
        chosen = MembershipRole(role)
    except ValueError as error:
        raise ValidationFailed("role", _("Choose manager or expert.")) from error
    if not think_tank.is_approved or think_tank.is_read_only_on(today()):
        raise InvalidTransition(_("Members can be added only to an approved think tank that takes part."))
    if not user.is_active:
        raise ValidationFailed("user", _("This account is deactivated."))
    existing = db.session.scalar(
        select(Membership).where(Membership.think_tank_id == think_tank.id, Membership.user_id == user.id)
    )
    if existing is not None and existing.is_active and chosen in {existing.role, MembershipRole.EXPERT}:
        return existing
    membership = _join(think_tank, user, chosen)
    _record_membership(actor, "membership.added", membership, f"added as {membership.role.value}",
                       {"role": membership.role.value})
    return membership


def _lock_think_tank(think_tank: ThinkTank) -> None:
    """Serialise changes to one think tank's managers, so two of them cannot remove each other."""
    db.session.execute(select(ThinkTank.id).where(ThinkTank.id == think_tank.id).with_for_update())


def _active_manager_count(think_tank: ThinkTank) -> int:
    return db.session.scalar(
        select(func.count(Membership.id)).where(
            Membership.think_tank_id == think_tank.id,
            Membership.is_active.is_(True),
            Membership.role == MembershipRole.MANAGER,
        )
    ) or 0


def _require_manager(actor, think_tank: ThinkTank) -> None:
    _require(
        permissions.can_manage_think_tank(actor, think_tank, today()),
        _("Only the managers of this think tank can do this, and only while it takes part."),
    )


def _require_not_last_manager(membership: Membership) -> None:
    _lock_think_tank(membership.think_tank)
    db.session.refresh(membership)
    if membership.is_manager and _active_manager_count(membership.think_tank) <= 1:
        raise ValidationFailed(
            None, _("A think tank needs at least one active manager. Make someone else a manager first.")
        )


def deactivate_membership(*, actor, membership: Membership) -> None:
    """Deactivate a member; the row stays, so what they wrote stays attributed to them.

    Raises NotAllowed unless the actor manages the think tank, InvalidTransition when the
    membership is inactive already, and ValidationFailed for the last active manager.
    """
    _require_manager(actor, membership.think_tank)
    _require_not_last_manager(membership)
    if not membership.is_active:
        raise InvalidTransition(_("%(name)s is deactivated already.", name=membership.user.display_name))
    membership.is_active = False
    membership.deactivated_at = utcnow()
    membership.deactivated_by_id = actor.id
    db.session.flush()
    _record_membership(actor, "membership.deactivated", membership, "deactivated")


def reactivate_membership(*, actor, membership: Membership) -> None:
    """Make a deactivated member active again, with the role they had.

    Raises NotAllowed unless the actor manages the think tank, InvalidTransition when it is active.
    """
    _require_manager(actor, membership.think_tank)
    if membership.is_active:
        raise InvalidTransition(_("%(name)s is active already.", name=membership.user.display_name))
    membership.is_active = True
    membership.deactivated_at = None
    membership.deactivated_by_id = None
    accounts.grant_role(user=membership.user, role=GLOBAL_ROLE[membership.role])
    db.session.flush()
    _record_membership(actor, "membership.reactivated", membership, "reactivated")


def change_membership_role(*, actor, membership: Membership, role: str) -> None:
    """Make an active member a (co-)manager or an expert; the global role that goes with it is granted.

    Raises NotAllowed unless the actor manages the think tank, InvalidTransition for an inactive
    member, and ValidationFailed for an unknown role or when it would leave no active manager.
    """
    _require_manager(actor, membership.think_tank)
    try:
        new_role = MembershipRole(role)
    except ValueError as error:
        raise ValidationFailed("role", _("Choose manager or expert.")) from error
    if not membership.is_active:
        raise InvalidTransition(_("Reactivate %(name)s first.", name=membership.user.display_name))
    if membership.role == new_role:
        return
    if new_role != MembershipRole.MANAGER:
        _require_not_last_manager(membership)
    before = membership.role
    membership.role = new_role
    accounts.grant_role(user=membership.user, role=GLOBAL_ROLE[new_role])
    if new_role == MembershipRole.EXPERT:
        member_joined.send(membership.think_tank, user=membership.user)
    db.session.flush()
    _record_membership(actor, "membership.role_changed", membership, f"{before.value} -> {new_role.value}",
                       {"from": before.value, "to": new_role.value})


def _record_membership(actor, action: str, membership: Membership, what: str, extra: dict | None = None) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_id=membership.id,
        summary=f"Membership of user {membership.user_id} in {membership.think_tank.name}: {what}",
        details={"think_tank_id": membership.think_tank_id, "user_id": membership.user_id, **(extra or {})},
    )


# --- Invitations -------------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _new_invitation(*, actor, think_tank: ThinkTank, email: str, role: MembershipRole) -> tuple[Invitation, str]:
    token = _new_token()
    now = utcnow()
    invitation = Invitation(
        think_tank=think_tank,
        email=email,
        role=role,
        invited_by_id=getattr(actor, "id", None),
        token_digest=digest(token),
        created_at=now,
        sent_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        actor=actor,
        action="invitation.sent",
        object_id=invitation.id,
        summary=f"{role.value} invitation to {think_tank.name}",
        details={"think_tank_id": think_tank.id, "email": email, "role": role.value},
    )
    return invitation, token


def _send_invitation(invitation: Invitation, token: str, inviter) -> None:
    # Someone who has an account reads it in their language; a new address in the inviter's.
    with in_language_of(accounts.find_user_by_email(invitation.email)):
        _queue_invitation(invitation, token, inviter)


def _queue_invitation(invitation: Invitation, token: str, inviter) -> None:
    mail.queue(
        to=invitation.email,
        subject=_("Invitation to join %(name)s", name=invitation.think_tank.name),
        template="invitation",
        invitation=invitation,
        think_tank=invitation.think_tank,
        inviter_name=getattr(inviter, "display_name", ""),
        token=token,
        days=INVITATION_LIFETIME.days,
    )


def active_memberships_of(user) -> list[Membership]:
    """``user``'s active memberships, with their think tanks, by think-tank name (for the account page)."""
    return list(db.session.scalars(
        select(Membership)
        .join(Membership.think_tank)
        .where(Membership.user_id == user.id, Membership.is_active.is_(True))
        .options(contains_eager(Membership.think_tank))
        .order_by(ThinkTank.name)
    ))


def waiting_invitations(think_tank: ThinkTank) -> list[Invitation]:
    """Invitations neither accepted nor revoked, expired ones included (they can be sent again)."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.think_tank_id == think_tank.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.sent_at.desc(), Invitation.id.desc())
        )
    )


def invite(*, actor, think_tank: ThinkTank, email: str, role: str) -> Invitation:
    """Email a single-use invitation (valid 7 days) to join as expert or manager.

    Raises NotAllowed unless the actor manages the think tank, and ValidationFailed for a bad
    address or role, an address that is an active member, or one with an invitation waiting
    (which should be sent again instead).
    """
    _require_manager(actor, think_tank)
    try:
        address = accounts.checked_email(email)
    except ValidationFailed as error:
        raise ValidationFailed("email", error.message) from error
    try:
        chosen = MembershipRole(role)
    except ValueError as error:
        raise ValidationFailed("role", _("Choose manager or expert.")) from error
    is_member = db.session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.think_tank_id == think_tank.id, Membership.is_active.is_(True), User.email == address)
    )
    if is_member is not None:
        raise ValidationFailed("email", _("%(email)s is an active member already.", email=address))
    if any(invitation.email == address for invitation in waiting_invitations(think_tank)):
        raise ValidationFailed(
            "email",
            _(
                "An invitation to %(email)s is waiting for an answer. "
                "Send it again from the list of invitations instead.",
                email=address,
            ),
        )
    invitation, token = _new_invitation(actor=actor, think_tank=think_tank, email=address, role=chosen)
    _send_invitation(invitation, token, actor)
    return invitation


def _require_waiting(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise InvalidTransition(_("This invitation was accepted already."))
    if invitation.revoked_at is not None:
        raise InvalidTransition(_("This invitation was withdrawn."))


def resend_invitation(*, actor, invitation: Invitation) -> None:
    """Send an invitation again with a new link and a new 7-day expiry; the old link stops working.

    Raises NotAllowed unless the actor manages the think tank, InvalidTransition when it was
    accepted or withdrawn.
    """
    _require_manager(actor, invitation.think_tank)
    _require_waiting(invitation)
    token = _new_token()
    now = utcnow()
    invitation.token_digest = digest(token)
    invitation.sent_at = now
    invitation.expires_at = now + INVITATION_LIFETIME
    db.session.flush()
    audit.record(
        actor=actor,
        action="invitation.resent",
        object_id=invitation.id,
        summary=f"Invitation to {invitation.think_tank.name} sent again",
        details={"think_tank_id": invitation.think_tank_id, "email": invitation.email},
    )
    _send_invitation(invitation, token, actor)


def revoke_invitation(*, actor, invitation: Invitation) -> None:
    """Withdraw an invitation: its link stops working at once.

    Raises NotAllowed unless the actor manages the think tank, InvalidTransition when it was
    accepted or withdrawn already.
    """
    _require_manager(actor, invitation.think_tank)
    _require_waiting(invitation)
    invitation.revoked_at = utcnow()
    db.session.flush()
    audit.record(
        actor=actor,
        action="invitation.revoked",
        object_id=invitation.id,
        summary=f"Invitation to {invitation.think_tank.name} withdrawn",
        details={"think_tank_id": invitation.think_tank_id, "email": invitation.email},
    )


def find_usable_invitation(token: str | None) -> Invitation | None:
    """The invitation behind a raw token while it can be accepted (not used, withdrawn or expired,
    and its think tank approved and taking part), else None."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_digest == digest(token)))
    if invitation is None or not invitation.is_open_at(utcnow()):
        return None
    think_tank = invitation.think_tank
    if not think_tank.is_approved or think_tank.is_read_only_on(today()):
        return None
    return invitation


def _unusable() -> ValidationFailed:
    return ValidationFailed(None, _("This invitation cannot be used: it was used, withdrawn or has expired."))


def _claim(invitation: Invitation) -> None:
    """Mark the invitation accepted unless another request did a moment ago.

    One conditional UPDATE: on PostgreSQL a racing request waits for this row and then finds it
    accepted; SQLite serialises writing transactions. So an invitation is used at most once.
    """
    now = utcnow()
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise _unusable()
    db.session.refresh(invitation)


def _join_by_invitation(invitation: Invitation, user: User, *, is_new_account: bool) -> Membership:
    invitation.accepted_by_id = user.id
    membership = _join(invitation.think_tank, user, invitation.role)
    audit.record(
        actor=user,
        action="invitation.accepted",
        object_id=invitation.id,
        summary=f"{invitation.role.value} invitation to {invitation.think_tank.name} accepted",
        details={
            "think_tank_id": invitation.think_tank_id,
            "user_id": user.id,
            "membership_id": membership.id,
            "role": invitation.role.value,
            "new_account": is_new_account,
        },
    )
    return membership


def accept_invitation(*, actor, token: str) -> Membership:
    """The signed-in invitee joins the think tank with the invited role (an inactive membership
    comes back); the global role goes with it and an expert profile is created when missing.

    Raises ValidationFailed when the token is unusable, NotAllowed when the actor's address is
    not the invited one.
    """
    invitation = find_usable_invitation(token)
    if invitation is None:
        raise _unusable()
    _require(
        permissions.can_accept_invitation(actor, invitation),
        _("This invitation was sent to %(email)s. Sign in with that address to accept it.", email=invitation.email),
    )
    _claim(invitation)
    return _join_by_invitation(invitation, actor, is_new_account=False)


def accept_invitation_with_new_account(*, token: str, display_name: str, password: str) -> User:
    """Create a confirmed account for the invited address (the link proves it) and join.

    Raises ValidationFailed when the token is unusable, the address has an account already, or
    the name or password is refused.
    """
    invitation = find_usable_invitation(token)
    if invitation is None:
        raise _unusable()
    # Claimed first: a second request racing with this one stops here, before creating an account.
    _claim(invitation)
    if accounts.find_user_by_email(invitation.email) is not None:
        raise ValidationFailed(None, _("An account with this address exists already: sign in to accept."))
    try:
        user = accounts.create_user(
            email=invitation.email,
            display_name=display_name,
            password=password,
            roles={GLOBAL_ROLE[invitation.role]},
            is_email_confirmed=True,
        )
    except ValidationFailed as error:
        # The password field of every new-password form is called new_password.
        field = "new_password" if error.field == "password" else error.field
        raise ValidationFailed(field, error.message) from error
    _join_by_invitation(invitation, user, is_new_account=True)
    return user
