"""Think tanks: public pages, applications and their review, managing members and invitations."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("thinktanks", __name__)
