"""Fixtures: a fresh app per test on a database created once per run (once per xdist worker).

The database is SQLite in a temporary folder, or PostgreSQL when DATABASE_URL says so (`make
test-postgres`): then every run, and each of its xdist workers (`make test` runs two), works in a
schema of its own, dropped at the end, so nothing is left behind and parallel runs cannot collide.

Every test gets a new app, but what an app compiles and never changes is kept for the whole run (the
process): Werkzeug's URL builders (one Python function per route, compiled from an AST: two thirds of
``create_app``'s time), Jinja's compiled templates (a template cache of bytecode, checked against each
template's source) and SQLAlchemy's compiled statements (``share_compiled_work``). None of them holds
any state of a test.
"""

from __future__ import annotations

import contextvars
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, exists, select, text
from werkzeug.routing.rules import Rule

from expert_platform import create_app
from expert_platform.accounts import services as account_services
from expert_platform.enums import Role
from expert_platform.extensions import db as _db
from expert_platform.mail import read_outbox
from expert_platform.search import postgres_ranking

DEFAULT_PASSWORD = "correct horse battery staple"
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


_werkzeug_compile_builder = Rule._compile_builder
_url_builders: dict = {}


def _cached_compile_builder(self, append_unknown: bool = True):
    """Werkzeug's ``Rule._compile_builder``, compiled once per distinct rule for the run. The function it
    returns is unbound (``Rule.compile`` binds it to its rule) and depends only on what the key holds:
    the rule's text and parts, its defaults' names, and their values as the rule's converters write them."""
    defaults = self.defaults or {}
    dynamic = {data for is_dynamic, data in self._trace if is_dynamic}
    key = (append_unknown, self.rule, tuple(self._trace), tuple(defaults),
           tuple(self._converters[name].to_url(defaults[name]) for name in defaults if name in dynamic))
    builder = _url_builders.get(key)
    if builder is None:
        builder = _url_builders[key] = _werkzeug_compile_builder(self, append_unknown)
    return builder


Rule._compile_builder = _cached_compile_builder


class SharedTemplateBytecode(BytecodeCache):
    """Compiled templates kept in memory for every app of the run, as Jinja's own FileSystemBytecodeCache
    keeps them on disk: a template is compiled again when its source changes (Jinja checks a checksum
    of the source), and each set of compiler options (the environment's extensions) has its own entries."""

    def __init__(self) -> None:
        self.entries: dict[tuple, bytes] = {}

    @staticmethod
    def _key(bucket) -> tuple:
        environment = bucket.environment
        return (bucket.key, tuple(sorted(environment.extensions)), getattr(environment, "newstyle_gettext", None))

    def load_bytecode(self, bucket) -> None:
        code = self.entries.get(self._key(bucket))
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self.entries[self._key(bucket)] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = SharedTemplateBytecode()


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.startswith("postgresql")


#: The search backends the search and archive tests run against: Whoosh always, PostgreSQL's own
#: full-text search when the suite runs on PostgreSQL (`make test-postgres`).
SEARCH_BACKENDS = ("whoosh", "postgres") if is_postgres_url(os.environ.get("DATABASE_URL")) else ("whoosh",)


def parametrize_search_backends(metafunc) -> None:
    """Run a test once per search backend (``app_overrides`` names it), or on Whoosh alone when it is
    marked ``whoosh_only``. Called by the search and archive tests' conftest files."""
    if "app_overrides" not in metafunc.fixturenames:
        return
    backends = ("whoosh",) if metafunc.definition.get_closest_marker("whoosh_only") else SEARCH_BACKENDS
    metafunc.parametrize("app_overrides", [{"SEARCH_BACKEND": backend} for backend in backends], ids=backends)


