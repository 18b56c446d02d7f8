"""The proposal workflow: one TRANSITIONS table and one ``transition()`` entry point.

Nothing else assigns ``Proposal.state``, apart from ``record_imports`` (``record_import`` for one
outcome): an outcome of the earlier forum, imported from the archive, is recorded in the final state it
reached there. A transition changes the state with one conditional ``UPDATE ... WHERE id = :id AND
state = :expected``: on PostgreSQL a second, simultaneous request waits for the first one's row lock and
then matches no row, on SQLite writers are serialised, so two requests can never both act on one state (a
read-then-write would silently lose one of them). Every transition writes one ``ProposalEvent``;
submission and resubmission freeze a revision, and the first submission gives the proposal its
permanent reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import MANYTOONE

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
    #: It may happen only when the condition registered for its action holds (``register_condition``).
    conditional: bool = False


#: A condition beyond who may act: (proposal, now) -> None, or why not.
Condition = Callable[[Proposal, datetime], str | None]

#: action -> its condition, registered by the package the condition belongs to: ``review`` registers the
#: consensus rounds' when ``review.rounds`` is imported (the app factory imports it with the blueprints),
#: so the workflow never imports ``review`` (ARCHITECTURE.md section 3).
CONDITIONS: dict[ProposalAction, Condition] = {}


def register_condition(action: ProposalAction, condition: Condition) -> None:
    """Make ``condition`` the one that must hold for ``action`` (a conditional transition's); registering
    an action again replaces its condition."""
    CONDITIONS[ProposalAction(action)] = condition


def refusal(proposal: Proposal, action: ProposalAction, rule: Transition, now: datetime) -> str | None:
    """Why ``rule`` (the transition of ``action``) may not happen at ``now`` beyond who acts, or None.

    Raises LookupError for a conditional transition whose condition nobody registered: refusing it
    silently would hide a missing import, allowing it would skip the rule.
    """
    if not rule.conditional:
        return None
    condition = CONDITIONS.get(action)
    if condition is None:
        raise LookupError(f"no condition is registered for the workflow action {action.value!r}")
    return condition(proposal, now)


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
    (S.IN_REVIEW, A.OPEN_CONSENSUS): Transition(S.CONSENSUS, _SECRETARIAT, "consensus_opened_at", conditional=True),
    (S.CONSENSUS, A.ENDORSE): Transition(S.ENDORSED, _SYSTEM, "endorsed_at", conditional=True),
    (S.CONSENSUS, A.CLOSE_WITHOUT_CONSENSUS): Transition(S.NOT_ENDORSED, _SECRETARIAT, "closed_at", conditional=True),
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
        and refusal(proposal, action, rule, now) is None
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
    refused = refusal(proposal, action, rule, now)
    if refused is not None:
        raise InvalidTransition(refused)
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


def _revision_values(proposal: Proposal, *, number: int, annex_ids: list[int], actor) -> dict:
    """The columns of revision ``number`` freezing ``proposal`` as it is now (its rows flushed): every field
    by value, so later renames or removals never change it."""
    from .translations import frozen_translations  # translations builds on services, which imports this module

    return {
        "proposal_id": proposal.id,
        "number": number,
        "title": proposal.title,
        "summary": proposal.summary,
        "body": proposal.body,
        "body_html": proposal.body_html,
        "language": proposal.language,
        "content": {
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
        "created_by_id": getattr(actor, "id", None),
    }


def _freeze_revision(proposal: Proposal, actor) -> ProposalRevision:
    number = (
        db.session.scalar(select(func.max(ProposalRevision.number)).where(ProposalRevision.proposal_id == proposal.id))
        or 0
    ) + 1
    annex_ids = db.session.scalars(
        select(Annex.id).where(Annex.proposal_id == proposal.id, Annex.removed_at.is_(None)).order_by(Annex.id)
    ).all()
    revision = ProposalRevision(**_revision_values(proposal, number=number, annex_ids=list(annex_ids), actor=actor))
    db.session.add(revision)
    db.session.flush()
    return revision


#: The final states an imported outcome of the earlier forum may be in, and the stamp of its decision.
IMPORTED_STATES = {S.ENDORSED: "endorsed_at", S.NOT_ENDORSED: "closed_at", S.WITHDRAWN: "withdrawn_at"}


@dataclass(frozen=True)
class ImportedOutcome:
    """One outcome for ``record_imports``: the proposal (its content already set) and where it ended."""

    proposal: Proposal
    state: ProposalState
    reference: str
    submitted_at: datetime
    decided_at: datetime


def record_import(proposal: Proposal, *, state: ProposalState, reference: str, submitted_at,
                  decided_at) -> ProposalEvent:
    """The one other way a proposal gets its state: an outcome of the earlier forum, imported from the
    secretariat's archive (``flask archive import``), is recorded in the final state it reached there.
    Not a transition: nothing happened on the platform. Creates or re-records ``proposal`` (its content
    already set by the importer), freezes its text as a revision and writes an ``imported`` event.

    Raises InvalidTransition for a state that is not final, or for a proposal that lives in the
    platform's own workflow (only imported proposals are re-recorded).
    """
    record_imports([ImportedOutcome(proposal, state, reference, submitted_at, decided_at)])
    return db.session.scalars(
        select(ProposalEvent).where(ProposalEvent.proposal_id == proposal.id).order_by(ProposalEvent.id.desc())
        .limit(1)
    ).one()


def record_imports(outcomes: Sequence[ImportedOutcome], *, keep_in_session: bool = True) -> None:
    """``record_import`` for many outcomes at once (a batch of an archive import), with the same result as
    one call per outcome in order: each proposal is created or re-recorded in its final state, its text
    frozen as its next revision (1 for a new proposal) and an ``imported`` event written. One flush writes
    the proposals and their rows; then at most two queries (the last revision numbers and the annexes of
    the proposals that existed before; none when all are new) and one INSERT each for the revisions and
    the events, without reading them back: the statements do not grow with the batch. Pass a few hundred
    at a time (their ids go into ``IN (...)`` lists).

    ``keep_in_session=False`` (an import's batches, which it drops from the session once written): the new
    proposals and their rows are written with one INSERT per table instead of the unit of work, which cost
    more than the database did (about 0.5 ms a proposal), and are left out of the session; their ids are set.
    No flush shows them to the search outbox: the caller has them indexed (``outbox.index_as_recorded``).

    Raises InvalidTransition, before anything changes, for a state that is not final or a proposal that
    lives in the platform's own workflow; ValueError when one proposal is given twice (its second revision
    would need the first one's content).
    """
    if not outcomes:
        return
    proposals = [outcome.proposal for outcome in outcomes]
    if len({id(proposal) for proposal in proposals}) != len(proposals):
        raise ValueError("record_imports: a proposal is given twice in one batch")
    # In the database already (its id may be given before the flush: the importer does on SQLite).
    existing = [inspect(proposal).has_identity for proposal in proposals]
    states = [ProposalState(outcome.state) for outcome in outcomes]
    for outcome, state, exists in zip(outcomes, states, existing, strict=True):
        if state not in IMPORTED_STATES:
            raise InvalidTransition(_("Only endorsed, not endorsed or withdrawn outcomes can be imported."))
        if exists and not outcome.proposal.is_imported:
            raise InvalidTransition(_("%(reference)s is a proposal of the platform: an import cannot replace it.",
                                      reference=outcome.reference))
    previous_states = [proposal.state if exists else None for proposal, exists in zip(proposals, existing, strict=True)]
    existing_ids = [proposal.id for proposal, exists in zip(proposals, existing, strict=True) if exists]
    now = utcnow()
    for outcome, state in zip(outcomes, states, strict=True):
        proposal = outcome.proposal
        proposal.is_imported = True
        proposal.reference = outcome.reference
        proposal.state = state
        proposal.first_submitted_at = proposal.last_submitted_at = outcome.submitted_at
        for stamp in IMPORTED_STATES.values():
            setattr(proposal, stamp, outcome.decided_at if stamp == IMPORTED_STATES[state] else None)
        proposal.updated_at = now
        proposal.version = (proposal.version or 0) + 1
    if keep_in_session:
        db.session.add_all(proposals)
    else:
        db.session.add_all(proposal for proposal, exists in zip(proposals, existing, strict=True) if exists)
        _insert_outside_the_session([proposal for proposal, exists in zip(proposals, existing, strict=True)
                                     if not exists])
    db.session.flush()

    last_numbers, annex_ids = _revision_history(existing_ids)
    db.session.execute(insert(ProposalRevision), [
        _revision_values(proposal, number=last_numbers.get(proposal.id, 0) + 1,
                         annex_ids=annex_ids.get(proposal.id, []), actor=SYSTEM)
        for proposal in proposals
    ])
    # render_nulls: a new proposal's event has no from_state, a re-recorded one's has; without it the ORM
    # would split the INSERT wherever the two alternate.
    db.session.execute(insert(ProposalEvent).execution_options(render_nulls=True), [
        {"proposal_id": proposal.id, "actor_id": None, "action": "imported", "from_state": previous,
         "to_state": state, "note": None, "revision_number": None,
         "created_at": outcome.decided_at or outcome.submitted_at or now}
        for outcome, proposal, previous, state in zip(outcomes, proposals, previous_states, states, strict=True)
    ])
    for proposal, exists in zip(proposals, existing, strict=True):
        # Written beside the unit of work: a collection loaded before would not show them.
        loaded = [name for name in ("revisions", "events") if name in proposal.__dict__]
        if loaded and (exists or keep_in_session):
            db.session.expire(proposal, loaded)


#: The rows of a new proposal ``_insert_outside_the_session`` writes with it, by relationship.
_IMPORTED_ROWS = ("dimensions", "member_states", "keywords", "think_tanks", "translations")


def _insert_outside_the_session(proposals: list[Proposal]) -> None:
    """Write new proposals (transient, their rows set) and their rows, one INSERT per table, and give each
    proposal and row its id where the database chose it. Each table's objects must have the same attributes
    set (they are made by the same code): a column none of them set gets its default."""
    if not proposals:
        return
    _insert_objects(proposals)
    for name in _IMPORTED_ROWS:
        rows = []
        for proposal in proposals:
            for row in getattr(proposal, name):
                row.proposal_id = proposal.id
                rows.append(row)
        _insert_objects(rows)


def _insert_objects(objects: list) -> None:
    """One INSERT of ``objects`` (transient, of one mapped class) with the attributes they have set; the ids
    come back, in order, unless they were given (SQLite, ``importer._RowIds``)."""
    if not objects:
        return
    mapper = inspect(type(objects[0]))
    # What the unit of work does at a flush: a many-to-one relationship set gives its foreign key.
    for relationship in mapper.relationships:
        if relationship.direction is MANYTOONE:
            for row in objects:
                related = row.__dict__.get(relationship.key)
                if related is not None:
                    for local, remote in relationship.local_remote_pairs:
                        setattr(row, mapper.get_property_by_column(local).key,
                                getattr(related, inspect(type(related)).get_property_by_column(remote).key))
    columns = [attribute.key for attribute in mapper.column_attrs]
    keys = [key for key in columns if key in objects[0].__dict__]
    values = [{key: getattr(row, key) for key in keys} for row in objects]
    if any(type(row) is not type(objects[0]) or [key for key in columns if key in row.__dict__] != keys
           for row in objects):
        raise ValueError(f"_insert_objects: {mapper.class_.__name__} objects with different attributes set")
    # render_nulls: one statement whatever columns are None in which row (an endorsed proposal has no
    # closed_at, a withdrawn one no endorsed_at); without it SQLAlchemy splits the INSERT wherever that changes.
    statement = insert(mapper.class_).execution_options(render_nulls=True)
    if "id" in keys:
        db.session.execute(statement, values)
        return
    returned = db.session.scalars(statement.returning(mapper.class_.id, sort_by_parameter_order=True), values).all()
    for row, row_id in zip(objects, returned, strict=True):
        row.id = row_id


def _revision_history(proposal_ids: list[int]) -> tuple[dict[int, int], dict[int, list[int]]]:
    """For proposals already in the database: their last revision number, and the ids of their annexes
    not removed (in id order). Two queries, or none for no proposal."""
    if not proposal_ids:
        return {}, {}
    last_numbers = dict(db.session.execute(
        select(ProposalRevision.proposal_id, func.max(ProposalRevision.number))
        .where(ProposalRevision.proposal_id.in_(proposal_ids)).group_by(ProposalRevision.proposal_id)
    ).all())
    annex_ids: dict[int, list[int]] = {}
    for proposal_id, annex_id in db.session.execute(
        select(Annex.proposal_id, Annex.id).where(Annex.proposal_id.in_(proposal_ids), Annex.removed_at.is_(None))
        .order_by(Annex.proposal_id, Annex.id)
    ):
        annex_ids.setdefault(proposal_id, []).append(annex_id)
    return last_numbers, annex_ids
