"""A proposal in translation (issue 9): its co-authors add, edit and remove a translation of the title,
summary and text into the other working language while they may edit the proposal; each submission
freezes the translations with the revision; readers switch between the texts; the API gives them."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from expert_platform.enums import ProposalState, TextStatus
from expert_platform.extensions import db
from expert_platform.proposals import translations
from expert_platform.proposals.models import ProposalRevision, ProposalTranslation
from tests.html_tree import parse_html, textarea_text
from tests.proposals import revision_support
from tests.proposals.page_steps import field_error, form_errors, form_values, stored, token
from tests.proposals.revision_support import endorse, resubmit, return_for_revision, save, submit

people, proposal, client_of = revision_support.people, revision_support.proposal, revision_support.client_of

RUSSIAN = {
    "title": "Общие речные гидропосты",
    "summary": "Гидропосты на общих реках.",
    "body": "## Проблема\n\nПаводки приходят без предупреждения.\n\n<script>alert(1)</script>",
    "status": "translation",
}
RUSSIAN_HTML = ("<h2>Проблема</h2>\n<p>Паводки приходят без предупреждения.</p>\n"
                "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n")
CONFLICT = ("A co-author saved this proposal after you opened the translation. Your text was not saved; it is kept "
            "below: copy it, open the translation again and merge it there.")


def translation_path(proposal, language: str = "ru") -> str:
    return f"/proposals/{proposal.id}/translations/{language}"


def post_translation(client, proposal, language: str = "ru", *, version: int | None = None, **changes):
    """Press "Save the translation" with the Russian text (and ``changes``), opened at ``version``."""
    data = {**RUSSIAN, **changes, "csrf_token": token(client),
            "opened_at_version": str(stored(proposal.id).version if version is None else version)}
    return client.post(translation_path(proposal, language), data=data)


def stored_translations(proposal) -> list[tuple]:
    db.session.expire_all()
    rows = db.session.scalars(select(ProposalTranslation).where(ProposalTranslation.proposal_id == proposal.id))
    return [(row.language, row.status, row.title, row.summary, row.body, row.body_html) for row in rows]


def add_russian(proposal, author, **changes) -> None:
    """Save the Russian translation through the service and commit, as the form would."""
    content = translations.TranslationContent(**{**RUSSIAN, **changes})
    translations.save_translation(actor=author, proposal=stored(proposal.id), language="ru", content=content,
                                  opened_at_version=stored(proposal.id).version)
    db.session.commit()


def switch(response) -> list[str]:
    """The reader switch's entries, the shown one first marked with "*"."""
    nav = parse_html(response).find("nav", class_="text-switch")
    if nav is None:
        return []
    return [("* " if item.find("strong") else "") + item.text for item in nav.find_all("li")]


def switch_links(response) -> dict[str, str]:
    nav = parse_html(response).find("nav", class_="text-switch")
    return {link.text: link.attributes["href"] for link in nav.find_all("a")}


def shown_text(response) -> dict[str, str]:
    """The title, summary and text the page shows, each with its lang attribute."""
    page = parse_html(response)
    title = page.find("h1")
    body = page.find("div", class_="proposal-text")
    summary = page.find("div", class_="proposal-summary") or page.find("p", class_="preserve-lines")
    return {
        "title": f'{title.attributes.get("lang")}: {title.text}',
        "summary": f'{summary.attributes.get("lang")}: {summary.text}',
        "body": f'{body.attributes.get("lang")}: {body.text}',
    }


def notice(response) -> str | None:
    element = parse_html(response).find("p", class_="translation-notice")
    return element.text if element else None


# --- Saving, updating, removing ---------------------------------------------------------------------------


def test_an_author_adds_a_russian_translation_stored_cleaned_and_the_proposal_version_bumped(
    proposal, people, client_of
):
    client = client_of(people.lead)
    before = stored(proposal.id)
    version, updated_at = before.version, before.updated_at
    page = client.get(translation_path(proposal))
    assert page.status_code == 200
    assert parse_html(page).find("h1").text == "Add a translation into Русский"
    assert form_values(page, translation_path(proposal)) == {
        "title": "", "summary": "", "body": "", "status": ["translation"], "opened_at_version": str(version)}

    response = post_translation(client, proposal)

    assert (response.status_code, response.headers["Location"]) == (302, f"/proposals/{proposal.id}?text=ru")
    assert stored_translations(proposal) == [
        ("ru", TextStatus.TRANSLATION, RUSSIAN["title"], RUSSIAN["summary"], RUSSIAN["body"], RUSSIAN_HTML)]
    after = stored(proposal.id)
    assert after.version == version + 1
    assert after.updated_at > updated_at
    row = after.translations[0]
    assert (row.updated_by_id, row.updated_at) == (people.lead.id, after.updated_at)
    assert "<script>" not in client.get(f"/proposals/{proposal.id}?text=ru").get_data(as_text=True)


