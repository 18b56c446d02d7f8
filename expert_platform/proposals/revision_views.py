"""Revisions, word-level diffs and annexes of a proposal."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("revisions", __name__)
