"""The council's review workspace of a proposal: rapporteurs, reviews, the secretariat's workflow
actions, consensus rounds and positions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("review", __name__)


@bp.get("/proposals/<int:proposal_id>/review")
def workspace(proposal_id: int):
    raise NotImplementedError  # helper A builds this page
