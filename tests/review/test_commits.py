"""The request's one commit (expert_platform/transactions.py, ARCHITECTURE.md section 2): a view that acts
commits once, through ``web.act``; a GET that must write (settling a consensus round whose deadline passed)
commits nothing itself: the request commits after the view, with its page, or rolls back on an error page.
The only modules that commit are the commit itself and what runs outside requests (the command line, the
search index's maintenance), so no GET view, nor anything it calls, commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from expert_platform import transactions
from expert_platform.enums import ProposalState
from expert_platform.extensions import db as _db
from expert_platform.proposals.models import Proposal
from tests.proposals.page_steps import signed_in

PACKAGE = Path(__file__).resolve().parents[2] / "expert_platform"
#: The modules that may commit, and why: the request's one commit; command-line commands; sync and rebuild of
#: the search index (commands, restoring a backup).
COMMITTING_MODULES = {"transactions.py", "cli.py", "search/maintenance.py"}


def test_only_the_request_commit_and_the_commands_commit():
    committing = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                  if "db.session.commit()" in path.read_text(encoding="utf-8")}
    assert committing == COMMITTING_MODULES


@pytest.fixture
def commits(monkeypatch):
    """The function that called ``transactions.commit``, for each commit a request made."""
    callers = []
    real = transactions.commit

    def recording(*args, **kwargs):
        import inspect

        callers.append(inspect.stack()[1].function)
        return real(*args, **kwargs)

    monkeypatch.setattr(transactions, "commit", recording)
    return callers


@pytest.mark.parametrize("path", ["/proposals/{}", "/proposals/{}/review", "/proposals/{}/discussion"])
def test_a_page_that_settles_a_due_round_commits_after_its_view(app, commits, make_council, make_due_proposals, path):
    council = make_council(("CN", "IN", "RU"))
    [proposal] = make_due_proposals(1)
    viewer = signed_in(app, council["CN"])
    commits.clear()  # signing in committed

    response = viewer.get(path.format(proposal.id))

    assert response.status_code == 200
    assert commits == ["_commit_what_a_read_wrote"]
    _db.session.expire_all()
    assert _db.session.get(Proposal, proposal.id).state == ProposalState.ENDORSED


def test_a_page_that_reads_only_commits_nothing(app, commits, make_proposal, client):
    proposal = make_proposal()
    client.get("/archive")
    client.get(f"/proposals/{proposal.id}")
    assert commits == []
