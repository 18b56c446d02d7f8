"""Stored XSS: no classic payload survives in any rich-text field, nor on the page that shows it.

Every payload goes into every field rendered from Markdown and stored as HTML (a proposal's text,
when the draft is started and when it is saved; an expert's biography; a think tank's description),
into ``sanitize.render_markdown`` itself, and into ``sanitize.clean_html`` (the second wall: raw
HTML that somehow reached it). Each stored HTML is parsed and must hold only allowed elements and
attributes, no event handler, no link that is not http(s) or mailto, and links that carry ``rel``
and no ``target``. Then an endorsed proposal (seen by everyone) with the payload as its text is shown
to an anonymous visitor: no script and no event handler reaches the page.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from expert_platform import sanitize
from expert_platform.accounts import services as account_services
from expert_platform.accounts.models import AnonymousUser, User
from expert_platform.enums import ProposalAction, Role, StateKind
from expert_platform.experts import services as expert_services
from expert_platform.extensions import db
from expert_platform.proposals import services as proposal_services
from expert_platform.proposals import workflow
from expert_platform.proposals.models import Proposal
from expert_platform.reference.models import MemberState
from expert_platform.reference.services import load_reference_data
from expert_platform.thinktanks import services as think_tank_services
from tests.conftest import DEFAULT_PASSWORD
from tests.journeys import take
from tests.proposals.isolated_app import app_of_its_own, rolled_back

#: (name, payload). Raw HTML in Markdown is shown as text; the Markdown ones build real links.
PAYLOADS = [
    # Script tags in many spellings.
    ("script", "<script>alert(1)</script>"),
    ("script-upper", "<SCRIPT>alert(1)</SCRIPT>"),
    ("script-mixed-case-src", "<ScRiPt SRC=//evil.example/x.js></sCrIpT>"),
    ("script-split", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    ("script-double-open", "<<script>alert(1);//<</script>"),
    ("script-slash-attribute", '<script/xss src="//evil.example/x.js"></script>'),
    ("script-unclosed", "<script>alert(1)"),
    ("script-in-markdown-emphasis", "*<script>alert(1)</script>*"),
    ("script-in-table-cell", "| a | b |\n|---|---|\n| <script>alert(1)</script> | x |"),
    ("script-in-code", "`<script>alert(1)</script>`\n\n    <script>alert(2)</script>"),
    # Event handlers on allowed and disallowed tags.
    ("handler-on-p", '<p onclick="alert(1)">click</p>'),
    ("handler-on-a", '<a href="https://example.org" onmouseover="alert(1)">x</a>'),
    ("handler-on-strong", "<strong onmouseover=alert(1)>x</strong>"),
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-onerror-eval", "<img src=x:alert(alt) onerror=eval(src) alt=0>"),
    ("body-onload", "<body onload=alert(1)>"),
    ("input-autofocus", "<input autofocus onfocus=alert(1)>"),
    ("details-ontoggle", "<details open ontoggle=alert(1)>"),
    ("video-source-onerror", "<video><source onerror=alert(1)></video>"),
    ("marquee-onstart", "<marquee onstart=alert(1)>x</marquee>"),
    ("handler-slash-separator", "<a/onmouseover=alert(1)/href=https://example.org>x</a>"),
    # javascript:, data: and vbscript: URLs in raw HTML, with entity and whitespace tricks.
    ("a-javascript", '<a href="javascript:alert(1)">x</a>'),
    ("a-javascript-mixed-case", '<a href="JaVaScRiPt:alert(1)">x</a>'),
    ("a-javascript-decimal", '<a href="&#106;avascript:alert(1)">x</a>'),
    ("a-javascript-decimal-padded", '<a href="&#0000106&#0000097vascript:alert(1)">x</a>'),
    ("a-javascript-hex", '<a href="&#x6A;avascript:alert(1)">x</a>'),
    ("a-javascript-tab-entity", '<a href="jav&Tab;ascript:alert(1)">x</a>'),
    ("a-javascript-newline-entity", '<a href="jav&NewLine;ascript:alert(1)">x</a>'),
    ("a-javascript-colon-entity", '<a href="javascript&colon;alert(1)">x</a>'),
    ("a-javascript-leading-space", '<a href="  javascript:alert(1)">x</a>'),
    ("a-javascript-control-character", '<a href="\x01javascript:alert(1)">x</a>'),
    ("a-javascript-inner-tab", '<a href="java\tscript:alert(1)">x</a>'),
    ("a-javascript-unquoted", "<a href=javascript:alert(1)>x</a>"),
    ("a-data-html", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'),
    ("a-vbscript", '<a href="vbscript:msgbox(1)">x</a>'),
    ("a-target-blank", '<a href="https://example.org" target="_blank">x</a>'),
    # javascript:, data: and vbscript: URLs in Markdown links, images, autolinks and references.
    ("md-javascript", "[x](javascript:alert(1))"),
    ("md-javascript-mixed-case", "[x](JaVaScRiPt:alert(1))"),
    ("md-javascript-decimal", "[x](&#106;avascript:alert(1))"),
    ("md-javascript-hex", "[x](&#x6A;avascript:alert(1))"),
    ("md-javascript-tab-entity", "[x](jav&Tab;ascript:alert(1))"),
    ("md-javascript-newline-entity", "[x](jav&NewLine;ascript:alert(1))"),
    ("md-javascript-colon-entity", "[x](javascript&colon;alert(1))"),
    ("md-javascript-angle-brackets", "[x](< javascript:alert(1)>)"),
    ("md-javascript-percent", "[x](%6Aavascript:alert(1))"),
    ("md-javascript-escaped-colon", "[x](javascript\\:alert(1))"),
    ("md-data", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    ("md-vbscript", "[x](vbscript:msgbox(1))"),
    ("md-title-breakout", '[x](https://example.org "a\\" onmouseover=\\"alert(1)")'),
    ("md-image-javascript", "![x](javascript:alert(1))"),
    ("md-image-onerror", '![x" onerror="alert(1)](https://example.org/x.png)'),
    ("md-autolink-javascript", "<javascript:alert(1)>"),
    ("md-autolink-attribute-breakout", '<https://example.org/" onmouseover="alert(1)>'),
    ("md-reference-javascript", "[x][1]\n\n[1]: javascript:alert(1)"),
    ("md-reference-mixed-case-title", '[x]\n\n[x]: JAVASCRIPT:alert(1) "t"'),
    ("md-reference-data", "[x][d]\n\n[d]: data:text/html,<script>alert(1)</script>"),
    ("bare-javascript-url", "see javascript:alert(1) and https://example.org/\"onmouseover=\"alert(1)"),
    ("bare-data-url-linkified", "see data://evil.example.org/x.html"),
    ("bare-data-address-linkified", "see data:evil@example.org"),
    # SVG and MathML.
    ("svg-onload", "<svg onload=alert(1)>"),
    ("svg-script", "<svg><script>alert(1)</script></svg>"),
    ("svg-xlink", '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>'),
    ("svg-animate", '<svg><animate attributeName="href" values="javascript:alert(1)"/></svg>'),
    ("math-href", '<math href="javascript:alert(1)">click</math>'),
    ("math-mglyph-style", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>"),
    # Mutation XSS through raw-text and template elements.
    ("noscript", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    ("template", "<template><script>alert(1)</script></template>"),
    ("style", "<style><img src=x onerror=alert(1)></style>"),
    ("textarea", "<textarea><img src=x onerror=alert(1)></textarea>"),
    ("title", "<title><img src=x onerror=alert(1)></title>"),
    ("nested-unclosed", '<p><a href="https://example.org"><b><i><img src=x onerror=alert(1)'),
    ("comment-hides-tag", "<!--<script>alert(1)</script>-->"),
    ("comment-breakout", "<!--><img src=x onerror=alert(1)>-->"),
    ("comment-conditional", "<!--[if IE]><script>alert(1)</script><![endif]-->"),
    # Embedding, redirection and forms.
    ("iframe-srcdoc", "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>"),
    ("iframe-javascript", '<iframe src="javascript:alert(1)"></iframe>'),
    ("object", '<object data="javascript:alert(1)"></object>'),
    ("embed", '<embed src="javascript:alert(1)">'),
    ("base-href", '<base href="javascript:alert(1)//">'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("link-stylesheet", '<link rel="stylesheet" href="javascript:alert(1)">'),
    ("form-action", '<form action="javascript:alert(1)"><input type="submit"></form>'),
    ("button-formaction", '<button formaction="javascript:alert(1)">x</button>'),
    ("isindex", "<isindex action=javascript:alert(1) type=image>"),
    # CSS.
    ("css-expression", '<p style="width:expression(alert(1))">x</p>'),
    ("css-url-javascript", '<p style="background:url(javascript:alert(1))">x</p>'),
    ("css-import", "<style>@import 'javascript:alert(1)';</style>"),
    ("table-background", '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>'),
]

ALLOWED_SCHEMES = ("http:", "https:", "mailto:")
FORBIDDEN_TAGS = frozenset({
    "script", "style", "svg", "math", "iframe", "img", "noscript", "template", "object", "embed", "form",
    "input", "base", "meta", "link",
})


def payload_ids() -> list[str]:
    return [name for name, _payload in PAYLOADS]


def payloads() -> list[str]:
    return [payload for _name, payload in PAYLOADS]


# --- Reading stored HTML ------------------------------------------------------------------------


@dataclass
class Markup:
    """Every start tag (with its attributes) and every comment or declaration of a piece of HTML."""

    tags: list[tuple[str, list[tuple[str, str | None]]]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


class MarkupReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.markup = Markup()

    def handle_starttag(self, tag, attrs):
        self.markup.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.markup.tags.append((tag, attrs))

    def handle_comment(self, data):
        self.markup.comments.append(data)

    def handle_decl(self, decl):
        self.markup.comments.append(decl)

    def handle_pi(self, data):
        self.markup.comments.append(data)

    def unknown_decl(self, data):
        self.markup.comments.append(data)


def read_markup(text: str) -> Markup:
    reader = MarkupReader()
    reader.feed(text)
    reader.close()
    return reader.markup


def normalised_address(unescaped: str) -> str:
    """A link address as a browser would judge its scheme: without any whitespace or control
    character (browsers drop them), lower-cased. ``html.parser`` hands attribute values over
    already passed through ``html.unescape`` (once, as a browser does; a second pass would judge
    an address the browser never sees)."""
    return "".join(
        character for character in unescaped
        if not character.isspace() and not unicodedata.category(character).startswith("C")
    ).lower()


def dangers_in(stored_html: str) -> list[str]:
    """Everything in ``stored_html`` that breaks the rich-text rules; an empty list when it is safe."""
    markup = read_markup(stored_html)
    dangers = [f"comment or declaration {text!r}" for text in markup.comments]
    for tag, attributes in markup.tags:
        if tag not in sanitize.ALLOWED_TAGS:
            dangers.append(f"<{tag}> is not an allowed element")
        if tag in FORBIDDEN_TAGS:
            dangers.append(f"<{tag}> is a forbidden element")
        allowed = set(sanitize.ALLOWED_ATTRIBUTES.get(tag, ())) | ({"rel"} if tag == "a" else set())
        names = [name for name, _value in attributes]
        for name, value in attributes:
            if name not in allowed:
                dangers.append(f"<{tag} {name}> is not an allowed attribute")
            if name.startswith("on"):
                dangers.append(f"<{tag} {name}> is an event handler")
            if name == "href" and not normalised_address(value or "").startswith(ALLOWED_SCHEMES):
                dangers.append(f"<{tag} href={value!r}> is not an http(s) or mailto address")
        if tag == "a":
            if dict(attributes).get("rel") != sanitize.LINK_REL:
                dangers.append(f"<a> has rel={dict(attributes).get('rel')!r}")
            if "target" in names:
                dangers.append("<a> has a target")
    return dangers


def test_the_checks_catch_what_they_are_meant_to_catch():
    assert dangers_in('<p>fine <a href="https://example.org" rel="nofollow noopener noreferrer">x</a></p>') == []
    assert dangers_in('<a href="&#106;ava&#x09;script:alert(1)" rel="nofollow noopener noreferrer">x</a>') == [
        "<a href='java\\tscript:alert(1)'> is not an http(s) or mailto address"
    ]
    assert dangers_in('<a href=" \x01HTTPS://example.org" rel="nofollow noopener noreferrer">x</a>') == []
    assert dangers_in('<a href="/proposals/1" rel="nofollow noopener noreferrer">x</a>') == [
        "<a href='/proposals/1'> is not an http(s) or mailto address"
    ]
    assert dangers_in('<img src=x onerror=alert(1)><!-- c --><a href="https://x.example" target="_blank">x</a>') == [
        "comment or declaration ' c '",
        "<img> is not an allowed element",
        "<img> is a forbidden element",
        "<img src> is not an allowed attribute",
        "<img onerror> is not an allowed attribute",
        "<img onerror> is an event handler",
        "<a target> is not an allowed attribute",
        "<a> has rel=None",
        "<a> has a target",
    ]


def test_there_are_at_least_fifty_payloads_each_named_once():
    assert len(PAYLOADS) >= 50
    assert len(set(payload_ids())) == len(PAYLOADS)


# --- The sanitizer itself -----------------------------------------------------------------------


@pytest.mark.parametrize("payload", payloads(), ids=payload_ids())
def test_markdown_rendering_leaves_nothing_dangerous(payload):
    assert dangers_in(sanitize.render_markdown(payload)) == []


@pytest.mark.parametrize("payload", payloads(), ids=payload_ids())
def test_cleaning_raw_html_leaves_nothing_dangerous(payload):
    assert dangers_in(sanitize.clean_html(payload)) == []


# --- Every rich-text field ----------------------------------------------------------------------


@dataclass(frozen=True)
class Writers:
    """An expert (who writes proposals and has a profile), the secretariat, a member state to apply from."""

    expert_id: int
    secretariat_id: int
    member_state_id: int

    @property
    def expert(self) -> User:
        return db.session.get(User, self.expert_id)

    @property
    def secretariat(self) -> User:
        return db.session.get(User, self.secretariat_id)


def content_with(body: str, *, title: str = "Payload", summary: str = "A short summary.") -> proposal_services.Content:
    return proposal_services.Content(title=title, summary=summary, body=body, language="en",
                                     dimensions=("environmental",), member_state_ids=(), keywords=())


@pytest.fixture(scope="module")
def writers(test_database, tmp_path_factory):
    with app_of_its_own(test_database, tmp_path_factory.mktemp("stored-xss")) as application:
        load_reference_data()
        expert = account_services.create_user(email="writer@example.org", display_name="Writer",
                                              password=DEFAULT_PASSWORD, roles={Role.EXPERT},
                                              is_email_confirmed=True)
        expert_services.ensure_profile(expert)
        secretariat = account_services.create_user(email="office@example.org", display_name="Office",
                                                   password=DEFAULT_PASSWORD, roles={Role.ADMIN},
                                                   is_email_confirmed=True)
        db.session.commit()
        state_id = db.session.scalar(
            select(MemberState.id).where(MemberState.kind == StateKind.MEMBER_STATE).order_by(MemberState.id)
        )
        yield application, Writers(expert_id=expert.id, secretariat_id=secretariat.id, member_state_id=state_id)


@pytest.fixture
def writer(writers):
    """The writers, for a test whose work is rolled back afterwards."""
    with rolled_back():
        yield writers[1]


@pytest.mark.parametrize("payload", payloads(), ids=payload_ids())
def test_a_proposal_started_with_the_payload_stores_nothing_dangerous(writer, payload):
    proposal = proposal_services.create_draft(actor=writer.expert, content=content_with(payload))

    assert dangers_in(proposal.body_html) == []
    assert proposal.body_html == sanitize.render_markdown(payload)


@pytest.mark.parametrize("payload", payloads(), ids=payload_ids())
def test_a_proposal_saved_with_the_payload_stores_nothing_dangerous(writer, payload):
    proposal = proposal_services.create_draft(actor=writer.expert, content=content_with("Harmless."))

    proposal_services.save_content(actor=writer.expert, proposal=proposal, content=content_with(payload),
                                   opened_at_version=proposal.version)

    db.session.expire_all()
    stored = db.session.get(Proposal, proposal.id)
    assert stored.body == payload.replace("\r\n", "\n")
    assert dangers_in(stored.body_html) == []


@pytest.mark.parametrize("payload", payloads(), ids=payload_ids())
def test_a_biography_with_the_payload_stores_nothing_dangerous(writer, payload):
    profile = expert_services.ensure_profile(writer.expert)

    expert_services.update_profile(
        actor=writer.expert, profile=profile, title="", affiliations="", biography=payload, dimensions=[],
        keywords=[], languages=[], country_id=None, orcid=None, publication_links=[], visibility="public",
    )

    assert profile.biography_html != ""
    assert dangers_in(profile.biography_html) == []


@pytest.mark.parametrize("payload", payloads(), ids=payload_ids())
def test_a_think_tank_description_with_the_payload_stores_nothing_dangerous(writer, payload):
    think_tank = think_tank_services.apply(
        actor=AnonymousUser(), name="Institute of Payloads", member_state_id=writer.member_state_id,
        website=None, description=payload, contact_name="Contact Person", contact_email="contact@example.org",
        participation="permanent", ends_on=None,
    )

    assert think_tank.description_html != ""
    assert dangers_in(think_tank.description_html) == []


# --- The pages that show an endorsed proposal to everyone ---------------------------------------


def endorsed_with(writers: Writers, payload: str) -> Proposal:
    """An endorsed proposal whose revision 1 is harmless and whose revision 2 (and working copy) carries
    ``payload`` in its title, summary and text: so the diff between them shows the payload too."""
    expert, secretariat = writers.expert, writers.secretariat
    proposal = proposal_services.create_draft(actor=expert, content=content_with("Harmless text."))
    workflow.transition(proposal, ProposalAction.SUBMIT, actor=expert)
    workflow.transition(proposal, ProposalAction.RETURN_FOR_REVISION, actor=secretariat, note="Revise.")
    proposal_services.save_content(
        actor=expert, proposal=proposal, opened_at_version=proposal.version,
        content=content_with(payload, title=" ".join(payload.split())[:200], summary=payload),
    )
    for action, actor in ((ProposalAction.RESUBMIT, expert), (ProposalAction.START_REVIEW, secretariat),
                          (ProposalAction.OPEN_CONSENSUS, secretariat), (ProposalAction.ENDORSE, workflow.SYSTEM)):
        take(proposal, action, actor)
    db.session.commit()
    return proposal


@pytest.fixture(scope="module")
def endorsed(writers):
    """Every payload's endorsed proposal, and a harmless one to compare pages with (by payload name)."""
    _application, people = writers
    db.session.rollback()
    made = {name: endorsed_with(people, payload) for name, payload in [("harmless", "Harmless text."), *PAYLOADS]}
    return {name: (proposal.id, proposal.reference) for name, proposal in made.items()}


