"""Loading a proposal for a page, shared by the views of every package that shows one (a view module
imports no other view module)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..extensions import db
from ..permissions import can_view_proposal
from .models import Proposal


def visible_proposal(proposal_id: int) -> Proposal:
    """The proposal, or 404 when it does not exist or the viewer may not see it (a draft, for anyone
    but its co-authors: the same page as for a missing id, so a draft's existence never shows)."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or not can_view_proposal(current_user, proposal):
        abort(404)
    return proposal
