"""Command-line tools: ``flask create-admin``, ``flask seed-demo``, ``flask council close-due|remind``,
``flask archive import``, ``flask search sync|rebuild|check``; ``flask backup create|restore`` lives in
``backup.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from . import demo
from .accounts import services as account_services
from .accounts.models import User
from .enums import Role
from .errors import DomainError
from .extensions import db
from .reference import services as reference_services


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _counted(count: int, noun: str) -> str:
    """``1 proposal``, ``2 proposals``: command output reads as sentences."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@click.command("create-admin")
@click.argument("email")
@click.option("--name", "display_name", default="Secretariat", show_default=True, help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def create_admin(email: str, display_name: str, password_stdin: bool) -> None:
    """Create a secretariat (admin) account with a confirmed email address."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = account_services.create_user(
            email=email, display_name=display_name, password=password, roles={Role.ADMIN}, is_email_confirmed=True
        )
    except DomainError as error:
        db.session.rollback()
        _fail(error.message)
        return
    db.session.commit()
    click.echo(f"Created secretariat account {user.email} (id {user.id}).")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def seed_demo(if_empty: bool) -> None:
    """Create demo accounts for every role, think tanks, experts, a council, and proposals in every
    state with reviews, open rounds and decisions (idempotent; refused in production)."""
    if not current_app.config.get("ALLOW_DEMO_DATA"):
        _fail("seed-demo is refused in production: it creates accounts with published passwords.")
        return
    if if_empty and (db.session.scalar(select(func.count(User.id))) or 0) > 0:
        click.echo("The database already has users: demo data not loaded.")
        return
    created: list[str] = []

    def report(email: str, password: str, roles) -> None:
        created.append(email)
        click.echo(f"  {email:32} {password:28} {', '.join(sorted(role.value for role in roles))}")

    click.echo("Demo accounts (development only):")
    try:
        demo.seed(report)
    except DomainError as error:
        db.session.rollback()
        _fail(error.message)
        return
    db.session.commit()
    for email, *_ in demo.DEMO_ACCOUNTS:
        if email not in created:
            click.echo(f"  {email:32} already present (password unchanged)")
    click.echo("Demo think tanks, experts, council delegations and proposals under review are in place.")


@click.command("seed-reference")
def seed_reference() -> None:
    """Load the shipped member states, observer states and observer organisations (idempotent)."""
    added = reference_services.load_reference_data()
    db.session.commit()
    click.echo(f"Reference data: {added} entries added.")


council_cli = AppGroup("council", help="Consensus rounds: settle those past their deadline, remind delegations.")


@council_cli.command("close-due")
def close_due() -> None:
    """Endorse every proposal whose round's deadline has passed with the consensus rule met
    (idempotent: run it from cron as often as you like). Rounds without consensus stay open for
    the secretariat to close."""
    from .enums import ConsensusOutcome
    from .proposals.models import Proposal
    from .review import rounds

    endorsed = waiting = 0
    for proposal_id in rounds.due_proposals():
        proposal = db.session.get(Proposal, proposal_id)
        outcome = rounds.settle(proposal=proposal) if proposal is not None else None
        db.session.commit()  # one proposal per transaction: one failure never holds back the others
        if outcome == ConsensusOutcome.ENDORSED:
            endorsed += 1
            click.echo(f"  {proposal.reference}: endorsed")
        elif outcome is not None:
            waiting += 1
            click.echo(f"  {proposal.reference}: {outcome.label.lower()}, waiting for the secretariat to close it")
    click.echo(f"Rounds past their deadline: {endorsed} endorsed, {waiting} without consensus.")


@council_cli.command("remind")
def remind() -> None:
    """Remind the delegations that have not answered a round closing within 48 hours (once per round
    and person, however often it runs)."""
    from .notifications import services as notifications

    written = notifications.remind()
    db.session.commit()
    click.echo(f"Reminders sent: {written}.")


archive_cli = AppGroup("archive", help="The archive of earlier outcomes.")


@archive_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report what would be imported; write nothing.")
def import_archive(file: Path, dry_run: bool) -> None:
    """Import outcomes of the earlier forum from FILE, one JSON object per line. Every line is checked
    first: if any is bad, each bad line is named and nothing is imported."""
    from .archive import importer

    try:
        # Not splitlines(): it also cuts at U+2028 and other separators a JSON string may hold.
        lines = [line.rstrip("\r") for line in file.read_text(encoding="utf-8-sig").split("\n")]
    except UnicodeDecodeError:
        _fail(f"{file} is not UTF-8 text: nothing was imported.")
        return
    records, errors = importer.validate(lines)
    if errors:
        for error in errors:
            click.echo(str(error), err=True)
        _fail(f"{_counted(len({error.line for error in errors}), 'bad line')}: nothing was imported.")
        return
    if dry_run:
        planned = importer.plan(records)
        click.echo(f"Dry run: would import {_counted(planned.total, 'proposal')} ({planned.created} created, "
                   f"{planned.updated} updated) and create "
                   f"{_counted(len(planned.think_tanks_created), 'archived think tank')}.")
        for name in planned.think_tanks_created:
            click.echo(f"  new think tank: {name}")
        click.echo("Nothing was written.")
        return
    with importer.garbage_collected_per_batch():
        try:
            if sys.stdout.isatty():
                with click.progressbar(length=len(records), label="Importing") as bar:
                    summary = importer.import_records(records, progress=bar.update)
            else:
                summary = importer.import_records(records)
        except DomainError as error:
            db.session.rollback()
            _fail(f"{error.message}: nothing was imported.")
            return
        db.session.commit()  # the search outbox indexes the imported proposals after this commit
    click.echo(f"Imported {_counted(summary.total, 'proposal')} ({summary.created} created, "
               f"{summary.updated} updated).")
    if summary.think_tanks_created:
        click.echo(f"Created {_counted(len(summary.think_tanks_created), 'archived think tank')}.")


search_cli = AppGroup("search", help="The archive's search index: apply pending changes, rebuild, check.")


@search_cli.command("sync")
def search_sync() -> None:
    """Apply every pending change to the index (what a process that died after its commit left); build
    the index from the database when it is empty but public proposals exist (a lost index folder)."""
    from .search import maintenance

    applied, rebuilt = maintenance.sync()
    click.echo(f"Search index: {_counted(applied, 'proposal')} brought up to date.")
    if rebuilt is not None:
        click.echo(f"The index was empty or out of date: rebuilt with {_counted(rebuilt, 'public proposal')}.")


@search_cli.command("rebuild")
def search_rebuild() -> None:
    """Build a new index from the database beside the current one, then swap it in."""
    from .search import maintenance

    click.echo(f"Search index rebuilt: {_counted(maintenance.rebuild(), 'public proposal')}.")


@search_cli.command("check")
def search_check() -> None:
    """Compare the index with the database; print every difference and exit 1 when there is any."""
    from .enums import ProposalState
    from .proposals.models import Proposal
    from .search import service

    differences = service.check()
    if differences:
        for difference in differences:
            click.echo(difference)
        _fail(f"{_counted(len(differences), 'difference')} between the index and the database: "
              "run `flask search sync`, or `flask search rebuild`.")
        return
    public = db.session.scalar(select(func.count(Proposal.id)).where(Proposal.state == ProposalState.ENDORSED))
    click.echo(f"The index matches the database ({_counted(public, 'public proposal')}).")


def register_commands(app: Flask) -> None:
    from .backup import backup_cli

    app.cli.add_command(archive_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(council_cli)
    app.cli.add_command(seed_reference)
    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
