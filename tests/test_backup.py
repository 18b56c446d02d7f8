"""`flask backup create` and `flask backup restore` (SQLite): a backup restored into a fresh instance
holds every proposal, revision, position and annex, and the archive search finds the endorsed ones;
bad archives, traversal members and non-empty targets are refused with nothing changed; PostgreSQL is
refused with a pointer to pg_dump (the suite asserts that refusal when it runs on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from config import PROJECT_ROOT
from expert_platform import backup, create_app
from expert_platform.enums import Position, ProposalAction, ProposalState
from expert_platform.extensions import db as _db
from expert_platform.proposals import annexes as annex_services
from expert_platform.proposals import services as proposal_services
from expert_platform.proposals import workflow
from expert_platform.proposals.models import Annex, Proposal, ProposalRevision
from expert_platform.review import rounds
from expert_platform.review.models import DelegationPosition
from expert_platform.search import service as search_service
from tests.conftest import database_settings
from tests.proposals.revision_support import PDF
from tests.review.conftest import bring_to, later, make_council, secretariat

#: The review world's fixtures (tests/review/conftest.py), used here to reach consensus rounds.
bring_to, make_council, secretariat = bring_to, make_council, secretariat

POSTGRES_REFUSAL = ("Error: The database is PostgreSQL: back it up with pg_dump and restore it with pg_restore "
                    "(docs/deployment.md explains both). `flask backup` handles the SQLite default only.\n")
MOMENT = datetime(2026, 11, 28, 21, 30, 5, tzinfo=UTC)
SECOND_PDF = PDF.replace(b"%%EOF", b"% a second annex\n%%EOF")


@pytest.fixture
def on_postgres(db) -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture
def app_overrides(tmp_path):
    return {"UPLOAD_DIR": str(tmp_path / "source" / "uploads"),
            "SEARCH_INDEX_DIR": str(tmp_path / "source" / "search-index")}


def runner_of(application):
    runner = application.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


@pytest.fixture
def run(app):
    return runner_of(app)


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def add_annex(proposal, author, content: bytes, name: str) -> Annex:
    annex = annex_services.add_annex(actor=author, proposal=proposal, stream=io.BytesIO(content), file_name=name,
                                     folder=upload_dir(), max_bytes=current_app.config["ANNEX_MAX_BYTES"])
    _db.session.commit()
    return annex


@pytest.fixture
def populated(make_proposal, make_council, bring_to, secretariat):
    """An endorsed proposal with two revisions, three positions and two annexes; another one in an open
    round with one position (not public); a draft."""
    council = make_council(("CN", "IN", "RU"))
    endorsed = make_proposal(title="Shared river gauges for flood warning", body="## Problem\n\nFloods.")
    lead = next(row.user for row in endorsed.coauthors if row.is_lead)
    add_annex(endorsed, lead, PDF, "gauges.pdf")
    workflow.transition(endorsed, ProposalAction.SUBMIT, actor=lead)
    workflow.transition(endorsed, ProposalAction.RETURN_FOR_REVISION, actor=secretariat, note="Name the rivers.")
    _db.session.commit()
    add_annex(endorsed, lead, SECOND_PDF, "rivers.pdf")
    proposal_services.save_content(
        actor=lead, proposal=endorsed, opened_at_version=endorsed.version,
        content=proposal_services.Content(title=endorsed.title, summary="The Ili and the Irtysh.",
                                          body="## Problem\n\nFloods on the Ili.", language="en",
                                          dimensions=("environmental",), member_state_ids=(), keywords=("water",)))
    workflow.transition(endorsed, ProposalAction.RESUBMIT, actor=lead)
    _db.session.commit()
    bring_to_consensus(endorsed, secretariat)
    rounds.record_position(actor=council["CN"], proposal=endorsed, position=Position.ENDORSE)
    rounds.record_position(actor=council["IN"], proposal=endorsed, position=Position.ENDORSE_WITH_RESERVATION,
                           reason="Only for the Ili basin.")
    rounds.record_position(actor=council["RU"], proposal=endorsed, position=Position.STAND_ASIDE)
    _db.session.commit()
    waiting = bring_to(make_proposal(title="Seismic data sharing", body="## Problem\n\nEarthquakes."),
                       ProposalState.CONSENSUS)
    rounds.record_position(actor=council["CN"], proposal=waiting, position=Position.OBJECT, reason="Not yet.")
    _db.session.commit()
    draft = make_proposal(title="Hotline for incidents at sea")
    assert (endorsed.state, waiting.state, draft.state) == (
        ProposalState.ENDORSED, ProposalState.CONSENSUS, ProposalState.DRAFT)
    _db.session.commit()  # end the read: on SQLite it holds the write lock
    return {"endorsed": endorsed, "waiting": waiting, "draft": draft}


def bring_to_consensus(proposal, secretariat) -> None:
    from expert_platform.review import services as review_services

    review_services.start_review(actor=secretariat, proposal=proposal)
    rounds.open_round(actor=secretariat, proposal=proposal, kind="standard", deadline_at=later(72))
    _db.session.commit()


def every_table() -> dict[str, list[tuple]]:
    """Every row of every table of the metadata, in primary-key order."""
    _db.session.expire_all()
    rows = {table.name: [tuple(row) for row in _db.session.execute(
        select(table).order_by(*table.primary_key.columns))] for table in _db.metadata.sorted_tables}
    _db.session.rollback()  # end the read: SQLite's transactions here take the write lock
    return rows


def fresh_instance(folder: Path, monkeypatch, test_database=None):
    """A new app with an instance folder, database file, upload folder and search index of its own; the
    database file does not exist yet (a new server). On PostgreSQL (``test_database`` given), a new
    empty schema instead of the file."""
    previous = os.environ["INSTANCE_PATH"]  # set for every test by conftest
    monkeypatch.setenv("INSTANCE_PATH", str(folder / "instance"))
    database = (test_database.new_empty() if test_database is not None and test_database.is_postgres
                else (f"sqlite:///{folder / 'restored.sqlite'}", {}))
    application = create_app("testing", {
        **database_settings(database, folder / "outbox"),
        "UPLOAD_DIR": str(folder / "uploads"), "SEARCH_INDEX_DIR": str(folder / "search-index"),
    })
    monkeypatch.setenv("INSTANCE_PATH", previous)  # apps created later in the test are the source's
    return application


def members_of(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as opened:
        return {member.name: opened.extractfile(member).read() for member in opened.getmembers()}


def write_archive(path: Path, members: dict[str, bytes], *, kinds: dict[str, bytes] | None = None) -> Path:
    """A .tar.gz with ``members`` as regular files (``kinds`` sets a member's tar type, e.g. a symlink)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            if kinds and name in kinds:
                info.type, info.size, info.linkname = kinds[name], 0, "/etc/passwd"
                archive.addfile(info)
                continue
            archive.addfile(info, io.BytesIO(content))
    return path


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --- the round trip -------------------------------------------------------------------------------


def test_a_backup_restored_into_a_fresh_instance_holds_everything_and_search_finds_the_endorsed(
    app, run, populated, on_postgres, tmp_path, monkeypatch
):
    if on_postgres:
        assert_create_refused(run, tmp_path)
        return
    ids = {name: proposal.id for name, proposal in populated.items()}
    before = every_table()

    created = run("backup", "create", str(tmp_path / "backups"))

    assert created.exit_code == 0, created.output
    [archive] = (tmp_path / "backups").iterdir()
    assert archive.name.startswith("expert-platform-") and archive.name.endswith("Z.tar.gz")
    assert archive.stat().st_mode & 0o777 == 0o600
    annexes = before["proposal_annexes"]
    stored_names = [row[before_columns("proposal_annexes").index("stored_name")] for row in annexes]
    lines = created.output.splitlines()
    assert lines[0].startswith(f"Backup written to {archive} (")
    assert lines[1:] == [
        "  database: 3 proposals, 3 revisions, 4 positions, 2 annexes; schema revision none recorded",
        f"  2 annex files ({(len(PDF) + len(SECOND_PDF)) / 1024:.1f} KB)",
    ]
    contents = members_of(archive)
    assert list(contents) == ["manifest.json", "database.sqlite3", *sorted(f"uploads/{n}" for n in stored_names)]
    manifest = json.loads(contents["manifest.json"])
    assert manifest["format_version"] == 1 and manifest["alembic_revision"] is None
    assert manifest["counts"] == {"proposals": 3, "revisions": 3, "positions": 4, "annexes": 2}
    assert {name: entry["sha256"] for name, entry in manifest["files"].items()} == {
        name: sha256(content) for name, content in contents.items() if name != "manifest.json"}

    fresh = fresh_instance(tmp_path / "fresh", monkeypatch)
    with fresh.app_context():
        restored = runner_of(fresh)("backup", "restore", str(archive))

        assert restored.exit_code == 0, restored.output
        assert restored.output == (
            f"Restored the backup of {manifest['created_at']} into {tmp_path / 'fresh' / 'restored.sqlite'}: "
            f"3 proposals, 3 revisions, 4 positions, 2 annexes; 2 annex files in {tmp_path / 'fresh' / 'uploads'}.\n"
            "The backup's database records no schema revision (it was not created by `flask db upgrade`).\n"
            "Search index rebuilt: 1 public proposal.\n")
        after = every_table()
        assert after == before
        assert [p.id for p in _db.session.scalars(select(Proposal).order_by(Proposal.id))] == [
            ids["endorsed"], ids["waiting"], ids["draft"]]
        revisions = _db.session.scalars(select(ProposalRevision).order_by(ProposalRevision.id)).all()
        assert [(r.proposal_id, r.number) for r in revisions] == [
            (ids["endorsed"], 1), (ids["endorsed"], 2), (ids["waiting"], 1)]
        annex_ids = [row[0] for row in annexes]
        assert (revisions[0].content["annex_ids"], revisions[1].content["annex_ids"]) == (annex_ids[:1], annex_ids)
        assert (revisions[0].summary, revisions[1].summary) == ("A short summary.", "The Ili and the Irtysh.")
        positions = _db.session.scalars(select(DelegationPosition).order_by(DelegationPosition.id)).all()
        assert [(row.position, row.reason) for row in positions] == [
            (Position.ENDORSE, None), (Position.ENDORSE_WITH_RESERVATION, "Only for the Ili basin."),
            (Position.STAND_ASIDE, None), (Position.OBJECT, "Not yet.")]
        restored_annexes = _db.session.scalars(select(Annex).order_by(Annex.id)).all()
        assert [(a.original_name, (upload_dir() / a.stored_name).read_bytes()) for a in restored_annexes] == [
            ("gauges.pdf", PDF), ("rivers.pdf", SECOND_PDF)]
        assert sorted(path.name for path in upload_dir().iterdir()) == sorted(stored_names)
        found = search_service.search("gauges")
        assert [hit.proposal.id for hit in found.hits] == [ids["endorsed"]]
        assert search_service.search("seismic").total == 0  # not public: never indexed
        assert search_service.check() == []
        _db.session.remove()
        _db.engine.dispose()


def before_columns(table_name: str) -> list[str]:
    return [column.name for column in _db.metadata.tables[table_name].columns]


def test_create_writes_to_a_named_file_and_instance_backups_by_default(app, run, populated, on_postgres, tmp_path):
    if on_postgres:
        assert_create_refused(run)
        return
    named = run("backup", "create", str(tmp_path / "nightly" / "monday.tar.gz"))
    again = run("backup", "create", str(tmp_path / "nightly" / "monday.tar.gz"))
    default = run("backup", "create")

    assert named.exit_code == 0, named.output
    assert (tmp_path / "nightly" / "monday.tar.gz").is_file()
    assert (again.exit_code, again.output) == (
        1, f"Error: {tmp_path / 'nightly' / 'monday.tar.gz'} already exists: choose another name.\n")
    assert default.exit_code == 0, default.output
    [written] = (Path(app.instance_path) / "backups").iterdir()
    assert default.output.startswith(f"Backup written to {written} (")
    assert sorted(path.name for path in (tmp_path / "nightly").iterdir()) == ["monday.tar.gz"]  # no leftovers


# --- online and consistent ------------------------------------------------------------------------


def test_a_backup_taken_while_another_connection_holds_a_write_transaction_completes_and_is_consistent(
    app, run, populated, on_postgres, tmp_path
):
    if on_postgres:
        assert_create_refused(run, tmp_path)
        return
    database = Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE proposals SET title = 'Uncommitted title'")
    writer.execute("DELETE FROM delegation_positions")
    try:
        created = backup.create(database_path=database, upload_dir=upload_dir(), destination=tmp_path, now=MOMENT)
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert created.path == tmp_path / "expert-platform-20261128T213005Z.tar.gz"
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(members_of(created.path)["database.sqlite3"])
    connection = sqlite3.connect(copy)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert sorted(title for (title,) in connection.execute("SELECT title FROM proposals")) == [
            "Hotline for incidents at sea", "Seismic data sharing", "Shared river gauges for flood warning"]
        assert connection.execute("SELECT count(*) FROM delegation_positions").fetchone() == (4,)
    finally:
        connection.close()
    assert created.manifest["counts"] == {"proposals": 3, "revisions": 3, "positions": 4, "annexes": 2}
    assert created.manifest["created_at"] == "2026-11-28T21:30:05Z"


def test_the_annex_files_archived_are_those_the_database_lists_and_a_missing_or_damaged_one_is_reported(
    app, run, populated, on_postgres, tmp_path
):
    if on_postgres:
        assert_create_refused(run, tmp_path)
        return
    lost, kept = _db.session.scalars(select(Annex).order_by(Annex.id)).all()
    (upload_dir() / lost.stored_name).unlink()
    (upload_dir() / kept.stored_name).write_bytes(SECOND_PDF + b"bit rot")
    (upload_dir() / ("f" * 64)).write_bytes(PDF)  # an upload whose transaction never committed (or not yet)

    created = run("backup", "create", str(tmp_path / "b.tar.gz"))

    assert created.exit_code == 0
    assert created.stderr == (
        f"  Warning: the annex file {lost.stored_name} is missing from {upload_dir()}.\n"
        f"  Warning: the annex file {kept.stored_name} differs from its recorded SHA-256 (archived as it is).\n")
    assert list(members_of(tmp_path / "b.tar.gz")) == ["manifest.json", "database.sqlite3",
                                                        f"uploads/{kept.stored_name}"]


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "refusal"), [
    ("sqlite:////srv/platform/expert_platform.sqlite", None),
    ("postgresql+psycopg://app@db.internal:5432/platform", POSTGRES_REFUSAL[len("Error: "):-1]),
    ("sqlite://", "The database is in memory: there is no file to back up or restore."),
    ("mysql+pymysql://app@db/platform", "`flask backup` handles the SQLite default only, not mysql."),
], ids=["sqlite file", "postgresql", "sqlite in memory", "another database"])
def test_only_a_sqlite_file_is_backed_up(url, refusal):
    assert backup.refusal_for(make_url(url)) == refusal


