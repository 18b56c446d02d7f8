"""Rich text: Markdown rendered to HTML and cleaned, once, at write time.

This is the only module that imports bleach (its final release), so it can be swapped for
another cleaner without touching the rest. Templates mark only ``*_html`` fields safe, and those
are always the output of ``clean_html()``.

The allow-list is deliberately small: paragraphs, headings h2-h4, emphasis, lists, block quotes,
code, tables, rules and links (http, https, mailto; ``rel="nofollow noopener noreferrer"``, no
``target``). No images (a remote image in a confidential draft tells its owner who read it and
when), no ``id``/``name``/``class``/``style``, no svg, math, iframes, forms or comments.
"""

from __future__ import annotations

import html
import re
from functools import partial

import bleach
import bleach.linkifier
from bleach.css_sanitizer import CSSSanitizer
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

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


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


def _link_attributes(attrs, new=False):
    if not has_allowed_scheme(attrs.get((None, "href"), "")):
        if new:
            return None  # leave the text as text
        attrs.pop((None, "href"), None)
    attrs[(None, "rel")] = LINK_REL
    attrs.pop((None, "target"), None)
    return attrs


# One pass: the cleaner's tokens go through the linkifier before they are written out (cleaning, then
# parsing the result again to add links, cost twice as much for the same output). The links the linkifier
# adds come after the allow-list, so ``_link_attributes`` checks their scheme itself.
_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    css_sanitizer=CSSSanitizer(allowed_css_properties=()),
    filters=[partial(
        bleach.linkifier.LinkifyFilter,
        callbacks=[_link_attributes],
        skip_tags={"pre", "code"},
        parse_email=False,
        url_re=bleach.linkifier.build_url_re(protocols=ALLOWED_PROTOCOLS),
    )],
)


def clean_html(html: str) -> str:
    """Reduce any HTML to the allow-list; every link gets ``rel`` and loses ``target``."""
    return _cleaner.clean(html or "")


def render_markdown(text: str) -> str:
    """Markdown to clean HTML. Raw HTML in the Markdown is shown as text, never passed through."""
    return clean_html(_markdown.render(text or ""))


_BLOCK_END = re.compile(r"</(p|h[1-6]|li|blockquote|pre|tr|div)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t]+")


def html_to_text(clean: str) -> str:
    """The words of HTML this module produced, without markup (block ends become line breaks):
    for search indexes and exports, never for display."""
    text = _TAG.sub("", _BLOCK_END.sub("\n", clean or ""))
    text = html.unescape(text)
    return "\n".join(line for line in (_SPACES.sub(" ", line).strip() for line in text.splitlines()) if line)


def markdown_to_text(text: str) -> str:
    """Markdown as plain text (rendered and cleaned first, so nothing hidden in markup slips through)."""
    return html_to_text(render_markdown(text))
