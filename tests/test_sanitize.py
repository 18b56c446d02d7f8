"""Rich text is rendered and cleaned by one function with a strict allow-list."""

from __future__ import annotations

import pytest

from expert_platform.sanitize import clean_html, render_markdown

REL = 'rel="nofollow noopener noreferrer"'


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("Plain *emphasis* and **strong**.", "<p>Plain <em>emphasis</em> and <strong>strong</strong>.</p>\n"),
        ("## Problem", "<h2>Problem</h2>\n"),
        ("# Title\n\n###### Small", "<h2>Title</h2>\n<h4>Small</h4>\n"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>\n"),
        ("`code`", "<p><code>code</code></p>\n"),
        ("[site](https://example.org)", f'<p><a href="https://example.org" {REL}>site</a></p>\n'),
        ("[mail](mailto:a@example.org)", f'<p><a href="mailto:a@example.org" {REL}>mail</a></p>\n'),
        ("[bad](javascript:alert(1))", "<p>[bad](javascript:alert(1))</p>\n"),
        ("![tracker](https://evil.example/pixel.png)", "<p>tracker</p>\n"),
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
        ("| a | b |\n|---|--:|\n| 1 | 2 |",
         "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n"
         "<td>2</td>\n</tr>\n</tbody>\n</table>\n"),
    ],
)
def test_markdown_renders_to_the_allow_list(markdown, html):
    assert render_markdown(markdown) == html


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ('<a href="https://x.example" target="_blank" class="c" id="i">x</a>',
         f'<a href="https://x.example" {REL}>x</a>'),
        ('<p style="color:red" onclick="steal()">text</p>', "<p>text</p>"),
        ('<img src="https://evil.example/p.png" onerror="alert(1)">', ""),
        ("<svg><script>alert(1)</script></svg>", ""),
        ("<style>p { color: red }</style>kept", "kept"),
        ("<iframe src='https://evil.example'></iframe>ok", "ok"),
        ("<form><input name=x></form>", ""),
        ("<!-- secret comment -->visible", "visible"),
        ("<h1>Title</h1><h5>Small</h5>", "TitleSmall"),
        ('<a href="vbscript:msgbox(1)">x</a>', f"<a {REL}>x</a>"),
    ],
)
def test_clean_html_strips_everything_outside_the_allow_list(dirty, clean):
    assert clean_html(dirty) == clean


def test_bare_addresses_become_safe_links_but_not_inside_code():
    assert render_markdown("see https://example.org") == (
        f'<p>see <a href="https://example.org" {REL}>https://example.org</a></p>\n')
    assert render_markdown("`https://example.org`") == "<p><code>https://example.org</code></p>\n"
    assert render_markdown("    https://example.org") == "<pre><code>https://example.org\n</code></pre>\n"
    assert render_markdown("[site](https://a.example.org) b.example.org") == (
        f'<p><a href="https://a.example.org" {REL}>site</a> '
        f'<a href="http://b.example.org" {REL}>b.example.org</a></p>\n')


def test_cleaning_adds_no_links():
    # Links are made from the Markdown; HTML given to the cleaner keeps its text as text.
    assert clean_html("<p>see https://example.org</p>") == "<p>see https://example.org</p>"


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        # Sentence punctuation after an address is not part of it; brackets are when they open inside it.
        ("(see example.org/a), then https://x.example.org/b.",
         f'<p>(see <a href="http://example.org/a" {REL}>example.org/a</a>), then '
         f'<a href="https://x.example.org/b" {REL}>https://x.example.org/b</a>.</p>\n'),
        ("https://en.wikipedia.org/wiki/Foo_(bar)",
         f'<p><a href="https://en.wikipedia.org/wiki/Foo_(bar)" {REL}>https://en.wikipedia.org/wiki/Foo_(bar)</a></p>\n'),
        ("HTTPS://EXAMPLE.ORG:8443/X?a=1&b=2#f",
         f'<p><a href="HTTPS://EXAMPLE.ORG:8443/X?a=1&amp;b=2#f" {REL}>HTTPS://EXAMPLE.ORG:8443/X?a=1&amp;b=2#f</a></p>\n'),
        ("write to mailto:a.b+c@mail.example.org.",
         f'<p>write to <a href="mailto:a.b+c@mail.example.org" {REL}>mailto:a.b+c@mail.example.org</a>.</p>\n'),
        # Not addresses: an e-mail address without mailto:, a name whose last label is no top-level domain, file
        # names, a host without a dot, a name that goes on after a known domain.
        ("a@sub.example.org, sanitize.pyc, report.pdf, http://localhost:5000, example.org.evil",
         "<p>a@sub.example.org, sanitize.pyc, report.pdf, http://localhost:5000, example.org.evil</p>\n"),
        # The text of a link is the address as written, escapes and all.
        ("example.org/%0aalert(1)",
         f'<p><a href="http://example.org/%0aalert(1)" {REL}>example.org/%0aalert(1)</a></p>\n'),
        ("Пример: kremlin.ru!", f'<p>Пример: <a href="http://kremlin.ru" {REL}>kremlin.ru</a>!</p>\n'),
    ],
)
def test_bare_addresses_in_prose(markdown, html):
    assert render_markdown(markdown) == html


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ('<a href="/proposals/1">relative</a>', f"<a {REL}>relative</a>"),
        ('<a href="jav&#x09;ascript:alert(1)">tab</a>', f"<a {REL}>tab</a>"),
        ('<a href="%6Aavascript:alert(1)">encoded</a>', f"<a {REL}>encoded</a>"),
        ('<a href="data:text/html,<script>alert(1)</script>">data</a>', f"<a {REL}>data</a>"),
        ('<a href="MAILTO:a@example.org">mail</a>', f'<a href="MAILTO:a@example.org" {REL}>mail</a>'),
    ],
)
def test_only_absolute_http_https_and_mailto_links_keep_an_address(dirty, clean):
    assert clean_html(dirty) == clean


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        # Only the bare domain after an unknown scheme is linked, and as http: never data:, ftp: or javascript:.
        ("data://evil.example.org/x.html",
         f'<p>data://<a href="http://evil.example.org/x.html" {REL}>evil.example.org/x.html</a></p>\n'),
        ("ftp://files.example.org/a",
         f'<p>ftp://<a href="http://files.example.org/a" {REL}>files.example.org/a</a></p>\n'),
        ("javascript://example.org/x", f'<p>javascript://<a href="http://example.org/x" {REL}>example.org/x</a></p>\n'),
    ],
)
def test_a_bare_address_after_another_scheme_is_linked_as_http(markdown, html):
    assert render_markdown(markdown) == html


def test_a_markdown_link_with_a_hidden_javascript_scheme_loses_its_address():
    assert render_markdown("[x](jav&Tab;ascript:alert(1))") == f"<p><a {REL}>x</a></p>\n"


def test_markup_quoted_in_code_is_escaped_once():
    # Cleaning then linkifying in a second parse escaped the escaped text again: readers saw "&lt;script&gt;".
    assert render_markdown("`<script>alert(1)</script>`") == (
        "<p><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></p>\n")
    assert render_markdown("    <b>x</b> & y") == "<pre><code>&lt;b&gt;x&lt;/b&gt; &amp; y\n</code></pre>\n"


def test_a_bare_address_ends_where_its_characters_end():
    assert render_markdown('see https://example.org/"onmouseover="alert(1)') == (
        f'<p>see <a href="https://example.org/" {REL}>https://example.org/</a>"onmouseover="alert(1)</p>\n')
