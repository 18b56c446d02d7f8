"""Journey (a): a think tank applies, the secretariat approves it, its contact person becomes manager through the
approval email and invites an expert, who already has an account and accepts. Each person has a browser of their
own; the links come from the mail the server sent."""

from __future__ import annotations

from playwright.sync_api import expect

from expert_platform.enums import Role
from tests.browser.conftest import PASSWORD, sign_in
from tests.browser.journeys import flashes, link_in, mail_to, open_menu_link, unique_word


def test_a_think_tank_applies_is_approved_and_its_manager_invites_an_expert_who_accepts(live, page, new_context):
    name = f"Caspian Institute {unique_word('Caspian')}"
    contact = live.unique_email("aida")
    secretariat = live.person("Sabina Officer", Role.ADMIN)
    expert = live.person("Bolat Serikov", Role.RESEARCHER)

    # An anonymous visitor applies from the list of think tanks.
    page.goto("/")
    open_menu_link(page, "Think tanks")
    page.get_by_role("link", name="Register an institution").click()
    page.get_by_label("Name of the institution").fill(name)
    page.get_by_label("Member state").select_option(label="Kazakhstan")
    page.get_by_label("Description").fill("We study *regional security*.")
    page.get_by_label("Contact person", exact=True).fill("Aida Nurlanova")
    page.get_by_label("Contact person's email address").fill(contact)
    page.get_by_role("button", name="Send the application").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your application is received")
    assert mail_to(live, contact, f"We received the application of {name}")["To"] == contact

    # The secretariat finds it among the applications awaiting a decision and approves it.
    office = new_context().new_page()
    sign_in(office, secretariat.email)
    open_menu_link(office, "Secretariat")
    office.get_by_role("link", name="Review applications").click()
    office.get_by_role("link", name=name, exact=True).click()
    details = office.locator("dl.details")
    expect(details.locator("dd").first).to_have_text("Awaiting decision")
    office.get_by_role("button", name="Approve the application").click()

    expect(flashes(office)).to_have_text([f"{name} is approved. The contact person has been emailed."])
    expect(details.locator("dd").first).to_have_text("Approved")

    # The contact person has no account: the link in the approval email creates it and makes her manager.
    approval = mail_to(live, contact, f"{name} is approved")
    manager = new_context().new_page()
    manager.goto(link_in(approval, "/invitations/"))
    expect(manager.get_by_role("heading", level=1)).to_have_text(f"Join {name}")
    manager.get_by_label("Your name").fill("Aida Nurlanova")
    manager.get_by_label("Password", exact=True).fill(PASSWORD)
    manager.get_by_label("Repeat the password").fill(PASSWORD)
    manager.get_by_role("button", name="Create the account and join").click()

    expect(flashes(manager)).to_have_text(["Welcome: you are now a member of this think tank."])
    expect(manager.get_by_role("heading", level=1)).to_have_text(name)

    # She invites the expert from the members page.
    manager.get_by_role("link", name="Members and invitations").click()
    manager.get_by_label("Email address").fill(expert.email)
    manager.get_by_role("button", name="Send the invitation").click()

    expect(flashes(manager)).to_have_text([f"An invitation has been emailed to {expert.email}."])
    expect(manager.locator("#invitations tbody tr td:nth-child(-n+2)")).to_have_text([expert.email, "Expert"])

    # The expert has an account already: the link asks him to sign in, then he accepts.
    invitation = mail_to(live, expert.email, f"Invitation to join {name}")
    newcomer = new_context().new_page()
    newcomer.goto(link_in(invitation, "/invitations/"))
    expect(newcomer.get_by_role("main")).to_contain_text(
        f"{expert.email} has an account already. Sign in with it to accept the invitation.")
    newcomer.get_by_role("link", name="Sign in to accept").click()
    newcomer.get_by_label("Email").fill(expert.email)
    newcomer.get_by_label("Password", exact=True).fill(PASSWORD)
    newcomer.get_by_role("button", name="Sign in").click()
    expect(newcomer.get_by_role("heading", level=1)).to_have_text(f"Join {name}")
    newcomer.get_by_role("button", name="Accept the invitation").click()

    expect(flashes(newcomer)).to_have_text(["Welcome: you are now a member of this think tank."])
    expect(newcomer.get_by_role("heading", level=1)).to_have_text(name)
    experts = newcomer.get_by_role("region", name="Experts", exact=True)
    expect(experts.get_by_role("link")).to_have_text(["Aida Nurlanova", "Bolat Serikov"])

    # The manager, signed in again later, sees both members and no invitation waiting.
    manager = new_context().new_page()
    sign_in(manager, contact)
    open_menu_link(manager, "Think tanks")
    manager.get_by_role("link", name=name, exact=True).click()
    manager.get_by_role("link", name="Members and invitations").click()
    expect(manager.locator("#members tbody tr td:nth-child(-n+4)")).to_have_text([
        "Aida Nurlanova", contact, "Manager", "Active",
        "Bolat Serikov", expert.email, "Expert", "Active",
    ])
    waiting = manager.get_by_role("region", name="Invitations waiting for an answer")
    expect(waiting.locator(".empty-state")).to_have_text("No invitation is waiting for an answer.")