def test_a_coauthor_updates_the_translation_and_marks_it_checked(proposal, people, client_of):
    add_russian(proposal, people.lead)
    client = client_of(people.coauthor)
    page = client.get(translation_path(proposal))
    assert parse_html(page).find("h1").text == "Edit the translation into Русский"
    values = form_values(page, translation_path(proposal))
    assert (values["title"], values["status"], values["opened_at_version"]) == (
        RUSSIAN["title"], ["translation"], str(stored(proposal.id).version))

    response = post_translation(client, proposal, title="  Общие   гидропосты ", body="Текст **жирный**.",
                                status="checked_translation")

    assert response.status_code == 302
    assert stored_translations(proposal) == [
        ("ru", TextStatus.CHECKED_TRANSLATION, "Общие гидропосты", RUSSIAN["summary"], "Текст **жирный**.",
         "<p>Текст <strong>жирный</strong>.</p>\n")]
    assert stored(proposal.id).translations[0].updated_by_id == people.coauthor.id


def test_removing_a_translation_asks_first_then_deletes_it_and_bumps_the_version(proposal, people, client_of):
    add_russian(proposal, people.lead)
    version = stored(proposal.id).version
    client = client_of(people.coauthor)
    remove_path = f"{translation_path(proposal)}/remove"

    question = client.get(remove_path)

    assert question.status_code == 200
    assert parse_html(question).find("h1").text == "Remove the translation into Русский?"
    assert stored_translations(proposal) != []

    without_token = client.post(remove_path, data={})
    assert (without_token.status_code, len(stored_translations(proposal))) == (400, 1)

    response = client.post(remove_path, data={"csrf_token": token(client)})

    assert (response.status_code, response.headers["Location"]) == (302, f"/proposals/{proposal.id}")
    assert stored_translations(proposal) == []
    assert stored(proposal.id).version == version + 1
    assert client.get(remove_path).status_code == 404


def test_the_proposal_page_offers_the_authors_each_translatable_working_language(proposal, people, client_of):
    client = client_of(people.lead)
    section = parse_html(client.get(f"/proposals/{proposal.id}")).find("section", id="translations")
    assert section.find("tr", id="translation-ru").text == "Русский No translation yet Add a translation"
    assert section.find("tr", id="translation-en") is None  # the original's language

    add_russian(proposal, people.lead, status="checked_translation")

    section = parse_html(client.get(f"/proposals/{proposal.id}")).find("section", id="translations")
    assert section.find("tr", id="translation-ru").text == (
        "Русский Checked translation Edit the translation Remove the translation")


def test_a_chinese_proposal_may_have_both_working_languages(make_proposal, people, client_of):
    chinese = make_proposal(author=people.lead, title="共享水文站", language="zh")
    client = client_of(people.lead)

    section = parse_html(client.get(f"/proposals/{chinese.id}")).find("section", id="translations")

    assert [row.attributes["id"] for row in section.find_all("tr") if "id" in row.attributes] == [
        "translation-en", "translation-ru"]
    assert post_translation(client, chinese, "en", title="Shared gauges").status_code == 302
    assert post_translation(client, chinese, "ru").status_code == 302
    assert [row[0] for row in stored_translations(chinese)] == ["en", "ru"]


def test_the_preview_shows_the_cleaned_translation_and_saves_nothing(proposal, people, client_of):
    client = client_of(people.lead)
    data = {**RUSSIAN, "csrf_token": token(client), "opened_at_version": str(proposal.version), "preview": "1"}

    response = client.post(translation_path(proposal), data=data)

    assert response.status_code == 200
    preview = parse_html(response).find("section", class_="card")
    assert preview.find("div", lang="ru").find("div", class_="proposal-text").text == (
        "Проблема Паводки приходят без предупреждения. <script>alert(1)</script>")
    assert "<script>alert" not in response.get_data(as_text=True).split('id="body"')[0]
    assert form_values(response, translation_path(proposal))["body"] == RUSSIAN["body"]
    assert stored_translations(proposal) == []


