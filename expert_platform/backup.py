"""Backups of the SQLite default: ``flask backup create`` and ``flask backup restore``.

A backup is one ``.tar.gz`` holding ``manifest.json``, ``database.sqlite3`` and ``uploads/<stored name>``
for every annex file. The database is copied with SQLite's online backup API in one step: the copy is
the database as of one moment, while the app keeps serving (WAL mode: writers do not block it). The
annex files are those the copied database lists: a file is written before its row is committed and
never changed, so every annex of the copy is on disk when the copy is taken; files of uploads that
commit later belong to the next backup.

Restoring verifies everything before touching anything (member names, the manifest, every checksum,
the database's integrity and counts), stages the files beside their targets, then swaps them in with
renames. PostgreSQL is refused: ``pg_dump`` and ``pg_restore`` do this job there (docs/deployment.md).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.engine import URL

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "database.sqlite3"
ARCHIVE_SUFFIX = ".tar.gz"
UPLOADS = "uploads"
#: What the manifest counts, by the name it gives them: the tables an operator checks after a restore.
COUNTED_TABLES = {
    "proposals": "proposals",
    "revisions": "proposal_revisions",
    "positions": "delegation_positions",
    "annexes": "proposal_annexes",
}
#: Tables whose rows do not make a database "not empty" (a fresh `flask db upgrade` fills this one).
BOOKKEEPING_TABLES = frozenset({"alembic_version"})
BUSY_TIMEOUT_MS = 15_000
_CHUNK_BYTES = 1024 * 1024


class BackupError(Exception):
    """The backup or restore was refused; the message says why and what to do. Nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- which databases ------------------------------------------------------------------------------


def refusal_for(url: URL) -> str | None:
    """Why ``flask backup`` cannot handle the database at ``url``, or None when it can (a SQLite file)."""
    if url.get_backend_name() == "postgresql":
        return ("The database is PostgreSQL: back it up with pg_dump and restore it with pg_restore "
                "(docs/deployment.md explains both). `flask backup` handles the SQLite default only.")
    if url.get_backend_name() != "sqlite":
        return f"`flask backup` handles the SQLite default only, not {url.get_backend_name()}."
    if url.database in (None, "", ":memory:") or url.database.startswith("file::memory:"):
        return "The database is in memory: there is no file to back up or restore."
    return None


def database_file(url: URL) -> Path:
    """The SQLite file of ``url`` (``refusal_for`` returned None)."""
    return Path(url.database).resolve()


# --- creating -------------------------------------------------------------------------------------


@dataclass
class Created:
    path: Path
    manifest: dict
    missing_files: list[str] = field(default_factory=list)
    damaged_files: list[str] = field(default_factory=list)


def default_name(now: datetime) -> str:
    return f"expert-platform-{now.strftime('%Y%m%dT%H%M%SZ')}{ARCHIVE_SUFFIX}"