@pytest.fixture
def archive(app, run, populated, on_postgres, tmp_path) -> Path:
    """A good backup of the populated instance (SQLite only)."""
    if on_postgres:
        return tmp_path / "no-backup-on-postgres.tar.gz"
    path = tmp_path / "good.tar.gz"
    result = run("backup", "create", str(path))
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def target(tmp_path, monkeypatch, test_database):
    """A fresh instance to restore into, its context pushed; yields its runner and folder."""
    fresh = fresh_instance(tmp_path / "target", monkeypatch, test_database)
    with fresh.app_context():
        yield runner_of(fresh), tmp_path / "target"
        _db.session.remove()
        _db.engine.dispose()


def assert_nothing_restored(folder: Path) -> None:
    """The fresh instance has no database file, no upload folder, and no staged leftovers."""
    assert sorted(path.name for path in folder.iterdir()) == ["instance"]


def assert_create_refused(run, *destination) -> None:
    """On PostgreSQL ``flask backup create`` refuses, naming pg_dump, with ``destination`` and without one."""
    for arguments in dict.fromkeys((destination, ())):
        result = run("backup", "create", *map(str, arguments))
        assert (result.exit_code, result.stderr, result.output) == (1, POSTGRES_REFUSAL, POSTGRES_REFUSAL)


