"""The secretariat's dashboard, audit trail and reference-data editing."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("secretariat", __name__)
