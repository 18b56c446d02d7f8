"""Rich text: Markdown rendered to HTML and cleaned, once, at write time.

This is the only module that imports the HTML cleaner (nh3, the Python binding of the Rust crate ammonia;
bleach, the one before it, had its final release and cost 1.1 ms of a generated body's 1.6), so it can be
swapped without touching the rest. Templates mark only ``*_html`` fields safe, and those are always the
output of ``clean_html()``.

The allow-list is deliberately small: paragraphs, headings h2-h4, emphasis, lists, block quotes,
code, tables, rules and links (http, https, mailto; ``rel="nofollow noopener noreferrer"``, no
``target``). No images (a remote image in a confidential draft tells its owner who read it and
when), no ``id``/``name``/``class``/``style``, no svg, math, iframes, forms or comments.

Bare web addresses in the text become links while the Markdown is parsed (``_Linkifier``, never inside
code or a link); the cleaner then checks every link's address again, whatever made it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "h2", "h3", "h4", "em", "strong", "del", "ul", "ol", "li", "blockquote",
        "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "hr", "a",
    }
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "ol": ["start"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]+")


def has_allowed_scheme(href: str) -> bool:
    """True when ``href`` is an absolute http, https or mailto address.

    Browsers ignore whitespace and control characters inside a scheme and decode entities first,
    so ``jav&Tab;ascript:`` is still javascript: the check looks at what the browser would see.
    Relative addresses are refused too: the text is read in other places (exports, emails) where
    a relative link would point somewhere else.
    """
    seen = _INVISIBLE.sub("", html.unescape(href or "")).lower()
    scheme, separator, _rest = seen.partition(":")
    return bool(separator) and scheme in ALLOWED_PROTOCOLS


# --- bare addresses --------------------------------------------------------------------------------

#: The top-level domains a bare name must end with to be taken for an address ("see example.org"): the
#: generic ones of the 2000s and every country code. A file name such as "report.pdf" stays text.
_DOMAINS = """
aero arpa asia biz cat com coop edu gov info int jobs mil mobi museum name net org post pro tel travel
ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs bt bv bw by bz
ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cx cy cz de dj dk dm do dz ec ee eg er es et eu fi fj fk fm fo fr
ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm
jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq
mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa
re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn
to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
"""
TOP_LEVEL_DOMAINS = frozenset(_DOMAINS.split())

#: An address in running text: http(s)://, mailto:someone@ or nothing, then a name of at least two labels
#: ending in a known top-level domain, a port, and a path, query or fragment up to a space or a character
#: that cannot be in an address unescaped (quotes, angle brackets and the like: ``"onmouseover=...`` after
#: it stays text). Never inside a word, an e-mail address or a longer name (the lookbehind); a name's last
#: label is not followed by another one (``example.org.evil`` is not cut at ``org``).
_ADDRESS = re.compile(
    r"(?<![\w@.\-])(?:(?P<scheme>https?)://|(?P<mailto>mailto:)[\w.+\-]+@)?"
    r"(?P<host>(?:[\w\-]+\.)+(?P<tld>[a-z]{2,6}))(?![\w\-]|\.\w)"
    r"(?::\d{1,5})?"
    r"(?:[/?#][^\s<>\"'`{}|\\^]*)?",
    re.IGNORECASE,
)
#: What every address has: a dot and letters after it (the cheap test before the full one).
_NAME_END = re.compile(r"\.[a-z]{2}", re.IGNORECASE)
#: What an address found in prose does not end with: sentence punctuation after it.
_TRAILING = ".,;:!?*"


def _unbalanced_end(address: str) -> int:
    """How many characters at the end of ``address`` are punctuation of the sentence around it: trailing
    stops and commas, and closing brackets that open nowhere in the address ("(see example.org/a)")."""
    end = len(address)
    while end:
        last = address[end - 1]
        closes_nothing = last == ")" and address.count("(", 0, end) < address.count(")", 0, end)
        if last in _TRAILING or closes_nothing:
            end -= 1
        else:
            break
    return len(address) - end


@dataclass(frozen=True)
class _Match:
    """One address found in a text, as markdown-it's linkify rule reads it."""

    index: int
    last_index: int
    text: str
    url: str
    schema: str


