"""The audit trail: newest first, 50 a page, filtered by action, object type, actor and dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from expert_platform.audit import services as audit
from expert_platform.enums import Role
from tests.html_tree import parse_html
from tests.secretariat.conftest import field_error, table_rows

AUDIT_PAGE = "/secretariat/audit"


def record(db, *, actor, action: str, object_id: int | None, at: datetime, summary: str = "", details=None) -> int:
    entry = audit.record(actor=actor, action=action, object_id=object_id, summary=summary or action, details=details)
    entry.created_at = at  # the trail is append-only; only a test places a record in the past
    db.session.commit()
    return entry.id


def listed(response) -> list[int]:
    """The ids of the records on the page, in page order."""
    body = parse_html(response).find("table", id="audit-records")
    if body is None:
        return []
    return [int(row.attributes["id"].removeprefix("record-")) for row in body.find("tbody").find_all("tr")]


@pytest.fixture
def trail(db, admin, make_user):
    """Five records by three actors (one of them the system) over three weeks."""
    underscore = make_user(email="ob_x@example.org", display_name="Oleg Underscore", roles=(Role.ADMIN,))
    lookalike = make_user(email="obzx@example.org", display_name="Olga Lookalike", roles=(Role.ADMIN,))
    return {
        "approved": record(db, actor=admin, action="thinktank.approved", object_id=5,
                           at=datetime(2026, 1, 10, 9, 0, tzinfo=UTC)),
        "sent": record(db, actor=underscore, action="invitation.sent", object_id=7,
                       at=datetime(2026, 1, 15, 0, 0, tzinfo=UTC)),
        "appointed": record(db, actor=lookalike, action="council.appointed", object_id=3,
                            at=datetime(2026, 1, 15, 23, 59, 59, tzinfo=UTC)),
        "accepted": record(db, actor=None, action="invitation.accepted", object_id=7,
                           at=datetime(2026, 1, 16, 0, 0, tzinfo=UTC)),
        "added": record(db, actor=admin, action="reference.state_added", object_id=40,
                        at=datetime(2026, 2, 1, 10, 30, tzinfo=UTC), summary="Oman added as member_state",
                        details={"code": "OM", "kind": "member_state"}),
    }


def ids(trail, *names) -> list[int]:
    return [trail[name] for name in names]


def test_the_trail_lists_every_record_newest_first_with_its_columns(admin_client, trail):
    response = admin_client.get(AUDIT_PAGE)

    assert response.status_code == 200
    assert listed(response) == ids(trail, "added", "accepted", "appointed", "sent", "approved")
    rows = table_rows(response, "audit-records")
    assert rows[0] == ("2026-02-01 10:30:00 UTC", "Ada Admin", "reference.state_added", "Oman added as member_state",
                       "member_state 40", "code OM kind member_state")
    assert rows[1] == ("2026-01-16 00:00:00 UTC", "system", "invitation.accepted", "invitation.accepted",
                       "invitation 7", "")
    assert "5 records" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "invitation.sent"}, ["sent"]),
        ({"action": "council.removed"}, []),
        ({"object_type": "invitation"}, ["accepted", "sent"]),
        ({"object_type": "member_state"}, ["added"]),
        ({"actor": "ob_x"}, ["sent"]),  # "_" is a literal underscore, not any character
        ({"actor": "OB"}, ["appointed", "sent"]),
        ({"actor": "example.org"}, ["added", "appointed", "sent", "approved"]),  # the system has no email
        ({"actor": "%"}, []),
        ({"date_from": "2026-01-15"}, ["added", "accepted", "appointed", "sent"]),
        ({"date_to": "2026-01-15"}, ["appointed", "sent", "approved"]),  # the end date is inclusive
        ({"date_from": "2026-01-15", "date_to": "2026-01-15"}, ["appointed", "sent"]),
        ({"date_from": "2026-01-16", "date_to": "2026-01-31"}, ["accepted"]),
        ({"action": "thinktank.approved", "actor": "ada@"}, ["approved"]),
        ({"object_type": "invitation", "date_to": "2026-01-15"}, ["sent"]),
        ({"action": "", "object_type": "", "actor": "", "date_from": "", "date_to": ""},
         ["added", "accepted", "appointed", "sent", "approved"]),
    ],
)
def test_each_filter_shows_exactly_the_matching_records(admin_client, trail, query, expected):
    response = admin_client.get(AUDIT_PAGE, query_string=query)

    assert response.status_code == 200
    assert listed(response) == ids(trail, *expected)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"date_from": "2026-02-30"}, "date_from", "Not a valid date value."),
        ({"date_to": "yesterday"}, "date_to", "Not a valid date value."),
        ({"date_from": "2026-01-16", "date_to": "2026-01-15"}, "date_to", "The end date is before the start date."),
        ({"action": "council.deleted"}, "action", "Not a valid choice."),
        ({"object_type": "users"}, "object_type", "Not a valid choice."),
        ({"actor": "x" * 255}, "actor", "Field cannot be longer than 254 characters."),
    ],
)
def test_a_bad_filter_is_a_form_error_and_shows_no_records(admin_client, trail, query, field, message):
    response = admin_client.get(AUDIT_PAGE, query_string=query)

    assert response.status_code == 200
    assert field_error(response, field) == message
    assert listed(response) == []
    assert parse_html(response).find(class_="empty-state").text == "Correct the filter above to see the records."


def test_the_action_filter_offers_exactly_the_recorded_actions(admin_client):
    select = parse_html(admin_client.get(AUDIT_PAGE)).find("select", id="action")

    assert [option.attributes["value"] for option in select.find_all("option")] == ["", *audit.ACTIONS]


def test_details_are_escaped_and_nested_values_become_nested_lists(admin_client, admin, db):
    record(db, actor=admin, action="reference.state_updated", object_id=1, at=datetime(2026, 3, 1, tzinfo=UTC),
           details={"before": {"name": "<script>alert(1)</script>"}, "after": {"name": "A & B", "code": None}})

    response = admin_client.get(AUDIT_PAGE)

    body = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    details = parse_html(response).find("table", id="audit-records").find("tbody").find("dl")
    assert [term.text for term in details.find_all("dt")] == ["after", "code", "name", "before", "name"]
    assert details.text == "after code — name A & B before name <script>alert(1)</script>"


def test_fifty_records_a_page_and_the_next_page_keeps_the_filters(admin_client, admin, db):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    created = [record(db, actor=admin, action="invitation.sent", object_id=n, at=start + timedelta(minutes=n))
               for n in range(51)]
    record(db, actor=admin, action="thinktank.approved", object_id=1, at=start)

    first = admin_client.get(AUDIT_PAGE, query_string={"action": "invitation.sent"})

    assert listed(first) == list(reversed(created))[:50]
    next_link = parse_html(first).find("a", rel="next").attributes["href"]
    assert urlsplit(next_link).path == AUDIT_PAGE
    assert parse_qs(urlsplit(next_link).query) == {"page": ["2"], "action": ["invitation.sent"]}
    second = admin_client.get(next_link)
    assert listed(second) == [created[0]]
    assert "51 records" in second.get_data(as_text=True)
