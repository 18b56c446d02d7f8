"""Council services: appointing, removing and promoting delegation members, and reading the council.

Writers take keyword-only arguments and an explicit actor, flush and never commit, and raise
DomainError subclasses. Two rules also live in the database as partial unique indexes (one current
head per delegation, one current seat per person): each flush that could break one runs inside a
SAVEPOINT, so a concurrent change that slipped past the checks becomes a ValidationFailed instead
of a broken transaction.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from .. import permissions
from ..accounts import services as account_services
from ..accounts.models import User
from ..audit import services as audit
from ..database import utcnow
from ..enums import DelegationRole, Role, StateKind
from ..errors import NotAllowed, ValidationFailed
from ..extensions import db
from ..reference.models import MemberState
from .models import Delegation, DelegationSeat

# --- reading ------------------------------------------------------------------------------------


@dataclass
class DelegationSummary:
    """The current members of one member state's delegation: its head (or None) and alternates."""

    member_state: MemberState
    head: DelegationSeat | None = None
    alternates: list[DelegationSeat] = field(default_factory=list)


def current_delegations() -> list[DelegationSummary]:
    """Every delegation with at least one current seat, by member-state name; heads first, then
    alternates by name. One query (appointers are loaded with a second one)."""
    head_first = case((DelegationSeat.role == DelegationRole.HEAD, 0), else_=1)
    seats = db.session.scalars(
        select(DelegationSeat)
        .join(DelegationSeat.delegation)
        .join(Delegation.member_state)
        .join(DelegationSeat.user)
        .where(DelegationSeat.removed_at.is_(None))
        .order_by(MemberState.name, head_first, User.display_name, DelegationSeat.id)
        .options(
            contains_eager(DelegationSeat.delegation).contains_eager(Delegation.member_state),
            contains_eager(DelegationSeat.user),
            selectinload(DelegationSeat.appointed_by),
        )
    ).unique()
    summaries: dict[int, DelegationSummary] = {}
    for seat in seats:
        summary = summaries.setdefault(seat.delegation_id, DelegationSummary(member_state=seat.delegation.member_state))
        if seat.role == DelegationRole.HEAD:
            summary.head = seat
        else:
            summary.alternates.append(seat)
    return list(summaries.values())


def past_seats() -> list[DelegationSeat]:
    """Removed seats, the most recently removed first, with who appointed and removed them."""
    return list(
        db.session.scalars(
            select(DelegationSeat)
            .where(DelegationSeat.removed_at.is_not(None))
            .order_by(DelegationSeat.removed_at.desc(), DelegationSeat.id.desc())
            .options(
                selectinload(DelegationSeat.delegation),
                selectinload(DelegationSeat.appointed_by),
                selectinload(DelegationSeat.removed_by),
            )
        )
    )


def member_states_by_delegation() -> tuple[list[MemberState], list[MemberState]]:
    """The member states that have a current delegation and those that have none, each by name.

    One query: member states outer-joined to their current seats, counted per state.
    """
    current_seats = func.count(DelegationSeat.id)
    rows = db.session.execute(
        select(MemberState, current_seats)
        .outerjoin(Delegation, Delegation.member_state_id == MemberState.id)
        .outerjoin(
            DelegationSeat,
            (DelegationSeat.delegation_id == Delegation.id) & DelegationSeat.removed_at.is_(None),
        )
        .where(MemberState.kind == StateKind.MEMBER_STATE)
        .group_by(MemberState.id)
        .order_by(MemberState.name)
    ).all()
    with_delegation = [state for state, count in rows if count]
    without_delegation = [state for state, count in rows if not count]
    return with_delegation, without_delegation


def current_seat_of(user: User) -> DelegationSeat | None:
    return db.session.scalar(
        select(DelegationSeat).where(DelegationSeat.user_id == user.id, DelegationSeat.removed_at.is_(None))
    )


def _current_head(delegation_id: int) -> DelegationSeat | None:
    return db.session.scalar(
        select(DelegationSeat)
        .where(
            DelegationSeat.delegation_id == delegation_id,
            DelegationSeat.role == DelegationRole.HEAD,
            DelegationSeat.removed_at.is_(None),
        )
        .execution_options(populate_existing=True)
    )


# --- writing ------------------------------------------------------------------------------------


def _require_council_manager(actor) -> None:
    if not permissions.can_manage_council(actor):
        raise NotAllowed(_("Only the secretariat can appoint and remove council members."))


def _lock_delegation(delegation_id: int) -> Delegation:
    """Lock the delegation row (PostgreSQL; SQLite serialises writers anyway) so that changes to
    its seats by two secretariat members run one after the other, each seeing the other's result.

    ``of=Delegation``: the member state is eager-loaded by an outer join, and PostgreSQL refuses
    FOR UPDATE on the nullable side of one; only the delegation row needs the lock anyway.
    """
    return db.session.execute(
        select(Delegation)
        .where(Delegation.id == delegation_id)
        .with_for_update(of=Delegation)
        .execution_options(populate_existing=True)
    ).scalar_one()


