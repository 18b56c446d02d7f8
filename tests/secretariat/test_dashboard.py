"""The secretariat's dashboard: what waits for a decision, think tanks per member state, the council."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from expert_platform.database import utcnow
from expert_platform.enums import DelegationRole, Participation, Role, ThinkTankStatus
from expert_platform.thinktanks.models import Invitation
from tests.html_tree import parse_html
from tests.secretariat.conftest import appoint, change_seat, current_seat_id, table_rows

APPROVED, PENDING, REJECTED = ThinkTankStatus.APPROVED, ThinkTankStatus.PENDING, ThinkTankStatus.REJECTED
MEMBER_STATE_NAMES_BY_CODE = {
    "AF": "Afghanistan", "AZ": "Azerbaijan", "BH": "Bahrain", "BD": "Bangladesh", "KH": "Cambodia", "CN": "China",
    "EG": "Egypt", "IN": "India", "IR": "Iran", "IQ": "Iraq", "IL": "Israel", "JO": "Jordan", "KZ": "Kazakhstan",
    "KW": "Kuwait", "KG": "Kyrgyzstan", "MN": "Mongolia", "PK": "Pakistan", "PS": "Palestine", "QA": "Qatar",
    "KR": "Republic of Korea", "RU": "Russian Federation", "LK": "Sri Lanka", "TJ": "Tajikistan", "TH": "Thailand",
    "TR": "Türkiye", "AE": "United Arab Emirates", "UZ": "Uzbekistan", "VN": "Viet Nam",
}


def add_invitation(db, think_tank, *, email: str, expires_in_days: int = 7, accepted=False, revoked=False):
    now = utcnow()
    db.session.add(Invitation(
        think_tank=think_tank,
        email=email,
        token_digest=hashlib.sha256(email.encode()).hexdigest(),
        expires_at=now + timedelta(days=expires_in_days),
        accepted_at=now if accepted else None,
        revoked_at=now if revoked else None,
    ))
    db.session.commit()


@pytest.fixture
def prepared(make_think_tank, make_user, admin_client, states, db):
    """Think tanks in several states and statuses, invitations in every state, three delegations of
    which one has no current seat left."""
    lead = make_think_tank(name="Astana Lead Institute", state="KZ", participation=Participation.LEAD)
    make_think_tank(name="Almaty Policy Centre", state="KZ")
    make_think_tank(name="Steppe Applicants", state="KZ", status=PENDING)
    make_think_tank(name="Beijing Short Study", state="CN", participation=Participation.TEMPORARY,
                    ends_on=date(2027, 6, 30))
    make_think_tank(name="Shanghai Rejected", state="CN", status=REJECTED)
    make_think_tank(name="Delhi Hopefuls", state="IN", status=PENDING)
    make_think_tank(name="Tokyo Observer Forum", state="JP")
    add_invitation(db, lead, email="open1@example.org")
    add_invitation(db, lead, email="open2@example.org", expires_in_days=1)
    add_invitation(db, lead, email="accepted@example.org", accepted=True)
    add_invitation(db, lead, email="revoked@example.org", revoked=True)
    add_invitation(db, lead, email="expired@example.org", expires_in_days=-1)
    appoint(admin_client, make_user(email="kz@example.org"), states["KZ"], DelegationRole.HEAD.value)
    appoint(admin_client, make_user(email="cn@example.org"), states["CN"], DelegationRole.ALTERNATE.value)
    gone = make_user(email="in@example.org")
    appoint(admin_client, gone, states["IN"], DelegationRole.HEAD.value)
    change_seat(admin_client, current_seat_id(db, gone), "remove")


def test_the_dashboard_counts_applications_and_open_invitations(admin_client, prepared):
    page = parse_html(admin_client.get("/secretariat"))

    assert page.find(id="pending-applications").text == "2"
    assert page.find(id="open-invitations").text == "2"


def test_the_pending_applications_count_links_to_the_applications_awaiting_a_decision(admin_client, prepared):
    page = parse_html(admin_client.get("/secretariat"))

    card = page.find(id="pending-applications").parent.parent
    assert [link.attributes["href"] for link in card.find_all("a")] == ["/secretariat/applications?status=pending"]


def test_the_dashboard_lists_approved_and_lead_think_tanks_for_every_member_state(admin_client, prepared):
    rows = table_rows(admin_client.get("/secretariat"), "think-tanks-by-state")

    expected = {name: ("0", "none") for name in MEMBER_STATE_NAMES_BY_CODE.values()}
    expected["Kazakhstan"] = ("2", "Astana Lead Institute")
    expected["China"] = ("1", "none")
    expected["Japan"] = ("1", "none")  # an observer state appears once it has an approved think tank
    assert {state: (approved, lead) for state, approved, lead in rows} == expected
    assert len(rows) == 29


def test_the_dashboard_counts_current_delegations_and_names_the_states_without_one(admin_client, prepared):
    response = admin_client.get("/secretariat")
    page = parse_html(response)

    assert page.find(id="delegation-count").text == "2"
    assert "of 28 member states have a current delegation." in response.get_data(as_text=True)
    without = [item.text for item in page.find("ul", id="without-delegation").find_all("li")]
    assert sorted(without) == sorted(set(MEMBER_STATE_NAMES_BY_CODE.values()) - {"China", "Kazakhstan"})
    assert "India" in without  # its only seat ended


def test_an_empty_platform_shows_zeros(admin_client, states):
    response = admin_client.get("/secretariat")
    page = parse_html(response)

    assert response.status_code == 200
    assert [page.find(id=name).text for name in ("pending-applications", "open-invitations", "delegation-count")] == [
        "0", "0", "0"]
    assert len(page.find("ul", id="without-delegation").find_all("li")) == 28


def test_the_dashboard_links_to_every_secretariat_page(admin_client, states):
    links = parse_html(admin_client.get("/secretariat")).find("ul", id="secretariat-pages").find_all("a")

    assert [link.attributes["href"] for link in links] == [
        "/council/review", "/secretariat/council", "/secretariat/member-states", "/secretariat/audit", "/admin/users"]


def count_queries(app, db, client, path: str) -> int:
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    return len(statements)


def test_the_dashboard_runs_the_same_number_of_queries_however_much_data_there_is(
    app, db, admin_client, make_think_tank, make_user, states
):
    make_think_tank(state="KZ", participation=Participation.LEAD)
    few = count_queries(app, db, admin_client, "/secretariat")
    for code in ("CN", "IN", "RU", "TR", "QA", "VN"):
        make_think_tank(state=code, participation=Participation.LEAD)
        make_think_tank(state=code)
        make_think_tank(state=code, status=PENDING)
        appoint(admin_client, make_user(roles=(Role.RESEARCHER,)), states[code], DelegationRole.HEAD.value)
        appoint(admin_client, make_user(roles=(Role.RESEARCHER,)), states[code], DelegationRole.ALTERNATE.value)

    many = count_queries(app, db, admin_client, "/secretariat")

    assert many == few
