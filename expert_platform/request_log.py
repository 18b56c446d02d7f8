"""Structured logs: with ``LOG_FORMAT=json`` (the default in production) every log line is one JSON
object, carrying the request's id, the signed-in user's id and the path when logged inside a request,
and each request ends with one line of its own: method, path, status and duration.

The request id is the client's ``X-Request-ID`` when it is a plain token (a load balancer's), else a
new one; it is sent back in the response's ``X-Request-ID`` so a person reporting a problem can quote it.

A cache of the app calls ``note_cache(name, hit)`` for each lookup it makes while serving a request; the
request's line then carries ``"cache": {"<name>": {"hits": n, "misses": m}}`` (bench/load.py sums them into
hit rates).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

log = logging.getLogger("expert_platform.request")
#: An incoming request id is kept only when it is a plain token: it goes into every log line.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Fields a record may carry (from the request, or ``extra=``) that a JSON line includes.
CONTEXT_FIELDS = ("request_id", "user_id", "method", "path", "status", "duration_ms", "cache")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestContextFilter(logging.Filter):
    """Adds the current request's id, path and signed-in user's id to every record logged inside it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(record, "request_id", None) or g.get("request_id")
            record.path = getattr(record, "path", None) or request.path
            # The user flask-login already loaded, if any: loading one here would query inside a log call.
            user = g.get("_login_user")
            if getattr(user, "is_authenticated", False):
                record.user_id = user.id
        return True


def note_cache(name: str, hit: bool) -> None:
    """Records that the current request looked something up in the cache ``name``, found (``hit``) or not;
    the request's log line counts them. Does nothing outside a request."""
    if not has_request_context():
        return
    lookups = g.setdefault("cache_lookups", {})
    counts = lookups.setdefault(name, {"hits": 0, "misses": 0})
    counts["hits" if hit else "misses"] += 1


def init_request_log(app: Flask) -> None:
    @app.before_request
    def remember_request_start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if app.config.get("LOG_FORMAT") == "json":
            started = g.get("request_started")
            log.info("request", extra={
                "method": request.method, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                "cache": g.get("cache_lookups") or None})
        return response
