"""Load test: gunicorn with production settings under a mix of searches, proposal pages and signed-in writes.

    .venv/bin/python bench/load.py                          # SQLite, 60 s, 8 clients
    .venv/bin/python bench/load.py --database postgres      # PostgreSQL: a database `load` of its own

It prepares a fresh database in a temporary folder (`flask db upgrade`, `seed-reference`, `seed-demo`, an
archive of generated proposals imported with `flask archive import`, council members and open consensus
rounds for the writes), starts gunicorn with `gunicorn.conf.py` as `make serve` does (production settings,
Redis for the rate limits, mail to files) on a free port, and runs for `--seconds` with `--concurrency`
clients, each one at a time: 70% anonymous archive searches (HTML and JSON, drawn from 1,500 distinct
combinations of words, phrases, facet filters and orders built from the generated archive, pages 1-3),
20% proposal pages, 10% signed-in writes (a comment in a discussion, or a delegation's position in a
consensus round, CSRF token included). Then `/healthz` alone for `--healthz-seconds`. It prints throughput
and p50/p95/p99 latency per kind and overall, the errors (any unexpected status, any exception), checks in
the database that every acknowledged write is there ("lost writes"), and exits 1 unless both are zero; also
the 304 answers per kind (the clients revalidate with the `ETag` / `Last-Modified` they kept, as browsers
do) and each cache's hit rate over the mix (the `cache` field of the server's JSON request log lines).

The clients talk to gunicorn as the TLS load balancer of docs/deployment.md does: plain HTTP on loopback
with `X-Forwarded-Proto: https` (gunicorn believes it from FORWARDED_ALLOW_IPS), so the app sees HTTPS, sets
its Secure cookies and checks the CSRF Referer as in production; the clients send those cookies back as a
browser does over HTTPS. A keep-alive connection the server closed (a worker recycled after
`max_requests`) is reopened and the request sent again once, as browsers do; such retries are counted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

PROJECT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(PROJECT), str(BENCH)]

PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
FLASK = [str(Path(PYTHON).with_name("flask")), "--app", "wsgi"]
DEMO_SECRETARIAT = "secretariat@demo.example"
DEMO_EXPERT = "expert@demo.example"
WRITER_PASSWORD = "Load-Test-Delegate-Password-26"
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
#: Requests sent again on a fresh connection after the server closed a kept-alive one.
RECONNECT_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
IDLE_BEFORE_RECONNECT = 3.0  # seconds: below gunicorn's keepalive (5 s), so an idle connection is not reused
KINDS = ("search", "proposal page", "write")
#: The request id each request of the mix sends (as a load balancer would): the server's log lines of the
#: mix are told apart by it, and by kind.
REQUEST_ID_PREFIX = {"search": "load-search", "proposal page": "load-page", "write": "load-write"}


# --- the environment and the database -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresDatabase:
    """A database of the load test's own on the PostgreSQL server, created empty and dropped at the end."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        if self.url.database in (None, "", "test", "postgres", "template0", "template1"):
            raise SystemExit(f"Refusing the database {self.url.database!r}: give a database of the load test's own "
                             "(--postgres-url ...:5432/load); `test` belongs to CI.")
        self.maintenance = self.url.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False)

    def _run(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.maintenance, autocommit=True) as connection:
            connection.execute(statement)

    def create(self) -> None:
        self.drop()
        self._run(f'CREATE DATABASE "{self.url.database}"')

    def drop(self) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{self.url.database}" WITH (FORCE)')


def environment(folder: Path, database_url: str, search_backend: str, port: int, redis_url: str) -> dict:
    """The server's settings: production, as `make serve` runs it, on the run's own folder and database."""
    env = dict(os.environ)
    env.update({
        "EXPERT_PLATFORM_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BASE_URL": f"https://127.0.0.1:{port}",
        "DATABASE_URL": database_url,
        "SEARCH_BACKEND": search_backend,
        "INSTANCE_PATH": str(folder / "instance"),
        "UPLOAD_DIR": str(folder / "instance" / "uploads"),
        "SEARCH_INDEX_DIR": str(folder / "instance" / "search-index"),
        "MAIL_BACKEND": "file",
        "MAIL_OUTBOX_DIR": str(folder / "instance" / "outbox"),
        "RATELIMIT_STORAGE_URI": redis_url,
        "LOG_FORMAT": "json",
        "BIND": f"127.0.0.1:{port}",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    })
    return env


