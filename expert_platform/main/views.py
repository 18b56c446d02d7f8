"""The home page: what the platform is, and what each kind of visitor can do here."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..enums import Dimension, Role

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    return render_template("main/index.html", roles=list(Role), dimensions=list(Dimension))
