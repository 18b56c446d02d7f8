"""Keeping the index in step with the database, through an outbox (ARCHITECTURE.md section 6).

Every flush that writes a proposal or one of its rows (authors, keywords, dimensions, member states,
think tanks, translations), and every workflow transition (a conditional UPDATE the session does not track), adds
a ``search_outbox`` row in the same transaction. After the commit the rows of that transaction are
applied in a session of their own: the index is searchable within a moment, a rolled-back change
leaves nothing, and a process that dies between its commit and its indexing leaves rows that the
next change, or ``flask search sync``, applies. Indexing errors are logged, never raised into the
request that changed the data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..enums import ProposalState
from ..extensions import db
from ..proposals import workflow
from ..proposals.models import (
    Proposal,
    ProposalAuthor,
    ProposalDimension,
    ProposalKeyword,
    ProposalMemberState,
    ProposalThinkTank,
    ProposalTranslation,
)
from ..thinktanks.models import ThinkTank
from .models import SearchOutboxEntry

log = logging.getLogger(__name__)
_PENDING_KEY = "search_pending"
_CHILD_ROWS = (ProposalAuthor, ProposalDimension, ProposalKeyword, ProposalMemberState, ProposalThinkTank,
               ProposalTranslation)


def _renamed(instance, attribute: str) -> bool:
    return instance.id is not None and inspect(instance).attrs[attribute].history.has_changes()


def _changed_proposal_ids(session: Session) -> set[int]:
    """The proposals whose index entry the flush may have changed: their own rows, and the public
    proposals of a person or think tank whose name changed (the index holds names, not ids)."""
    ids = set()
    renamed_users, renamed_tanks = [], []
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, Proposal) and instance.id is not None:
            ids.add(instance.id)
        elif isinstance(instance, _CHILD_ROWS) and instance.proposal_id is not None:
            ids.add(instance.proposal_id)
        elif isinstance(instance, User) and _renamed(instance, "display_name"):
            renamed_users.append(instance.id)
        elif isinstance(instance, ThinkTank) and _renamed(instance, "name"):
            renamed_tanks.append(instance.id)
    connection = session.connection()
    if renamed_users:
        ids.update(connection.scalars(
            select(ProposalAuthor.proposal_id).join(Proposal, Proposal.id == ProposalAuthor.proposal_id)
            .where(ProposalAuthor.user_id.in_(renamed_users), Proposal.state == ProposalState.ENDORSED)))
    if renamed_tanks:
        ids.update(connection.scalars(
            select(ProposalThinkTank.proposal_id).join(Proposal, Proposal.id == ProposalThinkTank.proposal_id)
            .where(ProposalThinkTank.think_tank_id.in_(renamed_tanks), Proposal.state == ProposalState.ENDORSED)))
    return ids


def enqueue(session: Session, proposal_ids: set[int]) -> None:
    """Write outbox rows for ``proposal_ids`` in the session's transaction, once per transaction."""
    pending = session.info.setdefault(_PENDING_KEY, set())
    fresh = proposal_ids - pending
    if not fresh:
        return
    session.connection().execute(insert(SearchOutboxEntry), [{"proposal_id": pid} for pid in sorted(fresh)])
    pending.update(fresh)


def index_as_recorded(batches: Iterable[list[Proposal]], *, expected: int) -> None:
    """Index proposals as a bulk job records them in this transaction without the unit of work, so that no
    flush shows them here (``workflow.record_imports(keep_in_session=False)``; ``batches``: each batch once it
    is written, about ``expected`` proposals in all). Where the index is in the database
    (``Backend.in_the_database``), their entries are written in the transaction from the proposals in hand,
    one batch while the next is recorded: nothing is read back, and they commit or roll back with the
    proposals. Otherwise they are queued here, written after the commit."""
    from .service import active_backend, changes_of

    index = active_backend()
    if not index.in_the_database:
        for batch in batches:
            enqueue(db.session(), {proposal.id for proposal in batch})
        return
    index.write((change for batch in batches for change in changes_of(batch)), expected=expected,
                session=db.session)


def _after_flush(session: Session, _flush_context) -> None:
    ids = _changed_proposal_ids(session)
    if ids:
        enqueue(session, ids)


def _on_transition(proposal: Proposal, *, event, actor) -> None:
    enqueue(db.session(), {proposal.id})


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released (SQLAlchemy reports it as a commit): the transaction goes on
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    from .service import apply_outbox

    try:
        apply_outbox(pending)
    except Exception:  # the rows stay: the next change or `flask search sync` applies them
        log.exception("search.index_failed proposals=%s", sorted(pending))


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    # A SAVEPOINT rolled back (a duplicate notification, say) leaves the transaction's other rows.
    if not previous_transaction.nested:
        session.info.pop(_PENDING_KEY, None)


def listen() -> None:
    """Listen to every session and to the workflow (registering twice is harmless)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
    workflow.transitioned.connect(_on_transition)
