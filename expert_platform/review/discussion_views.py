"""The discussion of a proposal: threaded comments, council-internal or shared with the authors.

The council and the secretariat read every comment and start threads; the co-authors (a council
member who co-wrote the proposal included) read the threads shared with them and answer those.
Threads are one level deep: a comment and the replies under it. Each view follows ARCHITECTURE.md
section 2: 404 for a proposal (or a parent comment) the viewer may not see, 403 when seen but not allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..enums import CommentVisibility
from ..permissions import (
    can_comment_as_council,
    can_reply_to_comment,
    can_view_comment,
    can_view_discussion,
    require,
)
from ..proposals.loading import visible_proposal
from ..proposals.models import Proposal
from ..web import act, actor, get_child_or_404
from . import services
from .discussion_forms import CommentForm
from .models import Comment
from .web import settle_if_due

bp = Blueprint("discussion", __name__)


@dataclass
class Thread:
    """A top-level comment and the replies under it (oldest first), and whether the viewer may answer."""

    comment: Comment
    replies: list[Comment] = field(default_factory=list)
    may_reply: bool = False


def threads_of(proposal: Proposal, viewer) -> list[Thread]:
    """The threads ``viewer`` may read, oldest first; a reply always sits under its thread's comment."""
    comments = services.comments_of(proposal, viewer)
    threads = {comment.id: Thread(comment) for comment in comments if comment.parent_id is None}
    for comment in comments:
        if comment.parent_id in threads:
            threads[comment.parent_id].replies.append(comment)
    for thread in threads.values():
        thread.may_reply = can_reply_to_comment(viewer, proposal, thread.comment)
    return list(threads.values())


def _page(proposal: Proposal, *, new_form: CommentForm | None = None, reply_to: int | None = None,
          reply_form: CommentForm | None = None, status: int = 200):
    """The discussion page; ``reply_form`` holds what was typed in the thread ``reply_to`` (after an error)."""
    viewer = current_user
    return render_template(
        "review/discussion.html",
        proposal=proposal,
        threads=threads_of(proposal, viewer),
        new_form=(new_form or CommentForm()) if can_comment_as_council(viewer, proposal) else None,
        reply_to=reply_to,
        reply_form=reply_form,
        blank_reply_form=CommentForm(),
        visibility_descriptions={member.value: member.description for member in CommentVisibility},
        commenter_label=services.commenter_label,
    ), status


# No login_required: a signed-out visitor gets the same 404 as everyone who may not see the proposal.
@bp.get("/proposals/<int:proposal_id>/discussion")
def show(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_view_discussion(current_user, proposal))
    settle_if_due(proposal)
    return _page(proposal)


@bp.post("/proposals/<int:proposal_id>/comments")
def add(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_view_discussion(current_user, proposal))
    form = CommentForm()
    parent = _parent(proposal, form.parent_id.data)
    if parent is None:
        require(can_comment_as_council(current_user, proposal))
    else:
        require(can_reply_to_comment(current_user, proposal, parent))
    if form.validate_on_submit():
        answer = act(
            lambda: services.add_comment(actor=actor(), proposal=proposal, body=form.body.data,
                                         visibility=form.visibility.data or None, parent=parent),
            form=form,
            done=_("Your answer is posted.") if parent is not None else _("Your comment is posted."),
            then=lambda comment: url_for("discussion.show", proposal_id=proposal.id, _anchor=f"comment-{comment.id}"),
        )
        if answer is not None:
            return answer
    if parent is None:
        return _page(proposal, new_form=form, status=400)
    return _page(proposal, reply_to=parent.id, reply_form=form, status=400)


def _parent(proposal: Proposal, posted: str | None) -> Comment | None:
    """The comment answered (None for a new thread); 404 for a comment of another proposal, one the
    viewer may not read, or a malformed id. A reply to a reply answers its thread."""
    if not posted:
        return None
    if not posted.isdigit():
        abort(404)
    parent = get_child_or_404(Comment, int(posted), proposal_id=proposal.id)
    if not can_view_comment(current_user, proposal, parent):
        abort(404)
    if parent.parent_id is not None:
        parent = get_child_or_404(Comment, parent.parent_id, proposal_id=proposal.id)
    return parent
