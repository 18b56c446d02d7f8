"""Consensus rounds: opening, positions, settling by the rule, closing without consensus, reminders.

Every decision about a round is taken under the proposal's row lock (``lock_proposal``): on
PostgreSQL two delegations recording their positions at the same moment would otherwise each see
only their own new position and both conclude "not yet" (write skew), leaving the proposal stuck;
with the lock the second waits, then sees the first's position and endorses. SQLite serialises
writers with BEGIN IMMEDIATE. Endorsement goes through ``workflow.transition``, whose conditional
UPDATE and the rule re-checked under the lock make a second endorsement impossible.

Functions take keyword-only arguments and ``now`` (for the deadline; defaults to the clock), flush
and never commit, and raise DomainError subclasses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import permissions
from ..audit import services as audit
from ..council.models import Delegation, DelegationSeat
from ..database import utcnow
from ..enums import ConsensusOutcome, Position, ProposalAction, ProposalState, RoundKind, RoundResult
from ..errors import InvalidTransition, NotAllowed, ValidationFailed
from ..extensions import db
from ..proposals import workflow
from ..proposals.models import Proposal, ProposalRevision
from . import consensus
from .models import REASON_MAX_LENGTH, ConsensusRound, DelegationPosition, PositionRecord, RoundDelegation

#: The shortest and longest time a round may be open for.
MIN_ROUND_LENGTH = timedelta(hours=1)
MAX_ROUND_LENGTH = timedelta(days=366)
#: Delegations that have not answered are reminded this long before the deadline.
REMINDER_BEFORE = timedelta(hours=48)


# --- reading ------------------------------------------------------------------------------------


def open_round_of(proposal: Proposal) -> ConsensusRound | None:
    return db.session.scalar(
        select(ConsensusRound).where(ConsensusRound.proposal_id == proposal.id, ConsensusRound.closed_at.is_(None))
    )


def rounds_of(proposal: Proposal) -> list[ConsensusRound]:
    """Every round of the proposal, the first first."""
    return list(
        db.session.scalars(
            select(ConsensusRound).where(ConsensusRound.proposal_id == proposal.id).order_by(ConsensusRound.number)
        )
    )


def latest_round_of(proposal: Proposal) -> ConsensusRound | None:
    return db.session.scalar(
        select(ConsensusRound)
        .where(ConsensusRound.proposal_id == proposal.id)
        .order_by(ConsensusRound.number.desc())
        .limit(1)
    )


def rule_of(round_: ConsensusRound, now: datetime) -> consensus.Rule:
    return consensus.Rule(kind=round_.kind, deadline_passed=round_.deadline_passed(now), quorum=round_.quorum)


def outcome_of(round_: ConsensusRound, now: datetime) -> ConsensusOutcome:
    """What the round's current positions amount to at ``now`` (the pure rule, fed from the rows)."""
    positions = {row.delegation_id: row.position for row in round_.positions}
    return consensus.outcome(positions, [row.delegation_id for row in round_.asked], rule_of(round_, now))


def refusal_to_open(proposal: Proposal, now: datetime) -> str | None:
    """The workflow's condition for ``open_consensus``: ``open_round`` has created the round (so no
    proposal is ever in consensus without one)."""
    if open_round_of(proposal) is None:
        return _("Open a consensus round with its type and deadline.")
    return None


def refusal_to_endorse(proposal: Proposal, now: datetime) -> str | None:
    """The workflow's condition for ``endorse``: an open round whose rule is met at ``now``."""
    round_ = open_round_of(proposal)
    if round_ is None or outcome_of(round_, now) != ConsensusOutcome.ENDORSED:
        return _("The consensus rule is not met: the proposal cannot be endorsed.")
    return None


def refusal_to_close(proposal: Proposal, now: datetime) -> str | None:
    """The workflow's condition for ``close_without_consensus``: the deadline has passed and the rule
    is not met (an objection stands, or a standard round's quorum was not reached)."""
    return refusal_to_close_round(open_round_of(proposal), now)


