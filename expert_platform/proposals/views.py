"""Proposal pages: writing, co-authors, the workflow buttons, revisions and annexes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("proposals", __name__)