# --- Rules: limits, status, concurrency, editability ---------------------------------------------------------


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"title": "   "}, "title", "Enter a title."),
    ({"title": "Т" * 201}, "title", "Use at most 200 characters."),
    ({"summary": "С" * 1501}, "summary", "Use at most 1500 characters."),
    ({"body": "ж" * 102_401}, "body", "The text is larger than 200 KB. Move long material into a PDF annex."),
    ({"status": "original"}, "status", "Choose whether the translation has been checked."),
])
def test_a_translation_breaking_a_rule_gets_a_form_error_and_keeps_the_typed_text(
    proposal, people, client_of, changes, field, message
):
    client = client_of(people.lead)
    version = stored(proposal.id).version

    response = post_translation(client, proposal, **changes)

    assert response.status_code == 200
    assert field_error(response, field) == message
    typed = {**RUSSIAN, **changes}
    kept = form_values(response, translation_path(proposal))
    assert (kept["summary"], kept["body"]) == (typed["summary"], typed["body"])
    assert stored_translations(proposal) == []
    assert stored(proposal.id).version == version


def test_a_save_from_a_stale_form_is_refused_with_the_text_kept_and_nothing_lost(proposal, people, client_of):
    opened_at = stored(proposal.id).version
    save(stored(proposal.id), people.coauthor, title="Shared river gauges")  # a co-author saves meanwhile

    response = post_translation(client_of(people.lead), proposal, version=opened_at)

    assert response.status_code == 409
    assert form_errors(response) == [CONFLICT]
    page = parse_html(response)
    assert [textarea_text(page.find("textarea", id=name)) for name in ("kept-title", "kept-summary", "kept-body")] == [
        RUSSIAN["title"], RUSSIAN["summary"], RUSSIAN["body"]]
    assert page.find("a", href=translation_path(proposal)).text == "Open the form again"
    assert stored_translations(proposal) == []
    assert stored(proposal.id).title == "Shared river gauges"


def test_after_submission_the_translation_can_no_longer_be_edited(proposal, people, client_of):
    add_russian(proposal, people.lead)
    client = client_of(people.coauthor)
    opened_at = stored(proposal.id).version
    submit(stored(proposal.id), people)

    assert client.get(translation_path(proposal)).status_code == 403
    response = post_translation(client, proposal, version=opened_at, title="Новое название")
    assert response.status_code == 409
    assert textarea_text(parse_html(response).find("textarea", id="kept-title")) == "Новое название"
    assert client.post(f"{translation_path(proposal)}/remove", data={"csrf_token": token(client)}).status_code == 403
    assert stored_translations(proposal)[0][2] == RUSSIAN["title"]
    assert parse_html(client.get(f"/proposals/{proposal.id}")).find("section", id="translations") is None


def test_the_original_cannot_be_moved_into_the_language_of_a_translation(proposal, people, client_of):
    add_russian(proposal, people.lead)
    client = client_of(people.lead)
    values = form_values(client.get(f"/proposals/{proposal.id}/edit"), f"/proposals/{proposal.id}/edit")

    response = client.post(f"/proposals/{proposal.id}/edit", data={**values, "language": "ru",
                                                                   "csrf_token": token(client)})

    assert response.status_code == 200
    assert field_error(response, "language") == (
        "The proposal has a translation into this language. Remove the translation first if the original is now "
        "in this language.")
    assert stored(proposal.id).language == "en"
    moved = client.post(f"/proposals/{proposal.id}/edit", data={**values, "language": "zh",
                                                                 "csrf_token": token(client)})
    assert (moved.status_code, stored(proposal.id).language) == (302, "zh")


def test_an_expired_token_gives_the_translation_form_back_as_typed_with_a_fresh_token(proposal, people, client_of):
    client = client_of(people.lead)
    typed = {**RUSSIAN, "status": "checked_translation", "opened_at_version": str(stored(proposal.id).version)}

    response = client.post(translation_path(proposal), data={**typed, "csrf_token": "expired-token"})

    assert response.status_code == 400
    assert form_errors(response) == ["Your session's security token expired; your text is kept below, save again."]
    assert form_values(response, translation_path(proposal)) == {**typed, "status": ["checked_translation"]}
    assert stored_translations(proposal) == []
    fresh = parse_html(response).find("form", action=translation_path(proposal)).find(
        "input", name="csrf_token").attributes["value"]

    again = client.post(translation_path(proposal), data={**typed, "csrf_token": fresh})

    assert again.status_code == 302
    assert stored_translations(proposal)[0][:3] == ("ru", TextStatus.CHECKED_TRANSLATION, RUSSIAN["title"])


