"""The interface language: chosen by the user's saved preference, else the switcher's cookie, else the
browser's Accept-Language, else English; switched on every page; dates, numbers and emails follow it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale

from expert_platform.accounts.models import User
from expert_platform.enums import NotificationKind, Role
from expert_platform.i18n import date_text, datetime_text, number_text
from expert_platform.notifications import services as notifications
from tests.conftest import fetch_csrf_token, sign_in
from tests.html_tree import Element, parse_html


def page(response) -> Element:
    return parse_html(response)


def language_and_nav(response) -> tuple[str, list[str]]:
    root = page(response)
    links = [a.text for a in root.find("nav", id="site-nav").find("ul", class_="nav-links").find_all("a")]
    return root.find("html").attributes["lang"], links


def switcher(response) -> list[tuple[str, str, str]]:
    form = page(response).find("form", class_="language-switcher")
    return [(button.attributes["value"], button.attributes["lang"], button.attributes["aria-pressed"])
            for button in form.find_all("button")]


def test_english_by_default_and_for_a_browser_asking_for_another_language(client):
    for headers in ({}, {"Accept-Language": "de-DE,de;q=0.9"}):
        assert language_and_nav(client.get("/", headers=headers)) == (
            "en", ["Home", "Archive", "Think tanks", "Experts", "Council"])


def test_russian_for_a_browser_that_prefers_it(client):
    response = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
    assert language_and_nav(response) == (
        "ru", ["Главная", "Архив", "Аналитические центры", "Эксперты", "Совет"])
    assert page(response).find("title").text.endswith("· Экспертная платформа")
    assert switcher(response) == [("en", "en", "false"), ("ru", "ru", "true")]


def back_from(path: str) -> dict:
    """The Referer a browser sends when the switcher is pressed on ``path`` of this site."""
    return {"Referer": f"http://localhost{path}"}


def test_every_page_has_the_switcher_and_nothing_in_it_per_page_or_per_visitor(client):
    responses = [client.get("/archive?q=water&page=1"), client.get("/no-such-page")]
    for response in responses:
        form = page(response).find("form", class_="language-switcher")
        assert (form.attributes["action"], form.attributes["method"]) == ("/language", "post")
        assert form.find_all("input") == []  # no token, no path: an anonymous page gets no session for it
        assert switcher(response) == [("en", "en", "true"), ("ru", "ru", "false")]
        assert [button.text for button in form.find_all("button")] == ["English", "Русский"]
        assert "Set-Cookie" not in response.headers


def test_an_anonymous_choice_is_kept_in_a_cookie_and_beats_the_browser(client):
    response = client.post("/language", data={"language": "ru"}, headers=back_from("/archive?q=x&page=2"))
    assert (response.status_code, response.headers["Location"]) == (303, "/archive?q=x&page=2")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("locale=ru;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert language_and_nav(client.get("/", headers={"Accept-Language": "en"}))[0] == "ru"

    client.post("/language", data={"language": "en"}, headers=back_from("/"))
    assert language_and_nav(client.get("/", headers={"Accept-Language": "ru"}))[0] == "en"


def test_a_signed_in_choice_is_saved_on_the_account_and_follows_the_user(app, client, make_user, db):
    user = make_user(email="polyglot@example.org")
    sign_in(client, user.email)
    token = fetch_csrf_token(client, "/account")
    assert page(client.get("/account")).find("form", class_="language-switcher").find("input", name="csrf_token")
    response = client.post("/language", data={"csrf_token": token, "language": "ru"}, headers=back_from("/account"))
    assert (response.status_code, response.headers["Location"]) == (303, "/account")
    assert db.session.get(User, user.id).locale == "ru"

    # Another browser, which prefers English and has no cookie: the saved choice wins once signed in.
    other = app.test_client()
    assert language_and_nav(other.get("/", headers={"Accept-Language": "en"}))[0] == "en"
    sign_in(other, user.email)
    assert language_and_nav(other.get("/account", headers={"Accept-Language": "en"}))[0] == "ru"


@pytest.mark.parametrize("language", ["", "de", "EN", "ru-RU", "<script>"])
def test_an_unknown_language_is_a_400_and_changes_nothing(client, language):
    response = client.post("/language", data={"language": language}, headers=back_from("/"))
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers or "locale=" not in response.headers["Set-Cookie"]
    assert language_and_nav(client.get("/"))[0] == "en"


def test_a_signed_in_switch_needs_the_csrf_token(client, make_user, db):
    user = make_user(email="forged@example.org")
    sign_in(client, user.email)
    response = client.post("/language", data={"language": "ru"}, headers=back_from("/account"))
    assert response.status_code == 400
    assert db.session.get(User, user.id).locale is None
    assert language_and_nav(client.get("/account"))[0] == "en"


@pytest.mark.parametrize("referrer", [None, "https://evil.example/archive", "http://localhost//evil.example/",
                                      "http://localhost/\\evil.example", "http://evil.example@localhost.evil/"])
def test_the_switcher_only_returns_to_pages_of_this_site(client, referrer):
    headers = {"Referer": referrer} if referrer else {}
    response = client.post("/language", data={"language": "ru"}, headers=headers)
    assert (response.status_code, response.headers["Location"]) == (303, "/")


def test_the_account_page_saves_and_clears_the_preference(client, make_user, db):
    user = make_user(email="chooser@example.org", display_name="Chooser")
    sign_in(client, user.email)
    select = page(client.get("/account")).find("select", name="locale")
    assert [(option.attributes["value"], option.text) for option in select.find_all("option")] == [
        ("", "The language of my browser"), ("en", "English"), ("ru", "Русский")]

    token = fetch_csrf_token(client, "/account")
    client.post("/account", data={"csrf_token": token, "display_name": "Chooser", "locale": "ru"})
    assert db.session.get(User, user.id).locale == "ru"
    root = page(client.get("/account", headers={"Accept-Language": "en"}))
    assert root.find("html").attributes["lang"] == "ru"
    assert [option.attributes["value"] for option in root.find("select", name="locale").find_all("option")
            if "selected" in option.attributes] == ["ru"]

    token = fetch_csrf_token(client, "/account")
    client.post("/account", data={"csrf_token": token, "display_name": "Chooser", "locale": ""})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale is None
    assert language_and_nav(client.get("/account", headers={"Accept-Language": "ru"}))[0] == "ru"
    assert language_and_nav(client.get("/account", headers={"Accept-Language": "en"}))[0] == "en"


def test_the_account_page_refuses_an_unknown_language_and_keeps_the_name(client, make_user, db):
    user = make_user(email="typist@example.org", display_name="Typist")
    sign_in(client, user.email)
    token = fetch_csrf_token(client, "/account")
    response = client.post("/account", data={"csrf_token": token, "display_name": "New name", "locale": "fr"})
    assert response.status_code == 200
    root = page(response)
    assert root.find("input", name="display_name").attributes["value"] == "New name"
    assert root.find("p", id="locale-error").text == "Not a valid choice."
    db.session.expire_all()
    assert (db.session.get(User, user.id).display_name, db.session.get(User, user.id).locale) == ("Typist", None)


def test_forms_errors_and_error_pages_speak_russian(client):
    russian = {"Accept-Language": "ru"}
    response = client.get("/no-such-page", headers=russian)
    assert response.status_code == 404
    assert page(response).find("h1").text == "Страница не найдена"
    token = fetch_csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "email": "", "password": ""}, headers=russian)
    errors = [node.text for node in page(response).find_all("p", class_="field-error")]
    assert errors and all(not any("a" <= ch <= "z" for ch in error.lower()) for error in errors), errors


def test_dates_and_numbers_are_written_for_the_language(app):
    moment = datetime(2026, 11, 29, 14, 5, 9, tzinfo=UTC)
    with app.test_request_context():
        assert (date_text(moment), datetime_text(moment), datetime_text(moment, seconds=True), number_text(20000)) == (
            "2026-11-29", "2026-11-29 14:05 UTC", "2026-11-29 14:05:09 UTC", "20,000")
    with app.test_request_context(headers={"Accept-Language": "ru"}), force_locale("ru"):
        assert (date_text(moment), datetime_text(moment), number_text(20000), number_text(1.5)) == (
            "29 нояб. 2026 г.", "29 нояб. 2026 г., 14:05 UTC", "20\xa0000", "1,5")
        assert (date_text(None), datetime_text(None), number_text(None)) == ("", "", "")


def test_the_account_page_writes_its_dates_in_russian(client, make_user, db):
    user = make_user(email="dated@example.org")
    db.session.get(User, user.id).created_at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    db.session.commit()
    sign_in(client, user.email)
    root = page(client.get("/account", headers={"Accept-Language": "ru"}))
    assert root.find("time", datetime="2026-03-01T08:00:00+00:00").text == "1 мар. 2026 г."


def test_signing_up_on_a_russian_page_saves_russian_and_the_confirmation_is_russian(client, outbox, db):
    token = fetch_csrf_token(client, "/signup")
    response = client.post("/signup", headers={"Accept-Language": "ru"}, data={
        "csrf_token": token, "display_name": "Анна Петрова", "email": "anna@example.org",
        "new_password": "Lantern-Orchard-Meadow-77", "confirm_password": "Lantern-Orchard-Meadow-77"})
    assert response.status_code == 302
    user = db.session.query(User).filter_by(email="anna@example.org").one()
    assert user.locale == "ru"
    [message] = outbox()
    assert message["Subject"] == "Подтвердите адрес электронной почты"
    body = message.get_body(("plain",)).get_content()
    assert body.startswith("Здравствуйте, Анна Петрова!")
    assert "Подтвердите адрес электронной почты для «Экспертная платформа», открыв эту ссылку:" in body


def test_emails_speak_the_recipients_language_whoever_caused_them(app, client, make_user, make_proposal, outbox, db):
    russian = make_user(email="ru@example.org", display_name="Иван", roles=(Role.EXPERT,))
    english = make_user(email="en@example.org", display_name="John", roles=(Role.EXPERT,))
    db.session.get(User, russian.id).locale = "ru"
    db.session.commit()
    proposal = make_proposal(author=russian, coauthors=(english,), title="Water early warning")
    # An English-speaking actor notifies both.
    with force_locale("en"):
        notifications.notify(users=[db.session.get(User, russian.id), db.session.get(User, english.id)],
                             kind=NotificationKind.RETURNED_FOR_REVISION, proposal=proposal, key="returned:test")
        db.session.commit()
    subjects = {message["To"]: message["Subject"] for message in outbox()}
    assert set(subjects) == {"ru@example.org", "en@example.org"}
    assert subjects == {"ru@example.org": "«Water early warning» возвращено вам на доработку.",
                        "en@example.org": "“Water early warning” was returned to you for revision."}
    bodies = {message["To"]: message.get_body(("plain",)).get_content() for message in outbox()}
    assert bodies["ru@example.org"].startswith("Здравствуйте, Иван!")
    assert bodies["en@example.org"].startswith("Hello John,")


def test_a_password_reset_email_is_in_the_accounts_language_not_the_page_s(client, make_user, outbox, db):
    user = make_user(email="reset@example.org", display_name="Ольга")
    db.session.get(User, user.id).locale = "ru"
    db.session.commit()
    token = fetch_csrf_token(client, "/reset-password")
    client.post("/reset-password", data={"csrf_token": token, "email": "reset@example.org"},
                headers={"Accept-Language": "en"})
    [message] = outbox()
    assert message["Subject"] == "Сброс пароля"
    assert message.get_body(("plain",)).get_content().startswith("Здравствуйте, Ольга!")


def test_signing_in_after_choosing_a_language_saves_it_unless_the_account_has_one(client, make_user, db):
    newcomer = make_user(email="newcomer@example.org")
    settled = make_user(email="settled@example.org")
    db.session.get(User, settled.id).locale = "en"
    db.session.commit()
    client.post("/language", data={"language": "ru"}, headers=back_from("/login"))
    sign_in(client, newcomer.email)
    assert db.session.get(User, newcomer.id).locale == "ru"

    other = client.application.test_client()
    other.post("/language", data={"language": "ru"}, headers=back_from("/login"))
    sign_in(other, settled.email)
    db.session.expire_all()
    assert db.session.get(User, settled.id).locale == "en"
    assert language_and_nav(other.get("/account"))[0] == "en"


def test_seeding_adds_missing_russian_names_and_keeps_the_secretariats(app, db):
    from expert_platform.reference.models import MemberState
    from expert_platform.reference.services import load_reference_data

    load_reference_data()
    db.session.commit()
    states = {state.code or state.name: state for state in db.session.query(MemberState)}
    assert (states["KZ"].name_ru, states["VN"].name_ru, states["US"].name_ru, states["United Nations"].name_ru) == (
        "Казахстан", "Вьетнам", "Соединённые Штаты Америки", "Организация Объединённых Наций")
    assert all(state.name_ru for state in states.values())
    states["KZ"].name_ru = "Республика Казахстан"
    states["CN"].name_ru = None
    db.session.commit()
    assert load_reference_data() == 0
    db.session.commit()
    db.session.expire_all()
    assert (db.session.get(MemberState, states["KZ"].id).name_ru,
            db.session.get(MemberState, states["CN"].id).name_ru) == ("Республика Казахстан", "Китай")


def test_a_states_name_follows_the_language_of_the_page_even_where_it_was_kept_by_value(app, db):
    from expert_platform.reference.models import MemberState
    from expert_platform.reference.services import load_reference_data, localized_state_name

    load_reference_data()
    db.session.commit()
    china = db.session.query(MemberState).filter_by(code="CN").one()
    with app.test_request_context(headers={"Accept-Language": "ru"}), force_locale("ru"):
        assert (china.display_name, localized_state_name("China"), localized_state_name("Atlantis")) == (
            "Китай", "Китай", "Atlantis")
    with app.test_request_context(), force_locale("en"):
        assert (china.display_name, localized_state_name("China")) == ("China", "China")


def test_pages_tell_caches_that_they_vary_by_language(client):
    for path in ("/", "/archive", "/api/v1/proposals", "/no-such-page"):
        response = client.get(path)
        assert {"Accept-Language", "Cookie"} <= set(response.vary), path