class _Linkifier:
    """The finder markdown-it's linkify rule asks for addresses in each text token (outside code and links).
    markdown-it's own, linkify-it-py, took 0.8 ms a generated body; this one regular expression a few
    hundredths. ``test`` is only the cheap test: the rule asks ``match`` next, which finds the addresses once
    (a text with none is left as it was)."""

    @staticmethod
    def pretest(text: str) -> bool:
        return _NAME_END.search(text) is not None

    test = pretest

    @staticmethod
    def match(text: str) -> list[_Match]:
        found = []
        for candidate in _ADDRESS.finditer(text):
            if candidate["tld"].lower() not in TOP_LEVEL_DOMAINS:
                continue
            address = candidate.group()
            address = address[: len(address) - _unbalanced_end(address)]
            schema = f"{candidate['scheme']}:" if candidate["scheme"] else candidate["mailto"] or ""
            found.append(_Match(index=candidate.start(), last_index=candidate.start() + len(address), text=address,
                                url=address if schema else f"http://{address}", schema=schema))
        return found


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False}).enable(
    ["table", "strikethrough"]
)
# The core rule only: it reads each text token once the inline parse is over (the inline rule would ask the
# finder at every "://").
_markdown.core.ruler.enable("linkify")
_markdown.linkify = _Linkifier()
# A link's text is the address as written (markdown-it would decode %-escapes and punycode in it).
_markdown.normalizeLinkText = str


def _render_image_as_text(renderer, tokens, index, options, env):
    # Images are never loaded (they would report readers to their host): keep the description.
    return escapeHtml(tokens[index].content)


def _clamp_heading(renderer, tokens, index, options, env):
    # A document's title is h1 on the page and our styles stop at h4: # becomes h2, ##### h4.
    token = tokens[index]
    level = min(max(int(token.tag[1]), 2), 4)
    return f"<h{level}>" if token.nesting == 1 else f"</h{level}>\n"


_markdown.add_render_rule("image", _render_image_as_text)
_markdown.add_render_rule("heading_open", _clamp_heading)
_markdown.add_render_rule("heading_close", _clamp_heading)


# --- cleaning --------------------------------------------------------------------------------------


def _checked_attribute(element: str, attribute: str, value: str) -> str | None:
    # The cleaner hands the value decoded (entities read as a browser reads them); a link keeps an address
    # only when it is absolute http, https or mailto.
    if element == "a" and attribute == "href" and not has_allowed_scheme(value):
        return None
    return value


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_checked_attribute,
    strip_comments=True,
    link_rel=LINK_REL,
    url_schemes=set(ALLOWED_PROTOCOLS),
)


def clean_html(html: str) -> str:
    """Reduce any HTML to the allow-list; every link gets ``rel`` and loses ``target`` (and its address,
    unless it is absolute http, https or mailto). Adds no links: ``render_markdown`` makes them."""
    return _cleaner.clean(html or "")


def render_markdown(text: str) -> str:
    """Markdown to clean HTML. Raw HTML in the Markdown is shown as text, never passed through; bare web
    addresses become links."""
    return clean_html(_markdown.render(text or ""))


_BLOCK_END = re.compile(r"</(p|h[1-6]|li|blockquote|pre|tr|div)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t]+")


def html_to_text(clean: str) -> str:
    """The words of HTML this module produced, without markup (block ends become line breaks):
    for search indexes and exports, never for display."""
    text = _SPACES.sub(" ", html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", clean or ""))))
    return "\n".join(line for line in map(str.strip, text.splitlines()) if line)


def markdown_to_text(text: str) -> str:
    """Markdown as plain text (rendered and cleaned first, so nothing hidden in markup slips through)."""
    return html_to_text(render_markdown(text))