def test_an_expired_token_from_someone_who_may_not_see_the_draft_shows_the_plain_error_page(
    proposal, people, client_of
):
    response = client_of(people.other_expert).post(
        translation_path(proposal), data={**RUSSIAN, "csrf_token": "expired-token", "opened_at_version": "1"})

    assert response.status_code == 400
    assert parse_html(response).find("h1").text == "Bad request"
    assert "Shared water gauges" not in response.get_data(as_text=True)


@pytest.mark.parametrize("viewer", ["other expert", "researcher", "anonymous", "council on a draft"])
def test_a_drafts_translation_pages_are_not_found_for_anyone_but_its_coauthors(proposal, people, client_of, viewer):
    add_russian(proposal, people.lead)
    person = {"other expert": people.other_expert, "researcher": people.researcher, "anonymous": None,
              "council on a draft": people.council}[viewer]
    client = client_of(person)
    version = stored(proposal.id).version

    answers = [
        client.get(translation_path(proposal)).status_code,
        post_translation(client, proposal, title="Чужое").status_code,
        client.get(f"{translation_path(proposal)}/remove").status_code,
        client.post(f"{translation_path(proposal)}/remove", data={"csrf_token": token(client)}).status_code,
        client.get(f"/proposals/{proposal.id}?text=ru").status_code,
    ]

    assert answers == [404, 404, 404, 404, 404]
    assert stored_translations(proposal)[0][2] == RUSSIAN["title"]
    assert stored(proposal.id).version == version


def test_the_council_sees_a_submitted_proposals_translation_but_may_not_edit_it(proposal, people, client_of):
    add_russian(proposal, people.lead)
    submit(stored(proposal.id), people)
    client = client_of(people.council)

    assert client.get(translation_path(proposal)).status_code == 403
    assert post_translation(client, proposal, title="Чужое").status_code == 403
    assert client.get(f"{translation_path(proposal)}/remove").status_code == 403
    page = client.get(f"/proposals/{proposal.id}?text=ru")
    assert shown_text(page)["title"] == f"ru: {RUSSIAN['title']}"
    assert parse_html(page).find("section", id="translations") is None
    assert stored_translations(proposal)[0][2] == RUSSIAN["title"]


@pytest.mark.parametrize("language", ["en", "fr", "zh", "xx", "RU", "r"])
def test_a_language_that_is_not_a_translatable_working_language_is_not_found(proposal, people, client_of, language):
    client = client_of(people.lead)

    answers = [
        client.get(translation_path(proposal, language)).status_code,
        post_translation(client, proposal, language).status_code,
        client.get(f"{translation_path(proposal, language)}/remove").status_code,
    ]

    assert answers == [404, 404, 404]
    assert stored_translations(proposal) == []


def test_the_service_refuses_a_language_that_is_the_originals_and_someone_who_may_not_edit(proposal, people):
    from expert_platform.errors import NotAllowed, ValidationFailed

    content = translations.TranslationContent(**RUSSIAN)
    with pytest.raises(ValidationFailed) as refused:
        translations.save_translation(actor=people.lead, proposal=proposal, language="en", content=content,
                                      opened_at_version=proposal.version)
    assert refused.value.message == "A proposal is translated only into a working language other than its own."
    with pytest.raises(NotAllowed):
        translations.save_translation(actor=people.other_expert, proposal=proposal, language="ru", content=content,
                                      opened_at_version=proposal.version)
    db.session.rollback()
    assert stored_translations(proposal) == []


# --- Frozen with the revision ------------------------------------------------------------------------------


def frozen(proposal) -> list[list[dict]]:
    db.session.expire_all()
    revisions = db.session.scalars(select(ProposalRevision).where(ProposalRevision.proposal_id == proposal.id)
                                   .order_by(ProposalRevision.number))
    return [revision.content["translations"] for revision in revisions]


