"""Command-line tools: `flask create-admin` and `flask seed-demo`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from expert_platform import demo
from expert_platform.accounts.models import User
from expert_platform.demo import DEMO_ACCOUNTS
from expert_platform.enums import Dimension, Role
from tests.conftest import sign_in

GOOD_PASSWORD = "plum tractor violet harbour"


@pytest.fixture
def run(app):
    """Run a `flask` command against the test app; returns click's Result."""
    runner = app.test_cli_runner()
    return lambda *args, input=None: runner.invoke(args=list(args), input=input)


#: Every demo person: the README's accounts, the experts and the council members.
DEMO_PEOPLE = {email for email, *_ in DEMO_ACCOUNTS} | {expert.email for expert in demo.EXPERTS} | {
    email for email, *_ in demo.COUNCIL
}


def user_count(db) -> int:
    return db.session.scalar(select(func.count(User.id)))


def stored_user(db, email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def demo_lines(output: str) -> dict[str, list[str]]:
    """The words after each demo email in seed-demo's output, by email."""
    lines = {}
    for line in output.splitlines():
        words = line.split()
        if words and words[0] in {account[0] for account in DEMO_ACCOUNTS}:
            lines[words[0]] = words[1:]
    return lines


# --- create-admin --------------------------------------------------------------------------


def test_create_admin_reads_the_password_from_stdin_and_creates_a_confirmed_admin(run, db):
    result = run("create-admin", "chief@example.org", "--password-stdin", input=GOOD_PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    admin = stored_user(db, "chief@example.org")
    assert result.stdout == f"Created secretariat account chief@example.org (id {admin.id}).\n"
    assert admin.roles == {Role.ADMIN}
    assert admin.is_email_confirmed is True
    assert admin.is_active is True
    assert admin.display_name == "Secretariat"


def test_the_created_admin_can_sign_in_and_manage_users(run, client):
    run("create-admin", "chief@example.org", "--password-stdin", input=GOOD_PASSWORD + "\n")

    response = sign_in(client, "chief@example.org", GOOD_PASSWORD)

    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_create_admin_takes_a_display_name_and_stores_the_email_in_lower_case(run, db):
    result = run(
        "create-admin", "Chief@Example.ORG", "--name", "Amina Chief", "--password-stdin", input=GOOD_PASSWORD + "\n"
    )

    assert result.exit_code == 0, result.output
    admin = stored_user(db, "chief@example.org")
    assert admin.display_name == "Amina Chief"
    assert result.stdout == f"Created secretariat account chief@example.org (id {admin.id}).\n"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password1234", "This password is one of the most common passwords. Choose another."),
        ("short-pw", "Use at least 12 characters."),
    ],
    ids=["common", "short"],
)
def test_create_admin_refuses_a_weak_password_and_creates_nothing(run, db, password, reason):
    result = run("create-admin", "chief@example.org", "--password-stdin", input=password + "\n")

    assert result.exit_code == 1
    assert result.stderr == f"Error: {reason}\n"
    assert result.stdout == ""
    assert user_count(db) == 0


def test_create_admin_refuses_an_invalid_email_address(run, db):
    result = run("create-admin", "not-an-address", "--password-stdin", input=GOOD_PASSWORD + "\n")

    assert result.exit_code == 1
    assert result.stderr == "Error: Enter a valid email address.\n"
    assert user_count(db) == 0


def test_create_admin_refuses_an_email_that_has_an_account(run, db, make_user):
    make_user(email="taken@example.org", roles=(Role.RESEARCHER,))

    result = run("create-admin", "TAKEN@example.org", "--password-stdin", input=GOOD_PASSWORD + "\n")

    assert result.exit_code == 1
    assert result.stderr == "Error: An account with this email address already exists.\n"
    assert user_count(db) == 1
    assert stored_user(db, "taken@example.org").roles == {Role.RESEARCHER}