def create(*, database_path: Path, upload_dir: Path, destination: Path, now: datetime | None = None) -> Created:
    """Write a backup of the database at ``database_path`` and of its annex files in ``upload_dir``.

    ``destination`` is the archive's path when it ends in ``.tar.gz``, else a folder (created when
    missing) where the archive gets a name with the UTC time. The archive appears under its final name
    only once complete (written beside, then renamed), readable by its owner only: it holds password
    hashes. Annex files the database lists but the folder lacks,
    or whose content no longer matches the recorded SHA-256, are reported (and the damaged ones kept
    as they are): a backup is never refused because of them.
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if not database_path.is_file():
        raise BackupError(f"There is no database at {database_path}: nothing to back up.")
    target = destination if destination.name.endswith(ARCHIVE_SUFFIX) else destination / default_name(now)
    if target.exists():
        raise BackupError(f"{target} already exists: choose another name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".backup-{uuid.uuid4().hex}"
    staging.mkdir(mode=0o700)
    try:
        snapshot = staging / DATABASE
        _snapshot(database_path, snapshot)
        counts, revision, annex_rows = _describe(snapshot)
        files = {DATABASE: _file_entry(snapshot)}
        missing, damaged = [], []
        (staging / UPLOADS).mkdir()
        for stored_name, recorded_sha256 in annex_rows:
            source = upload_dir / stored_name
            if not _is_plain_name(stored_name) or not source.is_file():
                missing.append(stored_name)
                continue
            copy = staging / UPLOADS / stored_name
            entry = _copy_hashing(source, copy)
            if entry["sha256"] != recorded_sha256:
                damaged.append(stored_name)
            files[f"{UPLOADS}/{stored_name}"] = entry
        manifest = {
            "format_version": FORMAT_VERSION,
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "alembic_revision": revision,
            "counts": counts,
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _write_archive(staging, sorted(files), target, mtime=int(now.timestamp()))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Created(path=target, manifest=manifest, missing_files=missing, damaged_files=damaged)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def _snapshot(database_path: Path, copy: Path) -> None:
    """Copy the database with SQLite's backup API in one step (``pages=-1``): a read transaction spans
    the whole copy, so it is the database of one moment whatever other connections write meanwhile.
    The copy leaves WAL mode: it is one self-contained file."""
    source = sqlite3.connect(f"{database_path.as_uri()}?mode=rw", uri=True)  # never creates a file
    try:
        source.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        target = _connect(copy)
        try:
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"The database at {database_path} could not be copied: {error}.") from error
    finally:
        source.close()
    os.chmod(copy, 0o600)


def _tables(connection: sqlite3.Connection) -> list[str]:
    return [name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _describe(database: Path) -> tuple[dict[str, int | None], str | None, list[tuple[str, str]]]:
    """The counts of COUNTED_TABLES (None for a table the database lacks), the Alembic revision (None
    when the database was not made by migrations) and the (stored name, sha256) of every annex."""
    connection = _connect(database)
    try:
        tables = set(_tables(connection))
        counts = {label: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                  if table in tables else None for label, table in COUNTED_TABLES.items()}
        revision = None
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        annexes = []
        if COUNTED_TABLES["annexes"] in tables:
            annexes = list(connection.execute("SELECT stored_name, sha256 FROM proposal_annexes ORDER BY id"))
        return counts, revision, annexes
    finally:
        connection.close()


def _is_plain_name(name: str) -> bool:
    """A file name without any path in it (what UPLOAD_DIR holds)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def _file_entry(path: Path) -> dict:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def _copy_hashing(source: Path, target: Path) -> dict:
    """Copy ``source`` to ``target`` (owner-only) and return the copy's size and SHA-256: what is archived
    is what was hashed, even if someone touched the original meanwhile."""
    digest = hashlib.sha256()
    size = 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as reader, os.fdopen(descriptor, "wb") as writer:
        while chunk := reader.read(_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


def _write_archive(staging: Path, names: list[str], target: Path, *, mtime: int) -> None:
    """The manifest first (``tar tzf`` shows it on top), then the files; written to a temporary name,
    synced, then renamed, so an interrupted backup never looks like a complete one."""
    partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.partial"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
                for name in [MANIFEST, *names]:
                    path = staging / name
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime, info.mode = path.stat().st_size, mtime, 0o600
                    with path.open("rb") as stream:
                        archive.addfile(info, stream)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


# --- verifying and restoring ----------------------------------------------------------------------


@dataclass
class Restored:
    manifest: dict
    revision: str | None


def is_empty(database_path: Path) -> bool:
    """No row in any table but bookkeeping ones (a missing file, or a fresh `flask db upgrade`)."""
    if not database_path.exists():
        return True
    connection = sqlite3.connect(f"{database_path.as_uri()}?mode=rw", uri=True)
    try:
        return not any(connection.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone()
                       for table in _tables(connection) if table not in BOOKKEEPING_TABLES)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"The database at {database_path} cannot be read ({error}): nothing was changed.") from error
    finally:
        connection.close()