class TestDatabase:
    """Where this run's tables live, and how to make more empty schemas (migration tests)."""

    def __init__(self, base_url: str | None, folder) -> None:
        self.base_url = base_url
        self.folder = folder
        self.schemas: list[str] = []

    @property
    def is_postgres(self) -> bool:
        return is_postgres_url(self.base_url)

    def new_empty(self) -> tuple[str, dict]:
        """A URI and engine options for a new, empty database or schema."""
        if not self.is_postgres:
            return f"sqlite:///{self.folder / f'{uuid.uuid4().hex}.sqlite'}", {}
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # gw0, gw1, ... under xdist
        schema = f"test_{worker}_{uuid.uuid4().hex[:16]}"
        engine = create_engine(self.base_url)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        self.schemas.append(schema)
        return self.base_url, {"connect_args": {"options": f"-csearch_path={schema}"}}

    def drop_all_schemas(self) -> None:
        if not self.schemas:
            return
        engine = create_engine(self.base_url)
        with engine.begin() as connection:
            for schema in self.schemas:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def test_database(tmp_path_factory) -> Iterator[TestDatabase]:
    database = TestDatabase(os.environ.get("DATABASE_URL"), tmp_path_factory.mktemp("databases"))
    yield database
    database.drop_all_schemas()


def new_database_with_tables(test_database: TestDatabase) -> tuple[str, dict]:
    """A new database (or schema) with every table, as ``create_all`` and the search's set-up make them."""
    uri, engine_options = test_database.new_empty()
    app = create_app("testing", database_settings((uri, engine_options)))
    with app.app_context():
        _db.create_all()
        with _db.engine.begin() as connection:
            # The search's RUM ranking indexes where the server has the extension (CI installs it), as the
            # migrations make them; tests of the fallback drop them.
            postgres_ranking.install(connection)
        _db.engine.dispose()
    return uri, engine_options


@pytest.fixture(scope="session")
def shared_database(test_database) -> tuple[str, dict]:
    """The database every app-level test uses; its tables are created once."""
    return new_database_with_tables(test_database)


@contextmanager
def app_on_its_own_database(test_database: TestDatabase, folder, overrides: dict | None = None):
    """An app on a new database with every table and an instance folder in ``folder``, kept apart from the
    ``app`` fixture's (which empties its tables after each test): for a world built once and read by
    several tests (a module-scoped fixture). Yields the app, outside its app context (unlike
    tests/proposals/isolated_app.py's, which pushes it for the module's life); ``overrides`` as in
    ``app_overrides``, and the search's ranking indexes as on the shared database."""
    database = new_database_with_tables(test_database)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSTANCE_PATH", str(folder / "instance"))
        patch.delenv("EXPERT_PLATFORM_ENV", raising=False)
        patch.delenv("SECRET_KEY", raising=False)
        application = create_app("testing", {**database_settings(database, folder / "outbox"), **(overrides or {})})
    share_compiled_work(application)
    try:
        yield application
    finally:
        with application.app_context():
            _db.session.remove()
            _db.engine.dispose()


def database_settings(database: tuple[str, dict], outbox=None) -> dict:
    """Settings that point an app at ``database`` (a URI and engine options) and a mail folder."""
    uri, engine_options = database
    values = {"SQLALCHEMY_DATABASE_URI": uri, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, **engine_options}}
    if outbox is not None:
        values["MAIL_OUTBOX_DIR"] = str(outbox)
    return values


@pytest.fixture(autouse=True)
def _instance_folder(tmp_path, monkeypatch):
    """Keep every test's instance files (secrets, outbox) out of the working tree."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("EXPERT_PLATFORM_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)


@pytest.fixture
def app_overrides() -> dict:
    """Override in a test module to change settings of the ``app`` fixture."""
    return {}


class ServerLikeClient(FlaskClient):
    """A test client whose requests behave as they do behind a WSGI server.

    - Each request runs in a context of its own: its own app context, ``g`` and database session,
      torn down at its end. (Flask would otherwise reuse the test's app context, sharing the
      session, open transaction and cached user between requests, which hides real bugs.)
    - The test's own database work is committed first, as another process would see it, and no
      transaction of the test holds SQLite's write lock while the request runs.
    - Each response is closed after reading, so work scheduled with ``call_on_close`` (mail
      delivery after the response) has run when the test looks at the results.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        if has_app_context():
            _db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


