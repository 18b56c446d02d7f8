"""The proposal workflow: one TRANSITIONS table and one ``transition()`` entry point.

Nothing else assigns ``Proposal.state``, apart from ``record_import``: an outcome of the earlier
forum, imported from the archive, is recorded in the final state it reached there. A transition
changes the state with one conditional ``UPDATE ... WHERE id = :id AND state = :expected``: on
PostgreSQL a second, simultaneous request waits for the first one's row lock and then matches no
row, on SQLite writers are serialised, so two requests can never both act on one state (a
read-then-write would silently lose one of them). Every transition writes one ``ProposalEvent``;
submission and resubmission freeze a revision, and the first submission gives the proposal its
permanent reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .. import permissions
from ..database import utcnow
from ..enums import ProposalAction, ProposalState
from ..errors import InvalidTransition, NotAllowed, ValidationFailed
from ..extensions import db
from .models import NOTE_MAX_LENGTH, Annex, Proposal, ProposalEvent, ProposalRevision, ReferenceCounter

S = ProposalState
A = ProposalAction


class SystemActor:
    """The platform itself, acting when a rule is met (endorsement by consensus). Not a user."""

    id = None
    is_authenticated = False
    is_system = True
    roles: frozenset = frozenset()

    def has_role(self, *roles) -> bool:
        return False

    def __repr__(self) -> str:
        return "<SystemActor>"


SYSTEM = SystemActor()


@dataclass(frozen=True)
class Transition:
    to_state: ProposalState
    #: Who may take it: a predicate over (actor, proposal) from permissions.py.
    allowed: Callable[[object, Proposal], bool]
    #: The timestamp column set when it happens.
    stamp: str
    note_required: bool = False
    #: When it may happen beyond who: (proposal, now) -> None, or why not (the consensus rounds).
    condition: Callable[[Proposal, datetime], str | None] | None = None


def _round_opened(proposal: Proposal, now: datetime) -> str | None:
    from ..review.rounds import refusal_to_open

    return refusal_to_open(proposal, now)


def _consensus_rule_met(proposal: Proposal, now: datetime) -> str | None:
    from ..review.rounds import refusal_to_endorse

    return refusal_to_endorse(proposal, now)


def _deadline_passed_without_consensus(proposal: Proposal, now: datetime) -> str | None:
    from ..review.rounds import refusal_to_close

    return refusal_to_close(proposal, now)


_AUTHOR = permissions.can_act_as_author
_SECRETARIAT = permissions.can_steer_proposal
_SYSTEM = permissions.is_system_actor

#: (state, action) -> what happens. ARCHITECTURE.md section 3, cell by cell.
TRANSITIONS: dict[tuple[ProposalState, ProposalAction], Transition] = {
    (S.DRAFT, A.SUBMIT): Transition(S.SUBMITTED, _AUTHOR, "last_submitted_at"),
    (S.SUBMITTED, A.START_REVIEW): Transition(S.IN_REVIEW, _SECRETARIAT, "review_started_at"),
    (S.SUBMITTED, A.RETURN_FOR_REVISION): Transition(S.CHANGES_REQUESTED, _SECRETARIAT, "returned_at", True),
    (S.IN_REVIEW, A.RETURN_FOR_REVISION): Transition(S.CHANGES_REQUESTED, _SECRETARIAT, "returned_at", True),
    (S.CONSENSUS, A.RETURN_FOR_REVISION): Transition(S.CHANGES_REQUESTED, _SECRETARIAT, "returned_at", True),
    (S.CHANGES_REQUESTED, A.RESUBMIT): Transition(S.SUBMITTED, _AUTHOR, "last_submitted_at"),
    (S.IN_REVIEW, A.OPEN_CONSENSUS): Transition(
        S.CONSENSUS, _SECRETARIAT, "consensus_opened_at", condition=_round_opened
    ),
    (S.CONSENSUS, A.ENDORSE): Transition(S.ENDORSED, _SYSTEM, "endorsed_at", condition=_consensus_rule_met),
    (S.CONSENSUS, A.CLOSE_WITHOUT_CONSENSUS): Transition(
        S.NOT_ENDORSED, _SECRETARIAT, "closed_at", condition=_deadline_passed_without_consensus
    ),
    (S.DRAFT, A.WITHDRAW): Transition(S.WITHDRAWN, _AUTHOR, "withdrawn_at"),
    (S.SUBMITTED, A.WITHDRAW): Transition(S.WITHDRAWN, _AUTHOR, "withdrawn_at"),
    (S.IN_REVIEW, A.WITHDRAW): Transition(S.WITHDRAWN, _AUTHOR, "withdrawn_at"),
    (S.CHANGES_REQUESTED, A.WITHDRAW): Transition(S.WITHDRAWN, _AUTHOR, "withdrawn_at"),
}

#: Actions that freeze a new revision of the content.
FREEZING_ACTIONS = frozenset({A.SUBMIT, A.RESUBMIT})

#: Sent after every transition, inside its transaction: ``send(proposal, event=..., actor=...)``.
#: Notifications listen to it, so the workflow does not need to know who is told.
transitioned = Namespace().signal("proposal-transitioned")


def available_actions(proposal: Proposal, actor, now: datetime | None = None) -> list[ProposalAction]:
    """The actions ``actor`` may take on ``proposal`` now, in table order (for buttons)."""
    now = now or utcnow()
    return [
        action
        for (state, action), rule in TRANSITIONS.items()
        if state == proposal.state
        and rule.allowed(actor, proposal)
        and (rule.condition is None or rule.condition(proposal, now) is None)
    ]


def transition(proposal: Proposal, action: ProposalAction | str, *, actor, note: str | None = None,
               now: datetime | None = None) -> ProposalEvent:
    """Take ``action`` on ``proposal`` for ``actor``; flushes, never commits.

    Raises InvalidTransition when the action does not apply to the proposal's state (also when
    another request changed the state a moment ago) or its condition does not hold at ``now``
    (endorsement needs the consensus rule met; closing without consensus needs the deadline passed
    without it), NotAllowed when the actor may not take it, and ValidationFailed when a required
    note is missing or too long, or a proposal to submit is incomplete. Nothing changes when it raises.
    """
    try:
        action = ProposalAction(action)
    except ValueError as error:
        raise InvalidTransition(_("This action does not exist.")) from error
    from_state = proposal.state
    rule = TRANSITIONS.get((from_state, action))
    if rule is None:
        raise InvalidTransition(
            _("A proposal that is %(state)s cannot be given this action.", state=from_state.label.lower())
        )
    if not rule.allowed(actor, proposal):
        raise NotAllowed(_("You may not take this action on this proposal."))
    now = now or utcnow()
    if rule.condition is not None:
        refusal = rule.condition(proposal, now)
        if refusal is not None:
            raise InvalidTransition(refusal)
    cleaned_note = (note or "").strip() or None
    if rule.note_required and not cleaned_note:
        raise ValidationFailed("note", _("Write a note to the authors saying what to change."))
    if cleaned_note and len(cleaned_note) > NOTE_MAX_LENGTH:
        raise ValidationFailed("note", _("Use at most %(count)d characters.", count=NOTE_MAX_LENGTH))
    if action in FREEZING_ACTIONS:
        _require_complete(proposal)

    values = {"state": rule.to_state, "version": Proposal.version + 1, rule.stamp: now, "updated_at": now}
    if action == A.SUBMIT and proposal.first_submitted_at is None:
        values["first_submitted_at"] = now
    if action in FREEZING_ACTIONS and proposal.reference is None:
        values["reference"] = _next_reference(now.year)
    changed = db.session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.state == from_state)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        raise InvalidTransition(_("The proposal changed a moment ago. Reload the page to see its state."))
    db.session.refresh(proposal)

    revision_number = _freeze_revision(proposal, actor).number if action in FREEZING_ACTIONS else None
    event = ProposalEvent(
        proposal_id=proposal.id,
        actor_id=getattr(actor, "id", None),
        action=action.value,
        from_state=from_state,
        to_state=rule.to_state,
        note=cleaned_note,
        revision_number=revision_number,
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    transitioned.send(proposal, event=event, actor=actor)
    return event


def record_event(proposal: Proposal, *, actor, action: str, note: str | None = None) -> ProposalEvent:
    """A timeline entry for a change that is not a transition (co-authors, annexes, saves)."""
    event = ProposalEvent(proposal_id=proposal.id, actor_id=getattr(actor, "id", None), action=action, note=note)
    db.session.add(event)
    db.session.flush()
    return event


def _require_complete(proposal: Proposal) -> None:
    missing = []
    if not proposal.title.strip():
        missing.append(_("a title"))
    if not proposal.summary.strip():
        missing.append(_("a summary"))
    if not proposal.body.strip():
        missing.append(_("a text"))
    if not proposal.dimensions:
        missing.append(_("at least one dimension"))
    if missing:
        raise ValidationFailed(None, _("Before it can be sent, the proposal needs %(missing)s.",
                                       missing=", ".join(missing)))


def _next_reference(year: int) -> str:
    """``EP-<year>-<number>``: numbers count up per year under the counter row's lock, never reused."""
    bump = (
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + 1)
        .returning(ReferenceCounter.last_number)
    )
    number = db.session.execute(bump).scalar()
    if number is None:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(ReferenceCounter).values(year=year, last_number=1))
            number = 1
        except IntegrityError:  # another request created this year's counter a moment ago
            number = db.session.execute(bump).scalar()
    return f"EP-{year}-{number:04d}"