def pages_of(proposal_id: int, reference: str) -> list[str]:
    """Every page that shows an endorsed proposal's text: its page, its permalink, both revisions, the diff."""
    return [
        f"/proposals/{proposal_id}",
        f"/proposals/{reference}",
        f"/proposals/{proposal_id}/revisions/1",
        f"/proposals/{proposal_id}/revisions/2",
        f"/proposals/{proposal_id}/diff?from=1&to=2",
    ]


def scripts_and_handlers(page: str) -> tuple[list, list[str], list[str]]:
    """The page's script elements, its event-handler attributes, and its links or sources with a script scheme."""
    markup = read_markup(page)
    scripts = [(tag, attributes) for tag, attributes in markup.tags if tag == "script"]
    handlers = [f"<{tag} {name}>" for tag, attributes in markup.tags for name, _value in attributes
                if name.startswith("on")]
    script_addresses = [
        f"<{tag} {name}={value!r}>" for tag, attributes in markup.tags for name, value in attributes
        if name in ("href", "src", "action", "formaction", "data", "srcdoc")
        and normalised_address(value or "").startswith(("javascript:", "vbscript:", "data:"))
    ]
    return scripts, handlers, script_addresses


@pytest.mark.parametrize("name", payload_ids())
def test_the_pages_of_an_endorsed_proposal_with_the_payload_show_no_script_and_no_event_handler(
    writers, endorsed, name
):
    application, _people = writers
    visitor = application.test_client()
    harmless_pages = [visitor.get(path) for path in pages_of(*endorsed["harmless"])]
    proposal_id, reference = endorsed[name]
    stored = db.session.get(Proposal, proposal_id)

    responses = [visitor.get(path) for path in pages_of(proposal_id, reference)]

    assert [response.status_code for response in responses] == [200] * 5
    pages = [response.get_data(as_text=True) for response in responses]
    for page, harmless in zip(pages, harmless_pages, strict=True):
        scripts, handlers, script_addresses = scripts_and_handlers(page)
        assert scripts == scripts_and_handlers(harmless.get_data(as_text=True))[0]
        assert page.lower().count("<script") == len(scripts)
        assert handlers == []
        assert script_addresses == []
    proposal_page = pages[0]
    assert stored.body_html in proposal_page
    assert "<script" not in stored.body_html.lower()
    assert dangers_in(stored.body_html) == []
