"""The Russian catalogue: every message of the code and the templates translated, placeholders intact,
plural forms complete and right, and the compiled catalogue the compilation of the one in git.

The messages are extracted from the sources here, as `make translations` does, so a message added
without running it fails this test just like one left untranslated.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "expert_platform" / "translations"
RUSSIAN_PO = CATALOGUES / "ru" / "LC_MESSAGES" / "messages.po"
RUSSIAN_MO = CATALOGUES / "ru" / "LC_MESSAGES" / "messages.mo"
#: The keywords `make translations` gives pybabel besides its defaults (keep the two lists equal).
EXTRA_KEYWORDS = ["_l", "lazy_gettext", "lazy_pgettext:1c,2", "lazy_ngettext:1,2"]
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?([#0 +-]*\d*(?:\.\d+)?[sdifr%])")


def extracted_messages() -> dict[tuple[str, str | None], tuple[str, ...]]:
    """(msgid, context) -> the message's ids (singular, plural) for every message in the sources."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(EXTRA_KEYWORDS)}
    found = {}
    # Unlike pybabel's default, folders starting with "_" are read (templates/_macros); the Makefile says so too.
    for _filename, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords, directory_filter=_is_read,
    ):
        ids = message if isinstance(message, tuple) else (message,)
        found[(ids[0], context)] = ids
    return found


def _is_read(path: str) -> bool:
    name = Path(path).name
    return not name.startswith(".") and name != "__pycache__"


def placeholders(text: str) -> list[tuple[str, str]]:
    """The %-placeholders of ``text`` as (name, conversion), "%%" left out."""
    return sorted((name, conversion[-1]) for name, conversion in PLACEHOLDER.findall(text) if conversion != "%")


def problems_of(catalog, wanted: dict) -> list[str]:
    """Everything wrong with ``catalog`` for the messages ``wanted``: missing, untranslated, fuzzy,
    incomplete plural forms, placeholders added, lost or changed, text that % formatting rejects."""
    plural_count = catalog.num_plurals
    problems = []
    for (msgid, context), ids in sorted(wanted.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        label = f"{msgid!r}" + (f" (context {context!r})" if context else "")
        message = catalog.get(msgid, context=context)
        if message is None:
            problems.append(f"{label}: not in the catalogue (run `make translations`)")
            continue
        if message.fuzzy:
            problems.append(f"{label}: marked fuzzy")
        if len(ids) == 2:
            forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
            if len(forms) != plural_count or not all(forms):
                problems.append(f"{label}: needs {plural_count} plural forms, has {sum(1 for f in forms if f)}")
                continue
            expected = [placeholders(ids[1])] * plural_count
        else:
            forms = (message.string,) if isinstance(message.string, str) else tuple(message.string or ())
            if not forms or not forms[0]:
                problems.append(f"{label}: no Russian translation")
                continue
            expected = [placeholders(ids[0])]
        for index, (form, wanted_placeholders) in enumerate(zip(forms, expected, strict=True)):
            where = f"{label} form {index}" if len(ids) == 2 else label
            if placeholders(form) != wanted_placeholders:
                problems.append(f"{where}: placeholders {placeholders(form)} instead of {wanted_placeholders}")
                continue
            # Jinja's newstyle gettext always applies %: a stray "%" would break the page.
            sample = {name: (1 if conversion in "di" else "x") for name, conversion in wanted_placeholders}
            try:
                form % sample
            except (KeyError, ValueError, TypeError) as error:
                problems.append(f"{where}: % formatting fails ({error})")
    return problems


@pytest.fixture(scope="module")
def russian():
    with open(RUSSIAN_PO, "rb") as file:
        return read_po(file)


@pytest.fixture(scope="module")
def wanted():
    return extracted_messages()


def test_every_message_of_the_sources_has_a_sound_russian_translation(russian, wanted):
    assert len(wanted) > 1000  # the extraction itself worked
    assert problems_of(russian, wanted) == []


def test_the_catalogue_uses_russian_plural_rules(russian):
    assert russian.num_plurals == 3
    from gettext import c2py

    plural_of = c2py(russian.plural_expr)
    assert [plural_of(n) for n in (0, 1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111)] == [
        2, 0, 1, 1, 2, 2, 2, 2, 0, 1, 2, 0, 2
    ]


def test_the_compiled_catalogue_is_the_compilation_of_the_catalogue(russian):
    """messages.mo is committed (so a checkout serves Russian without a build step): it must be current."""
    compiled = io.BytesIO()
    write_mo(compiled, russian)
    assert RUSSIAN_MO.read_bytes() == compiled.getvalue(), "run `make translations` and commit messages.mo"


def test_the_check_finds_each_kind_of_fault():
    """The check above fails on what it must: it is run on a small catalogue with one fault of each kind."""
    text = '''msgid ""
msgstr ""
"Language: ru\\n"
"Plural-Forms: nplurals=3; "
"plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\\n"

msgid "Fine %(name)s"
msgstr "Хорошо %(name)s"

msgid "Untranslated"
msgstr ""

msgid "Lost %(name)s"
msgstr "Потеряно"

msgid "Renamed %(name)s"
msgstr "Переименовано %(title)s"

msgid "Retyped %(count)d"
msgstr "Другой тип %(count)s"

msgid "Stray %(count)d"
msgstr "Лишний % знак %(count)d"

#, fuzzy
msgid "Fuzzy"
msgstr "Неточно"

msgid "%(num)d file"
msgid_plural "%(num)d files"
msgstr[0] "%(num)d файл"
msgstr[1] "%(num)d файла"
msgstr[2] ""

msgid "%(num)d book"
msgid_plural "%(num)d books"
msgstr[0] "одна книга"
msgstr[1] "%(num)d книги"
msgstr[2] "%(num)d книг"
'''
    catalog = read_po(io.BytesIO(text.encode()))
    wanted = {(msgid, None): (msgid,) for msgid in (
        "Fine %(name)s", "Untranslated", "Lost %(name)s", "Renamed %(name)s", "Retyped %(count)d",
        "Stray %(count)d", "Fuzzy", "Absent",
    )}
    wanted[("%(num)d file", None)] = ("%(num)d file", "%(num)d files")
    wanted[("%(num)d book", None)] = ("%(num)d book", "%(num)d books")
    assert problems_of(catalog, wanted) == [
        "'%(num)d book' form 0: placeholders [] instead of [('num', 'd')]",
        "'%(num)d file': needs 3 plural forms, has 2",
        "'Absent': not in the catalogue (run `make translations`)",
        "'Fuzzy': marked fuzzy",
        "'Lost %(name)s': placeholders [] instead of [('name', 's')]",
        "'Renamed %(name)s': placeholders [('title', 's')] instead of [('name', 's')]",
        "'Retyped %(count)d': placeholders [('count', 's')] instead of [('count', 'd')]",
        "'Stray %(count)d': % formatting fails (unsupported format character '?' (0x437) at index 9)",
        "'Untranslated': no Russian translation",
    ]


def test_russian_plural_forms_are_chosen_by_the_number(app):
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("ru"):
        assert [ngettext("%(num)d proposal", "%(num)d proposals", n) for n in (1, 2, 5, 11, 21, 22, 25)] == [
            "1 предложение", "2 предложения", "5 предложений", "11 предложений", "21 предложение",
            "22 предложения", "25 предложений",
        ]
