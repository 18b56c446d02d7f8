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
        ("<svg><script>alert(1)</script></svg>", "alert(1)"),
        ("<iframe src='https://evil.example'></iframe>ok", "ok"),
        ("<form><input name=x></form>", ""),
        ("<!-- secret comment -->visible", "visible"),
        ("<h1>Title</h1><h5>Small</h5>", "Title\nSmall"),
        ('<a href="vbscript:msgbox(1)">x</a>', f"<a {REL}>x</a>"),
    ],
)
def test_clean_html_strips_everything_outside_the_allow_list(dirty, clean):
    assert clean_html(dirty) == clean


def test_bare_addresses_become_safe_links_but_not_inside_code():
    assert clean_html("<p>see https://example.org</p>") == f'<p>see <a href="https://example.org" {REL}>https://example.org</a></p>'
    assert clean_html("<code>https://example.org</code>") == "<code>https://example.org</code>"


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ('<a href="/proposals/1">relative</a>', f"<a {REL}>relative</a>"),
        ('<a href="jav&#x09;ascript:alert(1)">tab</a>', f"<a {REL}>tab</a>"),
        ('<a href="%6Aavascript:alert(1)">encoded</a>', f"<a {REL}>encoded</a>"),
        # Only the bare domain after an unknown scheme is linked, and as http: never data: or ftp:.
        ("<p>data://evil.example.org/x.html</p>",
         f'<p>data://<a href="http://evil.example.org/x.html" {REL}>evil.example.org/x.html</a></p>'),
        ("<p>ftp://files.example.org/a</p>",
         f'<p>ftp://<a href="http://files.example.org/a" {REL}>files.example.org/a</a></p>'),
        ('<a href="MAILTO:a@example.org">mail</a>', f'<a href="MAILTO:a@example.org" {REL}>mail</a>'),
    ],
)
def test_only_absolute_http_https_and_mailto_links_keep_an_address(dirty, clean):
    assert clean_html(dirty) == clean


def test_a_markdown_link_with_a_hidden_javascript_scheme_loses_its_address():
    assert render_markdown("[x](jav&Tab;ascript:alert(1))") == f"<p><a {REL}>x</a></p>\n"


def test_markup_quoted_in_code_is_escaped_once():
    # Cleaning then linkifying in a second parse escaped the escaped text again: readers saw "&lt;script&gt;".
    assert render_markdown("`<script>alert(1)</script>`") == (
        "<p><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></p>\n")
    assert render_markdown("    <b>x</b> & y") == "<pre><code>&lt;b&gt;x&lt;/b&gt; &amp; y\n</code></pre>\n"


def test_a_bare_address_ends_where_its_characters_end():
    assert render_markdown('see https://example.org/"onmouseover="alert(1)') == (
        f'<p>see <a href="https://example.org/" {REL}>https://example.org/</a>&quot;onmouseover=&quot;alert(1)</p>\n')
