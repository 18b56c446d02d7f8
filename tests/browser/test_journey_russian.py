"""Journey (g): the main journey through the Russian interface (issue 9, two working languages).

A visitor switches an English page to Russian; an expert signs in through the Russian login form, keeps
Russian on her account, drafts a proposal in Russian (a refused form keeps what she typed), previews it and
submits it; the secretariat, whose browser asks for Russian, starts the review and opens a standard round;
two council members record their delegations' positions in Russian, one with a reservation, and the
proposal is endorsed; an anonymous reader with a Russian browser finds it in the archive with a Russian
query and reads its decision record, dated in Russian. Mail speaks each recipient's language.

The Russian texts are the catalogue's (expert_platform/translations/ru/LC_MESSAGES/messages.po), written
out here so that a missing or changed translation fails the journey. The people, their think tank and the
council seats are set up through the services (journeys.py); every step on a page is in Russian.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.sync_api import expect

from expert_platform.database import utcnow
from expert_platform.enums import Role
from tests.browser.conftest import DEMO_ACCOUNTS, PASSWORD
from tests.browser.journeys import (
    decided_at,
    definitions,
    delegations_asked,
    flashes,
    mail_to,
    make_delegate,
    make_think_tank,
    member_state_name,
    proposal_titled,
    russian_state_names,
    the_other_delegations_endorse,
    unique_word,
)

#: CLDR's abbreviated Russian month names in the genitive, as a Russian page writes a day: "29 нояб. 2026 г.".
RUSSIAN_MONTHS = ("янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек.")
SUMMARY = "Государства-члены обмениваются данными о ледоходе на общих реках."
BODY = ("## Проблема\n\nЛедяные заторы вызывают наводнения по обе стороны границы.\n\n"
        "## Предлагаемая мера\n\nПередавать показания датчиков ежечасно.")
RESERVATION = "Сначала датчики нужно откалибровать по единому национальному стандарту."


def russian_day(moment: datetime) -> str:
    return f"{moment.day} {RUSSIAN_MONTHS[moment.month - 1]} {moment.year} г."


def russian_moment(moment: datetime) -> str:
    return f"{russian_day(moment)}, {moment:%H:%M} UTC"


def sign_in_russian(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form in Russian."""
    page.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Войти")
    page.get_by_label("Адрес электронной почты").fill(email)
    page.get_by_label("Пароль", exact=True).fill(password)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("button", name="Выйти")).to_have_count(1)


def expect_russian(page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("button", name="Русский")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "false")


