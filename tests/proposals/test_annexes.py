"""PDF annexes: co-authors add and remove them while the proposal can be edited; a file is a PDF by
its content only; it is stored under a random name outside the web root; revisions freeze the
list; whoever may see the proposal downloads them as attachments, and nobody else learns they exist."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import pytest
from flask import Request
from werkzeug.test import EnvironBuilder

import config
from expert_platform.extensions import db
from expert_platform.proposals import annexes as annex_services
from expert_platform.proposals.annexes import clean_file_name, file_size
from expert_platform.proposals.models import Annex, ProposalEvent, ProposalRevision
from tests.html_tree import parse_html
from tests.proposals import revision_support
from tests.proposals.revision_support import (
    PDF,
    csrf_of,
    endorse,
    remove,
    resubmit,
    return_for_revision,
    submit,
    upload,
)

#: The fixtures shared by the revision, diff and annex tests.
people, proposal, client_of = revision_support.people, revision_support.proposal, revision_support.client_of

NOT_A_PDF = "This file is not a PDF. Annexes must be PDF documents: save or export the file as PDF and upload it again."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def upload_dir(tmp_path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app_overrides(upload_dir):
    return {"UPLOAD_DIR": str(upload_dir)}


def annexes_of(proposal) -> list[Annex]:
    return list(db.session.scalars(db.select(Annex).where(Annex.proposal_id == proposal.id).order_by(Annex.id)))


def stored_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def error_explanation(page) -> str:
    """The explanation on an error page (below its code and title)."""
    return parse_html(page).find("section", class_="error-page").find_all("p")[1].text


def field_error(page) -> str:
    return parse_html(page).find("p", id="annex-file-error").text


def add_annex(proposal, author, content: bytes = PDF, name: str = "report.pdf") -> Annex:
    """Attach an annex through the service (as the upload route does) and commit."""
    from flask import current_app

    annex = annex_services.add_annex(actor=author, proposal=proposal, stream=io.BytesIO(content), file_name=name,
                                     folder=current_app.config["UPLOAD_DIR"],
                                     max_bytes=current_app.config["ANNEX_MAX_BYTES"])
    db.session.commit()
    return annex


# --- Uploading ---------------------------------------------------------------------------------


def test_a_coauthor_uploads_a_pdf_kept_under_a_random_name_with_its_size_and_hash(
    proposal, people, client_of, upload_dir
):
    client = client_of(people.coauthor)

    response = upload(client, proposal.id, next=f"/proposals/{proposal.id}/annexes#annexes")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/proposals/{proposal.id}/annexes#annexes"
    [annex] = annexes_of(proposal)
    assert (annex.original_name, annex.size_bytes, annex.sha256, annex.uploaded_by_id, annex.removed_at) == (
        "report.pdf", len(PDF), hashlib.sha256(PDF).hexdigest(), people.coauthor.id, None
    )
    assert len(annex.stored_name) == 64
    assert set(annex.stored_name) <= set("0123456789abcdef")
    assert stored_files(upload_dir) == [upload_dir / annex.stored_name]
    assert (upload_dir / annex.stored_name).read_bytes() == PDF
    assert (upload_dir / annex.stored_name).stat().st_mode & 0o777 == 0o600
    event = db.session.scalars(db.select(ProposalEvent).where(ProposalEvent.action == "annex_added")).one()
    assert (event.proposal_id, event.actor_id, event.note) == (proposal.id, people.coauthor.id, "report.pdf")
    page = client.get(f"/proposals/{proposal.id}/annexes")
    assert parse_html(page).find("div", class_="flashes").text == "The annex report.pdf was added."


def test_two_uploads_of_one_file_get_two_different_random_names(proposal, people, client_of, upload_dir):
    client = client_of(people.lead)

    upload(client, proposal.id)
    upload(client, proposal.id)

    first, second = annexes_of(proposal)
    assert first.stored_name != second.stored_name
    assert first.sha256 == second.sha256
    assert stored_files(upload_dir) == sorted([upload_dir / first.stored_name, upload_dir / second.stored_name])


def test_without_a_next_page_the_upload_returns_to_the_annexes_page(proposal, people, client_of):
    response = upload(client_of(people.lead), proposal.id)

    assert response.headers["Location"] == f"/proposals/{proposal.id}/annexes"


def test_a_next_page_on_another_site_is_ignored(proposal, people, client_of):
    response = upload(client_of(people.lead), proposal.id, next="//evil.example/")

    assert response.headers["Location"] == f"/proposals/{proposal.id}/annexes"


@pytest.mark.parametrize(
    ("content", "file_name", "message"),
    [
        (b"Plain text pretending.", "report.pdf", NOT_A_PDF),
        (PNG, "scan.pdf", NOT_A_PDF),
        (b"%PDX-1.4\n%%EOF", "report.pdf", NOT_A_PDF),
        (b"%PD", "short.pdf", NOT_A_PDF),
        (b"<html><script>alert(1)</script></html>", "page.pdf", NOT_A_PDF),
        (b"", "empty.pdf", "The file is empty. Choose a PDF file."),
    ],
)
def test_a_file_that_is_not_a_pdf_by_its_content_is_refused_whatever_its_name(
    proposal, people, client_of, upload_dir, content, file_name, message
):
    response = upload(client_of(people.lead), proposal.id, content=content, file_name=file_name)

    assert response.status_code == 400
    assert field_error(response) == message
    assert annexes_of(proposal) == []
    assert stored_files(upload_dir) == []


def test_a_pdf_is_recognised_by_its_content_whatever_its_name_and_declared_type(proposal, people, client_of):
    client = client_of(people.lead)
    data = {"csrf_token": csrf_of(client), "file": (io.BytesIO(PDF), "notes.txt", "text/plain")}

    response = client.post(f"/proposals/{proposal.id}/annexes", data=data, content_type="multipart/form-data")

    assert response.status_code == 302
    assert [annex.original_name for annex in annexes_of(proposal)] == ["notes.txt.pdf"]


def test_an_upload_without_a_file_asks_for_one(proposal, people, client_of):
    client = client_of(people.lead)

    response = client.post(f"/proposals/{proposal.id}/annexes", data={"csrf_token": csrf_of(client)},
                           content_type="multipart/form-data")

    assert response.status_code == 400
    assert field_error(response) == "Choose a PDF file to upload."


class TestWithASmallAnnexLimit:
    LIMIT = 1000

    @pytest.fixture
    def app_overrides(self, upload_dir):
        return {"UPLOAD_DIR": str(upload_dir), "ANNEX_MAX_BYTES": self.LIMIT}

    def test_a_pdf_of_exactly_the_limit_is_accepted(self, proposal, people, client_of):
        content = PDF + b"%" * (self.LIMIT - len(PDF))

        response = upload(client_of(people.lead), proposal.id, content=content)

        assert response.status_code == 302
        assert [annex.size_bytes for annex in annexes_of(proposal)] == [self.LIMIT]

    @pytest.mark.parametrize("size", [LIMIT + 1, 50_000, 500_000])
    def test_a_larger_pdf_gets_the_too_large_page_saying_how_large_an_annex_may_be(
        self, proposal, people, client_of, upload_dir, size
    ):
        content = PDF + b"%" * (size - len(PDF))

        response = upload(client_of(people.lead), proposal.id, content=content)

        assert response.status_code == 413
        page = parse_html(response)
        assert page.find("h1").text == "Too large"
        assert error_explanation(response) == (
            "An annex can be at most 1000 bytes. This file is larger: make it smaller (for example by reducing "
            "image quality) or split it into several annexes."
        )
        assert annexes_of(proposal) == []
        assert stored_files(upload_dir) == []


class TestTheUploadRouteHasALimitOfItsOwn:
    """Only the upload route accepts ANNEX_MAX_BYTES (and the form around the file); every other
    route keeps MAX_CONTENT_LENGTH, with or without a Content-Length."""

    @pytest.fixture
    def app_overrides(self, upload_dir):
        return {"UPLOAD_DIR": str(upload_dir), "MAX_CONTENT_LENGTH": 2000, "ANNEX_MAX_BYTES": 8000}

    def test_an_annex_larger_than_max_content_length_is_accepted(self, proposal, people, client_of):
        content = PDF + b"%" * (6000 - len(PDF))

        response = upload(client_of(people.lead), proposal.id, content=content)

        assert response.status_code == 302
        assert [annex.size_bytes for annex in annexes_of(proposal)] == [6000]

    def test_another_route_still_refuses_a_body_over_max_content_length(self, client):
        response = client.post("/login", data=b"email=" + b"x" * 5994,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})

        assert response.status_code == 413
        assert error_explanation(response) == (
            "What you sent is larger than this platform accepts. Shorten it or send a smaller file."
        )

    @pytest.mark.parametrize(("size", "status"), [(6000, 302), (100_000, 413)])
    def test_a_chunked_upload_follows_the_routes_own_limit(self, proposal, people, client_of, size, status):
        client = client_of(people.lead)
        builder = EnvironBuilder(
            path=f"/proposals/{proposal.id}/annexes",
            method="POST",
            data={"csrf_token": csrf_of(client), "file": (io.BytesIO(PDF + b"%" * (size - len(PDF))), "big.pdf")},
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
        environ = builder.get_environ()
        del environ["CONTENT_LENGTH"]

        response = client.open(Request(environ))

        assert response.status_code == status
        assert len(annexes_of(proposal)) == (1 if status == 302 else 0)


# --- Downloading -------------------------------------------------------------------------------


def test_a_download_is_an_attachment_of_type_pdf_with_the_uploaded_name(proposal, people, client_of):
    annex = add_annex(proposal, people.lead, name="Water report 2026.pdf")

    response = client_of(people.coauthor).get(f"/proposals/{proposal.id}/annexes/{annex.id}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="Water report 2026.pdf"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == PDF


def test_a_name_in_another_script_is_offered_in_utf_8(proposal, people, client_of):
    annex = add_annex(proposal, people.lead, name="Доклад.pdf")

    response = client_of(people.lead).get(f"/proposals/{proposal.id}/annexes/{annex.id}")

    assert response.headers["Content-Disposition"] == (
        "attachment; filename=.pdf; filename*=UTF-8''%D0%94%D0%BE%D0%BA%D0%BB%D0%B0%D0%B4.pdf"
    )


@pytest.mark.parametrize(
    ("uploaded", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("Report.PDF", "Report.PDF"),
        ("../../etc/passwd", "passwd.pdf"),
        ("C:\\Users\\aida\\Desktop\\plan.pdf", "plan.pdf"),
        ("notes.txt", "notes.txt.pdf"),
        ("  many   spaces .pdf ", "many spaces .pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe.pdf"),
        ("line\r\nbreak.pdf", "linebreak.pdf"),
        ("", "annex.pdf"),
        (None, "annex.pdf"),
        ("../", "annex.pdf"),
        ("Доклад.pdf", "Доклад.pdf"),
        ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_the_uploaded_name_is_cleaned_for_display_and_download(uploaded, kept):
    assert clean_file_name(uploaded) == kept


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 bytes"), (1000, "1000 bytes"), (1024, "1 KB"), (1536, "1.5 KB"), (10 * 1024 * 1024, "10 MB"),
     (2_500_000, "2.4 MB")],
)
def test_sizes_are_shown_in_bytes_kb_or_mb(app, size, shown):
    assert file_size(size) == shown


def test_a_file_missing_from_the_upload_folder_is_404_not_500(proposal, people, client_of, upload_dir):
    annex = add_annex(proposal, people.lead)
    (upload_dir / annex.stored_name).unlink()

    assert client_of(people.lead).get(f"/proposals/{proposal.id}/annexes/{annex.id}").status_code == 404


# --- Removing, and revisions -------------------------------------------------------------------


def test_a_coauthor_removes_an_annex_from_the_working_copy_and_the_file_stays(proposal, people, client_of, upload_dir):
    annex = add_annex(proposal, people.lead)
    client = client_of(people.coauthor)

    response = remove(client, proposal.id, annex.id, next=f"/proposals/{proposal.id}/annexes#annexes")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/proposals/{proposal.id}/annexes#annexes"
    db.session.refresh(annex)
    assert annex.removed_at is not None
    assert (upload_dir / annex.stored_name).read_bytes() == PDF
    event = db.session.scalars(db.select(ProposalEvent).where(ProposalEvent.action == "annex_removed")).one()
    assert (event.actor_id, event.note) == (people.coauthor.id, "report.pdf")
    page = client.get(f"/proposals/{proposal.id}/annexes")
    assert parse_html(page).find("div", class_="flashes").text == "The annex report.pdf was removed."
    assert parse_html(page).find("ul", class_="annex-list") is None


def test_an_annex_removed_twice_says_so(proposal, people, client_of):
    first = add_annex(proposal, people.lead, name="first.pdf")
    submit(proposal, people)
    return_for_revision(proposal, people)
    client = client_of(people.lead)
    remove(client, proposal.id, first.id)

    response = remove(client, proposal.id, first.id)

    assert response.status_code == 302
    page = client.get(f"/proposals/{proposal.id}/annexes")
    assert parse_html(page).find("div", class_="flashes").text == "This annex was already removed."


def test_annexes_are_frozen_with_each_revision_and_stay_downloadable_from_it(proposal, people, client_of):
    kept = add_annex(proposal, people.lead, name="kept.pdf")
    dropped = add_annex(proposal, people.lead, name="dropped.pdf")
    never_sent = add_annex(proposal, people.lead, name="never-sent.pdf")
    remove(client_of(people.lead), proposal.id, never_sent.id)
    submit(proposal, people)
    return_for_revision(proposal, people)
    author = client_of(people.coauthor)
    remove(author, proposal.id, dropped.id)
    added = add_annex(proposal, people.coauthor, name="added.pdf")
    resubmit(proposal, people)

    first, second = db.session.scalars(
        db.select(ProposalRevision).where(ProposalRevision.proposal_id == proposal.id).order_by(ProposalRevision.number)
    )
    assert first.content["annex_ids"] == [kept.id, dropped.id]
    assert second.content["annex_ids"] == [kept.id, added.id]
    council = client_of(people.council)
    page = council.get(f"/proposals/{proposal.id}/revisions/1")
    assert [(link.text, link.attributes["href"]) for link in parse_html(page).find("ul", class_="annex-list")
            .find_all("a")] == [
        ("kept.pdf", f"/proposals/{proposal.id}/annexes/{kept.id}"),
        ("dropped.pdf", f"/proposals/{proposal.id}/annexes/{dropped.id}"),
    ]
    download = council.get(f"/proposals/{proposal.id}/annexes/{dropped.id}")
    assert (download.status_code, download.data) == (200, PDF)
    assert council.get(f"/proposals/{proposal.id}/annexes/{never_sent.id}").status_code == 404
    assert author.get(f"/proposals/{proposal.id}/annexes/{never_sent.id}").status_code == 404


# --- Who may do what ---------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [None, "other_expert", "council", "secretariat", "researcher"])
def test_the_annexes_of_a_draft_do_not_exist_for_anyone_but_its_coauthors(proposal, people, client_of, reader):
    annex = add_annex(proposal, people.lead)
    client = client_of(getattr(people, reader) if reader else None)

    assert client.get(f"/proposals/{proposal.id}/annexes/{annex.id}").status_code == 404
    assert client.get(f"/proposals/{proposal.id}/annexes").status_code == 404
    assert upload(client, proposal.id).status_code == 404
    assert remove(client, proposal.id, annex.id).status_code == 404
    assert [row.removed_at for row in annexes_of(proposal)] == [None]


def test_a_proposal_returned_for_revision_hides_its_annexes_from_the_council(proposal, people, client_of):
    annex = add_annex(proposal, people.lead)
    submit(proposal, people)
    council = client_of(people.council)
    assert council.get(f"/proposals/{proposal.id}/annexes/{annex.id}").status_code == 200

    return_for_revision(proposal, people)

    assert council.get(f"/proposals/{proposal.id}/annexes/{annex.id}").status_code == 404
    assert council.get(f"/proposals/{proposal.id}/annexes").status_code == 404
    assert council.get(f"/proposals/{proposal.id}/revisions/1").status_code == 404


def test_a_sent_proposal_is_read_by_the_council_but_changed_by_nobody(proposal, people, client_of, upload_dir):
    annex = add_annex(proposal, people.lead)
    submit(proposal, people)

    for user in (people.lead, people.coauthor, people.council, people.secretariat):
        client = client_of(user)
        assert client.get(f"/proposals/{proposal.id}/annexes/{annex.id}").status_code == 200
        assert upload(client, proposal.id).status_code == 403
        assert remove(client, proposal.id, annex.id).status_code == 403
    assert [(row.id, row.removed_at) for row in annexes_of(proposal)] == [(annex.id, None)]
    assert stored_files(upload_dir) == [upload_dir / annex.stored_name]


@pytest.mark.parametrize("reader", [None, "researcher", "other_expert"])
def test_the_annexes_of_an_endorsed_proposal_are_public(proposal, people, client_of, reader):
    annex = add_annex(proposal, people.lead)
    submit(proposal, people)
    endorse(proposal, people)

    response = client_of(getattr(people, reader) if reader else None).get(
        f"/proposals/{proposal.id}/annexes/{annex.id}"
    )

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=report.pdf"
    assert response.data == PDF


def test_an_annex_of_another_proposal_is_404_through_this_one(proposal, people, client_of, make_proposal):
    other = make_proposal(author=people.lead, title="Another proposal")
    theirs = add_annex(other, people.lead)
    client = client_of(people.lead)

    assert client.get(f"/proposals/{proposal.id}/annexes/{theirs.id}").status_code == 404
    assert remove(client, proposal.id, theirs.id).status_code == 404
    assert client.get(f"/proposals/{other.id}/annexes/{theirs.id}").status_code == 200
    assert [row.removed_at for row in annexes_of(other)] == [None]


@pytest.mark.parametrize("path", ["/annexes/999999", "/annexes/0", "/annexes/99999999999999999999"])
def test_an_annex_that_does_not_exist_is_404(proposal, people, client_of, path):
    assert client_of(people.lead).get(f"/proposals/{proposal.id}{path}").status_code == 404


def test_the_service_refuses_a_non_author_even_without_the_route(proposal, people, upload_dir):
    from expert_platform.errors import NotAllowed

    with pytest.raises(NotAllowed, match="Annexes can be added only by co-authors"):
        annex_services.add_annex(actor=people.council, proposal=proposal, stream=io.BytesIO(PDF),
                                 file_name="x.pdf", folder=upload_dir, max_bytes=10_000)
    assert stored_files(upload_dir) == []


# --- The partial on the proposal page ----------------------------------------------------------


def test_coauthors_see_the_upload_form_and_a_remove_button_for_each_annex(proposal, people, client_of):
    annex = add_annex(proposal, people.lead)

    page = client_of(people.coauthor).get(f"/proposals/{proposal.id}/annexes")

    assert page.status_code == 200
    tree = parse_html(page)
    section = tree.find("section", id="annexes")
    assert [(link.text, link.attributes["href"]) for link in section.find("ul", class_="annex-list").find_all("a")] \
        == [("report.pdf", f"/proposals/{proposal.id}/annexes/{annex.id}")]
    assert section.find("ul", class_="annex-list").find("li").text == (
        f"report.pdf (PDF, {len(PDF)} bytes) Remove report.pdf"
    )
    forms = section.find_all("form")
    assert [(form.attributes["action"], form.attributes.get("enctype")) for form in forms] == [
        (f"/proposals/{proposal.id}/annexes/{annex.id}/remove", None),
        (f"/proposals/{proposal.id}/annexes", "multipart/form-data"),
    ]
    file_input = forms[1].find("input", type="file")
    assert (file_input.attributes["name"], file_input.attributes["accept"]) == ("file", ".pdf,application/pdf")
    assert forms[1].find("p", id="annex-file-hint").text == (
        "A PDF document of at most 10 MB. Removed annexes stay in the revisions that list them."
    )
    assert all(form.find("input", name="csrf_token") is not None for form in forms)


def test_the_council_sees_the_annexes_of_a_sent_proposal_without_any_form(proposal, people, client_of):
    add_annex(proposal, people.lead)
    submit(proposal, people)

    page = client_of(people.council).get(f"/proposals/{proposal.id}/annexes")

    assert page.status_code == 200
    section = parse_html(page).find("section", id="annexes")
    assert [link.text for link in section.find_all("a")] == ["report.pdf"]
    assert section.find_all("form") == []


def test_the_proposal_page_offers_the_annexes_and_an_upload_returns_to_it(proposal, people, client_of):
    client = client_of(people.coauthor)
    page = client.get(f"/proposals/{proposal.id}")
    upload_form = parse_html(page).find("section", id="annexes").find("form", class_="annex-upload")
    assert upload_form.find("input", name="next").attributes["value"] == f"/proposals/{proposal.id}#annexes"

    response = upload(client, proposal.id, next=f"/proposals/{proposal.id}#annexes")

    assert response.headers["Location"] == f"/proposals/{proposal.id}#annexes"
    listed = parse_html(client.get(f"/proposals/{proposal.id}")).find("section", id="annexes").find("ul")
    assert [link.text for link in listed.find_all("a")] == ["report.pdf"]


# --- Settings ----------------------------------------------------------------------------------


def test_annexes_go_to_instance_uploads_and_up_to_10_mb_by_default(tmp_path):
    settings = config.get_config("testing")

    assert str((tmp_path / "instance" / "uploads").resolve()) == settings.UPLOAD_DIR
    assert settings.ANNEX_MAX_BYTES == 10 * 1024 * 1024


def test_the_upload_folder_and_annex_limit_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("ANNEX_MAX_BYTES", "5000")

    settings = config.get_config("testing")

    assert (str((tmp_path / "files").resolve()), 5000) == (settings.UPLOAD_DIR, settings.ANNEX_MAX_BYTES)


# --- An upload at the moment of submission -----------------------------------------------------


def upload_and_submit_at_once(app, proposal_id: int, author_id: int, folder: Path) -> tuple[int | None, bool]:
    """One thread uploads an annex while another submits, as two server processes would: the id of
    the annex (None when the upload was refused), and whether the submission went through."""
    from expert_platform.accounts.models import User
    from expert_platform.enums import ProposalAction
    from expert_platform.errors import NotAllowed
    from expert_platform.proposals import workflow
    from expert_platform.proposals.models import Proposal

    start_together = threading.Barrier(2)
    outcome: dict[str, object] = {}
    failures: list[BaseException] = []

    def in_a_process_of_its_own(name: str, work) -> threading.Thread:
        def run() -> None:
            with app.app_context():
                try:
                    start_together.wait(timeout=10)
                    # Loaded only now: on SQLite the first query begins the writing transaction.
                    proposal, author = db.session.get(Proposal, proposal_id), db.session.get(User, author_id)
                    outcome[name] = work(proposal, author)
                    db.session.commit()
                except NotAllowed:
                    db.session.rollback()
                    outcome[name] = None
                except BaseException as error:  # noqa: BLE001 - reported by the test below
                    failures.append(error)
                finally:
                    db.session.remove()

        return threading.Thread(target=run)

    threads = [
        in_a_process_of_its_own("annex", lambda proposal, author: annex_services.add_annex(
            actor=author, proposal=proposal, stream=io.BytesIO(PDF), file_name="race.pdf", folder=folder,
            max_bytes=10_000).id),
        in_a_process_of_its_own("submitted", lambda proposal, author: workflow.transition(
            proposal, ProposalAction.SUBMIT, actor=author) is not None),
    ]
    db.session.commit()  # the test holds no transaction (nor SQLite's write lock) while they run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    return outcome["annex"], outcome["submitted"]


def test_an_upload_racing_a_submission_is_either_frozen_into_revision_1_or_refused(
    app, make_proposal, people, upload_dir
):
    for round_number in range(5):
        racing = make_proposal(author=people.lead, title=f"Race {round_number}")

        annex_id, submitted = upload_and_submit_at_once(app, racing.id, people.lead.id, upload_dir)

        db.session.expire_all()
        [revision] = db.session.scalars(db.select(ProposalRevision).where(ProposalRevision.proposal_id == racing.id))
        assert submitted is True
        if annex_id is None:
            assert (revision.content["annex_ids"], annexes_of(racing)) == ([], [])
        else:
            assert revision.content["annex_ids"] == [annex_id]
    assert len(stored_files(upload_dir)) == len(db.session.scalars(db.select(Annex)).all())


def test_an_upload_whose_commit_fails_leaves_no_file_behind(proposal, people, client_of, upload_dir, monkeypatch):
    from flask import has_request_context, request
    from sqlalchemy.exc import OperationalError

    client = client_of(people.lead)
    commit = db.session.commit

    def commit_failing_in_the_upload():
        if has_request_context() and request.endpoint == "revisions.upload_annex":
            raise OperationalError("COMMIT", {}, Exception("the database went away"))
        return commit()

    monkeypatch.setattr(db.session, "commit", commit_failing_in_the_upload)

    response = upload(client, proposal.id)

    assert response.status_code == 500
    assert annexes_of(proposal) == []
    assert stored_files(upload_dir) == []
