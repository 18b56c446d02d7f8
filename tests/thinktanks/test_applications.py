"""Applying to register an institution: anyone may apply; services validate; the contact is told."""

from __future__ import annotations

from datetime import timedelta

import pytest

from expert_platform.audit.models import AuditRecord
from expert_platform.enums import Participation, ThinkTankStatus
from expert_platform.thinktanks import services
from expert_platform.thinktanks.models import ThinkTank
from tests.html_tree import parse_html
from tests.thinktanks import steps


def field_values(response) -> dict:
    """What each field of the application form shows (inputs, the textarea, the selects)."""
    page = parse_html(response)
    values = {element.attributes["name"]: element.attributes.get("value", "")
              for element in page.find_all("input") if element.attributes.get("type") != "hidden"}
    values["description"] = page.find("textarea", name="description").text
    for select in page.find_all("select"):
        chosen = select.find("option", selected="")
        values[select.attributes["name"]] = chosen.attributes["value"] if chosen else None
    return values


def field_error(response, field: str) -> str:
    return parse_html(response).find("p", id=f"{field}-error").text


def test_an_anonymous_visitor_applies_and_the_contact_is_acknowledged(client, states, outbox):
    response = steps.send_application(client, steps.application(states))

    assert (response.status_code, response.headers["Location"]) == (302, "/thinktanks/apply/received")
    think_tank = steps.think_tank_named("Institute for Strategic Studies")
    assert (think_tank.member_state.code, think_tank.website, think_tank.status) == (
        "KZ", "https://iss.example.org", ThinkTankStatus.PENDING
    )
    assert (think_tank.contact_name, think_tank.contact_email, think_tank.applicant_id) == (
        "Aida Nurlanova", "aida@iss.example.org", None
    )
    assert (think_tank.participation, think_tank.participation_ends_on) == (Participation.PERMANENT, None)
    assert think_tank.description == "We study *regional security*."
    assert think_tank.description_html == "<p>We study <em>regional security</em>.</p>\n"
    [message] = outbox()
    assert (message["To"], message["Subject"]) == (
        "aida@iss.example.org", "We received the application of Institute for Strategic Studies"
    )
    assert "Institute for Strategic Studies (Kazakhstan)" in steps.body(message)
    record = steps.audit_record("thinktank.applied")
    assert (record.actor_id, record.object_id, record.details) == (
        None, think_tank.id, {"participation": "permanent", "ends_on": None, "member_state_id": states["KZ"].id}
    )


def test_a_signed_in_applicant_finds_the_form_prefilled_and_follows_the_application(
    client, login, make_user, states, outbox
):
    user = make_user(email="aida@iss.example.org", display_name="Aida Nurlanova")
    login(user)

    values = field_values(client.get("/thinktanks/apply"))
    assert (values["contact_name"], values["contact_email"]) == ("Aida Nurlanova", "aida@iss.example.org")
    response = steps.send_application(client, steps.application(states))

    assert response.status_code == 302
    think_tank = steps.think_tank_named("Institute for Strategic Studies")
    assert think_tank.applicant_id == user.id
    assert steps.audit_record("thinktank.applied").actor_id == user.id
    page = client.get(f"/thinktanks/{think_tank.id}")
    assert page.status_code == 200
    assert "Application status: Awaiting decision" in parse_html(page).find("div", class_="alert-info").text


def test_the_member_state_list_offers_member_states_only(client, states):
    page = parse_html(client.get("/thinktanks/apply"))

    options = [option.text for option in page.find("select", name="member_state").find_all("option")]
    assert options[0] == "Choose a member state"
    assert "Kazakhstan" in options
    assert "Japan" not in options  # an observer state
    assert "United Nations" not in options
    assert len(options) == 1 + 28


def test_a_temporary_participation_keeps_its_end_date(client, states):
    ends = (services.today() + timedelta(days=90)).isoformat()

    response = steps.send_application(client, steps.application(states, participation="temporary", ends_on=ends))

    assert response.status_code == 302
    think_tank = steps.think_tank_named("Institute for Strategic Studies")
    assert (think_tank.participation, think_tank.participation_ends_on.isoformat()) == (Participation.TEMPORARY, ends)


