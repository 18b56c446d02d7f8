"""Keeping the index in step with the database: the outbox, and `flask search sync|rebuild|check`.

Acceptance (issue 6): `flask search check` passes after an import, after edits and after a rebuild,
and detects a planted difference; a process killed between its commit and its indexing loses
nothing once `flask search sync` runs.
"""

from __future__ import annotations

import json
import logging
import shutil

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from whoosh import query

from expert_platform.enums import ProposalState, Role
from expert_platform.extensions import db
from expert_platform.proposals.models import Proposal
from expert_platform.search import index_store, maintenance, postgres
from expert_platform.search import service as search
from expert_platform.search.service import Filters
from expert_platform.thinktanks.models import ThinkTank
from tests.journeys import take
from tests.search_corpus import publish

SYNC_HINT = "run `flask search sync`, or `flask search rebuild`."


def outcome(reference: str, title: str, state: str = "endorsed") -> dict:
    return {"reference": reference, "title": title, "summary": "A summary.", "body": f"About {title.lower()}.",
            "language": "en", "dimensions": ["human"], "member_states": ["KZ"], "keywords": ["archive"],
            "think_tanks": [{"name": "Steppe Institute", "member_state": "KZ"}], "authors": ["Dana Omarova"],
            "state": state, "submitted_at": "2016-03-01", "decided_at": "2016-09-01"}


OUTCOMES = [outcome("TTF-2016-1", "Nomadic heritage"), outcome("TTF-2016-2", "Steppe railways"),
            outcome("TTF-2016-3", "Grain corridors"), outcome("TTF-2016-4", "Border clinics", "not_endorsed")]


@pytest.fixture
def run(app, db, states):
    """Run a `flask` command as another process would: the test's own transaction ends first (a
    SQLite reader would otherwise hold the lock the command's indexing session waits for)."""
    runner = app.test_cli_runner()

    def invoke(*args):
        db.session.commit()
        return runner.invoke(args=list(args))

    return invoke


@pytest.fixture
def imported(run, tmp_path):
    """The four outcomes imported with `flask archive import` (three endorsed)."""
    path = tmp_path / "outcomes.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in OUTCOMES), encoding="utf-8")
    result = run("archive", "import", str(path))
    assert result.exit_code == 0, result.output
    return path


def references(text: str = "") -> list[str]:
    return sorted(hit.proposal.reference for hit in search.search(text, Filters(), None, per_page=100).hits)


def stored(db, reference: str) -> Proposal:
    return db.session.scalar(select(Proposal).where(Proposal.reference == reference))


def committed_count(db) -> int:
    """Proposals as another process sees them (a session of its own)."""
    with Session(db.engine) as other:
        return other.scalar(select(func.count(Proposal.id)))


def plant(**document) -> None:
    """Write an index entry behind the outbox's back, in whichever backend is in use."""
    if search.backend() == "postgres":
        postgres.write(db.session, [(document, document["stored_body"])])
        db.session.commit()
        return
    writer = index_store.writer()
    writer.update_document(**document)
    writer.commit()


def unplant(proposal_id: int) -> None:
    if search.backend() == "postgres":
        postgres.remove(db.session, [proposal_id])
        db.session.commit()
        return
    writer = index_store.writer()
    writer.delete_by_term("proposal_id", str(proposal_id))
    writer.commit()


def lose_the_index(app) -> None:
    """What an operator may face: the Whoosh folder lost, or the PostgreSQL index table emptied."""
    if search.backend() == "postgres":
        postgres.clear(db.session)
        db.session.commit()
        return
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])


@pytest.fixture
def endorsed_on_the_platform(app, db, states, make_user, make_proposal):
    """A proposal written by an expert and endorsed by the council through the services."""
    secretariat = make_user(email="secretariat@example.org", roles=(Role.ADMIN,))
    author = make_user(roles=(Role.EXPERT,), display_name="Ann Lee")
    proposal = make_proposal(author=author, title="Mountain glacier observatories", body="Glaciers melt.")
    for action, actor in (("submit", author), ("start_review", secretariat), ("open_consensus", secretariat),
                          ("endorse", secretariat)):
        take(proposal, action, actor)
        db.session.commit()
    assert proposal.state == ProposalState.ENDORSED
    return proposal


# --- check -----------------------------------------------------------------------------------------


def test_check_passes_on_an_empty_archive(run):
    result = run("search", "check")

    assert (result.exit_code, result.output) == (0, "The index matches the database (0 public proposals).\n")


def test_check_passes_after_an_import(run, imported):
    result = run("search", "check")

    assert (result.exit_code, result.output) == (0, "The index matches the database (3 public proposals).\n")
    assert references() == ["TTF-2016-1", "TTF-2016-2", "TTF-2016-3"]


