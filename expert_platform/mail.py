"""Outgoing email: the only module that builds and delivers messages.

``queue()`` renders ``templates/email/<name>.txt`` (and ``.html`` when present) and attaches the
message to the database session. Messages leave only after that session commits: a rolled-back
change sends nothing. Inside a request they are delivered after the response has been written, so
the time a page takes does not depend on whether an email was sent (no account enumeration by
timing): when the server closes the response, or a few seconds later if it never does. Outside a
request (CLI, jobs) they are delivered at commit.

Backends (``MAIL_BACKEND``): ``smtp`` sends; ``file`` writes each message to ``MAIL_OUTBOX_DIR`` as
an ``.eml`` file and logs it, for development and tests (``read_outbox()`` reads them back).
"""

from __future__ import annotations

import logging
import os
import smtplib
import threading
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import Flask, after_this_request, current_app, g, has_request_context, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

log = logging.getLogger(__name__)
_PENDING_KEY = "pending_mail"


@dataclass(frozen=True)
class OutgoingMail:
    recipient: str
    subject: str
    text: str
    html: str | None


def queue(*, to: str, subject: str, template: str, **context) -> OutgoingMail:
    """Render a message and send it once the current database transaction commits."""
    text, html = _render(template, subject=subject, **context)
    message = OutgoingMail(recipient=to, subject=subject, text=text, html=html)
    session = db.session()
    if not session.in_transaction():
        # Open the transaction now (no SQL is sent) so that a rollback before any database work
        # still drops this message.
        session.begin()
    session.info.setdefault(_PENDING_KEY, []).append(message)
    return message


def render_only(*, template: str, **context) -> None:
    """Render a template without sending: equal work on paths that must not reveal anything."""
    _render(template, subject="", **context)


def _render(template: str, **context) -> tuple[str, str | None]:
    context.setdefault("base_url", current_app.config["BASE_URL"])
    # The platform's name in the language the message is written in (the template global is per language).
    context.setdefault("platform_name", str(current_app.jinja_env.globals["platform_name"]))
    # Templates build paths with url_for, which needs a request; CLI jobs and timers have none.
    scope = nullcontext() if has_request_context() else current_app.test_request_context(
        base_url=current_app.config["BASE_URL"]
    )
    with scope:
        text = render_template(f"email/{template}.txt", **context)
        try:
            html = render_template(f"email/{template}.html", **context)
        except TemplateNotFound:
            html = None
    return text, html


def discard_pending() -> None:
    """Forget queued messages (used by the 500 handler together with its rollback)."""
    db.session().info.pop(_PENDING_KEY, None)
    if has_request_context():
        g.pop("mail_ready", None)


def _build(message: OutgoingMail, sender: str) -> EmailMessage:
    # Lines up to RFC 5322's 998 characters: folding a long subject at 78 loses the space after a
    # closing quotation mark (“Flood warnings” became “Floodwarnings”) in Python 3.11's folder.
    email = EmailMessage(policy=email_policy.default.clone(max_line_length=998))
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = message.recipient
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain="expert-platform.invalid")
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


def deliver(app: Flask, messages: list[OutgoingMail]) -> None:
    """Send ``messages`` through the configured backend; a failure is logged, never raised."""
    config = app.config
    for message in messages:
        email = _build(message, config["MAIL_DEFAULT_SENDER"])
        try:
            if config["MAIL_BACKEND"] == "smtp":
                _send_smtp(config, email)
            else:
                _write_file(config, email)
            log.info("mail.sent to=%s subject=%r", message.recipient, message.subject)
        except Exception:  # noqa: BLE001 - a mail server outage must not break the page already served
            log.exception("mail.failed to=%s subject=%r", message.recipient, message.subject)


def _send_smtp(config, email: EmailMessage) -> None:
    factory = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with factory(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT_SECONDS"]) as smtp:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(email)


def _write_file(config, email: EmailMessage) -> None:
    folder = Path(config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.eml"  # sorts by time of writing
    # Written under a temporary name and renamed, so a reader never parses a half-written message.
    partial = folder / f".{name}.partial"
    partial.write_bytes(bytes(email))
    os.replace(partial, folder / name)
    if config.get("MAIL_LOG_BODY"):
        # Development only: lets a developer follow confirmation and reset links from the console.
        log.info("mail.body to=%s\n%s", email["To"], email.get_body(("plain",)).get_content())


def read_outbox(app: Flask) -> list[EmailMessage]:
    """Messages written by the file backend, oldest first (for tests and development)."""
    from email import policy
    from email.parser import BytesParser

    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.eml"))
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in files]


def _on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: the transaction that queued the messages may still roll back
    messages = session.info.pop(_PENDING_KEY, None)
    if not messages:
        return
    app = current_app._get_current_object()
    if has_request_context():
        ready = g.setdefault("mail_ready", [])
        if not ready:

            @after_this_request
            def deliver_after_response(response):
                _deliver_when_closed(app, response, g.pop("mail_ready", []))
                return response

        ready.extend(messages)
    else:
        deliver(app, messages)


#: How long delivery waits for the server to close a response before sending anyway.
CLOSE_WAIT_SECONDS = 5.0


def _deliver_when_closed(app: Flask, response, messages: list[OutgoingMail]) -> None:
    """Deliver ``messages`` exactly once: when the server closes the response (after writing it), or
    CLOSE_WAIT_SECONDS later from a thread if it never does. Werkzeug's development server (`make
    run`) skips the close when the browser has already reset the connection, which Chromium often
    does after a redirecting POST: without the thread those messages were lost."""
    claimed = threading.Lock()
    closed = threading.Event()

    def send_once() -> None:
        if claimed.acquire(blocking=False):
            deliver(app, messages)

    def on_close() -> None:
        closed.set()
        send_once()

    def fallback() -> None:
        if not closed.wait(CLOSE_WAIT_SECONDS):
            log.info("mail.sent_without_close messages=%d", len(messages))
            send_once()

    response.call_on_close(on_close)
    threading.Thread(target=fallback, name="mail-after-response", daemon=True).start()


def _on_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction: nothing queued will commit
        session.info.pop(_PENDING_KEY, None)


def init_mail(app: Flask) -> None:
    """Release queued messages when a session commits; drop them when it rolls back.

    The listeners are process-wide (sessions are not app-bound), so they are installed once.
    """
    if not event.contains(Session, "after_commit", _on_commit):
        event.listen(Session, "after_commit", _on_commit)
        event.listen(Session, "after_soft_rollback", _on_rollback)
