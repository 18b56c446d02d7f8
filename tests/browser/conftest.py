"""The browser suite (`make test-browser`): Playwright drives Debian's chromium package against the
platform served by a real server on 127.0.0.1, on a fresh database made by the migrations.

- One server per run (``live``): ``flask db upgrade``, ``flask seed-reference`` and ``flask seed-demo``
  on a new instance folder, then ``flask run`` in a process of its own. The demo accounts
  (``DEMO_ACCOUNTS``) and their proposals serve the page checks (accessibility, screenshots).
  Journeys make the people and data they need with unique addresses (``live.person(...)``), so
  they do not depend on each other.
- The test process reaches the same database, index and outbox through an app of its own
  (``live.app``): it sets up data through the services, reads the mail the server sent and runs
  ``flask`` commands (``live.flask("council", "close-due")``) as cron would.
- The browser is /usr/bin/chromium (or CHROMIUM_PATH), never a download. Without it the suite skips
  with the reason; with EXPERT_PLATFORM_REQUIRE_BROWSER=1 (CI) a missing browser fails the run.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRE_BROWSER = os.environ.get("EXPERT_PLATFORM_REQUIRE_BROWSER") == "1"
MISSING_BROWSER = ("Debian's chromium package is not installed (apt-get install chromium, or set CHROMIUM_PATH): "
                   "the browser suite needs it and never downloads a browser.")
PASSWORD = "Browser-Suite-Passphrase-26"
BROWSER_DIR = Path(__file__).resolve().parent
#: The demo accounts ``flask seed-demo`` makes, by role: (email, password).
DEMO_ACCOUNTS = {
    "secretariat": ("secretariat@demo.example", "Saffron-Harbour-Lantern-26"),
    "manager": ("manager@demo.example", "Copper-Meadow-Violet-26"),
    "expert": ("expert@demo.example", "Granite-Orchard-Willow-26"),
    "council": ("council@demo.example", "Amber-Kettle-Cascade-26"),
    "researcher": ("researcher@demo.example", "Silver-Thistle-Beacon-26"),
}


def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if BROWSER_DIR in Path(str(item.fspath)).parents]
    if CHROMIUM or not browser_items:
        return
    if REQUIRE_BROWSER:
        raise pytest.UsageError(MISSING_BROWSER)
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=MISSING_BROWSER))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    """The platform served on 127.0.0.1, and a way into its database, mail and commands."""

    url: str
    env: dict
    folder: Path
    process: subprocess.Popen
    app: object = None
    _counter: list = field(default_factory=lambda: [0])

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``flask --app wsgi ARGS`` on the server's instance, as cron or the secretariat would."""
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def unique_email(self, name: str) -> str:
        self._counter[0] += 1
        return f"{name}-{self._counter[0]}-{uuid.uuid4().hex[:6]}@example.org"

    def person(self, display_name: str, *roles, email: str | None = None):
        """A confirmed, active account with ``roles`` (accounts.services), committed; its password is PASSWORD."""
        from expert_platform.accounts import services as account_services
        from expert_platform.enums import Role
        from expert_platform.extensions import db

        with self.app.app_context():
            user = account_services.create_user(
                email=email or self.unique_email(display_name.split()[0].lower()), display_name=display_name,
                password=PASSWORD, roles=set(roles) or {Role.RESEARCHER}, is_email_confirmed=True)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    def mail_to(self, address: str) -> list:
        """The messages the server (or a command) sent to ``address``, oldest first."""
        from expert_platform.mail import read_outbox

        return [message for message in read_outbox(self.app) if address in message["To"]]


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within 60 s:\n{log.read_text()}")


@contextmanager
def start_live_server(folder: Path) -> Iterator[LiveServer]:
    """The platform on a fresh database in ``folder``, served by ``flask run`` on a free port of
    127.0.0.1; the server stops when the block ends. The ``live`` fixture and ``make screenshots``
    start it so."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "FLASK_APP")}
    env.update({
        "EXPERT_PLATFORM_ENV": "development",
        "INSTANCE_PATH": str(folder / "instance"),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "BASE_URL": url,
        "RATELIMIT_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
    })
    server = LiveServer(url=url, env=env, folder=folder, process=None)  # type: ignore[arg-type]
    server.flask("db", "upgrade")
    server.flask("seed-reference")
    server.flask("seed-demo")  # the demo world (DEMO_ACCOUNTS): pages to check in every role
    log = folder / "server.log"
    with log.open("w") as output:
        server.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port),
             "--no-reload", "--with-threads"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_serving(url, server.process, log)
        from expert_platform import create_app

        instance = Path(env["INSTANCE_PATH"])
        server.app = create_app("development", {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'expert_platform.sqlite'}",
            "SEARCH_INDEX_DIR": str(instance / "search-index"),
            "MAIL_OUTBOX_DIR": str(instance / "outbox"),
            "UPLOAD_DIR": str(instance / "uploads"),
            "SECRET_KEY": env["SECRET_KEY"],
            "BASE_URL": url,
            "RATELIMIT_ENABLED": False,
        })
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """The platform on a fresh database, served by ``flask run`` on a free port of 127.0.0.1."""
    if not CHROMIUM:
        pytest.skip(MISSING_BROWSER)
    with start_live_server(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium, never a downloaded browser."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def base_url(live):
    return live.url


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    open_menu(page)
    assert page.get_by_role("button", name="Sign out").count() == 1, page.content()


def open_menu(page) -> None:
    """On a narrow screen the menu is behind its "Menu" button: open it (nothing to do when wide)."""
    toggle = page.get_by_role("button", name="Menu")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def sign_out(page) -> None:
    open_menu(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
