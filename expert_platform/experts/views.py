"""Expert profiles and the expert directory."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("experts", __name__)
