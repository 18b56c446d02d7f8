"""The council's dashboard: proposals by stage, my pending reviews and positions, deadlines, and for
the secretariat the rounds that can be closed."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("council_dashboard", __name__)