def test_check_passes_after_an_edit_by_reimport(run, imported, tmp_path, db):
    path = tmp_path / "edit.jsonl"
    path.write_text(json.dumps(outcome("TTF-2016-2", "Steppe highways")) + "\n", encoding="utf-8")
    run("archive", "import", str(path))

    result = run("search", "check")

    assert (result.exit_code, result.output) == (0, "The index matches the database (3 public proposals).\n")
    assert references("highways") == ["TTF-2016-2"]
    assert references("railways") == []


def test_a_proposal_endorsed_on_the_platform_is_searchable_at_once_and_check_passes(run, endorsed_on_the_platform,
                                                                                   db):
    reference = endorsed_on_the_platform.reference

    assert references("glacier") == [reference]
    assert references("author:lee") == [reference]
    assert search.pending_count() == 0
    assert run("search", "check").output == "The index matches the database (1 public proposal).\n"


def test_an_author_who_changes_their_name_is_found_by_the_new_one(run, endorsed_on_the_platform, db):
    reference = endorsed_on_the_platform.reference
    endorsed_on_the_platform.coauthors[0].user.display_name = "Ann Leeward"
    db.session.commit()

    assert references("author:leeward") == [reference]
    assert references("author:lee") == []
    assert run("search", "check").exit_code == 0


def test_a_think_tank_renamed_is_found_by_its_new_name(run, imported, db):
    tank = db.session.scalar(select(ThinkTank).where(ThinkTank.name == "Steppe Institute"))
    tank.name = "Great Steppe Institute"
    db.session.commit()

    assert references("thinktank:great") == ["TTF-2016-1", "TTF-2016-2", "TTF-2016-3"]
    assert run("search", "check").exit_code == 0


def test_check_sees_an_author_or_a_think_tank_the_index_has_wrong(run, imported, db):
    plant(**{**search.document_of(stored(db, "TTF-2016-1")), "author": "Someone Else"})
    plant(**{**search.document_of(stored(db, "TTF-2016-2")), "thinktank": "Old Name"})

    assert run("search", "check").stdout == ("TTF-2016-1: author differs in the index\n"
                                            "TTF-2016-2: thinktank differs in the index\n")


def test_check_passes_after_a_rebuild(run, imported):
    rebuilt = run("search", "rebuild")
    result = run("search", "check")

    assert (rebuilt.exit_code, rebuilt.output) == (0, "Search index rebuilt: 3 public proposals.\n")
    assert (result.exit_code, result.output) == (0, "The index matches the database (3 public proposals).\n")
    assert references("railways") == ["TTF-2016-2"]


def test_check_detects_a_stale_entry_and_exits_1(run, imported, db):
    proposal = stored(db, "TTF-2016-2")
    plant(**{**search.document_of(proposal), "stored_title": "Steppe railways (old title)"})

    result = run("search", "check")

    assert result.exit_code == 1
    assert result.stdout == "TTF-2016-2: stored_title differs in the index\n"
    assert result.stderr == f"Error: 1 difference between the index and the database: {SYNC_HINT}\n"


def test_check_detects_a_missing_entry(run, imported, db):
    unplant(stored(db, "TTF-2016-3").id)

    result = run("search", "check")

    assert result.exit_code == 1
    assert result.stdout == "TTF-2016-3: public but not in the index\n"


def test_check_detects_an_entry_that_is_not_public(run, imported, db):
    plant(**search.document_of(stored(db, "TTF-2016-4")))

    result = run("search", "check")

    assert result.exit_code == 1
    assert result.stdout == "TTF-2016-4: in the index but not public\n"


def test_a_rebuild_repairs_every_planted_difference(run, imported, db):
    plant(**{**search.document_of(stored(db, "TTF-2016-2")), "facet_year": "1999"})
    plant(**search.document_of(stored(db, "TTF-2016-4")))
    assert run("search", "check").stdout == ("TTF-2016-2: facet_year differs in the index\n"
                                            "TTF-2016-4: in the index but not public\n")

    run("search", "rebuild")

    assert run("search", "check").exit_code == 0
    assert references("clinics") == []


# --- a crash between commit and indexing -----------------------------------------------------------


@pytest.fixture
def indexing_crashes(monkeypatch):
    """The process dies after its commit, before its indexing: applying the outbox raises."""

    def crash(*args, **kwargs):
        raise RuntimeError("killed between commit and indexing")

    monkeypatch.setattr(search, "apply_outbox", crash)
    return monkeypatch