def restore(*, archive_path: Path, database_path: Path, upload_dir: Path, replace: bool,
            known_revisions: set[str] | None = None) -> Restored:
    """Replace the database and the annex files with those of the backup at ``archive_path``.

    Refuses (BackupError, nothing changed) a file that is not a backup, a member with an absolute
    path, ``..`` or anything but a regular file, a manifest that does not describe the members, any
    checksum that differs, a database that fails SQLite's integrity check or whose counts differ from
    the manifest, a backup from a newer schema than ``known_revisions`` (when given), a target database
    that is not empty unless ``replace``, and a database another process still has open. The app's
    own connections must be closed first (the CLI disposes its engine).
    """
    staged_database = database_path.parent / f".{database_path.name}.restore-{uuid.uuid4().hex}"
    staged_uploads = upload_dir.parent / f".{upload_dir.name}.restore-{uuid.uuid4().hex}"
    database_path.parent.mkdir(parents=True, exist_ok=True)
    upload_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        manifest = _extract(archive_path, staged_database, staged_uploads)
        revision = manifest.get("alembic_revision")
        if known_revisions is not None and revision is not None and revision not in known_revisions:
            raise BackupError(f"The backup's schema is at revision {revision}, which this version of the platform "
                              "does not know: it comes from a newer version. Install that version (or newer) "
                              "first; nothing was changed.")
        if not replace and not is_empty(database_path):
            raise BackupError(f"The database at {database_path} is not empty: restoring replaces everything in it "
                              "and the annex files. Run again with --yes to replace it; nothing was changed.")
        _swap_in(staged_database, database_path, staged_uploads, upload_dir)
    finally:
        staged_database.unlink(missing_ok=True)
        shutil.rmtree(staged_uploads, ignore_errors=True)
    return Restored(manifest=manifest, revision=revision)


def _refuse(archive_path: Path, reason: str) -> BackupError:
    return BackupError(f"{archive_path} is not a usable backup: {reason}. Nothing was changed.")


def _member_problem(member: tarfile.TarInfo) -> str | None:
    """Why a member cannot be part of a backup, or None."""
    name = member.name
    path = PurePosixPath(name)
    if not name or name.startswith(("/", "\\")) or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return f"the member {name!r} has an absolute path"
    if ".." in path.parts or ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return f"the member {name!r} has '..' in its path"
    if not member.isreg():
        return f"the member {name!r} is not a regular file"
    if name in (MANIFEST, DATABASE):
        return None
    if len(path.parts) == 2 and path.parts[0] == UPLOADS and _is_plain_name(path.parts[1]):
        return None
    return f"the member {name!r} is not part of a backup's layout"


def _extract(archive_path: Path, staged_database: Path, staged_uploads: Path) -> dict:
    """Check the archive and write its database and files to the staging paths; its manifest."""
    if not archive_path.is_file():
        raise BackupError(f"There is no file at {archive_path}: nothing was changed.")
    try:
        with tarfile.open(archive_path, mode="r:gz") as archive:
            members = archive.getmembers()
            names = [member.name for member in members]
            for member in members:
                problem = _member_problem(member)
                if problem:
                    raise _refuse(archive_path, problem)
            if len(set(names)) != len(names):
                raise _refuse(archive_path, "a member appears twice")
            if MANIFEST not in names:
                raise _refuse(archive_path, f"it has no {MANIFEST}")
            manifest = _read_manifest(archive_path, archive.extractfile(MANIFEST).read())
            listed = set(manifest["files"])
            present = set(names) - {MANIFEST}
            if listed != present or DATABASE not in listed:
                differences = sorted(listed ^ present) or [DATABASE]
                raise _refuse(archive_path, f"its members do not match its manifest ({', '.join(differences)})")
            staged_uploads.mkdir(mode=0o700, parents=True)
            for member in members:
                if member.name == MANIFEST:
                    continue
                target = staged_database if member.name == DATABASE else staged_uploads / PurePosixPath(
                    member.name).name
                _extract_checked(archive_path, archive, member, target, manifest["files"][member.name])
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise _refuse(archive_path, f"it is not a complete .tar.gz archive ({error})") from error
    _check_database(archive_path, staged_database, manifest)
    return manifest