def refusal_to_close_round(round_: ConsensusRound | None, now: datetime) -> str | None:
    """``refusal_to_close`` for an open round already loaded (None: the proposal has none)."""
    if round_ is None:
        return _("The proposal has no open consensus round.")
    if not round_.deadline_passed(now):
        return _("The round can be closed without consensus only once its deadline has passed.")
    if outcome_of(round_, now) == ConsensusOutcome.ENDORSED:
        return _("The consensus rule is met: the proposal is endorsed, not closed.")
    return None


# The workflow's conditions of the consensus transitions belong to the rounds: registered with it here, so
# that ``proposals`` never imports ``review`` (ARCHITECTURE.md section 3).
workflow.register_condition(ProposalAction.OPEN_CONSENSUS, refusal_to_open)
workflow.register_condition(ProposalAction.ENDORSE, refusal_to_endorse)
workflow.register_condition(ProposalAction.CLOSE_WITHOUT_CONSENSUS, refusal_to_close)


@dataclass
class Tally:
    """The positions of a round by delegation name, for the decision record and the council's view."""

    endorsed: list[str] = field(default_factory=list)
    reservations: list[dict] = field(default_factory=list)
    stood_aside: list[str] = field(default_factory=list)
    objected: list[dict] = field(default_factory=list)
    no_answer: list[str] = field(default_factory=list)

    def as_record(self) -> dict:
        return {
            "endorsed": self.endorsed, "reservations": self.reservations, "stood_aside": self.stood_aside,
            "objected": self.objected, "no_answer": self.no_answer,
        }

    @classmethod
    def from_record(cls, record: dict | None) -> Tally:
        record = record or {}
        return cls(**{name: list(record.get(name, [])) for name in cls.__dataclass_fields__})


def tally_of(round_: ConsensusRound) -> Tally:
    """The current positions of the delegations asked, by member-state name."""
    by_delegation = {row.delegation_id: row for row in round_.positions}
    tally = Tally()
    for asked in round_.asked:
        row = by_delegation.get(asked.delegation_id)
        name = asked.member_state_name
        if row is None:
            tally.no_answer.append(name)
        elif row.position == Position.ENDORSE:
            tally.endorsed.append(name)
        elif row.position == Position.ENDORSE_WITH_RESERVATION:
            tally.reservations.append({"delegation": name, "reason": row.reason or ""})
        elif row.position == Position.STAND_ASIDE:
            tally.stood_aside.append(name)
        else:
            tally.objected.append({"delegation": name, "reason": row.reason or ""})
    return tally


@dataclass(frozen=True)
class DecisionRecord:
    """The published outcome of the round that decided a proposal, from the tally frozen when it closed."""

    round: ConsensusRound
    is_endorsed: bool
    decided_at: datetime
    kind: RoundKind
    quorum: str
    tally: Tally


#: The round result that decided a proposal in each decided state.
_DECIDING_RESULT = {ProposalState.ENDORSED: RoundResult.ENDORSED, ProposalState.NOT_ENDORSED: RoundResult.NOT_ENDORSED}


def decision_record_of(proposal: Proposal) -> DecisionRecord | None:
    """The decision record of an endorsed proposal or one closed without consensus (None otherwise).
    Everything comes from ``round.decision``, frozen by name, so the record never changes later."""
    result = _DECIDING_RESULT.get(proposal.state)
    round_ = latest_round_of(proposal) if result is not None else None
    if round_ is None or round_.result != result:
        return None
    record = round_.decision or {}
    decided_at = datetime.fromisoformat(record["decided_at"]) if record.get("decided_at") else round_.closed_at
    return DecisionRecord(
        round=round_,
        is_endorsed=result == RoundResult.ENDORSED,
        decided_at=decided_at,
        kind=RoundKind(record.get("kind", round_.kind)),
        quorum=record.get("quorum") or f"{round_.quorum_numerator}/{round_.quorum_denominator}",
        tally=Tally.from_record(record),
    )