def restore_refused(target, archive_path: Path, *extra) -> str:
    run_fresh, folder = target
    result = run_fresh("backup", "restore", str(archive_path), *extra)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert_nothing_restored(folder)
    return result.stderr


def tampered(archive_path: Path, tmp_path: Path, **changes: bytes) -> Path:
    members = members_of(archive_path)
    members.update(changes)
    return write_archive(tmp_path / "tampered.tar.gz", members)


def test_a_damaged_file_is_refused_by_its_checksum(archive, target, tmp_path, on_postgres):
    if on_postgres:
        assert restore_refused(target, archive) == POSTGRES_REFUSAL
        return
    [annex_member] = [name for name in members_of(archive) if name.startswith("uploads/")][:1]
    bad = tampered(archive, tmp_path, **{annex_member: PDF + b"tampered"})

    assert restore_refused(target, bad, "--yes") == (
        f"Error: {bad} is not a usable backup: the checksum of {annex_member} differs from its manifest "
        "(the file is damaged). Nothing was changed.\n")


def test_a_damaged_database_is_refused_by_its_checksum(archive, target, tmp_path, on_postgres):
    if on_postgres:
        assert restore_refused(target, archive) == POSTGRES_REFUSAL
        return
    database = bytearray(members_of(archive)["database.sqlite3"])
    database[5000] ^= 0xFF
    bad = tampered(archive, tmp_path, **{"database.sqlite3": bytes(database)})

    assert restore_refused(target, bad) == (
        f"Error: {bad} is not a usable backup: the checksum of database.sqlite3 differs from its manifest "
        "(the file is damaged). Nothing was changed.\n")