def _freeze_revision(proposal: Proposal, actor) -> ProposalRevision:
    from .translations import frozen_translations  # translations builds on services, which imports this module

    number = (
        db.session.scalar(select(func.max(ProposalRevision.number)).where(ProposalRevision.proposal_id == proposal.id))
        or 0
    ) + 1
    annex_ids = db.session.scalars(
        select(Annex.id).where(Annex.proposal_id == proposal.id, Annex.removed_at.is_(None)).order_by(Annex.id)
    ).all()
    revision = ProposalRevision(
        proposal_id=proposal.id,
        number=number,
        title=proposal.title,
        summary=proposal.summary,
        body=proposal.body,
        body_html=proposal.body_html,
        language=proposal.language,
        content={
            "dimensions": [row.dimension.value for row in proposal.dimensions],
            "member_states": [
                {"id": row.member_state_id, "code": row.member_state.code, "name": row.member_state.name}
                for row in proposal.member_states
            ],
            "keywords": [row.keyword for row in proposal.keywords],
            "think_tanks": [{"id": row.think_tank_id, "name": row.think_tank.name} for row in proposal.think_tanks],
            "authors": [
                {"user_id": row.user_id, "name": row.user.display_name, "is_lead": row.is_lead}
                for row in proposal.coauthors
            ],
            "annex_ids": list(annex_ids),
            "translations": frozen_translations(proposal),
        },
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(revision)
    db.session.flush()
    return revision


#: The final states an imported outcome of the earlier forum may be in, and the stamp of its decision.
IMPORTED_STATES = {S.ENDORSED: "endorsed_at", S.NOT_ENDORSED: "closed_at", S.WITHDRAWN: "withdrawn_at"}


def record_import(proposal: Proposal, *, state: ProposalState, reference: str, submitted_at,
                  decided_at) -> ProposalEvent:
    """The one other way a proposal gets its state: an outcome of the earlier forum, imported from the
    secretariat's archive (``flask archive import``), is recorded in the final state it reached there.
    Not a transition: nothing happened on the platform. Creates or re-records ``proposal`` (its content
    already set by the importer), freezes its text as a revision and writes an ``imported`` event.

    Raises InvalidTransition for a state that is not final, or for a proposal that lives in the
    platform's own workflow (only imported proposals are re-recorded).
    """
    state = ProposalState(state)
    if state not in IMPORTED_STATES:
        raise InvalidTransition(_("Only endorsed, not endorsed or withdrawn outcomes can be imported."))
    if proposal.id is not None and not proposal.is_imported:
        raise InvalidTransition(_("%(reference)s is a proposal of the platform: an import cannot replace it.",
                                  reference=reference))
    previous = proposal.state if proposal.id is not None else None
    proposal.is_imported = True
    proposal.reference = reference
    proposal.state = state
    proposal.first_submitted_at = proposal.last_submitted_at = submitted_at
    for stamp in IMPORTED_STATES.values():
        setattr(proposal, stamp, decided_at if stamp == IMPORTED_STATES[state] else None)
    proposal.updated_at = utcnow()
    proposal.version = (proposal.version or 0) + 1
    db.session.add(proposal)
    db.session.flush()
    _freeze_revision(proposal, SYSTEM)
    event = ProposalEvent(proposal_id=proposal.id, actor_id=None, action="imported", from_state=previous,
                          to_state=state, created_at=decided_at or submitted_at or utcnow())
    db.session.add(event)
    db.session.flush()
    return event
