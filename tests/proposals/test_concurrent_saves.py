"""Two co-authors save one draft at the same moment, both from the version they opened.

Exactly one save wins; the other is refused as an edit conflict that carries the stored proposal
(the winner's text), so the page can show both texts and nothing typed is lost. Each writer works
in a thread with its own app context and database session, as two server processes would: on
SQLite the second writer waits for the first one's write lock, on PostgreSQL for its row lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import func, select

from expert_platform.accounts.models import User
from expert_platform.enums import Role
from expert_platform.extensions import db as _db
from expert_platform.proposals import services
from expert_platform.proposals.models import Proposal, ProposalRevision
from tests.html_tree import parse_html, textarea_text
from tests.proposals.page_steps import edit_form, save, signed_in, stored

WRITERS = 2
ROUNDS = 5


@dataclass(frozen=True)
class Outcome:
    """What one writer's save came to: saved, or refused with the stored proposal's id, version and text."""

    writer: int
    saved: bool
    conflict_proposal: tuple[int, int, str] | None = None


def content_typed_by(writer: int, round_number: int) -> services.Content:
    return services.Content(
        title="Shared water gauges", summary="A short summary.", body=text_of(writer, round_number), language="en",
        dimensions=("environmental",), member_state_ids=(), keywords=("water",),
    )


def text_of(writer: int, round_number: int) -> str:
    return f"Round {round_number}: the text typed by writer {writer}."


def save_at_once(app, proposal_id: int, authors: list[int], opened_at_version: int, round_number: int):
    """Each author saves from ``opened_at_version`` in a thread of their own, all released together."""
    start_together = threading.Barrier(len(authors))
    outcomes: list[Outcome] = []
    failures: list[BaseException] = []

    def write(writer: int, author_id: int) -> None:
        with app.app_context():
            try:
                start_together.wait(timeout=10)
                # The proposal is loaded only now: on SQLite the load begins the writing transaction.
                proposal = _db.session.get(Proposal, proposal_id)
                author = _db.session.get(User, author_id)
                services.save_content(actor=author, proposal=proposal, content=content_typed_by(writer, round_number),
                                      opened_at_version=opened_at_version)
                _db.session.commit()
                outcomes.append(Outcome(writer, saved=True))
            except services.EditConflict as conflict:
                carried = conflict.proposal
                outcomes.append(Outcome(writer, saved=False,
                                        conflict_proposal=(carried.id, carried.version, carried.body)))
                _db.session.rollback()
            except BaseException as error:  # noqa: BLE001 - reported by the assertion of the test
                failures.append(error)
                _db.session.rollback()
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=write, args=(writer, author_id)) for writer, author_id in enumerate(authors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [thread.is_alive() for thread in threads] == [False] * len(authors)
    assert [repr(failure) for failure in failures] == []
    return outcomes


def test_of_two_simultaneous_saves_from_one_version_exactly_one_wins_and_the_other_gets_the_stored_text(
    app, db, make_user, make_proposal
):
    coauthor = make_user(roles=(Role.EXPERT,))
    proposal = make_proposal(coauthors=[coauthor])
    authors = [proposal.authors[0].user_id, coauthor.id]
    proposal_id = proposal.id

    for round_number in range(1, ROUNDS + 1):
        opened_at_version = stored(proposal_id).version
        db.session.commit()  # no transaction of the test may hold SQLite's write lock while they race

        outcomes = save_at_once(app, proposal_id, authors, opened_at_version, round_number)

        assert sorted(outcome.saved for outcome in outcomes) == [False, True]
        winner = next(outcome.writer for outcome in outcomes if outcome.saved)
        loser = next(outcome for outcome in outcomes if not outcome.saved)
        after = stored(proposal_id)
        assert (after.body, after.version) == (text_of(winner, round_number), opened_at_version + 1)
        assert loser.conflict_proposal == (proposal_id, opened_at_version + 1, text_of(winner, round_number))
        db.session.commit()
    assert db.session.scalar(select(func.count(ProposalRevision.id))) == 0


# --- Through the edit pages ---------------------------------------------------------------------


def stored_text_shown(response) -> str:
    """The co-author's saved text as the conflict page shows it, beside the form."""
    shown = parse_html(response).find("textarea", id="stored-body")
    assert shown is not None, "the conflict page shows no saved text"
    return textarea_text(shown)


def typed_text_kept(response) -> str:
    """The text in the form of the conflict page: what this writer typed."""
    form = parse_html(response).find("textarea", name="body")
    assert form is not None, "the conflict page has no text field"
    return textarea_text(form)


def test_two_co_authors_who_opened_one_version_both_save_the_first_wins_the_second_sees_both_texts(
    app, make_user, make_proposal
):
    coauthor = make_user(roles=(Role.EXPERT,))
    proposal = make_proposal(coauthors=[coauthor], body="The text both opened.")
    lead_client = signed_in(app, proposal.authors[0].user)
    coauthor_client = signed_in(app, coauthor)
    opened_version = proposal.version
    lead_form = edit_form(lead_client, proposal.id)
    coauthor_form = edit_form(coauthor_client, proposal.id)
    assert lead_form["opened_at_version"] == coauthor_form["opened_at_version"] == str(opened_version)

    first = save(lead_client, proposal.id, lead_form, body="The lead's text <em>with care</em> & ampersands.")
    second = save(coauthor_client, proposal.id, coauthor_form, body="The co-author's text, typed meanwhile.")

    assert first.status_code == 302
    assert second.status_code == 409
    assert typed_text_kept(second) == "The co-author's text, typed meanwhile."
    assert stored_text_shown(second) == "The lead's text <em>with care</em> & ampersands."
    after = stored(proposal.id)
    assert (after.body, after.version) == ("The lead's text <em>with care</em> & ampersands.", opened_version + 1)
