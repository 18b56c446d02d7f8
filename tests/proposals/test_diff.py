"""The word-level diff is a pure function: two texts in, escaped HTML out, tested as a table."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from expert_platform.proposals.diff import Change, tokenise, word_changes, word_diff_html

INS = '<ins><span class="visually-hidden">inserted: </span>'
DEL = '<del><span class="visually-hidden">deleted: </span>'

#: (old text, new text, the HTML of their difference)
DIFFS = {
    "identical texts are shown as they are": (
        "Shared water gauges", "Shared water gauges", "Shared water gauges",
    ),
    "an inserted word": (
        "water policy", "water security policy", f"water {INS}security </ins>policy",
    ),
    "a deleted word": (
        "water security policy", "water policy", f"water {DEL}security </del>policy",
    ),
    "a replaced word is a deletion then an insertion": (
        "Floods arrive.", "Droughts arrive.", f"{DEL}Floods</del>{INS}Droughts</ins> arrive.",
    ),
    "words replaced in a row read as one change, not split by the spaces between them": (
        "a b c", "x y z", f"{DEL}a b c</del>{INS}x y z</ins>",
    ),
    "a text written from nothing is one insertion": (
        "", "New text.", f"{INS}New text.</ins>",
    ),
    "a text emptied is one deletion": (
        "Old text.", "", f"{DEL}Old text.</del>",
    ),
    "both empty": (
        "", "", "",
    ),
    "punctuation changes on its own": (
        "Water.", "Water,", f"Water{DEL}.</del>{INS},</ins>",
    ),
    "Markdown source keeps its line breaks": (
        "## Problem\n\nFloods.\n",
        "## Problem\n\nFloods and droughts.\n\n## Risks\n",
        f"## Problem\n\nFloods{INS} and droughts</ins>.{INS}\n\n## Risks</ins>\n",
    ),
    "a script inserted into the new text is escaped": (
        "Floods.", "<script>alert(1)</script>",
        f"{DEL}Floods.</del>{INS}&lt;script&gt;alert(1)&lt;/script&gt;</ins>",
    ),
    "a script deleted from the old text is escaped": (
        "<script>alert(1)</script> Floods.", "Floods.",
        f"{DEL}&lt;script&gt;alert(1)&lt;/script&gt; </del>Floods.",
    ),
    "markup and entities in unchanged text are escaped": (
        '<b class="x">bold</b> & more', '<b class="x">bold</b> &amp; more',
        f"&lt;b class=&#34;x&#34;&gt;bold&lt;/b&gt; &amp;{INS}amp;</ins> more",
    ),
}


@pytest.mark.parametrize("case", list(DIFFS))
def test_word_diff_html(case):
    old, new, expected = DIFFS[case]

    html = word_diff_html(old, new)

    assert isinstance(html, Markup)
    assert str(html) == expected


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", []),
        ("Shared water", ["Shared", " ", "water"]),
        ("## Problem\n\nFloods, droughts.", ["##", " ", "Problem", "\n\n", "Floods", ",", " ", "droughts", "."]),
        ("Талая вода", ["Талая", " ", "вода"]),
        ("</script>", ["</", "script", ">"]),
    ],
)
def test_a_text_is_cut_into_words_whitespace_and_punctuation_that_join_back_into_it(text, tokens):
    assert tokenise(text) == tokens
    assert "".join(tokenise(text)) == text


def test_the_changes_give_back_both_texts_and_no_replacement_has_equal_sides():
    old, new = "The gauges measure rivers daily.", "Shared gauges measure the rivers hourly."

    changes = word_changes(old, new)

    assert "".join(change.old for change in changes) == old
    assert "".join(change.new for change in changes) == new
    assert changes == [
        Change("The", "Shared"),
        Change(" gauges measure ", " gauges measure "),
        Change("", "the "),
        Change("rivers ", "rivers "),
        Change("daily", "hourly"),
        Change(".", "."),
    ]
    assert [change.is_equal for change in changes] == [False, True, False, True, False, True]
