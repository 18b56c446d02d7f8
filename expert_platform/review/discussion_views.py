"""The discussion of a proposal: threaded comments, council-internal or shared with the authors."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("discussion", __name__)


@bp.get("/proposals/<int:proposal_id>/discussion")
def show(proposal_id: int):
    raise NotImplementedError  # helper B builds this page