#: For each database and engine options: the first engine's dialect and its cache of compiled SQL.
_compiled_sql: dict[tuple, tuple] = {}


def share_compiled_work(application) -> None:
    """Let ``application`` reuse what earlier apps of the run compiled and what never changes: its test client
    is a ``ServerLikeClient``; its templates come from ``TEMPLATE_BYTECODE``; and its engine compiles each SQL
    statement once for the run instead of once per test. SQLAlchemy keys its caches of compiled statements (the
    engine's, and each mapper's for flushes) by the dialect object, and every app's engine has a new one: the
    engine takes the dialect and the cache of the first engine made with the same URL and options (the same
    database, so the same server and settings). Its pool, connections and event listeners stay its own."""
    application.test_client_class = ServerLikeClient
    application.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    with application.app_context():
        engine = _db.engine
        key = (engine.url.render_as_string(hide_password=False),
               repr(application.config["SQLALCHEMY_ENGINE_OPTIONS"]))
        if key not in _compiled_sql:
            with engine.connect():  # the first connection initializes the dialect (server version, ...)
                pass
            _compiled_sql[key] = (engine.dialect, engine._compiled_cache)
        engine.dialect, engine._compiled_cache = _compiled_sql[key]


@contextmanager
def serving(application):
    """Run a test against ``application`` inside its app context, then empty every table."""
    share_compiled_work(application)
    with application.app_context():
        try:
            yield application
        finally:
            _db.session.remove()
            # Children first, so the next test starts from nothing; one statement finds the tables with rows
            # (most tests fill few of them), and only those are emptied.
            tables = list(reversed(_db.metadata.sorted_tables))
            with _db.engine.begin() as connection:
                has_rows = connection.execute(select(*(exists().select_from(table) for table in tables))).one()
                for table, filled in zip(tables, has_rows, strict=True):
                    if filled:
                        connection.execute(table.delete())
            _db.engine.dispose()