@pytest.mark.parametrize(("name", "problem"), [
    ("../../evil.pdf", "the member '../../evil.pdf' has '..' in its path"),
    ("uploads/../../evil.pdf", "the member 'uploads/../../evil.pdf' has '..' in its path"),
    ("/etc/cron.d/evil", "the member '/etc/cron.d/evil' has an absolute path"),
    ("uploads/nested/evil.pdf", "the member 'uploads/nested/evil.pdf' is not part of a backup's layout"),
], ids=["dot-dot", "dot-dot inside uploads", "absolute", "nested"])
def test_a_member_outside_the_layout_is_refused(archive, target, tmp_path, on_postgres, name, problem):
    if on_postgres:
        assert restore_refused(target, archive) == POSTGRES_REFUSAL
        return
    bad = tampered(archive, tmp_path, **{name: PDF})

    assert restore_refused(target, bad, "--yes") == (
        f"Error: {bad} is not a usable backup: {problem}. Nothing was changed.\n")
    assert not (tmp_path / "evil.pdf").exists()


def test_a_link_member_is_refused(archive, target, tmp_path, on_postgres):
    if on_postgres:
        assert restore_refused(target, archive) == POSTGRES_REFUSAL
        return
    members = {**members_of(archive), "uploads/link": b""}
    bad = write_archive(tmp_path / "link.tar.gz", members, kinds={"uploads/link": tarfile.SYMTYPE})

    assert restore_refused(target, bad) == (
        f"Error: {bad} is not a usable backup: the member 'uploads/link' is not a regular file. Nothing was changed.\n")