def test_a_crash_after_the_commit_loses_nothing_once_sync_runs(run, tmp_path, db, indexing_crashes, caplog):
    path = tmp_path / "outcomes.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in OUTCOMES), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="expert_platform.search.outbox"):
        imported = run("archive", "import", str(path))
    indexing_crashes.undo()

    assert imported.exit_code == 0, imported.output
    assert committed_count(db) == 4
    if search.backend() == "postgres":
        # The index is in the database: the import wrote the entries in its own transaction, nothing was left
        # for after the commit.
        assert search.pending_count() == 0
        assert references() == ["TTF-2016-1", "TTF-2016-2", "TTF-2016-3"]
        assert caplog.records == []
        assert run("search", "check").exit_code == 0
        return
    assert search.pending_count() == 4
    assert references() == []
    ids = sorted(db.session.scalars(select(Proposal.id)))
    assert [record.getMessage() for record in caplog.records] == [f"search.index_failed proposals={ids}"]
    assert run("search", "check").stdout == ("TTF-2016-1: public but not in the index\n"
                                            "TTF-2016-2: public but not in the index\n"
                                            "TTF-2016-3: public but not in the index\n")

    synced = run("search", "sync")

    assert (synced.exit_code, synced.output) == (0, "Search index: 4 proposals brought up to date.\n")
    assert references() == ["TTF-2016-1", "TTF-2016-2", "TTF-2016-3"]
    assert search.pending_count() == 0
    assert run("search", "check").exit_code == 0


def test_a_crash_after_an_endorsement_loses_nothing_once_sync_runs(run, app, states, db, make_user, make_proposal,
                                                                   indexing_crashes):
    secretariat = make_user(email="secretariat@example.org", roles=(Role.ADMIN,))
    author = make_user(roles=(Role.EXPERT,))
    proposal = make_proposal(author=author, title="Mountain glacier observatories")
    for action, actor in (("submit", author), ("start_review", secretariat), ("open_consensus", secretariat),
                          ("endorse", secretariat)):
        take(proposal, action, actor)
        db.session.commit()
    indexing_crashes.undo()

    assert references("glacier") == []
    assert run("search", "check").exit_code == 1

    run("search", "sync")

    assert references("glacier") == [proposal.reference]
    assert run("search", "check").exit_code == 0


def test_a_second_sync_in_a_row_does_nothing(run, imported):
    first = run("search", "sync")
    second = run("search", "sync")

    assert first.output == "Search index: 0 proposals brought up to date.\n"
    assert (second.exit_code, second.output) == (0, "Search index: 0 proposals brought up to date.\n")
    assert references() == ["TTF-2016-1", "TTF-2016-2", "TTF-2016-3"]


def test_sync_rebuilds_an_index_whose_folder_was_lost(run, imported, app):
    lose_the_index(app)

    result = run("search", "sync")

    assert (result.exit_code, result.output) == (
        0, "Search index: 0 proposals brought up to date.\n"
           "The index was empty or out of date: rebuilt with 3 public proposals.\n")
    assert references() == ["TTF-2016-1", "TTF-2016-2", "TTF-2016-3"]
    assert run("search", "check").exit_code == 0


def test_sync_leaves_an_empty_index_alone_when_nothing_is_public(run, states):
    result = run("search", "sync")

    assert (result.exit_code, result.output) == (0, "Search index: 0 proposals brought up to date.\n")


def test_a_rolled_back_change_leaves_nothing_to_sync(app, states, db):
    publish(title="Kept outcome", reference="KEPT-2016-1")
    publish_rolled_back = Proposal(title="Never committed", summary="", body="", body_html="", language="en")
    db.session.add(publish_rolled_back)
    db.session.flush()
    db.session.rollback()

    assert search.pending_count() == 0
    assert references() == ["KEPT-2016-1"]


# --- rebuild while searching -------------------------------------------------------------------------


@pytest.mark.whoosh_only
def test_a_searcher_open_during_a_rebuild_still_answers_and_a_new_search_sees_the_new_generation(
        app, states, db, monkeypatch):
    publish(title="First outcome", reference="GEN-2016-1")
    publish(title="Second outcome", reference="GEN-2016-2")
    monkeypatch.setattr(search, "apply_outbox", lambda *args, **kwargs: 0)
    publish(title="Third outcome", reference="GEN-2016-3")  # committed, left in the outbox
    monkeypatch.undo()
    before = index_store.current_generation()
    open_elsewhere = index_store.open_index().searcher()
    assert open_elsewhere.doc_count() == 2

    assert maintenance.rebuild() == 3

    assert index_store.current_generation() != before
    assert sorted(fields["reference"] for fields in open_elsewhere.all_stored_fields()) == ["GEN-2016-1", "GEN-2016-2"]
    assert len(open_elsewhere.search(query.Every(), limit=None)) == 2
    assert references() == ["GEN-2016-1", "GEN-2016-2", "GEN-2016-3"]
    assert search.pending_count() == 0
    open_elsewhere.close()


def test_this_threads_searcher_follows_a_rebuild(app, states, db, monkeypatch):
    publish(title="First outcome", reference="GEN-2016-1")
    assert references() == ["GEN-2016-1"]
    monkeypatch.setattr(search, "apply_outbox", lambda *args, **kwargs: 0)
    publish(title="Second outcome", reference="GEN-2016-2")
    monkeypatch.undo()
    assert references() == ["GEN-2016-1"]

    maintenance.rebuild()

    assert references() == ["GEN-2016-1", "GEN-2016-2"]