def run_flask(env: dict, *arguments: str, production: bool = True) -> str:
    """One `flask` command on the run's database; development settings for the demo data (refused in production)."""
    command_env = dict(env, EXPERT_PLATFORM_ENV="production" if production else "development", LOG_LEVEL="WARNING")
    done = subprocess.run([*FLASK, *arguments], cwd=PROJECT, env=command_env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class World:
    """What the clients need to know about the prepared database."""

    references: list[str]
    discussions: list[int]  # proposals before the council, open to comments
    rounds: list[int]  # proposals with an open consensus round
    writers: list[str]  # emails of council members, one delegation each
    searches: SearchMix | None = None  # the combinations the searches are drawn from
    write_share: float = 0.10  # the rest is searches and proposal pages, 7 to 2


def prepare(env: dict, folder: Path, proposals: int, writers: int, rounds: int) -> World:
    """Migrate, load the reference and demo data, import an archive, add council members and open rounds."""
    from search_bench import generate, write_jsonl

    run_flask(env, "db", "upgrade")
    run_flask(env, "seed-reference")
    run_flask(env, "seed-demo", production=False)

    for name, value in env.items():
        if name in ("DATABASE_URL", "INSTANCE_PATH", "UPLOAD_DIR", "SEARCH_INDEX_DIR", "SEARCH_BACKEND",
                    "MAIL_BACKEND", "MAIL_OUTBOX_DIR", "SECRET_KEY"):
            os.environ[name] = value
    os.environ["EXPERT_PLATFORM_ENV"] = "development"
    os.environ["LOG_LEVEL"] = "WARNING"
    from expert_platform import create_app

    app = create_app("development")
    with app.app_context():
        codes = sorted(state.code for state in _member_states() if state.code)
    corpus = generate(proposals, 2026, codes)
    archive = folder / "archive.jsonl"
    write_jsonl(corpus.records, archive)
    run_flask(env, "archive", "import", str(archive))

    with app.app_context():
        world = _council_work(writers=writers, rounds=rounds)
    world.searches = search_mix(corpus.records)
    from expert_platform.extensions import db

    with app.app_context():
        db.engine.dispose()
    return world


def _member_states():
    from expert_platform.reference.services import member_states

    return member_states()


def _council_work(*, writers: int, rounds: int) -> World:
    """``writers`` council members, each heading or joining another delegation, and ``rounds`` proposals
    in a standard consensus round (deadline in a week) that every delegation is asked in."""
    from sqlalchemy import select

    from expert_platform.accounts import services as account_services
    from expert_platform.accounts.models import User
    from expert_platform.council import services as council_services
    from expert_platform.database import utcnow
    from expert_platform.enums import DelegationRole, ProposalAction, ProposalState, Role, RoundKind
    from expert_platform.extensions import db
    from expert_platform.proposals import services as proposal_services
    from expert_platform.proposals import workflow
    from expert_platform.proposals.models import Proposal
    from expert_platform.review import rounds as round_services
    from expert_platform.review import services as review_services

    secretariat = db.session.scalar(select(User).where(User.email == DEMO_SECRETARIAT))
    author = db.session.scalar(select(User).where(User.email == DEMO_EXPERT))
    seated = {summary.member_state.id for summary in council_services.current_delegations()}
    states = sorted(_member_states(), key=lambda state: (state.id in seated, state.name))
    emails = []
    for number in range(writers):
        user = account_services.create_user(email=f"delegate{number}@load.example.org",
                                            display_name=f"Delegate {number}", password=WRITER_PASSWORD,
                                            roles={Role.RESEARCHER}, is_email_confirmed=True)
        state = states[number % len(states)]
        role = DelegationRole.ALTERNATE if state.id in seated else DelegationRole.HEAD
        seated.add(state.id)
        council_services.appoint(actor=secretariat, user=user, member_state=state, role=role)
        emails.append(user.email)
    db.session.commit()

    in_round = []
    for number in range(rounds):
        proposal = proposal_services.create_draft(actor=author, content=proposal_services.Content(
            title=f"Load test proposal {number}: shared water monitoring", summary="A proposal for the load test.",
            body="## Problem\n\nRivers cross borders.\n\n## Measure\n\nShare the gauges' readings.", language="en",
            dimensions=("environmental",), member_state_ids=(), keywords=("water",)))
        workflow.transition(proposal, ProposalAction.SUBMIT, actor=author)
        review_services.start_review(actor=secretariat, proposal=proposal)
        round_services.open_round(actor=secretariat, proposal=proposal, kind=RoundKind.STANDARD,
                                  deadline_at=utcnow() + timedelta(days=7))
        in_round.append(proposal)
    db.session.commit()
    references = list(db.session.scalars(
        select(Proposal.reference).where(Proposal.state == ProposalState.ENDORSED).order_by(Proposal.id)))
    before_council = list(db.session.scalars(select(Proposal.id).where(
        Proposal.state.in_((ProposalState.SUBMITTED, ProposalState.IN_REVIEW, ProposalState.CONSENSUS)))))
    return World(references=references, discussions=before_council, rounds=[proposal.id for proposal in in_round],
                 writers=emails)


# --- the search mix -----------------------------------------------------------------------------

#: Kinds of search combinations: how many distinct ones the mix holds, and their share of the searches.
#: Within a kind the combinations are weighted like a search log (Zipf, 1 / rank^0.8): those built from
#: the commonest words and facet values are asked most, the rest now and then.
SEARCH_KINDS = {
    "common word": (350, 0.30),
    "rare word": (100, 0.05),
    "two words": (400, 0.20),
    "phrase": (100, 0.10),
    "facets only": (250, 0.15),
    "words and facets": (300, 0.20),
}
SEARCH_SEED = 2026
NEWEST_SHARE = 0.15  # combinations sorted by newest instead of relevance
RUSSIAN_SHARE = 0.22  # of the searches with words: about the share of Russian proposals
#: A word is rare when at most this share of the proposals holds it (about a tenth of the generated
#: vocabulary at 2,000 proposals, the generator's rare words among them: in about one proposal in 500).
RARE_SHARE = 0.05
#: Facet filters: how often each is used among the filters a search sets.
FACET_SHARES = {"dimension": 0.30, "member_state": 0.25, "year": 0.20, "think_tank": 0.15, "language": 0.10}
PAGE_CHOICES = (1, 1, 1, 2, 3)  # most readers stay on the first page; some go on, when it exists
WORD = re.compile(r"[a-zа-яё]+")


@dataclass(frozen=True)
class Search:
    """One combination of the mix: query text, facet filters and order (the page is drawn when asked)."""

    kind: str
    text: str = ""
    filters: tuple[tuple[str, str], ...] = ()  # (parameter, value), sorted
    sort: str = "relevance"

    def parameters(self) -> list[tuple[str, str]]:
        """The URL parameters of `/archive` and `/api/v1/proposals` (the page aside)."""
        return [*([("q", self.text)] if self.text else []), *self.filters,
                *([("sort", self.sort)] if self.sort != "relevance" else [])]

    def key(self) -> tuple:
        """What makes two combinations the same search: two words in either order are one."""
        text = " ".join(sorted(self.text.split())) if self.kind in ("two words", "words and facets") else self.text
        return text, self.filters, self.sort


@dataclass
class SearchMix:
    searches: list[Search]
    cumulative: list[float]  # cumulative weights, for random.choices
    counts: Counter  # kind -> distinct combinations
    pages: dict = field(default_factory=dict)  # Search -> its pages (at most 3), learnt from the answers
    lock: threading.Lock = field(default_factory=threading.Lock)

    def draw(self, rng: random.Random) -> Search:
        return rng.choices(self.searches, cum_weights=self.cumulative)[0]

    def page(self, search: Search, rng: random.Random) -> int:
        """Page 1, 2 or 3 among the pages the search is known to have (page 1 until an answer told)."""
        with self.lock:
            pages = self.pages.get(search, 1)
        return min(pages, rng.choice(PAGE_CHOICES))

    def learn(self, search: Search, total: int) -> None:
        with self.lock:
            self.pages[search] = max(1, min(3, -(-total // 20)))


def vocabulary(records: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """The words of the generated proposals (English and Russian; function words and words under three
    letters left out): (common English words, common Russian words, rare words), each commonest first by
    the number of proposals holding it. Chinese text is not split into words here and gives none."""
    from search_bench import ENGLISH_FUNCTION_WORDS, RUSSIAN_FUNCTION_WORDS

    holding: Counter = Counter()
    for record in records:
        holding.update(set(WORD.findall(f"{record['title']} {record['summary']} {record['body']}".lower())))
    stop = set(ENGLISH_FUNCTION_WORDS) | set(RUSSIAN_FUNCTION_WORDS)
    ranked = [word for word, _ in sorted(holding.items(), key=lambda item: (-item[1], item[0]))
              if len(word) > 2 and word not in stop]
    rare_limit = max(2, int(len(records) * RARE_SHARE))
    common = [word for word in ranked if holding[word] > rare_limit]
    rare = [word for word in ranked if holding[word] <= rare_limit]
    return [word for word in common if word.isascii()], [word for word in common if not word.isascii()], rare


def phrases(records: list[dict]) -> list[str]:
    """Quoted phrases the proposals hold: the generator's collocations, their two-word parts, and the
    keywords of more than one word, each kept when some proposal holds it."""
    import search_bench as generated

    stop = set(generated.ENGLISH_FUNCTION_WORDS) | set(generated.RUSSIAN_FUNCTION_WORDS)
    collocations = generated.ENGLISH_COLLOCATIONS + generated.RUSSIAN_COLLOCATIONS
    candidates = list(collocations)
    for collocation in collocations:
        words = collocation.split()
        candidates.extend(" ".join(words[index:index + 2]) for index in range(len(words) - 1)
                          if len(words) > 2 and not stop & set(words[index:index + 2]))
    candidates.extend(keyword for keyword in generated.KEYWORDS_EN + generated.KEYWORDS_RU
                      if " " in keyword and "," not in keyword)
    text = "\n".join(f"{record['title']} {record['summary']} {record['body']} {' '.join(record['keywords'])}"
                     for record in records).lower()
    return [phrase for phrase in dict.fromkeys(candidates) if phrase.lower() in text]


def search_mix(records: list[dict], seed: int = SEARCH_SEED) -> SearchMix:
    """At least a thousand distinct combinations of words, phrases, facet filters and orders, built from the
    generated proposals with a seeded random generator (the same archive and seed give the same mix)."""
    from search_bench import Zipf

    rng = random.Random(seed)
    english, russian, rare = vocabulary(records)
    english_words, russian_words = Zipf(english, rng), Zipf(russian, rng)
    facet_values = {
        "dimension": Counter(slug for record in records for slug in record["dimensions"]),
        "member_state": Counter(code for record in records for code in record["member_states"]),
        "year": Counter(record["decided_at"][:4] for record in records if record.get("decided_at")),
        "think_tank": Counter(tank["name"] for record in records for tank in record["think_tanks"]),
        "language": Counter(record["language"] for record in records),
    }
    facet_draws = {name: Zipf([value for value, _ in counts.most_common()], rng)
                   for name, counts in facet_values.items() if counts}
    facet_names = [name for name in FACET_SHARES if name in facet_draws]

    def word() -> str:
        return (russian_words if russian and rng.random() < RUSSIAN_SHARE else english_words).draw(1)[0]

    def two_words() -> str:
        words = russian_words if russian and rng.random() < RUSSIAN_SHARE else english_words
        first, second = words.draw(2)
        return f"{first} {second}" if first != second else first

    def filters() -> tuple[tuple[str, str], ...]:
        chosen: set[tuple[str, str]] = set()
        for _ in range(rng.choices((1, 2, 3), weights=(60, 35, 5))[0]):
            name = rng.choices(facet_names, weights=[FACET_SHARES[name] for name in facet_names])[0]
            if name not in ("dimension", "member_state") and any(taken == name for taken, _ in chosen):
                continue  # given at most once
            chosen.add((name, facet_draws[name].draw(1)[0]))
        return tuple(sorted(chosen))

    phrase_list = phrases(records)
    builders = {
        "common word": lambda: Search("common word", word()),
        "rare word": lambda: Search("rare word", rng.choice(rare)) if rare else None,
        "two words": lambda: Search("two words", two_words()),
        # Each phrase alone first (the most asked), then with a facet filter.
        "phrase": lambda: Search("phrase", f'"{rng.choice(phrase_list)}"',
                                 filters() if rng.random() < 0.6 else ()) if phrase_list else None,
        "facets only": lambda: Search("facets only", "", filters()),
        "words and facets": lambda: Search("words and facets", word() if rng.random() < 0.7 else two_words(),
                                           filters()),
    }
    seen: set = set()
    searches, weights, counts = [], [], Counter()
    for kind, (wanted, share) in SEARCH_KINDS.items():
        made: list[Search] = []
        if kind == "phrase":
            made = [Search("phrase", f'"{phrase}"') for phrase in phrase_list][:wanted]
            seen.update(search.key() for search in made)
        attempts = 0
        while len(made) < wanted and attempts < wanted * 200:
            attempts += 1
            search = builders[kind]()
            if search is None:
                break
            if rng.random() < NEWEST_SHARE:
                search = Search(search.kind, search.text, search.filters, "newest")
            if search.key() not in seen:
                seen.add(search.key())
                made.append(search)
        ranks = [1.0 if kind == "rare word" else 1 / (rank ** 0.8) for rank in range(1, len(made) + 1)]
        total = sum(ranks)
        searches.extend(made)
        weights.extend(share * rank / total for rank in ranks)
        counts[kind] = len(made)
    cumulative, running = [], 0.0
    for weight in weights:
        running += weight
        cumulative.append(running)
    return SearchMix(searches=searches, cumulative=cumulative, counts=counts)


# --- the server ---------------------------------------------------------------------------------


class Server:
    """gunicorn with gunicorn.conf.py, started and stopped by this script (its own process only)."""

    def __init__(self, env: dict, log_path: Path) -> None:
        self.log_path = log_path
        self.log = log_path.open("w")
        self.process = subprocess.Popen([GUNICORN, "-c", "gunicorn.conf.py", "wsgi:app"], cwd=PROJECT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def wait_until_healthy(self, host: str, port: int, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        answer = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped (exit {self.process.returncode}):\n{self.log_tail()}")
            try:
                connection = http.client.HTTPConnection(host, port, timeout=5)
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                answer = f"{response.status} {response.read().decode(errors='replace')}"
                if response.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer /healthz with 200 within {seconds:g} s (last: {answer})\n"
                         f"{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        """The end of the server's log, each line cut short (a traceback in JSON is one long line)."""
        self.log.flush()
        tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(line if len(line) < 400 else line[:400] + " ..." for line in tail)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- the clients --------------------------------------------------------------------------------


class UnexpectedStatus(Exception):
    pass


class Browser:
    """One visitor: a keep-alive connection, its cookies, the validators (`ETag`, `Last-Modified`) of the
    pages it fetched, and the headers the TLS load balancer adds."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.origin = f"https://{host}:{port}"
        self.cookies: dict[str, str] = {}
        self.validators: dict[str, dict[str, str]] = {}  # URL -> If-None-Match / If-Modified-Since to send
        self.connection: http.client.HTTPConnection | None = None
        self.last_used = 0.0
        self.reconnects = 0

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        if self.connection is not None and time.monotonic() - self.last_used > IDLE_BEFORE_RECONNECT:
            self.connection.close()
            self.connection = None
        reused = self.connection is not None
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return self.connection, reused

    def request(self, method: str, path: str, form: dict | None = None, *, conditional: bool = False,
                request_id: str | None = None) -> tuple[int, dict, str]:
        """One request; ``conditional``: a GET that sends the validators kept for ``path`` (as a browser
        revalidates its cached copy) and keeps those of the answer."""
        headers = {"X-Forwarded-Proto": "https", "User-Agent": "bench/load.py", "Accept-Language": "en"}
        if request_id:
            headers["X-Request-ID"] = request_id
        if conditional:
            headers.update(self.validators.get(path, {}))
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = f"{self.origin}{path}"
        for attempt in (1, 2):
            connection, reused = self._connection()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                text = response.read().decode("utf-8", "replace")
            except RECONNECT_ERRORS:
                connection.close()
                self.connection = None
                if reused and attempt == 1:
                    self.reconnects += 1
                    continue
                raise
            except Exception:
                connection.close()
                self.connection = None
                raise
            self.last_used = time.monotonic()
            self._remember_cookies(response.headers.get_all("Set-Cookie") or [])
            if conditional:
                self._remember_validators(path, response.status, response.headers)
            return response.status, response.headers, text
        raise AssertionError("unreachable")

    def _remember_cookies(self, lines: list[str]) -> None:
        for line in lines:
            pair, _, attributes = line.partition(";")
            name, _, value = pair.strip().partition("=")
            expired = re.search(r"(?i)max-age=0\b|expires=[^;]*1970", attributes)
            if expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def _remember_validators(self, path: str, status: int, headers) -> None:
        validators = {name: value for name, value in (("If-None-Match", headers.get("ETag")),
                                                      ("If-Modified-Since", headers.get("Last-Modified"))) if value}
        if status == 200:
            if validators:
                self.validators[path] = validators
            else:
                self.validators.pop(path, None)
        elif status == 304 and validators:  # a 304 may refresh them
            self.validators[path] = {**self.validators.get(path, {}), **validators}

    def expect(self, method: str, path: str, statuses: tuple[int, ...], form: dict | None = None, *,
               conditional: bool = False, request_id: str | None = None) -> tuple:
        """The answer, when its status is one of ``statuses`` (or 304 to a conditional GET that sent
        validators), else UnexpectedStatus."""
        revalidating = conditional and path in self.validators
        status, headers, text = self.request(method, path, form, conditional=conditional, request_id=request_id)
        if status not in statuses and not (status == 304 and revalidating):
            raise UnexpectedStatus(f"{method} {path} answered {status}")
        return status, headers, text


def warm_up(host: str, port: int, mix: SearchMix, requests: int = 12) -> None:
    """A few searches through the API so that each worker has opened the index before the timed run; none
    of them is a search of the mix (three words, `per_page=1`), so no cache learns the mix's answers here."""
    browser = Browser(host, port)
    words = sorted({word for search in mix.searches if search.kind == "common word" for word in search.text.split()})
    rng = random.Random(SEARCH_SEED)
    for _ in range(requests):
        text = " ".join(rng.sample(words, 3))
        browser.expect("GET", f"/api/v1/proposals?{urlencode({'q': text, 'per_page': 1})}", (200,))


RESULT_COUNT = re.compile(r'id="result-count"[^>]*>([^<]*)<')


def answer_total(base: str, text: str) -> int | None:
    """The number of matching proposals a search's answer states: the API's `total`, the archive page's count."""
    if base == "/api/v1/proposals":
        return json.loads(text)["total"]
    match = RESULT_COUNT.search(text)
    digits = re.sub(r"\D", "", match.group(1)) if match else ""
    return int(digits) if digits else None


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    if not match:
        raise UnexpectedStatus("the page has no CSRF token")
    return match.group(1) or match.group(2)


@dataclass
class Results:
    latencies: dict = field(default_factory=lambda: defaultdict(list))
    errors: list = field(default_factory=list)
    comments: list = field(default_factory=list)  # texts of acknowledged comments
    positions: list = field(default_factory=list)  # reasons of acknowledged positions
    not_modified: Counter = field(default_factory=Counter)  # kind -> 304 answers
    searches_sent: set = field(default_factory=set)  # distinct combinations asked
    search_urls: set = field(default_factory=set)  # distinct search URLs asked (page and address included)
    reconnects: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Visitor(threading.Thread):
    """One client of the mix: an anonymous browser for reading and a signed-in delegate for writing."""

    def __init__(self, number: int, host: str, port: int, world: World, deadline_holder: dict, results: Results,
                 ready: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.random = random.Random(number)
        self.reader = Browser(host, port)
        self.writer = Browser(host, port)
        self.email = world.writers[number % len(world.writers)]
        self.world, self.deadline_holder, self.results, self.ready = world, deadline_holder, results, ready
        self.number, self.requests = number, 0
        self.token = ""

    def sign_in(self) -> None:
        _, _, page = self.writer.expect("GET", "/login", (200,))
        _, headers, _ = self.writer.expect("POST", "/login", (302,), {
            "csrf_token": csrf_token(page), "email": self.email, "password": WRITER_PASSWORD, "next": ""})
        if "/login" in headers.get("Location", ""):
            raise UnexpectedStatus(f"sign-in of {self.email} failed")
        _, _, page = self.writer.expect("GET", f"/proposals/{self.world.rounds[0]}/review", (200,))
        self.token = csrf_token(page)

    def run(self) -> None:
        try:
            self.sign_in()
        except Exception as error:  # reported as an error of the run, the thread then takes no part
            self._error("sign-in", error)
            self.ready.wait()
            return
        self.ready.wait()
        deadline = self.deadline_holder["deadline"]
        while time.monotonic() < deadline:
            draw = self.random.random()
            kind, action = ("write", self.write) if draw < self.world.write_share else \
                ("search", self.search) if draw < self.world.write_share + (1 - self.world.write_share) * 0.7 \
                else ("proposal page", self.proposal_page)
            self.requests += 1
            request_id = f"{REQUEST_ID_PREFIX[kind]}-{self.number}-{self.requests}"
            started = time.perf_counter()
            try:
                status = action(request_id)
            except Exception as error:  # every failure counts; the run goes on
                self._error(kind, error)
                continue
            elapsed = time.perf_counter() - started
            with self.results.lock:
                self.results.latencies[kind].append(elapsed)
                if status == 304:
                    self.results.not_modified[kind] += 1
        with self.results.lock:
            self.results.reconnects += self.reader.reconnects + self.writer.reconnects

    def _error(self, kind: str, error: Exception) -> None:
        with self.results.lock:
            self.results.errors.append(f"{kind}: {type(error).__name__}: {error}")

    def search(self, request_id: str) -> int:
        mix = self.world.searches
        search = mix.draw(self.random)
        parameters = search.parameters()
        # Most readers stay on the first page; some go on to the second or third, when an answer showed it.
        page = mix.page(search, self.random)
        if page > 1:
            parameters.append(("page", str(page)))
        base = "/api/v1/proposals" if self.random.random() < 0.3 else "/archive"
        url = f"{base}?{urlencode(parameters)}"
        status, _, text = self.reader.expect("GET", url, (200,), conditional=True, request_id=request_id)
        if status == 200:
            total = answer_total(base, text)
            if total is None:
                raise UnexpectedStatus(f"GET {url}: the answer states no count of proposals")
            mix.learn(search, total)
        with self.results.lock:
            self.results.searches_sent.add(search)
            self.results.search_urls.add(url)
        return status

    def proposal_page(self, request_id: str) -> int:
        status, _, _ = self.reader.expect("GET", f"/proposals/{self.random.choice(self.world.references)}", (200,),
                                          conditional=True, request_id=request_id)
        return status

    def write(self, request_id: str) -> int:
        marker = uuid.uuid4().hex
        if self.random.random() < 0.5:
            proposal = self.random.choice(self.world.discussions)
            text = f"Load comment {marker}: the gauges should report hourly."
            status, headers, _ = self.writer.expect("POST", f"/proposals/{proposal}/comments", (302,), {
                "csrf_token": self.token, "body": text, "visibility": "council", "parent_id": ""},
                request_id=request_id)
            if "/discussion" not in headers.get("Location", ""):
                raise UnexpectedStatus(f"comment redirected to {headers.get('Location')}")
            with self.results.lock:
                self.results.comments.append(text)
        else:
            proposal = self.random.choice(self.world.rounds)
            reason = f"Load position {marker}: the text needs another reading."
            # An objection with its reason: the round stays open for the rest of the run.
            status, headers, _ = self.writer.expect("POST", f"/proposals/{proposal}/position", (302,), {
                "csrf_token": self.token, "position": "object", "reason": reason}, request_id=request_id)
            if "/review" not in headers.get("Location", ""):
                raise UnexpectedStatus(f"position redirected to {headers.get('Location')}")
            with self.results.lock:
                self.results.positions.append(reason)
        return status


def run_mix(host: str, port: int, world: World, seconds: float, concurrency: int) -> tuple[Results, float]:
    results = Results()
    holder: dict = {}
    # The deadline is set by the barrier's action, before any visitor is released: every visitor has
    # signed in, and all start (and stop) together.
    ready = threading.Barrier(concurrency + 1, action=lambda: holder.update(deadline=time.monotonic() + seconds))
    visitors = [Visitor(number, host, port, world, holder, results, ready) for number in range(concurrency)]
    for visitor in visitors:
        visitor.start()
    ready.wait()
    started = holder["deadline"] - seconds
    for visitor in visitors:
        visitor.join()
    return results, time.monotonic() - started


def run_healthz(host: str, port: int, seconds: float, concurrency: int) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop() -> None:
        browser = Browser(host, port)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                browser.expect("GET", "/healthz", (200,))
            except Exception as error:  # counted, as in the mix
                with lock:
                    errors.append(f"healthz: {type(error).__name__}: {error}")
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    threads = [threading.Thread(target=loop, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.monotonic() - started


# --- checking and printing ----------------------------------------------------------------------


def lost_writes(database_url: str, results: Results) -> tuple[int, int]:
    """(comments missing, positions missing) among the acknowledged ones, read straight from the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        comments = set(connection.execute(text("SELECT body FROM proposal_comments WHERE body LIKE 'Load comment %'"))
                       .scalars())
        reasons = set(connection.execute(text(
            "SELECT reason FROM delegation_position_history WHERE reason LIKE 'Load position %'")).scalars())
    engine.dispose()
    return (sum(text_ not in comments for text_ in results.comments),
            sum(reason not in reasons for reason in results.positions))


def server_problems(log_path: Path) -> dict:
    """Lines of the server's log that show trouble even when every client got an answer."""
    lines = log_path.read_text(errors="replace").splitlines()
    return {
        "database is locked": sum("database is locked" in line for line in lines),
        "5xx responses": sum(bool(re.search(r'"status": 5\d\d', line)) for line in lines),
        "ERROR lines": sum('"level": "ERROR"' in line or "[ERROR]" in line for line in lines),
        "worker timeouts": sum("WORKER TIMEOUT" in line for line in lines),
    }


def cache_lookups(log_path: Path) -> dict[str, dict[str, int]]:
    """Per cache name, the hits and misses the mix's requests noted (the `cache` field of their JSON log
    lines, `request_log.note_cache`); empty when no line has one."""
    prefixes = tuple(REQUEST_ID_PREFIX.values())
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"hits": 0, "misses": 0})
    for line in log_path.read_text(errors="replace").splitlines():
        if '"cache"' not in line or not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") != "request" or not str(entry.get("request_id", "")).startswith(prefixes):
            continue
        for name, counts in (entry.get("cache") or {}).items():
            totals[name]["hits"] += int(counts.get("hits", 0))
            totals[name]["misses"] += int(counts.get("misses", 0))
    return dict(totals)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def latency_row(name: str, values: list[float], seconds: float) -> str:
    milliseconds = [value * 1000 for value in values]
    return (f"{name:15} {len(values):8,} {len(values) / seconds:9.1f} {percentile(milliseconds, 0.50):9.1f}"
            f" {percentile(milliseconds, 0.95):9.1f} {percentile(milliseconds, 0.99):9.1f}")


def machine() -> str:
    try:
        load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {load}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the mix (default 60)")
    parser.add_argument("--concurrency", type=int, default=8, help="clients, each one request at a time (default 8)")
    parser.add_argument("--healthz-seconds", type=float, default=10, help="length of the /healthz-only run")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/load",
                        help="the PostgreSQL database to create, use and drop (never `test`)")
    parser.add_argument("--search", choices=("whoosh", "postgres"),
                        help="SEARCH_BACKEND (default: whoosh on SQLite, postgres on PostgreSQL)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="RATELIMIT_STORAGE_URI")
    parser.add_argument("--proposals", type=int, default=2000, help="archive proposals to import (default 2,000)")
    parser.add_argument("--rounds", type=int, default=20, help="proposals in an open consensus round (default 20)")
    parser.add_argument("--write-share", type=float, default=0.10,
                        help="share of signed-in writes (default 0.10; the reads keep 7 searches to 2 pages)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (and the PostgreSQL database)")
    arguments = parser.parse_args(argv)
    if arguments.seconds <= 0 or arguments.concurrency < 1 or arguments.rounds < 1:
        parser.error("--seconds, --concurrency and --rounds must be positive")
    if not 0 <= arguments.write_share <= 1:
        parser.error("--write-share is a share between 0 and 1")
    search_backend = arguments.search or ("postgres" if arguments.database == "postgres" else "whoosh")

    folder = Path(tempfile.mkdtemp(prefix="load-"))
    postgres = PostgresDatabase(arguments.postgres_url) if arguments.database == "postgres" else None
    database_url = postgres.url.render_as_string(hide_password=False) if postgres else \
        f"sqlite:///{folder / 'load.sqlite'}"
    host, port = "127.0.0.1", free_port()
    env = environment(folder, database_url, search_backend, port, arguments.redis)
    server = None
    try:
        if postgres:
            postgres.create()
        print(f"Load test: {arguments.database} ({database_url.split('@')[-1]}), search {search_backend}, "
              f"{arguments.concurrency} clients, {arguments.seconds:g} s, writes {arguments.write_share:.0%}; "
              f"{machine()}")
        started = time.perf_counter()
        world = prepare(env, folder, arguments.proposals, arguments.concurrency, arguments.rounds)
        world.write_share = arguments.write_share
        print(f"Prepared in {time.perf_counter() - started:.0f} s: {len(world.references):,} endorsed proposals, "
              f"{len(world.discussions)} before the council, {len(world.rounds)} open rounds, "
              f"{len(world.writers)} delegates; folder {folder}")

        server = Server(env, folder / "server.log")
        server.wait_until_healthy(host, port)
        print(f"gunicorn on {host}:{port}: {gunicorn_shape(env)}")
        mix = world.searches
        print(f"search mix: {len(mix.searches):,} distinct combinations (seed {SEARCH_SEED}): "
              + ", ".join(f"{kind} {count}" for kind, count in mix.counts.items())
              + f"; {sum(search.sort == 'newest' for search in mix.searches)} sorted by newest")
        warm_up(host, port, mix)

        results, elapsed = run_mix(host, port, world, arguments.seconds, arguments.concurrency)
        health, health_errors, health_elapsed = run_healthz(host, port, arguments.healthz_seconds,
                                                            arguments.concurrency)
        server.stop()
        problems = server_problems(server.log_path)
        caches = cache_lookups(server.log_path)
        missing_comments, missing_positions = lost_writes(database_url, results)

        everything = [value for kind in KINDS for value in results.latencies[kind]]
        print(f"\nMix: {elapsed:.1f} s, {len(everything):,} requests answered as expected")
        print(f"{'kind':15} {'requests':>8} {'per s':>9} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
        for kind in KINDS:
            print(latency_row(kind, results.latencies[kind], elapsed))
        print(latency_row("overall", everything, elapsed))
        print(latency_row("/healthz alone", health, health_elapsed))
        mix_rate, health_rate = len(everything) / elapsed, len(health) / health_elapsed if health else 0.0
        print(f"\nthroughput: mix {mix_rate:.1f}/s, /healthz alone {health_rate:.1f}/s, "
              f"ratio mix / healthz {mix_rate / health_rate if health_rate else float('nan'):.3f}")
        print(f"\n{'kind':15} {'answers':>8} {'304':>8} {'304 share':>10}  (conditional GETs with the validators kept)")
        for kind in KINDS:
            answers, fresh = len(results.latencies[kind]), results.not_modified[kind]
            print(f"{kind:15} {answers:8,} {fresh:8,} {fresh / answers if answers else 0:10.1%}")
        sent = Counter(search.kind for search in results.searches_sent)
        print(f"searches: drawn from {len(mix.searches):,} distinct combinations, sent {len(results.searches_sent):,} "
              f"distinct ones ({', '.join(f'{kind} {sent[kind]}' for kind in mix.counts)}) as "
              f"{len(results.search_urls):,} distinct URLs in {len(results.latencies['search']):,} searches")
        if caches:
            print(f"\n{'cache':15} {'hits':>8} {'misses':>8} {'hit rate':>9}  (the mix's requests, server log)")
            for name, counts in sorted(caches.items()):
                lookups = counts["hits"] + counts["misses"]
                print(f"{name:15} {counts['hits']:8,} {counts['misses']:8,} "
                      f"{counts['hits'] / lookups if lookups else 0:9.1%}")
        else:
            print("caches: no request of the mix noted a cache lookup in the server log")
        errors = results.errors + health_errors
        print(f"\nwrites acknowledged: {len(results.comments)} comments, {len(results.positions)} positions; "
              f"reconnects after a closed keep-alive connection: {results.reconnects}")
        print("server log: " + ", ".join(f"{name} {count}" for name, count in problems.items()))
        print(f"errors: {len(errors)}")
        for line in sorted(set(errors))[:20]:
            print(f"  {line} (x{errors.count(line)})")
        lost = missing_comments + missing_positions
        print(f"lost writes: {lost} ({missing_comments} comments, {missing_positions} positions)")
        return 1 if errors or lost or problems["5xx responses"] or problems["database is locked"] else 0
    finally:
        if server is not None:
            server.stop()
        if postgres and not arguments.keep:
            postgres.drop()
        if arguments.keep:
            print(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def gunicorn_shape(env: dict) -> str:
    """The workers and threads gunicorn.conf.py chose with this environment."""
    import runpy

    saved = dict(os.environ)
    try:
        os.environ.update({name: value for name, value in env.items() if name in ("WEB_CONCURRENCY",
                                                                                  "GUNICORN_THREADS")})
        values = runpy.run_path(str(PROJECT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return f"{values['workers']} workers x {values['threads']} threads, timeout {values['timeout']} s"


if __name__ == "__main__":
    sys.exit(main())
