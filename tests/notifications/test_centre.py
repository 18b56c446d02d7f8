"""The notification centre: each person's own notifications, the unread count in the header, marking
read, following a notification, and the email settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from expert_platform.enums import CommentVisibility, NotificationKind, ProposalState, Role
from expert_platform.extensions import db
from expert_platform.notifications import services as notifications
from expert_platform.notifications.models import Notification
from expert_platform.review import services as review_services
from tests.html_tree import parse_html
from tests.proposals.page_steps import flashes, signed_in, token

K = NotificationKind
TITLE = "Flood warnings"
SHARED = f"The council shared a comment on “{TITLE}” with you."
RETURNED = f"“{TITLE}” was returned to you for revision."


@pytest.fixture
def council(make_council):
    return make_council(("CN",))


@pytest.fixture
def proposal(make_proposal, bring_to, author, coauthor, council):
    return bring_to(make_proposal(author=author, coauthors=[coauthor], title=TITLE), ProposalState.IN_REVIEW)


@pytest.fixture
def two_for_each_author(proposal, council, secretariat):
    """A comment shared with the authors, then the proposal returned: two notifications each, the
    return being the newest."""
    review_services.add_comment(actor=council["CN"], proposal=proposal, body="Please add a timetable.",
                                visibility=CommentVisibility.AUTHORS)
    db.session.commit()
    review_services.return_for_revision(actor=secretariat, proposal=proposal, note="Add a timetable.")
    db.session.commit()
    return proposal


def own(user, kind: NotificationKind) -> Notification:
    return db.session.scalar(select(Notification).where(Notification.user_id == user.id, Notification.kind == kind))


def unread_of(user) -> list[str]:
    db.session.expire_all()
    return sorted(row.kind.value for row in db.session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ))


def items(response) -> list[tuple[str, list[str]]]:
    """Each notification as shown: its sentence (with "Unread" when so marked) and its buttons."""
    listing = parse_html(response).find("ol", class_="notification-list")
    if listing is None:
        return []
    return [
        (item.find("p", class_="notification-sentence").text, [button.text for button in item.find_all("button")])
        for item in listing.find_all("li", class_="notification")
    ]


def header_link(response) -> str:
    return parse_html(response).find("a", class_="nav-notifications").text


def press(client, path: str, **data):
    return client.post(path, data={"csrf_token": token(client), **data})


# --- the listing -------------------------------------------------------------------------------------


def test_the_centre_lists_my_notifications_newest_first_with_the_unread_marked(app, two_for_each_author,
                                                                              author):
    client = signed_in(app, author)

    response = client.get("/notifications")

    assert response.status_code == 200
    assert items(response) == [
        (f"Unread {RETURNED}", ["Open", "Mark as read"]),
        (f"Unread {SHARED}", ["Open", "Mark as read"]),
    ]
    assert header_link(response) == "Notifications 2 unread"
    assert parse_html(response).find("a", href="/notifications/settings").text == "Email settings"
    sentence_id = f"notification-{own(author, K.RETURNED_FOR_REVISION).id}-sentence"
    assert [button.attributes["aria-describedby"] for button in parse_html(response).find_all(
        "button", aria_describedby=sentence_id)] == [sentence_id, sentence_id]


def test_nobody_else_sees_my_notifications(app, two_for_each_author, make_user, council):
    response = signed_in(app, make_user(roles=(Role.RESEARCHER,))).get("/notifications")

    assert response.status_code == 200
    assert items(response) == []
    assert TITLE not in response.get_data(as_text=True)
    assert parse_html(response).find("p", class_="empty-state").text == (
        "You have no notifications yet. They appear here when something happens to a proposal you write, "
        "review or decide on; choose which also come by email in the settings.")
    assert header_link(response) == "Notifications"


def test_signed_out_visitors_are_sent_to_sign_in(app, two_for_each_author, author):
    client = app.test_client()
    mine = own(author, K.COMMENT_SHARED)

    for response in (client.get("/notifications"), client.get("/notifications/settings"),
                     press(client, f"/notifications/{mine.id}/read"), press(client, "/notifications/read-all")):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    assert unread_of(author) == ["comment_shared", "returned_for_revision"]
    assert parse_html(client.get("/")).find("a", class_="nav-notifications") is None


def test_the_unread_filter_shows_only_the_unread(app, two_for_each_author, author):
    client = signed_in(app, author)
    press(client, f"/notifications/{own(author, K.RETURNED_FOR_REVISION).id}/read")

    response = client.get("/notifications?unread=1")

    assert items(response) == [(f"Unread {SHARED}", ["Open", "Mark as read"])]
    assert parse_html(response).find("a", aria_current="page", href="/notifications?unread=1").text == "Unread only"


def test_the_listing_is_paginated_thirty_a_page(app, proposal, author):
    for number in range(notifications.PAGE_SIZE + 1):
        notifications.notify(users=[author], kind=K.COMMENT_SHARED, proposal=proposal, key=f"test:{number}")
    db.session.commit()
    client = signed_in(app, author)

    first, second = client.get("/notifications"), client.get("/notifications?page=2")

    assert len(items(first)) == 30
    assert len(items(second)) == 1
    assert parse_html(first).find("a", rel="next").attributes["href"] == "/notifications?page=2"
    assert client.get("/notifications?page=3").status_code == 404
    assert client.get(f"/notifications?page={10**30}").status_code == 404
    assert len(items(client.get("/notifications?page=nonsense"))) == 30
    assert header_link(first) == "Notifications 31 unread"


# --- marking read --------------------------------------------------------------------------------------


def test_marking_one_as_read_is_mine_alone(app, two_for_each_author, author, coauthor):
    client = signed_in(app, author)

    response = press(client, f"/notifications/{own(author, K.COMMENT_SHARED).id}/read")

    assert response.status_code == 302
    assert response.headers["Location"] == "/notifications"
    assert unread_of(author) == ["returned_for_revision"]
    assert unread_of(coauthor) == ["comment_shared", "returned_for_revision"]
    page = client.get("/notifications")
    assert flashes(page) == ["The notification is marked as read."]
    assert items(page) == [(f"Unread {RETURNED}", ["Open", "Mark as read"]), (SHARED, ["Open"])]
    assert header_link(page) == "Notifications 1 unread"


def test_marking_read_keeps_the_page_and_filter(app, two_for_each_author, author):
    response = press(signed_in(app, author), f"/notifications/{own(author, K.COMMENT_SHARED).id}/read?unread=1")

    assert response.headers["Location"] == "/notifications?unread=1"


def test_another_persons_notification_is_404_and_stays_unread(app, two_for_each_author, author, coauthor):
    theirs = own(coauthor, K.COMMENT_SHARED)
    client = signed_in(app, author)

    assert press(client, f"/notifications/{theirs.id}/read").status_code == 404
    assert press(client, f"/notifications/{theirs.id}/open").status_code == 404
    assert press(client, "/notifications/999999/read").status_code == 404
    assert unread_of(coauthor) == ["comment_shared", "returned_for_revision"]


def test_opening_a_notification_marks_it_read_and_follows_its_link(app, two_for_each_author, author):
    client = signed_in(app, author)
    proposal_id = two_for_each_author.id

    shared = press(client, f"/notifications/{own(author, K.COMMENT_SHARED).id}/open")
    returned = press(client, f"/notifications/{own(author, K.RETURNED_FOR_REVISION).id}/open")

    assert shared.status_code == 302
    assert shared.headers["Location"] == f"/proposals/{proposal_id}/discussion"
    assert returned.headers["Location"] == f"/proposals/{proposal_id}"
    assert unread_of(author) == []


def test_marking_all_as_read_leaves_other_peoples_unread(app, two_for_each_author, author, coauthor):
    client = signed_in(app, author)
    assert parse_html(client.get("/notifications")).find("form", action="/notifications/read-all") is not None

    response = press(client, "/notifications/read-all")

    assert response.status_code == 302
    assert unread_of(author) == []
    assert unread_of(coauthor) == ["comment_shared", "returned_for_revision"]
    page = client.get("/notifications")
    assert flashes(page) == ["All your notifications are marked as read."]
    assert items(page) == [(RETURNED, ["Open"]), (SHARED, ["Open"])]
    assert header_link(page) == "Notifications"
    assert parse_html(page).find("form", action="/notifications/read-all") is None


def test_buttons_need_a_csrf_token(app, two_for_each_author, author):
    client = signed_in(app, author)

    response = client.post(f"/notifications/{own(author, K.COMMENT_SHARED).id}/read")

    assert response.status_code == 400
    assert unread_of(author) == ["comment_shared", "returned_for_revision"]


# --- email settings ------------------------------------------------------------------------------------


def settings_form(response) -> list[tuple[str, str, bool]]:
    """Each kind as the settings page shows it: label, description, ticked."""
    form = parse_html(response).find("form", action="/notifications/settings")
    return [
        (form.find("label", for_=box.attributes["id"]).text, form.find(id=box.attributes["aria-describedby"]).text,
         "checked" in box.attributes)
        for box in form.find_all("input", type="checkbox")
    ]


def test_the_settings_offer_email_for_every_kind_ticked_by_default(app, author):
    response = signed_in(app, author).get("/notifications/settings")

    assert response.status_code == 200
    assert settings_form(response) == [(kind.label, kind.description, True) for kind in K]
    assert parse_html(response).find("legend").text == "Email me about"


def test_saving_the_settings_turns_email_off_kind_by_kind(app, author, coauthor):
    client = signed_in(app, author)
    kept = [K.PROPOSAL_SUBMITTED.value, K.DECISION.value]

    response = press(client, "/notifications/settings", emailed=kept)

    assert response.status_code == 302
    assert response.headers["Location"] == "/notifications/settings"
    assert notifications.email_settings(author) == {kind: kind.value in kept for kind in K}
    assert notifications.email_settings(coauthor) == {kind: True for kind in K}
    page = client.get("/notifications/settings")
    assert flashes(page) == ["Your email settings are saved."]
    assert [ticked for _label, _description, ticked in settings_form(page)] == [kind.value in kept for kind in K]


def test_an_unknown_kind_is_a_form_error_and_nothing_is_saved(app, author):
    response = press(signed_in(app, author), "/notifications/settings", emailed=["decision", "everything"])

    assert response.status_code == 400
    assert parse_html(response).find(id="emailed-error").text == "'everything' is not a valid choice for this field."
    assert notifications.email_settings(author) == {kind: True for kind in K}


# --- the header ----------------------------------------------------------------------------------------


def nav_links(response) -> list[str]:
    return [link.text for link in parse_html(response).find("ul", class_="nav-links").find_all("a")]


def test_the_council_and_the_secretariat_have_the_review_dashboard_in_the_menu(app, council, secretariat,
                                                                                 author):
    for person in (council["CN"], secretariat):
        response = signed_in(app, person).get("/notifications")
        assert "Review" in nav_links(response)
        assert parse_html(response).find("a", href="/council/review").text == "Review"
    assert "Review" not in nav_links(signed_in(app, author).get("/notifications"))
    assert "Review" not in nav_links(app.test_client().get("/"))


def test_the_review_menu_entry_is_current_on_the_dashboard(app, council):
    response = signed_in(app, council["CN"]).get("/council/review")

    assert response.status_code == 200
    assert parse_html(response).find("a", href="/council/review").attributes.get("aria-current") == "page"


# --- cost --------------------------------------------------------------------------------------------


def test_the_centre_asks_the_database_as_often_for_twenty_notifications_as_for_two(app, make_proposal, author):
    from tests.review.test_dashboard import QueryCounter

    client = signed_in(app, author)
    counter = QueryCounter(db.engine)

    def notify_about(count: int) -> None:
        for _ in range(count):
            about = make_proposal(author=author)
            notifications.notify(users=[author], kind=K.COMMENT_SHARED, proposal=about, key=f"cost:{about.id}")
        db.session.commit()

    notify_about(2)
    few = counter.during(lambda: client.get("/notifications"))
    notify_about(18)
    many = counter.during(lambda: client.get("/notifications"))

    assert len(items(client.get("/notifications"))) == 20
    assert many == few