def position_history(round_: ConsensusRound) -> list[PositionRecord]:
    """Every position recorded in the round, the latest first."""
    return list(
        db.session.scalars(
            select(PositionRecord)
            .where(PositionRecord.round_id == round_.id)
            .order_by(PositionRecord.recorded_at.desc(), PositionRecord.id.desc())
        )
    )


def delegation_of(user) -> Delegation | None:
    """The delegation in which ``user`` holds a current seat (None for anyone else)."""
    if not permissions.is_signed_in(user):
        return None
    return db.session.scalar(
        select(Delegation)
        .join(DelegationSeat, DelegationSeat.delegation_id == Delegation.id)
        .where(DelegationSeat.user_id == user.id, DelegationSeat.removed_at.is_(None))
    )


def quorum_setting() -> Fraction:
    """The configured quorum (``CONSENSUS_QUORUM``, default two thirds) for rounds opened from now on."""
    return consensus.parse_quorum(current_app.config.get("CONSENSUS_QUORUM", "2/3"))


# --- writing ------------------------------------------------------------------------------------


def lock_proposal(proposal: Proposal) -> Proposal:
    """Take the proposal's row lock (PostgreSQL) and re-read it: decisions about its round are taken
    one at a time, each seeing the positions committed before it."""
    return db.session.execute(
        select(Proposal).where(Proposal.id == proposal.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def _locked_open_round(proposal: Proposal) -> ConsensusRound | None:
    lock_proposal(proposal)
    round_ = db.session.execute(
        select(ConsensusRound)
        .where(ConsensusRound.proposal_id == proposal.id, ConsensusRound.closed_at.is_(None))
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if round_ is not None:
        # Positions committed by others while we waited for the lock: load them afresh.
        db.session.expire(round_, ["positions", "asked"])
    return round_


def open_round(*, actor, proposal: Proposal, kind: RoundKind | str, deadline_at: datetime,
               now: datetime | None = None) -> ConsensusRound:
    """Open a consensus round on a proposal in review; every delegation with a current member is asked.

    Raises NotAllowed unless the actor is the secretariat; ValidationFailed for a deadline less than an
    hour or more than a year away, or when no delegation has a member; InvalidTransition when the
    proposal is not in review (also when someone opened a round a moment ago).
    """
    now = now or utcnow()
    if not permissions.can_steer_proposal(actor, proposal):
        raise NotAllowed(_("Only the secretariat opens consensus rounds."))
    kind = RoundKind(kind)
    if deadline_at.tzinfo is None:
        raise ValidationFailed("deadline", _("Give the deadline with its time zone."))
    if deadline_at < now + MIN_ROUND_LENGTH:
        raise ValidationFailed("deadline", _("Set the deadline at least one hour from now."))
    if deadline_at > now + MAX_ROUND_LENGTH:
        raise ValidationFailed("deadline", _("Set the deadline within a year."))
    lock_proposal(proposal)
    if proposal.state != ProposalState.IN_REVIEW:
        raise InvalidTransition(_("A consensus round opens only on a proposal in review."))
    delegations = db.session.execute(
        select(Delegation)
        .join(DelegationSeat, DelegationSeat.delegation_id == Delegation.id)
        .where(DelegationSeat.removed_at.is_(None))
        .distinct()
    ).scalars().all()
    if not delegations:
        raise ValidationFailed(None, _("No delegation has a member: appoint council members before opening a round."))
    number = (db.session.scalar(
        select(func.max(ConsensusRound.number)).where(ConsensusRound.proposal_id == proposal.id)
    ) or 0) + 1
    revision_number = db.session.scalar(
        select(func.max(ProposalRevision.number)).where(ProposalRevision.proposal_id == proposal.id)
    ) or 1
    quorum = quorum_setting()
    round_ = ConsensusRound(
        proposal_id=proposal.id, number=number, kind=kind, revision_number=revision_number,
        quorum_numerator=quorum.numerator, quorum_denominator=quorum.denominator,
        opened_by_id=actor.id, opened_at=now, deadline_at=deadline_at,
        asked=[RoundDelegation(delegation_id=d.id, member_state_name=d.member_state.name) for d in delegations],
    )
    db.session.add(round_)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        raise InvalidTransition(_("A round was opened on this proposal a moment ago. Reload the page.")) from error
    workflow.transition(proposal, ProposalAction.OPEN_CONSENSUS, actor=actor, now=now)
    audit.record(
        actor=actor, action="review.round_opened", object_id=round_.id,
        summary=f"{kind.label} opened on {proposal.reference} until {deadline_at:%Y-%m-%d %H:%M} UTC",
        details={"proposal": proposal.reference, "kind": kind.value, "delegations": len(delegations)},
    )
    return round_


@dataclass(frozen=True)
class Recorded:
    position: DelegationPosition
    outcome: ConsensusOutcome
    endorsed: bool


def record_position(*, actor, proposal: Proposal, position: Position | str, reason: str | None = None,
                    now: datetime | None = None) -> Recorded:
    """Record (or change) the position of the actor's delegation in the proposal's open round, then
    settle the round: the proposal is endorsed at once when this position meets the rule.

    Raises NotAllowed for anyone without a current seat in a delegation asked in the round, and for
    the proposal's own co-authors; ValidationFailed for a reservation or objection without a reason,
    or a reason too long; InvalidTransition when no round is open or its deadline has passed.
    """
    now = now or utcnow()
    position = Position(position)
    reason = (reason or "").strip() or None
    if position.needs_reason and reason is None:
        raise ValidationFailed("reason", _("Give the reason for the reservation or the objection."))
    if reason is not None and len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed("reason", _("Use at most %(count)d characters.", count=REASON_MAX_LENGTH))
    if not permissions.can_take_part_in_rounds(actor, proposal):
        raise NotAllowed(_("Only a member of a delegation asked in the round records its position."))
    round_ = _locked_open_round(proposal)
    if round_ is None or proposal.state != ProposalState.CONSENSUS:
        raise InvalidTransition(_("No consensus round is open on this proposal."))
    if round_.deadline_passed(now):
        raise InvalidTransition(_("The round's deadline has passed: positions can no longer be recorded."))
    delegation = delegation_of(actor)
    if delegation is None or delegation.id not in {row.delegation_id for row in round_.asked}:
        raise NotAllowed(_("Your delegation is not asked in this round."))
    row = next((row for row in round_.positions if row.delegation_id == delegation.id), None)
    if row is None:
        row = DelegationPosition(round_id=round_.id, delegation_id=delegation.id, position=position)
        round_.positions.append(row)
    row.position = position
    row.reason = reason
    row.recorded_by_id = actor.id
    row.recorded_at = now
    db.session.add(PositionRecord(round_id=round_.id, delegation_id=delegation.id, position=position,
                                  reason=reason, recorded_by_id=actor.id, recorded_at=now))
    db.session.flush()
    outcome = _settle_locked(proposal, round_, now)
    return Recorded(position=row, outcome=outcome, endorsed=outcome == ConsensusOutcome.ENDORSED)


def settle(*, proposal: Proposal, now: datetime | None = None) -> ConsensusOutcome | None:
    """Endorse the proposal when its open round's rule is met at ``now``; None when no round is open.

    Idempotent: a settled round is closed, so a second call (another process, a page view, cron)
    finds nothing to do.
    """
    now = now or utcnow()
    round_ = _locked_open_round(proposal)
    if round_ is None or proposal.state != ProposalState.CONSENSUS:
        return None
    return _settle_locked(proposal, round_, now)


def _settle_locked(proposal: Proposal, round_: ConsensusRound, now: datetime) -> ConsensusOutcome:
    outcome = outcome_of(round_, now)
    if outcome == ConsensusOutcome.ENDORSED:
        # A rule met by the deadline passing was met at the deadline, whenever cron or a page view
        # notices it: the decision (and the endorsement's date) is the deadline's.
        just_before = round_.deadline_at - timedelta(microseconds=1)
        if round_.deadline_passed(now) and outcome_of(round_, just_before) != ConsensusOutcome.ENDORSED:
            now = round_.deadline_at
        # The transition first: its condition re-checks the rule on the round while it is open.
        workflow.transition(proposal, ProposalAction.ENDORSE, actor=workflow.SYSTEM, now=now)
        _close(round_, result=RoundResult.ENDORSED, now=now, actor=None)
    return outcome


def _close(round_: ConsensusRound, *, result: RoundResult, now: datetime, actor) -> None:
    round_.closed_at = now
    round_.result = result
    round_.closed_by_id = getattr(actor, "id", None)
    round_.decision = {**tally_of(round_).as_record(), "decided_at": now.isoformat(), "kind": round_.kind.value,
                       "quorum": f"{round_.quorum_numerator}/{round_.quorum_denominator}"}
    db.session.flush()


def close_without_consensus(*, actor, proposal: Proposal, note: str | None = None,
                            now: datetime | None = None) -> ConsensusRound:
    """Close the open round as not endorsed, once its deadline has passed without consensus.

    Raises NotAllowed unless the actor is the secretariat; InvalidTransition before the deadline, when
    no round is open, or when the rule is met (the proposal is endorsed instead: settle it).
    """
    now = now or utcnow()
    if not permissions.can_steer_proposal(actor, proposal):
        raise NotAllowed(_("Only the secretariat closes consensus rounds."))
    round_ = _locked_open_round(proposal)
    refusal = refusal_to_close(proposal, now)
    if round_ is None or refusal is not None:
        raise InvalidTransition(refusal or _("The proposal has no open consensus round."))
    workflow.transition(proposal, ProposalAction.CLOSE_WITHOUT_CONSENSUS, actor=actor, note=note, now=now)
    _close(round_, result=RoundResult.NOT_ENDORSED, now=now, actor=actor)
    return round_


def cancel_open_round(*, proposal: Proposal, actor, now: datetime | None = None) -> ConsensusRound | None:
    """Close the open round as cancelled (the proposal went back to its authors); None when none is open."""
    now = now or utcnow()
    round_ = _locked_open_round(proposal)
    if round_ is None:
        return None
    _close(round_, result=RoundResult.CANCELLED, now=now, actor=actor)
    return round_


def due_proposals(now: datetime | None = None) -> list[int]:
    """Ids of proposals in consensus whose open round's deadline has passed."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(ConsensusRound.proposal_id)
            .join(Proposal, Proposal.id == ConsensusRound.proposal_id)
            .where(ConsensusRound.closed_at.is_(None), ConsensusRound.deadline_at <= now,
                   Proposal.state == ProposalState.CONSENSUS)
            .order_by(ConsensusRound.deadline_at)
        )
    )


def rounds_to_remind(now: datetime | None = None) -> list[ConsensusRound]:
    """Open rounds whose deadline is within REMINDER_BEFORE and not yet passed."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(ConsensusRound)
            .where(ConsensusRound.closed_at.is_(None), ConsensusRound.deadline_at > now,
                   ConsensusRound.deadline_at <= now + REMINDER_BEFORE)
            .order_by(ConsensusRound.deadline_at)
        )
    )


def silent_delegations(round_: ConsensusRound) -> list[int]:
    """Ids of the delegations asked in the round that have not answered."""
    answered = {row.delegation_id for row in round_.positions}
    return [row.delegation_id for row in round_.asked if row.delegation_id not in answered]


def current_members(delegation_ids: Iterable[int]) -> list[DelegationSeat]:
    ids = list(delegation_ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(DelegationSeat).where(DelegationSeat.delegation_id.in_(ids), DelegationSeat.removed_at.is_(None))
    ))
