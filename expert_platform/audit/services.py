"""Writing the audit trail. Every service that changes institutions, memberships, invitations or
the council calls ``record()`` in the same transaction, so a change and its record commit together."""

from __future__ import annotations

from ..extensions import db
from .models import SUMMARY_MAX_LENGTH, AuditRecord

#: Every action the platform records, with the object type it concerns. Filters offer exactly these.
ACTIONS = {
    "thinktank.applied": "think_tank",
    "thinktank.approved": "think_tank",
    "thinktank.rejected": "think_tank",
    "thinktank.updated": "think_tank",
    "invitation.sent": "invitation",
    "invitation.resent": "invitation",
    "invitation.revoked": "invitation",
    "invitation.accepted": "invitation",
    "membership.added": "membership",
    "membership.deactivated": "membership",
    "membership.reactivated": "membership",
    "membership.role_changed": "membership",
    "council.appointed": "delegation_seat",
    "council.removed": "delegation_seat",
    "review.rapporteur_assigned": "rapporteur_assignment",
    "review.rapporteur_removed": "rapporteur_assignment",
    "review.review_shared": "review",
    "review.review_unshared": "review",
    "review.round_opened": "consensus_round",
    "reference.state_added": "member_state",
    "reference.state_updated": "member_state",
}


def record(*, actor, action: str, object_id: int | None, summary: str, details: dict | None = None) -> AuditRecord:
    """Add an audit record (flushes, never commits). Raises KeyError for an action not in ACTIONS."""
    entry = AuditRecord(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=ACTIONS[action],
        object_id=object_id,
        summary=summary[:SUMMARY_MAX_LENGTH],
        details=details or {},
    )
    db.session.add(entry)
    db.session.flush()
    return entry
