"""The discussion of a proposal: threads the council keeps to itself or shares with the authors, the
authors' answers, and who may read and write what (ARCHITECTURE.md section 5)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from expert_platform.council import services as council_services
from expert_platform.enums import (
    CommentVisibility,
    DelegationRole,
    MembershipRole,
    ProposalAction,
    ProposalState,
    Role,
)
from expert_platform.extensions import db
from expert_platform.proposals import workflow
from expert_platform.review import services as review_services
from expert_platform.review.models import COMMENT_MAX_LENGTH, Comment
from expert_platform.thinktanks.models import Membership
from tests.html_tree import parse_html
from tests.proposals.page_steps import field_error, flashes, form_errors, new_expert, signed_in, token

S = ProposalState
V = CommentVisibility
INTERNAL_MARKER = "INTERNAL-7731-do-not-leak"


@pytest.fixture
def council(make_council):
    return make_council(("CN", "IN"))


@pytest.fixture
def proposal(make_proposal, bring_to, author, coauthor, council):
    return bring_to(make_proposal(author=author, coauthors=[coauthor], title="Flood warnings"), S.IN_REVIEW)


def comment(actor, proposal, body, visibility=None, parent=None) -> Comment:
    posted = review_services.add_comment(actor=actor, proposal=proposal, body=body, visibility=visibility,
                                         parent=parent)
    db.session.commit()
    return posted


def discussion(client, proposal):
    return client.get(f"/proposals/{proposal.id}/discussion")


def post(client, proposal, **data):
    return client.post(f"/proposals/{proposal.id}/comments", data={"csrf_token": token(client), **data})


def comment_line(article) -> str:
    """A comment as the page shows it: who | its badges | its text (the date left out)."""
    who = article.find("span", class_="commenter").text
    badges = [badge.text for badge in article.find("p", class_="comment-details").find_all("span", class_="badge")]
    return " | ".join([who, *badges, article.find("div", class_="comment-body").text])


def threads(response) -> list[list[str]]:
    """Each thread: its comment, then its answers, oldest first."""
    return [
        [comment_line(article) for article in thread.find_all("article", class_="comment")]
        for thread in parse_html(response).find_all("div", class_="comment-thread")
    ]


def reply_forms(response) -> list[str]:
    """The threads (by comment id) that have an answer form."""
    return [form.find("input", name="parent_id").attributes["value"]
            for form in parse_html(response).find_all("form", class_="reply-form")]


def has_new_comment_form(response) -> bool:
    return parse_html(response).find("form", class_="new-comment-form") is not None


def stored_comments() -> list[tuple]:
    db.session.expire_all()
    return [
        (row.body, row.visibility.value, row.parent_id, row.is_by_proposal_author, row.revision_number)
        for row in db.session.scalars(select(Comment).order_by(Comment.id))
    ]


def comment_count() -> int:
    return db.session.scalar(select(func.count(Comment.id)))


# --- reading ---------------------------------------------------------------------------------------


def test_the_council_reads_every_thread_with_names_revision_and_who_reads_it(app, proposal, council, secretariat,
                                                                            author):
    internal = comment(secretariat, proposal, "Check the *budget*.", V.COUNCIL)
    comment(council["CN"], proposal, "Internal reply.", parent=internal)
    shared = comment(council["IN"], proposal, "Please add a timetable.", V.AUTHORS)
    comment(author, proposal, "Done in annex 2.", parent=shared)

    response = discussion(signed_in(app, council["CN"]), proposal)

    assert response.status_code == 200
    assert parse_html(response).find("h1").text == "Discussion: Flood warnings"
    assert threads(response) == [
        ["Secretariat Officer | Revision 1 | Council only | Check the budget .",
         "Delegate CN 1 | Revision 1 | Council only | Internal reply."],
        ["Delegate IN 2 | Revision 1 | Shared with the authors | Please add a timetable.",
         "Ann Lee | Revision 1 | Shared with the authors | Done in annex 2."],
    ]
    assert parse_html(response).find("article", id=f"comment-{internal.id}") is not None
    assert reply_forms(response) == [str(internal.id), str(shared.id)]
    assert has_new_comment_form(response) is True


def test_the_co_authors_read_only_the_shared_threads_signed_by_the_council(app, proposal, council, secretariat,
                                                                          author, coauthor):
    comment(council["CN"], proposal, f"Between us: {INTERNAL_MARKER}", V.COUNCIL)
    shared = comment(council["IN"], proposal, "Please add a timetable.", V.AUTHORS)
    comment(secretariat, proposal, "The annex is missing.", V.AUTHORS)
    comment(author, proposal, "Done in annex 2.", parent=shared)

    response = discussion(signed_in(app, coauthor), proposal)

    assert response.status_code == 200
    assert INTERNAL_MARKER not in response.get_data(as_text=True)
    assert threads(response) == [
        ["The council | Revision 1 | Please add a timetable.", "Ann Lee | Revision 1 | Done in annex 2."],
        ["The secretariat | Revision 1 | The annex is missing."],
    ]
    assert has_new_comment_form(response) is False
    assert len(reply_forms(response)) == 2


def test_council_internal_comments_never_reach_the_co_authors_anywhere(app, proposal, council, author, coauthor,
                                                                      outbox):
    internal = comment(council["CN"], proposal, f"Between us: {INTERNAL_MARKER}", V.COUNCIL)
    comment(council["IN"], proposal, f"Also {INTERNAL_MARKER}", parent=internal)
    comment(council["IN"], proposal, "Please add a timetable.", V.AUTHORS)

    for person in (author, coauthor):
        client = signed_in(app, person)
        for path in (f"/proposals/{proposal.id}/discussion", f"/proposals/{proposal.id}", "/proposals/mine",
                     "/notifications"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert INTERNAL_MARKER not in response.get_data(as_text=True), path
    messages = outbox()
    assert sorted(message["To"] for message in messages if "comment" in message["Subject"]) == [
        "ann@example.org", "bo@example.org"
    ]
    assert all(INTERNAL_MARKER not in message.as_string() for message in messages)


@pytest.mark.parametrize("who", ["anonymous", "researcher", "other expert", "expert of the same think tank"])
def test_people_outside_the_council_and_the_authors_get_404(app, proposal, make_user, make_think_tank, author,
                                                           council, who):
    comment(council["CN"], proposal, f"Between us: {INTERNAL_MARKER}", V.COUNCIL)
    if who == "anonymous":
        client = app.test_client()
    elif who == "researcher":
        client = signed_in(app, make_user(roles=(Role.RESEARCHER,)))
    elif who == "other expert":
        client = signed_in(app, new_expert(make_user, make_think_tank))
    else:
        colleague = make_user(roles=(Role.EXPERT,))
        tank = proposal.think_tanks[0].think_tank
        db.session.add(Membership(think_tank=tank, user=colleague, role=MembershipRole.EXPERT))
        db.session.commit()
        client = signed_in(app, colleague)

    response = discussion(client, proposal)
    posted = post(client, proposal, body="Hello", visibility="authors")

    assert response.status_code == 404
    assert INTERNAL_MARKER not in response.get_data(as_text=True)
    assert posted.status_code == 404
    assert comment_count() == 1


def test_a_draft_discussion_is_404_for_the_council_and_403_for_its_authors(app, make_proposal, author, council):
    draft = make_proposal(author=author)

    assert discussion(signed_in(app, council["CN"]), draft).status_code == 404
    assert discussion(signed_in(app, author), draft).status_code == 403
    assert discussion(app.test_client(), draft).status_code == 404


def test_a_removed_council_member_no_longer_reads_the_discussion(app, proposal, council, secretariat):
    comment(council["IN"], proposal, f"Between us: {INTERNAL_MARKER}", V.COUNCIL)
    seat = council_services.current_seat_of(council["CN"])
    council_services.remove(actor=secretariat, seat=seat)
    db.session.commit()

    response = discussion(signed_in(app, council["CN"]), proposal)

    assert response.status_code == 404
    assert INTERNAL_MARKER not in response.get_data(as_text=True)


# --- the council writes --------------------------------------------------------------------------------


def test_a_council_member_starts_a_thread_with_the_form(app, proposal, council):
    client = signed_in(app, council["CN"])

    response = post(client, proposal, body="Is the *budget* realistic?", visibility="council")

    created = db.session.scalar(select(Comment))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/proposals/{proposal.id}/discussion#comment-{created.id}"
    assert stored_comments() == [("Is the *budget* realistic?", "council", None, False, 1)]
    assert created.body_html == "<p>Is the <em>budget</em> realistic?</p>\n"
    page = client.get(f"/proposals/{proposal.id}/discussion")
    assert flashes(page) == ["Your comment is posted."]
    assert threads(page) == [["Delegate CN 1 | Revision 1 | Council only | Is the budget realistic?"]]


def test_the_visibility_has_no_default_and_each_choice_is_explained(app, proposal, council):
    response = discussion(signed_in(app, council["CN"]), proposal)

    form = parse_html(response).find("form", class_="new-comment-form")
    radios = form.find_all("input", type="radio")
    assert [radio.attributes["value"] for radio in radios] == ["council", "authors"]
    assert [radio for radio in radios if "checked" in radio.attributes] == []
    assert [form.find(id=radio.attributes["aria-describedby"]).text for radio in radios] == [
        "Council members and the secretariat read it; the authors do not.",
        "The authors read it and can answer.",
    ]
    assert form.find("legend").text == "Who reads it"
    assert form.find("label", for_="body").text == "Comment"


def test_a_thread_without_a_chosen_audience_is_refused_and_the_text_kept(app, proposal, council):
    response = post(signed_in(app, council["CN"]), proposal, body="Typed with care.")

    assert response.status_code == 400
    assert field_error(response, "visibility") == "Choose who reads the comment."
    form = parse_html(response).find("form", class_="new-comment-form")
    assert form.find("textarea", name="body").text == "Typed with care."
    assert comment_count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "Write the comment."), ("   \n ", "Write the comment."),
     ("x" * (COMMENT_MAX_LENGTH + 1), f"Use at most {COMMENT_MAX_LENGTH} characters.")],
    ids=["empty", "blank", "too long"],
)
def test_an_empty_or_too_long_comment_is_a_form_error(app, proposal, council, body, message):
    response = post(signed_in(app, council["CN"]), proposal, body=body, visibility="authors")

    assert response.status_code == 400
    assert field_error(response, "body") == message
    assert form_errors(response) == ["Please correct the fields marked below."]
    assert comment_count() == 0


def test_an_unknown_audience_is_a_form_error(app, proposal, council):
    response = post(signed_in(app, council["CN"]), proposal, body="Hello", visibility="public")

    assert response.status_code == 400
    assert field_error(response, "visibility") == "Choose who reads the comment."
    assert comment_count() == 0


def test_markdown_is_cleaned_and_a_script_never_appears_raw(app, proposal, council, author):
    body = 'Look <script>alert("x")</script> [here](javascript:alert(1)) **now**'
    post(signed_in(app, council["CN"]), proposal, body=body, visibility="authors")

    stored = db.session.scalar(select(Comment))
    assert stored.body_html == (
        '<p>Look &lt;script&gt;alert("x")&lt;/script&gt; '
        '[here](javascript:alert(1)) <strong>now</strong></p>\n'
    )
    for person in (council["IN"], author):
        page = discussion(signed_in(app, person), proposal).get_data(as_text=True)
        assert "<script>alert" not in page
        assert 'href="javascript' not in page


def test_council_replies_inherit_the_thread_visibility_and_stay_one_level_deep(app, proposal, council, author):
    shared = comment(council["CN"], proposal, "Please add a timetable.", V.AUTHORS)
    answer = comment(author, proposal, "Done.", parent=shared)
    client = signed_in(app, council["IN"])

    response = post(client, proposal, body="Thank you.", visibility="council", parent_id=str(answer.id))

    assert response.status_code == 302
    assert stored_comments() == [
        ("Please add a timetable.", "authors", None, False, 1),
        ("Done.", "authors", shared.id, True, 1),
        ("Thank you.", "authors", shared.id, False, 1),
    ]
    assert flashes(client.get(f"/proposals/{proposal.id}/discussion")) == ["Your answer is posted."]


def test_a_refused_answer_is_shown_under_its_thread_with_the_text_kept(app, proposal, council):
    first = comment(council["CN"], proposal, "First.", V.COUNCIL)
    comment(council["CN"], proposal, "Second.", V.COUNCIL)

    response = post(signed_in(app, council["IN"]), proposal, body="", parent_id=str(first.id))

    assert response.status_code == 400
    assert field_error(response, f"reply-{first.id}-body") == "Write the comment."
    assert parse_html(response).find("textarea", id=f"reply-{first.id}-body") is not None
    assert comment_count() == 2


def test_an_answer_to_a_comment_of_another_proposal_is_404(app, proposal, make_proposal, bring_to, council):
    other = bring_to(make_proposal(), S.IN_REVIEW)
    elsewhere = comment(council["CN"], other, "Elsewhere.", V.AUTHORS)

    client = signed_in(app, council["IN"])
    assert post(client, proposal, body="Hi", parent_id=str(elsewhere.id)).status_code == 404
    assert post(client, proposal, body="Hi", parent_id="999999").status_code == 404
    assert post(client, proposal, body="Hi", parent_id="not-a-number").status_code == 404
    assert post(client, proposal, body="Hi", parent_id=str(10**30)).status_code == 404
    assert comment_count() == 1


def test_a_withdrawn_proposal_stays_readable_but_its_discussion_is_closed(app, proposal, council, author,
                                                                        secretariat):
    shared = comment(council["CN"], proposal, "Please add a timetable.", V.AUTHORS)
    workflow.transition(proposal, ProposalAction.WITHDRAW, actor=author)
    db.session.commit()

    council_page = discussion(signed_in(app, council["CN"]), proposal)
    author_client = signed_in(app, author)

    assert council_page.status_code == 200
    assert has_new_comment_form(council_page) is False
    assert reply_forms(council_page) == []
    assert reply_forms(discussion(author_client, proposal)) == []
    assert post(author_client, proposal, body="Late.", parent_id=str(shared.id)).status_code == 403
    assert post(signed_in(app, secretariat), proposal, body="Late.", visibility="council").status_code == 403
    assert comment_count() == 1


# --- the authors answer ------------------------------------------------------------------------------------


def test_a_co_author_answers_a_shared_comment(app, proposal, council, coauthor):
    shared = comment(council["CN"], proposal, "Please add a timetable.", V.AUTHORS)
    client = signed_in(app, coauthor)

    response = post(client, proposal, body="Added in *section 3*.", parent_id=str(shared.id))

    assert response.status_code == 302
    assert stored_comments() == [
        ("Please add a timetable.", "authors", None, False, 1),
        ("Added in *section 3*.", "authors", shared.id, True, 1),
    ]
    assert threads(discussion(signed_in(app, council["IN"]), proposal)) == [
        ["Delegate CN 1 | Revision 1 | Shared with the authors | Please add a timetable.",
         "Bo Chen | Revision 1 | Shared with the authors | Added in section 3 ."],
    ]


def test_co_authors_cannot_start_threads_nor_answer_internal_ones(app, proposal, council, author):
    internal = comment(council["CN"], proposal, f"Between us: {INTERNAL_MARKER}", V.COUNCIL)
    client = signed_in(app, author)

    new_thread = post(client, proposal, body="Hello council", visibility="authors")
    internal_answer = post(client, proposal, body="I read it", parent_id=str(internal.id))

    assert new_thread.status_code == 403
    assert internal_answer.status_code == 404
    assert INTERNAL_MARKER not in internal_answer.get_data(as_text=True)
    assert comment_count() == 1


def test_a_council_member_who_co_authored_the_proposal_is_treated_as_an_author(app, make_user, make_think_tank,
                                                                             make_proposal, bring_to, author,
                                                                             council, secretariat, states):
    delegate = new_expert(make_user, make_think_tank, display_name="Dana Expert")
    council_services.appoint(actor=secretariat, user=delegate, member_state=states["RU"], role=DelegationRole.HEAD)
    db.session.commit()
    own = bring_to(make_proposal(author=author, coauthors=[delegate]), S.IN_REVIEW)
    internal = comment(council["CN"], own, f"Between us: {INTERNAL_MARKER}", V.COUNCIL)
    shared = comment(council["CN"], own, "Please add a timetable.", V.AUTHORS)
    client = signed_in(app, delegate)

    page = discussion(client, own)

    assert page.status_code == 200
    assert INTERNAL_MARKER not in page.get_data(as_text=True)
    assert threads(page) == [["The council | Revision 1 | Please add a timetable."]]
    assert has_new_comment_form(page) is False
    assert post(client, own, body="New thread", visibility="council").status_code == 403
    assert post(client, own, body="Answer", parent_id=str(internal.id)).status_code == 404
    assert post(client, own, body="Answer", parent_id=str(shared.id)).status_code == 302
    assert stored_comments()[-1] == ("Answer", "authors", shared.id, True, 1)


def test_comments_keep_their_revision_after_return_and_resubmission(app, proposal, council, secretariat, author):
    comment(council["CN"], proposal, "On the first text.", V.AUTHORS)
    review_services.return_for_revision(actor=secretariat, proposal=proposal, note="Add a timetable.")
    db.session.commit()
    returned_page = discussion(signed_in(app, author), proposal)
    workflow.transition(proposal, ProposalAction.RESUBMIT, actor=author)
    db.session.commit()
    comment(council["CN"], proposal, "On the second text.", V.AUTHORS)

    response = discussion(signed_in(app, council["IN"]), proposal)

    assert returned_page.status_code == 200
    assert threads(returned_page) == [["The council | Revision 1 | On the first text."]]
    assert threads(response) == [
        ["Delegate CN 1 | Revision 1 | Shared with the authors | On the first text."],
        ["Delegate CN 1 | Revision 2 | Shared with the authors | On the second text."],
    ]