def test_submission_freezes_the_translations_and_a_later_edit_leaves_the_revision_unchanged(
    proposal, people, client_of
):
    add_russian(proposal, people.lead)
    submit(stored(proposal.id), people)
    first = {"language": "ru", "status": "translation", **{key: RUSSIAN[key] for key in ("title", "summary", "body")},
             "body_html": RUSSIAN_HTML}
    assert frozen(proposal) == [[first]]

    return_for_revision(stored(proposal.id), people)
    assert post_translation(client_of(people.coauthor), proposal, title="Исправленное название",
                            status="checked_translation").status_code == 302
    assert frozen(proposal) == [[first]]

    resubmit(stored(proposal.id), people)
    assert frozen(proposal) == [[first], [{**first, "title": "Исправленное название",
                                           "status": "checked_translation"}]]

    revision_1 = client_of(people.council).get(f"/proposals/{proposal.id}/revisions/1?text=ru")
    assert shown_text(revision_1) == {
        "title": f"ru: {RUSSIAN['title']}",
        "summary": f"ru: {RUSSIAN['summary']}",
        "body": "ru: Проблема Паводки приходят без предупреждения. <script>alert(1)</script>",
    }
    assert switch(revision_1) == ["English — Original", "* Русский — Translation"]
    assert notice(revision_1) == "Translation This text is a translation of the original in English. Read the original"
    revision_2 = client_of(people.council).get(f"/proposals/{proposal.id}/revisions/2?text=ru")
    assert switch(revision_2) == ["English — Original", "* Русский — Checked translation"]


def test_an_old_revision_without_translations_shows_only_its_original(proposal, people, client_of):
    submit(proposal, people)
    revision = db.session.scalar(select(ProposalRevision).where(ProposalRevision.proposal_id == proposal.id))
    revision.content = {key: value for key, value in revision.content.items() if key != "translations"}
    db.session.commit()

    page = client_of(people.council).get(f"/proposals/{proposal.id}/revisions/1?text=ru")

    assert page.status_code == 200
    assert switch(page) == []
    assert shown_text(page)["title"] == "en: Shared water gauges"
    assert notice(page) is None


# --- The reader switch --------------------------------------------------------------------------------------


def test_an_english_interface_shows_the_english_original_and_lists_both_texts(proposal, people, client_of):
    add_russian(proposal, people.lead)
    client = client_of(people.coauthor)

    page = client.get(f"/proposals/{proposal.id}", headers={"Accept-Language": "en"})

    assert switch(page) == ["* English — Original", "Русский — Translation"]
    assert switch_links(page) == {"Русский — Translation": f"/proposals/{proposal.id}?text=ru"}
    assert shown_text(page) == {
        "title": "en: Shared water gauges",
        "summary": "en: Gauges on shared rivers.",
        "body": "en: Problem Floods arrive without warning.",
    }
    assert notice(page) is None
    assert parse_html(page).find("title").text.startswith("Shared water gauges")


def test_a_russian_interface_shows_the_russian_translation_by_default_with_its_status(proposal, people, client_of):
    add_russian(proposal, people.lead)
    client = client_of(people.coauthor)

    page = client.get(f"/proposals/{proposal.id}", headers={"Accept-Language": "ru"})

    with force_locale("ru"):
        original, translation = TextStatus.ORIGINAL.label, TextStatus.TRANSLATION.label
    assert switch(page) == [f"English — {original}", f"* Русский — {translation}"]
    assert shown_text(page) == {
        "title": f"ru: {RUSSIAN['title']}",
        "summary": f"ru: {RUSSIAN['summary']}",
        "body": "ru: Проблема Паводки приходят без предупреждения. <script>alert(1)</script>",
    }
    badge = parse_html(page).find("p", class_="translation-notice").find("span", class_="badge")
    assert badge.text == translation
    assert parse_html(page).find("p", class_="translation-notice").find("a").attributes["href"] == (
        f"/proposals/{proposal.id}?text=en")


def test_text_chooses_the_text_and_an_unknown_value_shows_the_default(proposal, people, client_of):
    add_russian(proposal, people.lead, status="checked_translation")
    client = client_of(people.coauthor)

    chosen = client.get(f"/proposals/{proposal.id}?text=ru", headers={"Accept-Language": "en"})
    original = client.get(f"/proposals/{proposal.id}?text=en", headers={"Accept-Language": "ru"})
    unknown = client.get(f"/proposals/{proposal.id}?text=<b>fr</b>", headers={"Accept-Language": "en"})

    assert (chosen.status_code, original.status_code, unknown.status_code) == (200, 200, 200)
    assert switch(chosen) == ["English — Original", "* Русский — Checked translation"]
    assert notice(chosen) == (
        "Checked translation This text is a translation of the original in English. Read the original")
    assert shown_text(original)["title"] == "en: Shared water gauges"
    assert notice(original) is None
    assert shown_text(unknown)["title"] == "en: Shared water gauges"
    assert "<b>fr</b>" not in unknown.get_data(as_text=True)


