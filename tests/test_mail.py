"""Outgoing mail: the file backend, delivery only after a commit, after the response, and over SMTP."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from expert_platform import mail
from expert_platform.accounts import services as account_services
from expert_platform.database import mark_request_as_writing
from expert_platform.extensions import db as _db
from expert_platform.mail import OutgoingMail
from tests.conftest import DEFAULT_PASSWORD, link_in

SENDER = "Expert Platform <no-reply@expert-platform.invalid>"


def new_user(email: str):
    return account_services.create_user(email=email, display_name="Ann Example", password=DEFAULT_PASSWORD)


def queue_password_changed(user) -> OutgoingMail:
    return mail.queue(to=user.email, subject="Your password was changed", template="password_changed", user=user)


def add_test_page(app, rule: str, view) -> None:
    """A GET page for one test; it writes, so it says so. Flask accepts routes only before the first request."""

    def page():
        mark_request_as_writing()
        view()
        return "done"

    app.add_url_rule(rule, rule.strip("/").replace("-", "_"), page)


def eml_files(app) -> list[Path]:
    return sorted(Path(app.config["MAIL_OUTBOX_DIR"]).iterdir())


def plain_text(message) -> str:
    return message.get_body(("plain",)).get_content()


# --- The file backend --------------------------------------------------------------------------


def test_the_file_backend_writes_one_eml_file_per_message_read_back_in_order(app, outbox, make_user):
    ann = make_user(email="ann@example.org", display_name="Ann Example")
    bob = make_user(email="bob@example.org", display_name="Bob Example")
    with app.test_request_context():
        first = mail.queue(to=ann.email, subject="First message", template="password_changed", user=ann)
        second = mail.queue(to=bob.email, subject="Second message", template="signup_existing", user=bob)
        mail.discard_pending()

    mail.deliver(app, [first, second])

    assert [path.suffix for path in eml_files(app)] == [".eml", ".eml"]
    messages = outbox()
    assert [(message["To"], message["Subject"]) for message in messages] == [
        ("ann@example.org", "First message"),
        ("bob@example.org", "Second message"),
    ]
    assert [message["From"] for message in messages] == [SENDER, SENDER]
    assert [plain_text(message) for message in messages] == [first.text + "\n", second.text + "\n"]
    assert first.text.startswith(
        "Hello Ann Example,\n\nThe password of your account on Expert Platform was just changed"
    )
    assert first.text.endswith("\nhttp://platform.test/reset-password")


# --- Only after a commit -----------------------------------------------------------------------


def test_a_message_queued_in_a_request_and_committed_is_sent(app, client, outbox):
    def queue_and_commit():
        queue_password_changed(new_user("committed@example.org"))
        _db.session.commit()

    add_test_page(app, "/test-queue-and-commit", queue_and_commit)

    client.get("/test-queue-and-commit")

    assert [(message["To"], message["Subject"]) for message in outbox()] == [
        ("committed@example.org", "Your password was changed")
    ]


def test_a_message_queued_in_a_transaction_that_rolls_back_is_never_sent(app, client, outbox, db):
    def queue_then_roll_back_then_commit_other_work():
        queue_password_changed(new_user("rolled-back@example.org"))
        _db.session.rollback()
        # The next commit of the same session must not carry the dropped message along.
        new_user("kept@example.org")
        _db.session.commit()

    add_test_page(app, "/test-queue-and-roll-back", queue_then_roll_back_then_commit_other_work)

    response = client.get("/test-queue-and-roll-back")

    assert response.status_code == 200
    assert account_services.find_user_by_email("kept@example.org") is not None
    assert outbox() == []


def test_a_message_queued_before_any_database_work_is_dropped_by_a_rollback(app, client, outbox):
    def queue_first_then_roll_back_then_commit_other_work():
        mail.queue(to="early@example.org", subject="Queued early", template="password_changed",
                   user={"display_name": "Early Bird"})
        _db.session.rollback()
        new_user("kept@example.org")
        _db.session.commit()

    add_test_page(app, "/test-queue-early-and-roll-back", queue_first_then_roll_back_then_commit_other_work)

    response = client.get("/test-queue-early-and-roll-back")

    assert response.status_code == 200
    assert outbox() == []


def test_a_message_queued_outside_a_request_is_sent_when_the_session_commits(app, outbox, make_user):
    user = make_user(email="cli@example.org")

    queue_password_changed(user)
    assert outbox() == []
    _db.session.commit()

    assert [(message["To"], message["Subject"]) for message in outbox()] == [
        ("cli@example.org", "Your password was changed")
    ]


def test_releasing_a_savepoint_sends_nothing_and_a_rollback_after_it_drops_the_message(app, outbox, make_user):
    user = make_user(email="savepoint@example.org")

    queue_password_changed(user)
    with _db.session.begin_nested():  # SQLAlchemy reports a released SAVEPOINT as a commit
        user.display_name = "Renamed"
    assert outbox() == []
    _db.session.rollback()

    assert outbox() == []


def test_a_message_queued_before_a_savepoint_leaves_at_the_outer_commit(app, outbox, make_user):
    user = make_user(email="outer@example.org")

    queue_password_changed(user)
    with _db.session.begin_nested():
        user.display_name = "Renamed"
    assert outbox() == []
    _db.session.commit()

    assert [message["To"] for message in outbox()] == ["outer@example.org"]


# --- After the response ------------------------------------------------------------------------


def sign_up(client, csrf_token, **kwargs):
    return client.post(
        "/signup",
        data={
            "csrf_token": csrf_token("/signup"),
            "display_name": "New Researcher",
            "email": "new.researcher@example.org",
            "new_password": DEFAULT_PASSWORD,
            "confirm_password": DEFAULT_PASSWORD,
        },
        **kwargs,
    )


def test_signing_up_sends_exactly_one_message_with_a_confirmation_link_to_the_new_address(
    client, csrf_token, outbox
):
    response = sign_up(client, csrf_token)

    assert response.status_code == 302
    messages = outbox()
    assert [message["To"] for message in messages] == ["new.researcher@example.org"]
    assert messages[0]["Subject"] == "Confirm your email address"
    assert link_in(messages[0], "/confirm/").startswith("/confirm/")


def test_mail_from_a_request_leaves_only_once_the_response_is_closed(client, csrf_token, outbox):
    response = sign_up(client, csrf_token, buffered=False)

    assert response.status_code == 302
    assert outbox() == []
    response.close()
    assert [message["To"] for message in outbox()] == ["new.researcher@example.org"]


def test_mail_leaves_even_when_the_server_never_closes_the_response(client, csrf_token, outbox, monkeypatch):
    # Werkzeug's development server skips the close when the browser reset the connection first.
    monkeypatch.setattr(mail, "CLOSE_WAIT_SECONDS", 0.05)
    response = sign_up(client, csrf_token, buffered=False)
    assert response.status_code == 302

    for _attempt in range(100):
        if outbox():
            break
        time.sleep(0.02)  # the fallback thread delivers after CLOSE_WAIT_SECONDS

    assert [message["To"] for message in outbox()] == ["new.researcher@example.org"]
    response.close()
    assert [message["To"] for message in outbox()] == ["new.researcher@example.org"]


def test_a_closed_response_is_not_delivered_twice_by_the_fallback(client, csrf_token, outbox, monkeypatch):
    monkeypatch.setattr(mail, "CLOSE_WAIT_SECONDS", 0.05)
    response = sign_up(client, csrf_token, buffered=False)
    response.close()

    time.sleep(0.2)  # past CLOSE_WAIT_SECONDS: the fallback thread has had its turn

    assert [message["To"] for message in outbox()] == ["new.researcher@example.org"]


# --- SMTP --------------------------------------------------------------------------------------


class RecordingSMTP:
    """Stands in for smtplib.SMTP and records what the platform asks of the server."""

    calls: list[tuple] = []
    refuse_connection = False

    def __init__(self, host, port, timeout=None):
        if self.refuse_connection:
            raise ConnectionRefusedError(111, "Connection refused")
        self.calls.append(("connect", host, port, timeout))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.calls.append(("quit",))
        return False

    def starttls(self):
        self.calls.append(("starttls",))

    def login(self, username, password):
        self.calls.append(("login", username, password))

    def send_message(self, message):
        self.calls.append(("send_message", message["From"], message["To"], message["Subject"], message.get_content()))


@pytest.fixture
def smtp_server(app, monkeypatch):
    class Server(RecordingSMTP):
        calls: list[tuple] = []

    monkeypatch.setattr(mail.smtplib, "SMTP", Server)
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SERVER="smtp.example.org",
        MAIL_PORT=587,
        MAIL_USE_TLS=True,
        MAIL_USE_SSL=False,
        MAIL_USERNAME="platform",
        MAIL_PASSWORD="mail-password",
        MAIL_TIMEOUT_SECONDS=10,
    )
    return Server


MESSAGE = OutgoingMail(recipient="ann@example.org", subject="Hello", text="Hello Ann,\n\nA message.", html=None)


def test_the_smtp_backend_starts_tls_logs_in_and_sends_the_message(app, smtp_server, outbox):
    mail.deliver(app, [MESSAGE])

    assert smtp_server.calls == [
        ("connect", "smtp.example.org", 587, 10),
        ("starttls",),
        ("login", "platform", "mail-password"),
        ("send_message", SENDER, "ann@example.org", "Hello", "Hello Ann,\n\nA message.\n"),
        ("quit",),
    ]
    assert outbox() == []


def test_an_unreachable_smtp_server_is_logged_as_mail_failed_and_not_raised(app, smtp_server, caplog):
    smtp_server.refuse_connection = True

    with caplog.at_level(logging.INFO, logger="expert_platform.mail"):
        mail.deliver(app, [MESSAGE])

    assert smtp_server.calls == []
    records = [record for record in caplog.records if record.name == "expert_platform.mail"]
    assert [record.getMessage() for record in records] == ["mail.failed to=ann@example.org subject='Hello'"]
    assert records[0].exc_info[0] is ConnectionRefusedError


def test_a_reader_never_sees_a_message_that_is_still_being_written(app, outbox, monkeypatch):
    # The fallback thread writes while a reader may be listing the folder: the message appears whole or not at all.
    seen_while_writing = []
    real_replace = mail.os.replace

    def replace_and_look(source, target):
        seen_while_writing.append((Path(source).exists(), [message["To"] for message in outbox()]))
        real_replace(source, target)

    monkeypatch.setattr(mail.os, "replace", replace_and_look)
    message = OutgoingMail(recipient="reader@example.org", subject="Whole", text="Every line.", html=None)
    mail.deliver(app, [message])

    assert seen_while_writing == [(True, [])]
    assert [message["To"] for message in outbox()] == ["reader@example.org"]
    assert sorted(path.suffix for path in Path(app.config["MAIL_OUTBOX_DIR"]).iterdir()) == [".eml"]