@pytest.mark.parametrize(("write", "reason"), [
    (lambda path: path.write_bytes(b"just some text\n"), "it is not a complete .tar.gz archive (not a gzip file)"),
    (lambda path: write_archive(path, {"notes.txt": b"hello"}),
     "the member 'notes.txt' is not part of a backup's layout"),
    (lambda path: write_archive(path, {"database.sqlite3": b"x"}), "it has no manifest.json"),
    (lambda path: write_archive(path, {"manifest.json": b"{not json"}), "its manifest.json is not JSON"),
    (lambda path: write_archive(path, {"manifest.json": json.dumps({"format_version": 2, "files": {}}).encode()}),
     "its format version is 2; this version of the platform reads version 1"),
], ids=["not gzip", "foreign archive", "no manifest", "manifest not json", "newer format"])
def test_something_else_than_a_backup_is_refused(target, tmp_path, write, reason, on_postgres, db):
    bad = tmp_path / "bad.tar.gz"
    write(bad)

    if on_postgres:
        assert restore_refused(target, bad) == POSTGRES_REFUSAL
        return
    assert restore_refused(target, bad) == f"Error: {bad} is not a usable backup: {reason}. Nothing was changed.\n"


def test_a_truncated_archive_is_refused(archive, target, tmp_path, on_postgres):
    if on_postgres:
        assert restore_refused(target, archive) == POSTGRES_REFUSAL
        return
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])

    stderr = restore_refused(target, cut)

    assert stderr.startswith(f"Error: {cut} is not a usable backup: it is not a complete .tar.gz archive (")


def test_a_missing_file_is_refused(target, tmp_path, db, on_postgres):
    stderr = restore_refused(target, tmp_path / "nowhere.tar.gz")

    assert stderr == (POSTGRES_REFUSAL if on_postgres else
                      f"Error: There is no file at {tmp_path / 'nowhere.tar.gz'}: nothing was changed.\n")


def restored_into(target, archive_path: Path) -> Path:
    """Restore ``archive_path`` into the empty target instance; its database file."""
    run_fresh, folder = target
    result = run_fresh("backup", "restore", str(archive_path))
    assert result.exit_code == 0, result.output
    return folder / "restored.sqlite"


