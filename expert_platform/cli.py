"""Command-line tools: ``flask create-admin``, ``flask seed-demo``, ``flask council close-due|remind``."""

from __future__ import annotations

import sys

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


def register_commands(app: Flask) -> None:
    app.cli.add_command(council_cli)
    app.cli.add_command(seed_reference)
    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
