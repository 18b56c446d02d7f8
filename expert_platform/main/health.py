"""``/healthz``: whether this process can serve, for a load balancer and for monitoring.

It checks the database (one ``SELECT 1``) and the search backend (the current index opens and
answers), and answers 200 when both work, 503 when one does not, with JSON details: each check's
result, how long it took, and on failure the kind of error only (an exception's message may hold
addresses or SQL, which the public must not read; the log has the whole error).
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, jsonify
from sqlalchemy import text

from ..extensions import db, limiter

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def _database() -> None:
    db.session.execute(text("SELECT 1"))


def _search() -> None:
    from ..search import service

    service.indexed_count()


CHECKS = {"database": _database, "search": _search}


def _run(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # any failure makes the process unfit to serve: report, never raise
        log.exception("health.check_failed check=%s", check.__name__.lstrip("_"))
        db.session.rollback()
        return {"ok": False, "error": type(error).__name__, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


@bp.get("/healthz")
@limiter.exempt
def healthz():
    results = {name: _run(check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in results.values())
    response = jsonify(status="ok" if healthy else "unavailable", checks=results)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if healthy else 503
