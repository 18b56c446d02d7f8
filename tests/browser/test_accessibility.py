"""Accessibility: axe-core checks every main page, signed out and in each demo role, in English and in
Russian, and finds no violation of impact serious or critical; colour contrast (WCAG 2.1 AA, rule
``color-contrast``) and the page's language (``html-has-lang``, ``html-lang-valid``, ``valid-lang``) included."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.pages import LANGUAGES, VIEWERS, main_pages, open_page, sign_in_as, speak

#: The impacts that fail the suite (axe's others are "minor" and "moderate").
BLOCKING_IMPACTS = ("serious", "critical")
#: Every rule of axe-core, among them the WCAG 2.0, 2.1 A and AA rules, colour contrast included.
AXE = Axe()


def blocking_violations(page, name: str, path: str | None, language: str | None = None) -> list[str]:
    """Open ``path`` (None: stay on the page; in ``language`` when given) and describe each serious or
    critical violation as "name (path): rule at target"."""
    if path is not None:
        open_page(page, path, language)
    results = AXE.run(page)
    return [
        f"{name} ({path}): {violation['id']} at {' '.join(map(str, node['target']))}"
        for violation in results.response["violations"] if violation["impact"] in BLOCKING_IMPACTS
        for node in violation["nodes"]
    ]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("viewer", VIEWERS)
def test_no_main_page_has_a_serious_or_critical_accessibility_violation(live, page, viewer, language):
    sign_in_as(page, viewer)
    speak(page, live, language)

    problems = [problem for name, path in main_pages(live)[viewer]
                for problem in blocking_violations(page, name, path, language)]

    assert problems == [], "\n".join(problems)


def test_the_colour_contrast_rule_is_among_the_rules_checked(page):
    page.goto("/")

    results = AXE.run(page, options={"runOnly": {"type": "rule", "values": ["color-contrast"]}})

    assert [rule["id"] for rule in results.response["passes"]] == ["color-contrast"]


def test_a_refused_form_tells_each_error_beside_its_field_and_focuses_it(page):
    sign_in_as(page, "expert")
    page.goto("/proposals/new")

    page.get_by_role("button", name="Save the draft").click()

    title = page.get_by_label("Title", exact=True)
    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    expect(title).to_be_focused()
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_have_accessible_description("At most 200 characters. Enter a title.")
    assert blocking_violations(page, "proposal form with an error", None) == []