def test_the_page_shown_again_after_a_refused_button_links_the_texts_at_the_proposals_address(
    proposal, people, client_of
):
    from expert_platform.proposals.models import NOTE_MAX_LENGTH

    add_russian(proposal, people.lead)
    client = client_of(people.lead)

    page = client.post(f"/proposals/{proposal.id}/actions/withdraw",
                       data={"csrf_token": token(client), "note": "n" * (NOTE_MAX_LENGTH + 1)})

    assert page.status_code == 200
    assert switch_links(page) == {"Русский — Translation": f"/proposals/{proposal.id}?text=ru"}


def test_a_proposal_without_translations_has_no_switch(proposal, people, client_of):
    page = client_of(people.lead).get(f"/proposals/{proposal.id}?text=ru", headers={"Accept-Language": "ru"})

    assert switch(page) == []
    assert shown_text(page)["title"] == "en: Shared water gauges"


def test_everyone_reads_an_endorsed_proposals_translation_at_its_permalink(proposal, people, client_of):
    add_russian(proposal, people.lead, status="checked_translation")
    submit(stored(proposal.id), people)
    endorse(stored(proposal.id), people)
    endorsed = stored(proposal.id)
    assert endorsed.state == ProposalState.ENDORSED

    page = client_of(None).get(f"/proposals/{endorsed.reference}?text=ru")

    assert page.status_code == 200
    assert shown_text(page)["title"] == f"ru: {RUSSIAN['title']}"
    assert switch_links(page) == {"English — Original": f"/proposals/{endorsed.reference}?text=en"}

    answer = client_of(None).get(f"/api/v1/proposals/{endorsed.reference}")
    assert answer.status_code == 200
    assert answer.get_json()["translations"] == [{
        "language": "ru", "status": "checked_translation", "title": RUSSIAN["title"],
        "summary": RUSSIAN["summary"], "body_html": RUSSIAN_HTML}]
    document = client_of(None).get("/api/v1/openapi.json").get_json()
    translation_schema = document["components"]["schemas"]["Translation"]
    assert sorted(translation_schema["required"]) == sorted(answer.get_json()["translations"][0])
    assert translation_schema["properties"]["status"]["enum"] == ["translation", "checked_translation"]


def test_the_api_does_not_give_a_submitted_proposals_translation(proposal, people, client_of):
    add_russian(proposal, people.lead)
    submit(stored(proposal.id), people)

    answer = client_of(people.council).get(f"/api/v1/proposals/{stored(proposal.id).reference}")

    assert (answer.status_code, answer.get_json()) == (404, {"error": "No public proposal has this reference."})
    assert RUSSIAN["title"] not in answer.get_data(as_text=True)


# --- Demo data ---------------------------------------------------------------------------------------------


def test_the_demo_has_an_endorsed_proposal_with_a_checked_russian_translation_and_a_draft_with_one(app, client):
    from expert_platform.proposals.models import Proposal

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0

    translated = db.session.execute(
        select(Proposal.title, Proposal.state, ProposalTranslation.language, ProposalTranslation.status)
        .join(ProposalTranslation, ProposalTranslation.proposal_id == Proposal.id).order_by(Proposal.title)
    ).all()
    assert translated == [
        ("Early warning network for flash floods in shared river basins", ProposalState.DRAFT, "ru",
         TextStatus.TRANSLATION),
        ("Shared seismic data for earthquake early warning", ProposalState.ENDORSED, "ru",
         TextStatus.CHECKED_TRANSLATION),
    ]
    endorsed = db.session.scalar(select(Proposal).where(Proposal.state == ProposalState.ENDORSED,
                                                        Proposal.title.startswith("Shared seismic")))
    assert [item["status"] for item in endorsed.revisions[-1].content["translations"]] == ["checked_translation"]
    page = client.get(f"/proposals/{endorsed.reference}?text=ru")
    assert shown_text(page)["title"] == "ru: Обмен сейсмическими данными для раннего предупреждения о землетрясениях"
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.scalar(select(func.count(ProposalTranslation.id))) == 2