YESTERDAY = (services.today() - timedelta(days=1)).isoformat()

BAD_INPUT = [
    ({"name": ""}, "name", "Enter the institution's name."),
    ({"name": "x" * 201}, "name", "Use at most 200 characters."),
    ({"member_state": ""}, "member_state", "Choose one of the member states."),
    ({"website": "iss.example.org"}, "website",
     "Enter a full web address that starts with http:// or https://, such as https://example.org."),
    ({"website": "ftp://iss.example.org"}, "website",
     "Enter a full web address that starts with http:// or https://, such as https://example.org."),
    ({"website": "javascript:alert(1)"}, "website",
     "Enter a full web address that starts with http:// or https://, such as https://example.org."),
    ({"website": "https://" + "a" * 500 + ".org"}, "website", "Use at most 500 characters."),
    ({"description": "word " * 1001}, "description", "Use at most 5000 characters."),
    ({"contact_name": ""}, "contact_name", "Enter the contact person's name."),
    ({"contact_email": ""}, "contact_email", "Enter the contact person's email address."),
    ({"contact_email": "not an address"}, "contact_email", "Enter a valid email address."),
    ({"participation": "temporary"}, "ends_on", "A temporary participation needs an end date."),
    ({"participation": "temporary", "ends_on": YESTERDAY}, "ends_on", "The end date must be in the future."),
    ({"participation": "temporary", "ends_on": "next summer"}, "ends_on", "Not a valid date value."),
    ({"participation": "forever"}, "participation", "Not a valid choice."),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT, ids=[case[1] for case in BAD_INPUT])
def test_bad_input_shows_the_form_again_with_everything_typed_kept(client, states, outbox, changes, field, message):
    data = steps.application(states, **changes)

    response = steps.send_application(client, data)

    assert response.status_code == 200
    assert field_error(response, field) == message
    shown = field_values(response)
    for name in ("name", "website", "contact_name", "contact_email", "ends_on"):
        assert shown[name] == data[name]
    assert shown["description"] == " ".join(data["description"].split())
    if field not in {"member_state", "participation"}:
        assert (shown["member_state"], shown["participation"]) == (data["member_state"], data["participation"])
    assert steps.count(ThinkTank) == 0
    assert steps.count(AuditRecord) == 0
    assert outbox() == []


def test_an_observer_state_is_refused_even_when_posted_by_hand(client, states):
    response = steps.send_application(client, steps.application(states, member_state=str(states["JP"].id)))

    assert response.status_code == 200
    assert field_error(response, "member_state") == "Not a valid choice."
    assert steps.count(ThinkTank) == 0


def test_an_institution_registered_already_in_the_same_state_is_refused(client, states):
    steps.send_application(client, steps.application(states))

    again = steps.send_application(client, steps.application(states, name="institute for strategic  studies"))
    elsewhere = steps.send_application(client, steps.application(states, member_state=str(states["UZ"].id)))

    assert again.status_code == 200
    assert field_error(again, "name") == (
        "An institution with this name in this member state is registered or awaiting a decision already."
    )
    assert elsewhere.status_code == 302
    assert steps.count(ThinkTank) == 2


def test_markdown_in_the_description_cannot_inject_html(client, states):
    steps.send_application(client, steps.application(states, description='<script>alert(1)</script> [x](javascript:y)'))

    think_tank = steps.think_tank_named("Institute for Strategic Studies")
    assert think_tank.description_html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:y)</p>\n"


def test_applications_are_rate_limited_per_address(client, states):
    statuses = [
        steps.send_application(client, steps.application(states, name=f"Institute {number}")).status_code
        for number in range(11)
    ]

    assert statuses == [302] * 10 + [429]
    assert client.get("/thinktanks/apply").status_code == 200