@contextmanager
def _guarded_by_seat_indexes():
    """Run flushes in a SAVEPOINT; a breach of the seat indexes (a concurrent change) becomes a
    ValidationFailed and leaves the outer transaction usable."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as error:
        raise ValidationFailed(
            None, _("Someone changed this delegation at the same time. Reload the page and try again.")
        ) from error


def _delegation_for(member_state: MemberState) -> Delegation:
    """The delegation of ``member_state``, created (and kept for good) on its first appointment."""
    found = db.session.scalar(select(Delegation).where(Delegation.member_state_id == member_state.id))
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            delegation = Delegation(member_state=member_state)
            db.session.add(delegation)
    except IntegrityError:
        # Another request created it first; theirs is the one.
        return db.session.scalars(select(Delegation).where(Delegation.member_state_id == member_state.id)).one()
    return delegation


def appoint(*, actor, user: User, member_state: MemberState, role: DelegationRole) -> DelegationSeat:
    """Give ``user`` a seat (head or alternate) in the delegation of ``member_state``; the person
    gains the council-member role. Secretariat only.

    Raises NotAllowed for anyone else; ValidationFailed when the state is not a member state, the
    account is deactivated, the person already holds a current seat (in any delegation), or a head
    is appointed where the delegation has one (promote an alternate with make_head instead).
    """
    _require_council_manager(actor)
    if member_state.kind != StateKind.MEMBER_STATE:
        raise ValidationFailed("member_state", _("Only member states have a delegation to the council."))
    if not user.is_active:
        raise ValidationFailed("email", _("This account is deactivated. Reactivate it before appointing the person."))
    delegation = _lock_delegation(_delegation_for(member_state).id)
    held = current_seat_of(user)
    if held is not None:
        raise ValidationFailed(
            "email",
            _(
                "%(name)s already holds a seat in the delegation of %(state)s. Remove that seat first.",
                name=user.display_name,
                state=held.delegation.member_state.display_name,
            ),
        )
    if role == DelegationRole.HEAD:
        head = _current_head(delegation.id)
        if head is not None:
            raise ValidationFailed(
                "role",
                _(
                    "The delegation of %(state)s already has a head, %(name)s. Appoint this person as an "
                    "alternate, then use “Make head” to change the head.",
                    state=member_state.name,
                    name=head.user.display_name,
                ),
            )
    seat = DelegationSeat(delegation_id=delegation.id, user=user, role=role, appointed_by_id=actor.id)
    with _guarded_by_seat_indexes():
        db.session.add(seat)
        db.session.flush()
    account_services.grant_role(user=user, role=Role.COUNCIL_MEMBER)
    db.session.flush()
    audit.record(
        actor=actor,
        action="council.appointed",
        object_id=seat.id,
        summary=f"{user.display_name} appointed {role.value} of the delegation of {member_state.name}",
        details={"member_state": member_state.name, "role": role.value},
    )
    return seat


def _lock_current_seat(seat: DelegationSeat) -> Delegation:
    """Lock the seat's delegation, re-read the seat, and refuse a seat removed meanwhile."""
    delegation = _lock_delegation(seat.delegation_id)
    db.session.refresh(seat)
    if not seat.is_current:
        raise ValidationFailed(None, _("This seat was removed already."))
    return delegation


def remove(*, actor, seat: DelegationSeat) -> None:
    """End a current seat; the row stays as history (who sat, who appointed and removed them, when).

    The person loses the council-member role unless they still hold another current seat.
    Raises NotAllowed unless the actor is the secretariat, ValidationFailed for a seat removed already.
    """
    _require_council_manager(actor)
    delegation = _lock_current_seat(seat)
    seat.removed_at = utcnow()
    seat.removed_by_id = actor.id
    db.session.flush()
    if current_seat_of(seat.user) is None:
        account_services.revoke_role(user=seat.user, role=Role.COUNCIL_MEMBER)
        db.session.flush()
    audit.record(
        actor=actor,
        action="council.removed",
        object_id=seat.id,
        summary=f"{seat.user.display_name} removed from the delegation of {delegation.member_state.name}",
        details={"member_state": delegation.member_state.name, "role": seat.role.value},
    )


def make_head(*, actor, seat: DelegationSeat) -> None:
    """Make a current alternate the head of their delegation; the current head, if any, becomes an
    alternate in the same transaction.

    Raises NotAllowed unless the actor is the secretariat; ValidationFailed for a removed seat or
    one that is head already.
    """
    _require_council_manager(actor)
    delegation = _lock_current_seat(seat)
    if seat.role == DelegationRole.HEAD:
        raise ValidationFailed(None, _("%(name)s is the head of this delegation already.", name=seat.user.display_name))
    head = _current_head(delegation.id)
    with _guarded_by_seat_indexes():
        # Two flushes, in this order: the index allows one current head at every moment.
        if head is not None:
            head.role = DelegationRole.ALTERNATE
            db.session.flush()
        seat.role = DelegationRole.HEAD
        db.session.flush()
    audit.record(
        actor=actor,
        action="council.appointed",
        object_id=seat.id,
        summary=f"{seat.user.display_name} made head of the delegation of {delegation.member_state.name}",
        details={
            "member_state": delegation.member_state.name,
            "role": DelegationRole.HEAD.value,
            "replaced": head.user.display_name if head is not None else None,
        },
    )
