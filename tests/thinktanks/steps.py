"""What a person does on the think-tank pages, one function per form, so tests read as sentences."""

from __future__ import annotations

from sqlalchemy import func, select

from expert_platform.audit.models import AuditRecord
from expert_platform.extensions import db
from expert_platform.thinktanks.models import Invitation, Membership, ThinkTank
from tests.conftest import DEFAULT_PASSWORD, fetch_csrf_token, link_in

__all__ = ["DEFAULT_PASSWORD"]

#: A page with a form (so a CSRF token) for signed-in and anonymous visitors alike.
FORM_PAGE = "/thinktanks/apply"


def token(client) -> str:
    return fetch_csrf_token(client, FORM_PAGE)


def application(states, **changes) -> dict:
    """The fields of a complete, valid application; ``changes`` replace some."""
    data = {
        "name": "Institute for Strategic Studies",
        "member_state": str(states["KZ"].id),
        "website": "https://iss.example.org",
        "description": "We study *regional security*.",
        "contact_name": "Aida Nurlanova",
        "contact_email": "aida@iss.example.org",
        "participation": "permanent",
        "ends_on": "",
    }
    data.update(changes)
    return data


def send_application(client, data: dict):
    return client.post("/thinktanks/apply", data={"csrf_token": token(client), **data})


def decide(client, think_tank_id: int, decision: str, **fields):
    """Press the approve or reject button on the review page, with that form's fields."""
    data = {"csrf_token": token(client), "decision": decision}
    data.update({f"{decision}-{name}": value for name, value in fields.items()})
    return client.post(f"/secretariat/applications/{think_tank_id}", data=data)


def approve(client, think_tank_id: int, participation: str = "permanent", ends_on: str = ""):
    return decide(client, think_tank_id, "approve", participation=participation, ends_on=ends_on)


def reject(client, think_tank_id: int, reason: str):
    return decide(client, think_tank_id, "reject", reason=reason)


def invite(client, think_tank_id: int, email: str, role: str = "expert"):
    return client.post(
        f"/thinktanks/{think_tank_id}/invitations", data={"csrf_token": token(client), "email": email, "role": role}
    )


def press(client, path: str, **data):
    """Press a button that POSTs to ``path`` (deactivate, resend, ...)."""
    return client.post(path, data={"csrf_token": token(client), **data})


def open_invitation(client, link: str):
    """Follow an emailed invitation link; returns the accept page it leads to."""
    moved = client.get(link)
    assert (moved.status_code, moved.headers["Location"]) == (302, "/invitations/accept")
    return client.get("/invitations/accept")


def create_account(client, display_name: str = "Bolat Serikov", password: str = DEFAULT_PASSWORD, confirm=None):
    return client.post(
        "/invitations/accept",
        data={
            "csrf_token": token(client),
            "display_name": display_name,
            "new_password": password,
            "confirm_password": password if confirm is None else confirm,
        },
    )


def accept(client):
    return client.post("/invitations/accept", data={"csrf_token": token(client)})


def invitation_link(outbox, to: str) -> str:
    """The invitation link of the latest message to ``to``."""
    messages = [message for message in outbox() if message["To"] == to]
    assert messages, f"no message to {to}"
    return link_in(messages[-1], "/invitations/")


def subjects_to(outbox, to: str) -> list[str]:
    return [message["Subject"] for message in outbox() if message["To"] == to]


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def think_tank_named(name: str) -> ThinkTank:
    db.session.expire_all()
    return db.session.scalar(select(ThinkTank).where(ThinkTank.name == name))


def membership(think_tank_id: int, user_id: int) -> Membership | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Membership).where(Membership.think_tank_id == think_tank_id, Membership.user_id == user_id)
    )


def invitation_to(email: str) -> Invitation:
    db.session.expire_all()
    return db.session.scalar(select(Invitation).where(Invitation.email == email).order_by(Invitation.id.desc()))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)))


def audit_record(action: str) -> AuditRecord:
    db.session.expire_all()
    return db.session.scalar(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id.desc()))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))



def main_html(response) -> str:
    """The page without its header (which names the signed-in user)."""
    return response.get_data(as_text=True).split('<main id="main"', 1)[1]
