"""The chores of the API contract check (.ci/schemathesis) that bash does badly.

    .venv/bin/python .ci/schemathesis_setup.py archive FILE.jsonl [--proposals 200] [--seed 15]
    .venv/bin/python .ci/schemathesis_setup.py free-port
    .venv/bin/python .ci/schemathesis_setup.py create-database POSTGRESQL_URL   (prints the new database's URL)
    .venv/bin/python .ci/schemathesis_setup.py drop-database POSTGRESQL_URL

``archive`` writes a small archive as a `flask archive import` file, with the search benchmark's generator
(bench/search_bench.py: English, Russian and a few Chinese texts, dimensions, member states, think tanks,
authors, keywords, references in both numbering styles, a few outcomes not endorsed or withdrawn); every tenth
English or Russian outcome also carries a checked translation into the other working language, so answers hold
translations too. Its member states are the shipped list's, those `flask seed-reference` loads.

``create-database`` makes a database of its own, ``test_schemathesis_<random>``, on the server of the URL
given (so the check never meets a test run's schemas) and prints its URL; ``drop-database`` drops it again,
closing what is still connected to it.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

TRANSLATED_EVERY = 10
DATABASE_PREFIX = "test_schemathesis_"


def shipped_member_state_codes() -> list[str]:
    membership = json.loads((PROJECT_ROOT / "expert_platform/data/cica-membership.json").read_text("utf-8"))
    return [code for code, _name in membership["member_states"]]


def outcomes(count: int, seed: int) -> list[dict]:
    from bench.search_bench import Generator

    generator = Generator(seed, shipped_member_state_codes())
    records = []
    for number in range(1, count + 1):
        record = generator.proposal(number)
        if number % TRANSLATED_EVERY == 0 and record["language"] in ("en", "ru"):
            other = "ru" if record["language"] == "en" else "en"
            title = generator.russian_title() if other == "ru" else generator.english_title()
            summary = generator.russian_sentence(12, 24) if other == "ru" else generator.english_sentence(12, 24)
            record["translations"] = [{"language": other, "title": title[:200], "summary": summary,
                                       "body": generator.body(other, 150), "status": "checked_translation"}]
        records.append(record)
    return records


def write_archive(arguments) -> None:
    from bench.search_bench import write_jsonl

    write_jsonl(outcomes(arguments.proposals, arguments.seed), arguments.file)


def free_port(_arguments) -> None:
    """A port nothing listens on now, on 127.0.0.1 (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        print(probe.getsockname()[1])


def _server(url: str):
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


def create_database(arguments) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = DATABASE_PREFIX + secrets.token_hex(6)
    engine = _server(arguments.url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    print(make_url(arguments.url).set(database=name).render_as_string(hide_password=False))


def drop_database(arguments) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    url = make_url(arguments.url)
    if not (url.database or "").startswith(DATABASE_PREFIX):
        sys.exit(f"refusing to drop {url.database!r}: only databases named {DATABASE_PREFIX}* are the check's")
    engine = _server(url.set(database="postgres"))
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    archive = commands.add_parser("archive", help="write the archive to import")
    archive.add_argument("file", type=Path)
    archive.add_argument("--proposals", type=int, default=200)
    archive.add_argument("--seed", type=int, default=15)
    archive.set_defaults(run=write_archive)
    commands.add_parser("free-port", help="print a free port on 127.0.0.1").set_defaults(run=free_port)
    for name, run in (("create-database", create_database), ("drop-database", drop_database)):
        command = commands.add_parser(name)
        command.add_argument("url", help="a postgresql+psycopg:// URL")
        command.set_defaults(run=run)
    arguments = parser.parse_args()
    arguments.run(arguments)


if __name__ == "__main__":
    main()