def test_create_admin_asks_for_the_password_twice_when_not_given_on_stdin(run, db):
    result = run("create-admin", "chief@example.org", input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n")

    assert result.exit_code == 0, result.output
    admin = stored_user(db, "chief@example.org")
    assert result.stdout == (
        "Password: \nRepeat for confirmation: \n"
        f"Created secretariat account chief@example.org (id {admin.id}).\n"
    )
    assert admin.roles == {Role.ADMIN}


def test_create_admin_creates_nothing_when_the_two_typed_passwords_differ(run, db):
    result = run("create-admin", "chief@example.org", input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}!\n")

    assert result.exit_code == 1
    assert "Error: The two entered values do not match." in result.output
    assert user_count(db) == 0


# --- seed-demo -----------------------------------------------------------------------------


def test_seed_demo_creates_one_confirmed_account_per_demo_entry(run, db):
    result = run("seed-demo")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Demo accounts (development only):"
    for email, name, _password, roles in DEMO_ACCOUNTS:
        user = stored_user(db, email)
        assert (user.display_name, user.roles, user.is_email_confirmed) == (name, roles, True)
    assert user_count(db) == len(DEMO_PEOPLE)


def test_seed_demo_gives_every_role_to_some_demo_account(run, db):
    result = run("seed-demo")

    assert result.exit_code == 0, result.output
    held = set().union(*(stored_user(db, email).roles for email, *_ in DEMO_ACCOUNTS))
    assert held == set(Role)


def test_seed_demo_prints_each_accounts_password_and_roles(run):
    result = run("seed-demo")

    assert result.exit_code == 0, result.output
    assert demo_lines(result.stdout) == {
        email: [password, *", ".join(sorted(role.value for role in roles)).split()]
        for email, _name, password, roles in DEMO_ACCOUNTS
    }


def test_each_demo_account_signs_in_with_its_printed_password(app, run):
    result = run("seed-demo")
    assert result.exit_code == 0, result.output
    printed = demo_lines(result.stdout)

    for email, name, _password, _roles in DEMO_ACCOUNTS:
        browser = app.test_client()
        response = sign_in(browser, email, printed[email][0])
        assert response.status_code == 302, email
        assert f"Signed in as {name}." in browser.get("/").get_data(as_text=True)


def test_seed_demo_a_second_time_creates_nothing(run, db):
    assert run("seed-demo").exit_code == 0

    result = run("seed-demo")

    assert result.exit_code == 0, result.output
    assert demo_lines(result.stdout) == {
        email: ["already", "present", "(password", "unchanged)"] for email, *_ in DEMO_ACCOUNTS
    }
    assert user_count(db) == len(DEMO_PEOPLE)


def test_seed_demo_if_empty_does_nothing_when_users_exist(run, db, make_user):
    make_user(email="someone@example.org")

    result = run("seed-demo", "--if-empty")

    assert result.exit_code == 0, result.output
    assert result.stdout == "The database already has users: demo data not loaded.\n"
    assert user_count(db) == 1


def test_seed_demo_if_empty_seeds_an_empty_database(run, db):
    result = run("seed-demo", "--if-empty")

    assert result.exit_code == 0, result.output
    assert user_count(db) == len(DEMO_PEOPLE)


def test_seed_demo_is_refused_in_production(app, run, db):
    app.config["ALLOW_DEMO_DATA"] = False

    result = run("seed-demo")

    assert result.exit_code == 1
    assert result.stderr == "Error: seed-demo is refused in production: it creates accounts with published passwords.\n"
    assert result.stdout == ""
    assert user_count(db) == 0


def test_seed_demo_builds_think_tanks_experts_and_a_council(run, db, client):
    from expert_platform.council.models import DelegationSeat
    from expert_platform.enums import DelegationRole, Participation, ThinkTankStatus
    from expert_platform.experts.models import ExpertProfile
    from expert_platform.thinktanks.models import Membership, ThinkTank

    assert run("seed-demo").exit_code == 0

    tanks = db.session.scalars(select(ThinkTank)).all()
    assert sorted((t.member_state.code, t.participation, t.status) for t in tanks) == [
        ("CN", Participation.LEAD, ThinkTankStatus.APPROVED),
        ("KZ", Participation.LEAD, ThinkTankStatus.APPROVED),
        ("RU", Participation.LEAD, ThinkTankStatus.APPROVED),
        ("TH", Participation.TEMPORARY, ThinkTankStatus.APPROVED),
        ("TR", Participation.PERMANENT, ThinkTankStatus.APPROVED),
    ]
    profiles = db.session.scalars(select(ExpertProfile)).all()
    assert len(profiles) == len(demo.EXPERTS)
    assert {d.dimension for p in profiles for d in p.dimensions} == set(Dimension)
    assert {lang.language for p in profiles for lang in p.languages} >= {"en", "ru", "zh", "kk", "tr", "th", "id"}
    active = db.session.scalar(select(func.count(Membership.id)).where(Membership.is_active.is_(True)))
    assert active == len(demo.EXPERTS)
    heads = db.session.scalars(
        select(DelegationSeat).where(DelegationSeat.role == DelegationRole.HEAD, DelegationSeat.removed_at.is_(None))
    ).all()
    assert len(heads) == 6
    council_page = client.get("/council").get_data(as_text=True)
    assert "Sara Council" in council_page and "Priya Sharma" in council_page
    directory = client.get("/experts").get_data(as_text=True)
    assert "Zhang Min" in directory and "Aigerim Sadykova" not in directory  # hers is for signed-in users


def test_seed_demo_twice_adds_no_think_tank_membership_or_seat(run, db):
    from expert_platform.council.models import DelegationSeat
    from expert_platform.thinktanks.models import Membership, ThinkTank

    def counts():
        return [db.session.scalar(select(func.count(model.id))) for model in (ThinkTank, Membership, DelegationSeat)]

    assert run("seed-demo").exit_code == 0
    first = counts()
    assert run("seed-demo").exit_code == 0
    assert counts() == first


def test_seed_demo_writes_proposals_in_every_state_and_both_languages(run, db):
    from expert_platform.enums import ProposalState
    from expert_platform.proposals.models import Proposal, ProposalRevision

    assert run("seed-demo").exit_code == 0

    proposals = db.session.scalars(select(Proposal)).all()
    assert {proposal.state for proposal in proposals} == set(ProposalState)
    assert {proposal.language for proposal in proposals} == {"en", "ru"}
    assert any(len(proposal.coauthors) >= 2 for proposal in proposals)
    most_revisions = max(
        db.session.scalar(select(func.count(ProposalRevision.id)).where(ProposalRevision.proposal_id == p.id))
        for p in proposals
    )
    assert most_revisions >= 2
    assert all(p.reference for p in proposals if p.state != ProposalState.DRAFT)
    assert run("seed-demo").exit_code == 0
    assert db.session.scalar(select(func.count(Proposal.id))) == len(proposals)