@pytest.fixture
def app(shared_database, tmp_path, app_overrides):
    settings = {**database_settings(shared_database, tmp_path / "outbox"), **app_overrides}
    with serving(create_app("testing", settings)) as application:
        yield application


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create a confirmed, active user through the service layer and commit it."""
    counter = {"n": 0}

    def factory(
        *,
        email: str | None = None,
        display_name: str | None = None,
        password: str = DEFAULT_PASSWORD,
        roles=(Role.RESEARCHER,),
        confirmed: bool = True,
    ):
        counter["n"] += 1
        user = account_services.create_user(
            email=email or f"person{counter['n']}@example.org",
            display_name=display_name or f"Person {counter['n']}",
            password=password,
            roles=set(roles),
            is_email_confirmed=confirmed,
        )
        _db.session.commit()
        return user

    return factory


@pytest.fixture
def states(app):
    """The shipped reference data, loaded; a dict from ISO code (or organisation name) to MemberState."""
    from expert_platform.reference.models import MemberState
    from expert_platform.reference.services import load_reference_data

    load_reference_data()
    _db.session.commit()
    return {state.code or state.name: state for state in _db.session.scalars(_db.select(MemberState))}


@pytest.fixture
def make_think_tank(app, states, make_user):
    """An approved think tank with the given managers and experts as active members.

    Builds rows directly: the think-tank services replace this once they exist.
    """
    from expert_platform.enums import MembershipRole, Participation, ThinkTankStatus
    from expert_platform.thinktanks.models import Membership, ThinkTank

    counter = {"n": 0}

    def factory(*, name=None, state="KZ", participation=Participation.PERMANENT, ends_on=None,
                managers=(), experts=(), status=ThinkTankStatus.APPROVED):
        counter["n"] += 1
        tank = ThinkTank(
            name=name or f"Institute {counter['n']}",
            member_state=states[state],
            contact_name="Contact Person",
            contact_email=f"contact{counter['n']}@example.org",
            status=status,
            participation=participation,
            participation_ends_on=ends_on,
        )
        _db.session.add(tank)
        for user in managers:
            _db.session.add(Membership(think_tank=tank, user=user, role=MembershipRole.MANAGER))
        for user in experts:
            _db.session.add(Membership(think_tank=tank, user=user, role=MembershipRole.EXPERT))
        _db.session.commit()
        return tank

    return factory


@pytest.fixture
def make_proposal(app, make_user, make_think_tank):
    """A draft written through the services, with complete content (ready to submit).

    ``author`` defaults to a new expert of a new think tank; ``coauthors`` are invited and accept.
    """
    from expert_platform.proposals import coauthors as coauthor_services
    from expert_platform.proposals import services as proposal_services

    counter = {"n": 0}

    def factory(*, author=None, coauthors=(), title=None, body="## Problem\n\nWater.", language="en",
                dimensions=("environmental",), keywords=("water",), summary="A short summary."):
        counter["n"] += 1
        if author is None:
            author = make_user(roles=(Role.EXPERT,))
            make_think_tank(experts=[author])
        proposal = proposal_services.create_draft(
            actor=author,
            content=proposal_services.Content(
                title=title or f"Proposal {counter['n']}", summary=summary, body=body, language=language,
                dimensions=dimensions, member_state_ids=(), keywords=keywords,
            ),
        )
        for person in coauthors:
            coauthor_services.invite(actor=author, proposal=proposal, user=person)
            coauthor_services.respond(actor=person, proposal=proposal, accept=True)
        _db.session.commit()
        return proposal

    return factory


def csrf_token_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def fetch_csrf_token(client, path: str = "/login") -> str:
    return csrf_token_from(client.get(path).get_data(as_text=True))


@pytest.fixture
def csrf_token(client):
    """A valid CSRF token for ``client``'s session."""
    return lambda path="/login": fetch_csrf_token(client, path)


def sign_in(client, email: str, password: str = DEFAULT_PASSWORD, *, remember: bool = False, next_url: str = ""):
    data = {"csrf_token": fetch_csrf_token(client), "email": email, "password": password, "next": next_url}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


@pytest.fixture
def login(client):
    """Sign ``user`` in on the test client; returns the response of the login POST."""

    def do_login(user, password: str = DEFAULT_PASSWORD, **kwargs):
        response = sign_in(client, user.email, password, **kwargs)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do_login


@pytest.fixture
def outbox(app):
    """The messages the app has sent so far (read from the file backend's folder)."""
    return lambda: read_outbox(app)


def link_in(message, marker: str) -> str:
    """The path of the first link in a message's text that contains ``marker``."""
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://[^\s]+" + re.escape(marker) + r"[^\s]*", body)
    assert match, f"no link with {marker!r} in:\n{body}"
    return match.group(0).split("platform.test", 1)[1]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres_only`` exist only when the suite runs on PostgreSQL: elsewhere they are
    deselected, not skipped (CI fails on a skip)."""
    if "postgres" in SEARCH_BACKENDS:
        return
    deselected = [item for item in items if item.get_closest_marker("postgres_only")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres_only")]


def pytest_sessionfinish(session, exitstatus):
    """In CI (EXPERT_PLATFORM_FAIL_ON_SKIP=1) a skipped test fails the run: nothing may hide there.

    Under xdist (`make test` runs two workers) the reports of every worker arrive at the controller, whose
    terminal reporter counts them: the workers leave the verdict to it."""
    if os.environ.get("EXPERT_PLATFORM_FAIL_ON_SKIP") != "1" or hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        print(f"\n{skipped} test(s) skipped: CI treats a skipped test as a failure.")
        session.exitstatus = 1