def test_a_database_that_is_not_empty_is_kept_without_yes_and_replaced_with_it(run, archive, target, on_postgres):
    if on_postgres:
        refused = run("backup", "restore", str(archive))
        assert (refused.exit_code, refused.stderr) == (1, POSTGRES_REFUSAL)
        return
    run_fresh, folder = target
    database = restored_into(target, archive)
    # (not populated["draft"]: it belongs to the source app's session; this context is the target's)
    draft = _db.session.scalars(select(Proposal).where(Proposal.title == "Hotline for incidents at sea")).one()
    draft_id = draft.id
    draft.title = "Changed after the restore"
    _db.session.commit()
    (upload_dir() / "added-later.pdf").write_bytes(PDF)
    before = every_table()
    files_before = sorted(path.name for path in upload_dir().iterdir())

    refused = run_fresh("backup", "restore", str(archive))

    assert (refused.exit_code, refused.stderr) == (1, (
        f"Error: The database at {database} is not empty: restoring replaces everything in it and the annex "
        "files. Run again with --yes to replace it; nothing was changed.\n"))
    assert every_table() == before
    assert sorted(path.name for path in upload_dir().iterdir()) == files_before
    assert [path.name for path in folder.iterdir() if path.name.startswith(".")] == []  # nothing staged is left

    replaced = run_fresh("backup", "restore", str(archive), "--yes")

    assert replaced.exit_code == 0, replaced.output
    assert _db.session.get(Proposal, draft_id).title == "Hotline for incidents at sea"
    assert sorted(path.name for path in upload_dir().iterdir()) == sorted(
        name.removeprefix("uploads/") for name in members_of(archive) if name.startswith("uploads/"))


def test_a_database_still_open_elsewhere_is_not_replaced(run, archive, target, on_postgres):
    if on_postgres:
        refused = run("backup", "restore", str(archive), "--yes")
        assert (refused.exit_code, refused.stderr) == (1, POSTGRES_REFUSAL)
        return
    run_fresh, folder = target
    database = restored_into(target, archive)
    _db.session.execute(update(Proposal).values(title="Written after the restore"))
    _db.session.commit()
    server = sqlite3.connect(database)  # a worker of the application, still running
    server.execute("SELECT count(*) FROM proposals").fetchone()
    try:
        refused = run_fresh("backup", "restore", str(archive), "--yes")
    finally:
        server.close()

    assert (refused.exit_code, refused.stderr) == (1, (
        f"Error: The database at {database} is in use by another process: stop the application (its servers, "
        "workers and cron jobs), then restore again. Nothing was changed.\n"))
    assert set(_db.session.scalars(select(Proposal.title))) == {"Written after the restore"}


def test_an_older_schema_is_restored_with_a_request_to_upgrade(archive, target, tmp_path, on_postgres):
    if on_postgres:
        assert restore_refused(target, archive) == POSTGRES_REFUSAL
        return
    older = with_revision(archive, tmp_path / "older.tar.gz", "0004_review")
    run_fresh, folder = target

    result = run_fresh("backup", "restore", str(older))

    head = sorted(path.name for path in (PROJECT_ROOT / "migrations" / "versions").glob("0*.py"))[-1][:-3]
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        f"The backup's schema is at revision 0004_review; this version of the platform expects {head}. "
        "Run `flask db upgrade`, then `flask search rebuild`, before starting the application."]
    assert (folder / "restored.sqlite").is_file()


def test_a_newer_schema_is_refused(archive, target, tmp_path, on_postgres):
    if on_postgres:
        assert restore_refused(target, archive) == POSTGRES_REFUSAL
        return
    newer = with_revision(archive, tmp_path / "newer.tar.gz", "0099_future")

    assert restore_refused(target, newer) == (
        "Error: The backup's schema is at revision 0099_future, which this version of the platform does not know: "
        "it comes from a newer version. Install that version (or newer) first; nothing was changed.\n")


def with_revision(archive_path: Path, path: Path, revision: str) -> Path:
    """A copy of the backup whose database (and manifest) record the Alembic ``revision``."""
    members = members_of(archive_path)
    database = path.parent / "revision.sqlite3"
    database.write_bytes(members["database.sqlite3"])
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    connection.commit()
    connection.close()
    members["database.sqlite3"] = database.read_bytes()
    manifest = json.loads(members["manifest.json"])
    manifest["alembic_revision"] = revision
    manifest["files"]["database.sqlite3"] = {"sha256": sha256(members["database.sqlite3"]),
                                             "size": len(members["database.sqlite3"])}
    members["manifest.json"] = json.dumps(manifest).encode()
    return write_archive(path, members)