def test_the_main_journey_in_russian(live, new_context):
    author = live.person("Анна Смирнова", Role.EXPERT, email=live.unique_email("anna"))
    make_think_tank(live, state="KZ", experts=[author])
    reserving = make_delegate(live, "Чэнь Жуй", "CN", email=live.unique_email("chen"))
    endorsing = make_delegate(live, "Dev Patel", "IN")  # reads English: no saved language, an English browser
    china = member_state_name(live, "CN")
    word = unique_word("Ледомер")
    title = f"Мониторинг ледохода датчиками {word}"

    # A visitor on an English page presses «Русский»: the same page, in Russian.
    page = new_context(locale="en-GB").new_page()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_role("form", name="Language").get_by_role("button", name="Русский").click()

    expect(page).to_have_url(f"{live.url}/login")
    expect_russian(page)
    expect(page).to_have_title("Войти · Экспертная платформа")

    # The expert signs in through the Russian form; the pages stay Russian. She saves Russian on her account
    # with the switcher, signs out and signs in again from an English-speaking browser: still Russian.
    sign_in_russian(page, author.email)
    expect_russian(page)
    page.get_by_role("button", name="Русский").click()
    page.get_by_role("button", name="Выйти").click()
    expect(flashes(page)).to_have_text(["Вы вышли из системы на всех устройствах."])
    page.close()
    page = new_context(locale="en-GB").new_page()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Email address").fill(author.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect_russian(page)

    # She starts a proposal in Russian and saves it without a title: refused in Russian, her text kept.
    page.get_by_role("navigation", name="Основное меню").get_by_role("link", name="Мои предложения").click()
    page.get_by_role("link", name="Начать предложение").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Начать предложение")
    page.get_by_label("Краткое изложение", exact=True).fill(SUMMARY)
    page.get_by_label("Текст", exact=True).fill(BODY)
    page.get_by_label("Экологическое измерение").check()
    page.get_by_label("Ключевые слова").fill("вода, ледоход")
    page.get_by_label("Язык предложения").select_option("ru")
    page.get_by_role("button", name="Сохранить черновик").click()

    expect(page.locator(".alert-error")).to_have_text("Исправьте поля, отмеченные ниже.")
    title_field = page.get_by_label("Название", exact=True)
    expect(title_field).to_have_attribute("aria-invalid", "true")
    expect(title_field).to_have_accessible_description("Не более 200 символов. Введите название.")
    expect(page.get_by_label("Краткое изложение", exact=True)).to_have_value(SUMMARY)
    expect(page.get_by_label("Текст", exact=True)).to_have_value(BODY)
    expect(page.get_by_label("Ключевые слова")).to_have_value("вода, ледоход")

    # She adds the title, previews (nothing saved yet), saves the draft and submits it to the council.
    title_field.fill(title)
    page.get_by_role("button", name="Предварительный просмотр").click()
    preview = page.get_by_role("region", name="Предварительный просмотр: именно так текст увидят читатели")
    expect(preview.get_by_role("heading", level=3)).to_have_text(title)
    expect(preview.locator(".proposal-text h2")).to_have_text(["Проблема", "Предлагаемая мера"])
    page.get_by_role("button", name="Сохранить черновик").click()

    expect(flashes(page)).to_have_text(["Черновик сохранён. Его видите только вы и приглашённые вами соавторы."])
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".proposal-state")).to_have_text("Черновик")
    page.get_by_role("button", name="Направить в совет").click()

    reference = proposal_titled(live, title).reference
    expect(flashes(page)).to_have_text([f"Предложение направлено в совет. Его номер: {reference}."])
    expect(page.locator(".proposal-state")).to_have_text(f"Подано {reference}")
    proposal = proposal_titled(live, title)

    # The secretariat, in a Russian browser, starts the review and opens a standard round for three days.
    secretariat = new_context(locale="ru-RU").new_page()
    sign_in_russian(secretariat, *DEMO_ACCOUNTS["secretariat"])
    expect_russian(secretariat)
    workspace = f"/proposals/{proposal.id}/review"
    secretariat.goto(f"/proposals/{proposal.id}")
    secretariat.get_by_role("link", name="Рабочее пространство рассмотрения").click()
    secretariat.get_by_role("button", name="Начать рассмотрение").click()

    expect(flashes(secretariat)).to_have_text(
        ["Рассмотрение начато. Назначьте докладчиков, затем откройте раунд консенсуса."])
    expect(secretariat.locator(".proposal-state")).to_have_text(f"На рассмотрении {reference}")
    deadline = (utcnow() + timedelta(hours=72)).replace(second=0, microsecond=0)
    card = secretariat.locator("#open-round")
    card.get_by_label("Обычный раунд", exact=True).check()
    card.get_by_label("Срок (UTC)").fill(f"{deadline:%Y-%m-%dT%H:%M}")
    card.get_by_role("button", name="Открыть раунд").click()

    expect(flashes(secretariat)).to_have_text([f"Открыто: обычный раунд, срок — до {russian_moment(deadline)}. "
                                               "Всем делегациям предложено сообщить свою позицию."])
    expect(secretariat.locator(".proposal-state .badge")).to_have_text("Раунд консенсуса")
    asked = delegations_asked(live, proposal)
    the_other_delegations_endorse(live, proposal, besides=[reserving, endorsing])
    # Dev Patel has chosen no language: the secretariat's Russian does not reach his mail.
    mail_to(live, endorsing.email,
            f"A consensus round on {reference} “{title}” is open until {deadline:%Y-%m-%d %H:%M} UTC.")

    # China endorses with a reservation, in Russian.
    china_page = new_context(locale="ru-RU").new_page()
    sign_in_russian(china_page, reserving.email)
    china_page.goto(workspace)
    expect(china_page.locator("#current-position")).to_have_text("Ваша делегация ещё не ответила.")
    position = china_page.locator("#my-position")
    position.get_by_label("Одобрить с оговоркой", exact=True).check()
    position.get_by_label("Обоснование").fill(RESERVATION)
    position.get_by_role("button", name="Зафиксировать позицию").click()

    expect(flashes(china_page)).to_have_text(["Позиция вашей делегации записана: Одобрить с оговоркой."])
    expect(china_page.locator("#current-position")).to_have_text(
        f"Текущая позиция: Одобрить с оговоркой ({RESERVATION})")

    # India endorses (his browser asks for Russian): the last answer, the proposal is endorsed.
    india_page = new_context(locale="ru-RU").new_page()
    sign_in_russian(india_page, endorsing.email)
    india_page.goto(workspace)
    position = india_page.locator("#my-position")
    position.get_by_label("Одобрить", exact=True).check()
    position.get_by_role("button", name="Зафиксировать позицию").click()

    expect(flashes(india_page)).to_have_text(["Позиция вашей делегации записана: Одобрить. "
                                              "С её учётом правило консенсуса соблюдено: предложение одобрено."])
    expect(india_page.locator(".proposal-state .badge")).to_have_text("Одобрено")
    expect(india_page.locator("#round-1-heading")).to_have_text("Раунд 1: Одобрено")
    assert proposal_titled(live, title).state == "endorsed"
    # The author saved Russian: the council's decision reaches her in Russian.
    mail_to(live, author.email, f"Совет одобрил «{title}».")

    # An anonymous reader with a Russian browser searches the archive in Russian and finds exactly this proposal.
    reader = new_context(locale="ru-RU").new_page()
    reader.goto("/archive")
    expect_russian(reader)
    expect(reader.get_by_role("heading", level=1)).to_have_text("Архив")
    reader.get_by_label("Поиск по архиву").fill(f"ледоход {word}")
    reader.get_by_role("search").get_by_role("button", name="Найти").click()

    expect(reader.locator("#result-count")).to_have_text("1 предложение")
    hit = reader.locator("#hits > li")
    assert hit.locator("h3 a").inner_html() == f"Мониторинг <mark>ледохода</mark> датчиками <mark>{word}</mark>"
    hit.get_by_role("link", name=title).click()

    expect(reader).to_have_url(f"{live.url}/proposals/{reference}")
    expect(reader.locator(".proposal-state")).to_have_text(f"Одобрено {reference}")
    decided = decided_at(live, proposal)
    record = reader.locator("#decision-record")
    expect(record.get_by_role("heading", level=2)).to_have_text("Протокол решения")
    expect(record.locator(".decision-outcome")).to_have_text(f"Одобрено консенсусом {russian_day(decided)}")
    assert definitions(record.locator(".decision-facts")) == {
        "Дата решения": russian_moment(decided),
        "Тип раунда": "Обычный раунд",
        "Кворум": "2/3 опрошенных делегаций",
    }
    # The tally keeps the delegations' names as they were (English); Russian pages show the Russian names.
    in_russian = russian_state_names(live)
    assert definitions(record.locator(".tally")) == {
        "Одобрено": ", ".join(in_russian[state] for state in asked if state != china),
        "Одобрено с оговорками": in_russian[china],
        "Не препятствовали": "Нет",
        "Не ответили": "Нет",
    }
    assert in_russian[china] == "Китай"
    assert definitions(record.locator(".reservations")) == {in_russian[china]: RESERVATION}
