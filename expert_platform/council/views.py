"""The public council page and the secretariat's appointments."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("council", __name__)