def _read_manifest(archive_path: Path, raw: bytes) -> dict:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _refuse(archive_path, f"its {MANIFEST} is not JSON") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise _refuse(archive_path, f"its {MANIFEST} does not describe a backup")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise _refuse(archive_path, f"its format version is {version!r}; this version of the platform reads "
                                    f"version {FORMAT_VERSION}")
    for name, entry in manifest["files"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise _refuse(archive_path, f"its {MANIFEST} gives no checksum for {name!r}")
    return manifest


def _extract_checked(archive_path: Path, archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path,
                     entry: dict) -> None:
    digest = hashlib.sha256()
    source = archive.extractfile(member)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as writer:
        while chunk := source.read(_CHUNK_BYTES):
            digest.update(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    if digest.hexdigest() != entry["sha256"]:
        raise _refuse(archive_path, f"the checksum of {member.name} differs from its manifest (the file is damaged)")


def _check_database(archive_path: Path, staged_database: Path, manifest: dict) -> None:
    try:
        connection = _connect(staged_database)
        try:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            connection.close()
        counts, revision, _annexes = _describe(staged_database)
    except sqlite3.DatabaseError as error:
        raise _refuse(archive_path, f"its database cannot be read ({error})") from error
    if verdict != "ok":
        raise _refuse(archive_path, f"its database fails SQLite's integrity check ({verdict})")
    if counts != manifest.get("counts") or revision != manifest.get("alembic_revision"):
        raise _refuse(archive_path, "its database does not hold what its manifest counts")


def _leave_wal_mode(database_path: Path) -> None:
    """Fold the live database's WAL into it and leave WAL mode, which SQLite allows only when no other
    connection is open: it proves no server still uses the file, and no stale ``-wal`` file is left to
    be replayed into the restored database."""
    if not database_path.exists():
        return
    connection = sqlite3.connect(database_path, isolation_level=None, timeout=1.0)
    try:
        mode = connection.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError:
        mode = None
    finally:
        connection.close()
    if mode != "delete":
        raise BackupError(f"The database at {database_path} is in use by another process: stop the application "
                          "(its servers, workers and cron jobs), then restore again. Nothing was changed.")


def _swap_in(staged_database: Path, database_path: Path, staged_uploads: Path, upload_dir: Path) -> None:
    """Rename the staged files over the live ones: the uploads folder first (the old one moved aside, and
    moved back if the database cannot be replaced), then the database file."""
    _leave_wal_mode(database_path)
    aside = upload_dir.parent / f".{upload_dir.name}.replaced-{uuid.uuid4().hex}"
    had_uploads = upload_dir.exists()
    if had_uploads:
        os.replace(upload_dir, aside)
    try:
        os.replace(staged_uploads, upload_dir)
        try:
            os.replace(staged_database, database_path)
        except BaseException:
            os.replace(upload_dir, staged_uploads)
            raise
    except BaseException:
        if had_uploads:
            os.replace(aside, upload_dir)
        raise
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{database_path}{suffix}").unlink(missing_ok=True)
    _sync_folder(database_path.parent)
    _sync_folder(upload_dir.parent)
    if had_uploads:
        shutil.rmtree(aside, ignore_errors=True)


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- the Alembic revisions of this code ----------------------------------------------------------


def code_revisions() -> tuple[str | None, set[str]]:
    """The head revision of the migrations shipped with this code, and every revision they know."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", current_app.extensions["migrate"].directory)
    scripts = ScriptDirectory.from_config(config)
    return scripts.get_current_head(), {script.revision for script in scripts.walk_revisions()}


# --- commands -------------------------------------------------------------------------------------


backup_cli = AppGroup("backup", help="Back up and restore the SQLite database and the annex files.")


def _sqlite_file() -> Path:
    from .extensions import db

    refusal = refusal_for(db.engine.url)
    if refusal:
        raise click.ClickException(refusal)
    return database_file(db.engine.url)


def _size(size_bytes: int) -> str:
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:.1f} KB"
    return f"{size_bytes / (1024 * 1024):.1f} MB"


def _counted(count: int | None, noun: str) -> str:
    """``1 proposal``, ``2 proposals``, ``no proposals`` (a table the backup's schema lacks)."""
    if count is None:
        return f"no {noun}s"
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _counts_text(counts: dict) -> str:
    return ", ".join(_counted(counts.get(label), label[:-1]) for label in COUNTED_TABLES)


@backup_cli.command("create")
@click.argument("destination", required=False, type=click.Path(path_type=Path))
def create_command(destination: Path | None) -> None:
    """Write a backup of the database and the annex files to DESTINATION: a file name ending in .tar.gz,
    or a folder (default instance/backups/) where the file is named with the UTC time. Safe while the
    application runs."""
    database_path = _sqlite_file()
    destination = destination or Path(current_app.instance_path) / "backups"
    started = time.monotonic()
    try:
        created = create(database_path=database_path, upload_dir=Path(current_app.config["UPLOAD_DIR"]),
                         destination=destination)
    except BackupError as error:
        raise click.ClickException(error.message) from error
    except OSError as error:
        raise click.ClickException(f"The backup could not be written: {error}.") from error
    manifest = created.manifest
    files = [name for name in manifest["files"] if name != DATABASE]
    click.echo(f"Backup written to {created.path} ({_size(created.path.stat().st_size)}, "
               f"{time.monotonic() - started:.1f} s).")
    click.echo(f"  database: {_counts_text(manifest['counts'])}; "
               f"schema revision {manifest['alembic_revision'] or 'none recorded'}")
    annex_bytes = sum(manifest["files"][name]["size"] for name in files)
    click.echo(f"  {_counted(len(files), 'annex file')} ({_size(annex_bytes)})")
    for stored_name in created.missing_files:
        click.echo(f"  Warning: the annex file {stored_name} is missing from {current_app.config['UPLOAD_DIR']}.",
                   err=True)
    for stored_name in created.damaged_files:
        click.echo(f"  Warning: the annex file {stored_name} differs from its recorded SHA-256 (archived as it is).",
                   err=True)


@backup_cli.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Replace a database that is not empty (and its annex files).")
def restore_command(file: Path, yes: bool) -> None:
    """Restore the backup FILE: verify it, replace the database and the annex files, rebuild the search
    index. Stop the application first."""
    from .extensions import db
    from .search import maintenance as search_maintenance
    from .search import service as search_service

    database_path = _sqlite_file()
    head, known = code_revisions()
    db.session.remove()
    db.engine.dispose()  # this process's connections would otherwise keep the old file open
    try:
        restored = restore(archive_path=file, database_path=database_path,
                           upload_dir=Path(current_app.config["UPLOAD_DIR"]), replace=yes, known_revisions=known)
    except BackupError as error:
        raise click.ClickException(error.message) from error
    except OSError as error:  # a target folder cannot be written: the staged files are gone, the old ones stay
        raise click.ClickException(f"The backup could not be restored: {error}. Nothing was changed.") from error
    manifest = restored.manifest
    annex_files = len(manifest["files"]) - 1
    click.echo(f"Restored the backup of {manifest.get('created_at')} into {database_path}: "
               f"{_counts_text(manifest['counts'])}; {_counted(annex_files, 'annex file')} in "
               f"{current_app.config['UPLOAD_DIR']}.")
    if restored.revision is not None and restored.revision != head:
        click.echo(f"The backup's schema is at revision {restored.revision}; this version of the platform expects "
                   f"{head}. Run `flask db upgrade`, then `flask search rebuild`, before starting the application.")
        return
    if restored.revision is None:
        click.echo("The backup's database records no schema revision (it was not created by `flask db upgrade`).")
    search_service.forget_engine_caches()
    try:
        count = search_maintenance.rebuild()
    except Exception as error:  # the data is restored; only the index is behind, and the fix is known
        raise click.ClickException(f"The data is restored but the search index could not be rebuilt ({error}): "
                                   "run `flask db upgrade`, then `flask search rebuild`.") from error
    click.echo(f"Search index rebuilt: {_counted(count, 'public proposal')}.")
