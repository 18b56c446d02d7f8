"""The public list and page of think tanks: only approved ones, no email address anywhere."""

from __future__ import annotations

from datetime import timedelta

from expert_platform.enums import Participation, ProfileVisibility, ThinkTankStatus
from expert_platform.experts.services import ensure_profile
from expert_platform.extensions import db
from expert_platform.thinktanks import services
from tests.html_tree import parse_html
from tests.thinktanks import steps


def expert_links(response) -> list[tuple[str, str]]:
    section = parse_html(response).find("section", aria_labelledby="experts-heading")
    return [(link.attributes["href"], link.text) for link in section.find_all("a")]


def with_profile(user, visibility=ProfileVisibility.SIGNED_IN):
    ensure_profile(user).visibility = visibility
    db.session.commit()
    return user


def test_the_list_says_so_when_no_think_tank_takes_part(client, states):
    response = client.get("/thinktanks")

    assert response.status_code == 200
    assert parse_html(response).find("p", class_="empty-state").text.startswith("No think tank takes part yet.")


def test_the_list_shows_approved_think_tanks_by_member_state(client, make_think_tank):
    ends = services.today() + timedelta(days=30)
    make_think_tank(name="Zeta Centre", state="KZ", participation=Participation.LEAD)
    make_think_tank(name="Alpha Institute", state="KZ", participation=Participation.TEMPORARY, ends_on=ends)
    make_think_tank(name="Tashkent Forum", state="UZ")
    make_think_tank(name="Awaiting Institute", state="KZ", status=ThinkTankStatus.PENDING)
    make_think_tank(name="Refused Institute", state="UZ", status=ThinkTankStatus.REJECTED)

    page = parse_html(client.get("/thinktanks"))

    listed = [
        (section.find("h2").text, [item.text for item in section.find_all("li")])
        for section in page.find_all("section")
    ]
    assert listed == [
        ("Kazakhstan", [f"Alpha Institute Temporary until {ends.isoformat()}", "Zeta Centre Lead think tank"]),
        ("Uzbekistan", ["Tashkent Forum Permanent"]),
    ]
    links = [(link.attributes["href"], link.text) for section in page.find_all("section")
             for link in section.find_all("a")]
    names = ["Alpha Institute", "Zeta Centre", "Tashkent Forum"]
    assert links == [(f"/thinktanks/{steps.think_tank_named(name).id}", name) for name in names]


def test_the_page_of_an_approved_think_tank_is_public_and_shows_no_email(client, make_think_tank):
    think_tank = make_think_tank(
        name="Institute for Strategic Studies",
        participation=Participation.LEAD,
        website="https://iss.example.org",
        description="## Work\n\nWe *study* [security](https://example.org).",
    )

    response = client.get(f"/thinktanks/{think_tank.id}")

    assert response.status_code == 200
    page = parse_html(response)
    assert page.find("h1").text == "Institute for Strategic Studies"
    details = page.find("dl", class_="details")
    assert [element.text for element in details.find_all("dd")] == [
        "Kazakhstan", "Lead think tank", "https://iss.example.org"
    ]
    website = details.find("a")
    assert (website.attributes["href"], website.attributes["rel"]) == (
        "https://iss.example.org", "nofollow noopener noreferrer"
    )
    about = page.find("section", aria_labelledby="about-heading")
    assert [heading.text for heading in about.find_all("h2")] == ["About", "Work"]
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">security</a>' in steps.main_html(response)
    assert "@" not in steps.main_html(response)
    assert page.find("a", href=f"/thinktanks/{think_tank.id}/members") is None


def test_a_temporary_think_tank_shows_its_end_date_and_when_it_became_read_only(client, make_think_tank):
    ended = services.today() - timedelta(days=2)
    think_tank = make_think_tank(participation=Participation.TEMPORARY, ends_on=ended)

    page = parse_html(client.get(f"/thinktanks/{think_tank.id}"))

    assert page.find("dl", class_="details").find_all("dd")[1].text == f"Temporary until {ended.isoformat()}"
    assert page.find("div", class_="alert-info").text == (
        f"The participation of this think tank ended on {ended.isoformat()}. Its pages are kept read-only: "
        "members and invitations can no longer be changed."
    )


def test_an_unknown_think_tank_is_not_found(client):
    assert client.get("/thinktanks/999").status_code == 404


def test_an_application_is_seen_only_by_its_applicant_and_the_secretariat(
    client, client_of, make_user, secretariat, states
):
    applicant = make_user(email="aida@example.org")
    steps.send_application(client_of(applicant), steps.application(states))
    think_tank = steps.think_tank_named("Institute for Strategic Studies")
    path = f"/thinktanks/{think_tank.id}"

    assert client.get(path).status_code == 404
    assert client_of(make_user(email="other@example.org")).get(path).status_code == 404
    assert client_of(applicant).get(path).status_code == 200
    office = client_of(secretariat)
    seen = parse_html(office.get(path))
    assert seen.find("a", href=f"/secretariat/applications/{think_tank.id}").text == "Application and decision"


def test_the_applicant_sees_a_rejection_and_its_reason(client_of, make_user, secretariat, states):
    applicant = make_user(email="aida@example.org")
    steps.send_application(client_of(applicant), steps.application(states))
    think_tank = steps.think_tank_named("Institute for Strategic Studies")
    steps.reject(client_of(secretariat), think_tank.id, "The member state has not appointed you.")

    notice = parse_html(client_of(applicant).get(f"/thinktanks/{think_tank.id}")).find("div", class_="alert-info")

    assert notice.text == (
        "Application status: Rejected Reason given by the secretariat: The member state has not appointed you."
    )


def test_the_page_lists_active_members_whose_profiles_the_viewer_may_see(client, client_of, make_user,
                                                                       make_think_tank):
    public = with_profile(make_user(display_name="Bolat Public"), ProfileVisibility.PUBLIC)
    private = with_profile(make_user(display_name="Aida Private"))
    gone = with_profile(make_user(display_name="Chingiz Gone"), ProfileVisibility.PUBLIC)
    closed = with_profile(make_user(display_name="Dana Closed"), ProfileVisibility.PUBLIC)
    manager = make_user(display_name="Erlan Manager")
    think_tank = make_think_tank(managers=[manager], experts=[public, private, gone, closed])
    steps.membership(think_tank.id, gone.id).is_active = False
    steps.membership(think_tank.id, closed.id).user.is_active = False
    db.session.commit()
    path = f"/thinktanks/{think_tank.id}"

    assert expert_links(client.get(path)) == [(f"/experts/{public.id}", "Bolat Public")]
    assert expert_links(client_of(make_user()).get(path)) == [
        (f"/experts/{private.id}", "Aida Private"),
        (f"/experts/{public.id}", "Bolat Public"),
        (f"/experts/{manager.id}", "Erlan Manager"),
    ]
    assert "@" not in steps.main_html(client.get(path))
